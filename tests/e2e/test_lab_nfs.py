"""End-to-end: a kernel mounts its root over NFSv3 from the export ``bootwright serve`` supervises (issue 17).

One lab boot (``bootwright lab --firmware nfs``, :mod:`bootwright.lab.nfsroot`):
SeaBIOS + iPXE gets DHCPv4 and the script from bootwright, boots Debian's
cloud kernel with an initrd that loads virtio-net and the NFS client, takes an
address with udhcpc and mounts ``nfsroot=192.0.2.1:<root>/nfsroot`` — the
absolute server path, as seed 002 writes it — over NFSv3/TCP from the
NFS-Ganesha that ``bootwright serve`` started for ``[nfs]``. The marker is
only on the NFS root (the initrd holds none): the root's ``/sbin/init``
prints it with the mount it runs on. Measured here under TCG: the marker at
35 s after QEMU started, the whole test ≈ 50 s (plus a one-time download of
the kernel package's modules into the lab cache).
"""

from __future__ import annotations

import asyncio
import gzip
import re
from pathlib import Path

import pytest
from labrun import environment_problem
from rich.console import Console

from bootwright.config import load_config
from bootwright.lab import nfsroot, tools
from bootwright.lab.options import config_problems
from bootwright.lab.proc import LabError
from bootwright.lab.runner import LabOptions
from bootwright.lab.session import LabSession
from bootwright.lab.timeline import Stage


def test_the_lab_config_exports_the_root_the_kernel_mounts(tmp_path: Path) -> None:
    root = tmp_path / "root"
    config = nfsroot.write_config(tmp_path, root)
    assert config_problems(config) == []
    cfg = load_config(config)
    assert cfg.nfs.enabled and [e.path for e in cfg.nfs.exports] == [nfsroot.EXPORT]
    assert f"nfsroot=192.0.2.1:{root}/{nfsroot.EXPORT},vers=3" in cfg.targets["nfsroot"].cmdline
    assert not cfg.tftp.enabled and not cfg.dhcp6.enabled  # the BIOS v4 path needs DHCPv4 and HTTP only


def test_the_initrd_mounts_nfsv3_the_way_busybox_can() -> None:
    assert "mount -t nfs -o ro,vers=3,nolock,proto=tcp,addr=$server,mountproto=tcp" in nfsroot.INIT
    assert "exec switch_root /newroot /sbin/init" in nfsroot.INIT
    assert "{modules}" in nfsroot.INIT and nfsroot.NEEDED == ("virtio_pci", "virtio_net", "nfsv3")


@pytest.mark.e2e
def test_a_kernel_boots_with_its_root_over_nfs() -> None:
    if (why := environment_problem()) is not None:
        pytest.skip(why)
    try:
        tools.require(*tools.FOR_NFS)
    except LabError as exc:
        pytest.skip(str(exc))
    options = LabOptions(scenarios=[nfsroot.SCENARIO], live=False, timeout=240)
    asyncio.run(_boot(options))


async def _boot(options: LabOptions) -> None:
    async with LabSession(options, Console(width=160, force_terminal=False)) as lab:
        assert lab.work is not None and lab.payload is not None
        root = lab.work / "root"
        marker = lab.payload.marker
        initrd = gzip.decompress((root / nfsroot.INITRD).read_bytes())
        assert marker.encode() not in initrd  # only the NFS root has it
        assert (root / nfsroot.EXPORT / nfsroot.MARKER_FILE).read_text().strip() == marker
        vm = lab.vm(nfsroot.SCENARIO)
        await lab.boot([vm])
        timeline = vm.timeline
        serial = vm.serial_log.read_text(errors="replace")
        server_log = (lab.work / "bootwright.log").read_text(errors="replace")
        lab.keep_work = not timeline.ok
        assert timeline.ok, f"{timeline.outcome}\n{serial[-3000:]}"
    assert "nfs ready: NFS-Ganesha, NFSv3/TCP + v4" in server_log
    export = f"192.0.2.1:{root}/{nfsroot.EXPORT}"
    assert f"{nfsroot.MOUNTED} {export} on /newroot" in serial
    line = next(ln for ln in serial.splitlines() if marker in ln)
    assert re.search(rf"from the NFS root: {re.escape(export)} / nfs ro,.*vers=3.*proto=tcp", line), line
    assert timeline.seen[Stage.KERNEL] < timeline.seen[Stage.INITRD] < timeline.seen[Stage.MARKER]
    print(f"nfs4: marker {timeline.seen[Stage.MARKER]:.1f} s after QEMU started")
