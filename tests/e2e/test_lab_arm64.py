"""End-to-end: arm64 UEFI (AAVMF under TCG) boots GRUB from bootwright, over PXE and UEFI HTTP boot (issue 17).

Debian 12 has no arm64 iPXE: ``examples/arm64-grub.toml`` answers arch 11 with
Debian's ``grubnetaa64.efi`` and arch 19 with ``grubhttpaa64.efi``, the lab's
own build (``grub-mkimage``) of the same modules with ``http`` inside — Debian's
image has none, so after HTTP boot it cannot read from the ``(http,SERVER)``
root it finds and stops at its prompt. GRUB reads ``grub/grub.cfg`` rendered by
bootwright for its MAC (target ``linux-arm64``) and loads the arm64 kernel and
initrd over HTTP. One lab run boots the four machines, UEFI PXE and UEFI HTTP
boot over IPv4 and over IPv6, two VMs at a time; each must reach the marker
with GRUB, the kernel and the initrd fetched over its own family.

The pure parts (scenarios, the initramfs archive, the QEMU command line, what
the config tells arch 11 and 19) are checked first, without root.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from labrun import PARALLEL, LabRun, environment_problem

from bootwright.boot.policy import BootPolicy
from bootwright.boot.reply import server_context
from bootwright.config import load_config
from bootwright.lab import arm64, payload, qemu, scenarios, tools
from bootwright.lab.options import ARM64_CONFIG
from bootwright.lab.proc import LabError
from bootwright.lab.runner import LabOptions
from bootwright.lab.timeline import LABELS, Stage
from bootwright.model import ClientInfo

# The longest first (HTTP boot over IPv6 waits out AAVMF's HTTP-over-IPv4 attempt): two VMs at a time.
NAMES = ["arm64http6", "arm64-4", "arm64-6", "arm64http4"]


# -- the pure parts ------------------------------------------------------------------------------------------


def test_arm64_scenarios_have_their_own_names_and_macs() -> None:
    assert [s.name for s in arm64.ALL] == ["arm64-4", "arm64-6", "arm64http4", "arm64http6"]
    macs = {s.mac for s in arm64.ALL}
    assert len(macs) == 4 and macs.isdisjoint(s.mac for s in scenarios.ALL)
    assert [s.name for s in arm64.select("arm64http", 6)] == ["arm64http6"]
    assert "ra" not in arm64.select("arm64", 6)[0].needs
    with pytest.raises(ValueError):
        arm64.select("efi")


def test_the_initramfs_is_a_newc_archive_with_busybox_and_the_marker_init() -> None:
    archive = gzip.decompress(arm64.build_initrd("bootwright-lab-marker-test", b"\x7fELF busybox"))
    names, offset = [], 0
    while True:
        assert archive[offset : offset + 6] == b"070701"
        fields = [int(archive[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        name_at = offset + 110
        name = archive[name_at : name_at + namesize - 1].decode()
        data_at = name_at + namesize + (-(name_at + namesize) % 4)
        data = archive[data_at : data_at + size]
        if name == "TRAILER!!!":
            break
        names.append(name)
        if name == "init":
            assert b"bootwright-lab-marker-test" in data and fields[1] == 0o100755
        if name == "bin/busybox":
            assert data == b"\x7fELF busybox"
        offset = data_at + size + (-(data_at + size) % 4)
    assert names == [".", "bin", "bin/busybox", "dev", "proc", "sys", "init"]


def test_the_qemu_command_is_aavmf_on_virt_under_tcg(tmp_path: Path) -> None:
    try:
        tools.require(*tools.FOR_ARM64)
    except LabError as exc:
        pytest.skip(str(exc))
    http6 = arm64.select("arm64http", 6)[0]
    cmd = qemu.command(http6, "bwtap0", tmp_path / "serial.log", tmp_path / "vars.fd", "kvm")
    assert cmd[0].endswith("qemu-system-aarch64") and (tmp_path / "vars.fd").is_file()
    assert cmd[cmd.index("-accel") + 1] == "tcg" and cmd[cmd.index("-machine") + 1] == "virt"
    assert "name=opt/org.tianocore/IPv4PXESupport,string=n" in cmd
    assert "name=opt/org.tianocore/IPv6PXESupport,string=n" in cmd
    assert f"virtio-net-pci,netdev=n0,mac={http6.mac},romfile=" in cmd


@pytest.mark.parametrize(
    ("family", "arch", "vendor", "bootfile"),
    [
        (4, 11, "PXEClient:Arch:00011:UNDI:003000", "grubnetaa64.efi"),
        (6, 11, "PXEClient:Arch:00011:UNDI:003000", "tftp://[2001:db8::1]/grubnetaa64.efi"),
        (4, 19, "HTTPClient:Arch:00019:UNDI:003000", "http://192.0.2.1/grubhttpaa64.efi"),
        (6, 19, "HTTPClient:Arch:00019:UNDI:003000", "http://[2001:db8::1]/grubhttpaa64.efi"),
    ],
)
def test_the_arm64_config_answers_arch_11_and_19_with_grub(family: int, arch: int, vendor: str, bootfile: str) -> None:
    config = load_config(ARM64_CONFIG)
    policy = BootPolicy(config)
    mac = arm64.select("arm64" if arch == 11 else "arm64http", family)[0].mac
    client = ClientInfo(family=family, mac=mac, arches=(arch,), vendor_class=vendor)
    subnet = config.subnet4[0] if family == 4 else config.subnet6[0]
    answer = policy.decide(client, server_context(config, family, subnet))
    assert answer.bootfile == bootfile
    assert answer.script == "linux-arm64"  # the target its grub/grub.cfg is rendered from
    assert (answer.vendor_class == "HTTPClient") == (arch == 19)


def test_the_arm64_config_sends_no_dns_servers() -> None:
    # With DNS servers AAVMF's HTTP boot puts a DNS node before Uri(…) in the device path, and
    # GRUB 2.06's efinet then configures nothing and stops at grub> (examples/arm64-grub.toml).
    config = load_config(ARM64_CONFIG)
    assert not config.subnet4[0].dns and not config.subnet6[0].dns and not config.dhcp6.dns


# -- real firmware -------------------------------------------------------------------------------------------


def arm64_problem() -> str | None:
    """Why the arm64 scenarios cannot run here (beyond the lab's own needs), or None."""
    try:
        tools.require(*tools.FOR_ARM64)
    except LabError as exc:
        return str(exc)
    if arm64.GRUB_MKIMAGE.find() is None:
        return f"{arm64.GRUB_MKIMAGE.name} not found: install with 'apt-get install {arm64.GRUB_MKIMAGE.package}'"
    cached = payload.load(payload.DEFAULT_CACHE)
    if cached is None:
        return None  # environment_problem() prepares the x86 payload, and the run the arm64 one
    try:
        arm64.prepare(payload.DEFAULT_CACHE, cached.marker, say=None)
    except LabError as exc:
        return f"the arm64 payload could not be prepared: {exc}"
    return None


@pytest.fixture(scope="module")
def arm64_run() -> LabRun:
    problem = environment_problem() or arm64_problem()
    if problem is not None:
        pytest.skip(problem)
    return LabRun(
        LabOptions(
            config=ARM64_CONFIG,
            scenarios=sorted((s for s in arm64.ALL if s.name in NAMES), key=lambda s: NAMES.index(s.name)),
            parallel=PARALLEL,
            live=False,
            skip_unserved=True,
        )
    )


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(NAMES))
def test_arm64_uefi_pxe_and_http_boot_grub_then_the_arm64_kernel(arm64_run: LabRun, name: str) -> None:
    timeline = arm64_run.timeline(name)
    assert timeline.ok, f"{timeline.title}: {timeline.stopped_at()}"
    grub = arm64.GRUB_HTTP_PROGRAM if name.startswith("arm64http") else arm64.GRUB_PROGRAM
    # The console's "NBP file downloaded successfully" may be read first; the server's sighting names the file.
    assert timeline.detail.get(Stage.BOOTPROG) == grub, timeline.detail
    assert timeline.detail.get(Stage.SCRIPT) == "grub/grub.cfg", "GRUB did not read its rendered config"
    assert timeline.detail.get(Stage.KERNEL) == arm64.KERNEL, "GRUB did not boot the arm64 kernel"
    assert timeline.detail.get(Stage.INITRD) == arm64.INITRD
    family = int(name[-1])
    for stage in (Stage.BOOTPROG, Stage.SCRIPT, Stage.KERNEL, Stage.INITRD):
        assert timeline.via.get(stage) == family, f"{timeline.title}: {LABELS[stage]} not fetched over IPv{family}"
