"""The lab's payload: Debian's cloud kernel and a busybox initrd that prints a marker.

Prepared once from Debian packages and cached (``/var/cache/bootwright-lab`` by
default): ``apt-get download`` of the ``linux-image-*-cloud-amd64`` package the
``linux-image-cloud-amd64`` metapackage points at, ``dpkg -x``, and its
``boot/vmlinuz-*``; the initrd is a gzipped newc cpio (``busybox cpio -o -H
newc``) of the static busybox (``apt-get download busybox-static``, unpacked,
never installed: it conflicts with the ``busybox`` package) and an ``init`` that
prints the marker on the serial console and powers off. :func:`build_root` then fills a boot root with
``vmlinuz``, ``initrd.img`` and the iPXE programs from ``/usr/lib/ipxe``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import tools
from bootwright.lab.proc import LabError, run

DEFAULT_CACHE = Path(os.environ.get("BOOTWRIGHT_LAB_CACHE", "/var/cache/bootwright-lab"))
KERNEL_META = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
MARKER_PREFIX = "bootwright-lab-marker"
PAYLOAD_VERSION = 1  # bump when the initrd's init changes
IPXE_PROGRAMS = ("undionly.kpxe", "undionly.kkpxe", "ipxe.pxe", "ipxe.efi", "snponly.efi")

INIT_SCRIPT = """#!/bin/busybox sh
# bootwright lab: prove the kernel and initrd arrived, then power off.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
msg="{marker} kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"
echo "$msg" > /dev/console
# Also straight to the first serial port: a config whose cmdline lacks
# console=ttyS0 (seed 002's menu) still shows the marker on the serial log.
[ -c /dev/ttyS0 ] && echo "$msg" > /dev/ttyS0
sync
poweroff -f
"""


@dataclass(frozen=True)
class Payload:
    """A prepared payload in the cache."""

    kernel: Path
    initrd: Path
    marker: str
    kernel_version: str


def _manifest(cache: Path) -> Path:
    return cache / "payload.json"


def load(cache: Path = DEFAULT_CACHE) -> Payload | None:
    """The cached payload, or None when it is missing, incomplete or outdated."""
    try:
        data = json.loads(_manifest(cache).read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != PAYLOAD_VERSION:
        return None
    payload = Payload(cache / "vmlinuz", cache / "initrd.img", str(data["marker"]), str(data["kernel_version"]))
    if not (payload.kernel.is_file() and payload.initrd.is_file()):
        return None
    return payload


def prepare(cache: Path = DEFAULT_CACHE, *, force: bool = False, say: object = print) -> Payload:
    """Return the cached payload, building it first when needed (needs network for apt)."""
    if not force and (cached := load(cache)) is not None:
        return cached
    tools.require(*tools.FOR_PREPARE)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bwlab-prep-", dir=cache) as tmp:
        work = Path(tmp)
        package = _kernel_package()
        _say(say, f"lab: downloading {package} (Debian's cloud kernel) and {BUSYBOX_PACKAGE}")
        kernel_tree = _unpack(package, work / "kernel")
        kernels = sorted((kernel_tree / "boot").glob("vmlinuz-*"))
        if not kernels:
            raise LabError(f"{package} holds no boot/vmlinuz-*")
        version = kernels[-1].name.removeprefix("vmlinuz-")
        shutil.copyfile(kernels[-1], work / "vmlinuz")
        busybox = _unpack(BUSYBOX_PACKAGE, work / "busybox") / "bin" / "busybox"
        if not is_static_elf(busybox):
            raise LabError(f"{busybox} from {BUSYBOX_PACKAGE} is not a static executable")
        marker = f"{MARKER_PREFIX}-{secrets.token_hex(4)}"
        _say(say, "lab: building the busybox initrd")
        (work / "initrd.img").write_bytes(build_initrd(marker, busybox, work / "initrd"))
        os.replace(work / "vmlinuz", cache / "vmlinuz")
        os.replace(work / "initrd.img", cache / "initrd.img")
        manifest = {"version": PAYLOAD_VERSION, "marker": marker, "kernel_version": version, "package": package}
        _manifest(cache).write_text(json.dumps(manifest, indent=2) + "\n")
    payload = load(cache)
    assert payload is not None
    _say(say, f"lab: payload ready in {cache} (kernel {payload.kernel_version})")
    return payload


def _say(say: object, text: str) -> None:
    if callable(say):
        say(text)


def _kernel_package() -> str:
    """The versioned cloud kernel package the metapackage depends on."""
    for attempt in range(2):
        result = run(["apt-cache", "depends", KERNEL_META], timeout=60, check=False)
        match = re.search(r"Depends:\s*(linux-image-\S+-cloud-amd64\S*)", result.stdout.decode(errors="replace"))
        if match:
            return match.group(1)
        if attempt == 0:
            run(["apt-get", "update", "-qq"], timeout=300, check=False)
    raise LabError(f"apt does not know {KERNEL_META}: check /etc/apt/sources.list and run 'apt-get update'")


def _unpack(package: str, work: Path) -> Path:
    """``apt-get download`` then ``dpkg -x`` into ``work/tree`` (one ``apt-get update`` retry)."""
    work.mkdir(parents=True)
    for attempt in range(2):
        result = run(["apt-get", "download", "-q", package], cwd=work, timeout=600, check=False)
        debs = sorted(work.glob("*.deb"))
        if result.returncode == 0 and debs:
            run(["dpkg", "-x", str(debs[0]), str(work / "tree")], timeout=300)
            return work / "tree"
        if attempt == 0:
            run(["apt-get", "update", "-qq"], timeout=300, check=False)
    tail = result.stderr.decode(errors="replace").strip().splitlines()
    raise LabError(f"apt-get download {package} failed: {tail[-1] if tail else 'no .deb'}")


def unpack_package(package: str, work: Path) -> Path:
    """``apt-get download`` ``package`` and ``dpkg -x`` it under ``work`` (made here); the unpacked tree."""
    return _unpack(package, work)


def is_static_elf(path: Path) -> bool:
    """True for a 64-bit little-endian ELF without a PT_INTERP program header."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        return False
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    pt_interp = 3  # ELF gABI: program header type PT_INTERP
    for i in range(phnum):
        start = phoff + i * phentsize
        if int.from_bytes(data[start : start + 4], "little") == pt_interp:
            return False
    return True


def build_initrd(marker: str, busybox: Path, tree: Path) -> bytes:
    """A gzipped newc cpio holding ``/bin/busybox`` and ``/init`` (via ``busybox cpio``)."""
    (tree / "bin").mkdir(parents=True, exist_ok=True)
    for sub in ("dev", "proc", "sys"):
        (tree / sub).mkdir(exist_ok=True)
    shutil.copyfile(busybox, tree / "bin" / "busybox")
    (tree / "bin" / "busybox").chmod(0o755)
    init = tree / "init"
    init.write_text(INIT_SCRIPT.format(marker=marker))
    init.chmod(0o755)
    names = [".", "bin", "bin/busybox", "dev", "proc", "sys", "init"]
    archive = run(
        [str(busybox), "cpio", "-o", "-H", "newc"],
        cwd=tree,
        input_bytes=("\n".join(names) + "\n").encode(),
        timeout=60,
    ).stdout
    if not archive.startswith(b"070701"):
        raise LabError("busybox cpio did not produce a newc archive")
    return gzip.compress(archive, compresslevel=9, mtime=0)


def build_root(payload: Payload, root: Path, *, extra_script: str | None = None) -> Path:
    """Fill ``root`` with ``vmlinuz``, ``initrd.img`` and Debian's iPXE programs (copies).

    Seed 002's menu boots ``showmax/vmlinuz`` and ``showmax/initrd.img``: the same
    payload is placed there too. ``extra_script`` becomes ``boot.ipxe`` (the
    reference stack serves a static script; bootwright renders its own).
    """
    root.mkdir(parents=True, exist_ok=True)
    _copy(payload.kernel, root / "vmlinuz")
    _copy(payload.initrd, root / "initrd.img")
    (root / "showmax").mkdir(exist_ok=True)
    _copy(payload.kernel, root / "showmax" / "vmlinuz")
    _copy(payload.initrd, root / "showmax" / "initrd.img")
    for name in IPXE_PROGRAMS:
        source = tools.IPXE_DIR / name
        if source.is_file():
            _copy(source, root / name)
    if extra_script is not None:
        (root / "boot.ipxe").write_text(extra_script)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    root.chmod(0o755)
    return root


def _copy(source: Path, dest: Path) -> None:
    # A copy, never a hard link: the root's modes are set below, and servers may
    # refuse files with several links.
    shutil.copyfile(source, dest)
