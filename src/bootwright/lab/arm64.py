"""arm64 UEFI in the lab: AAVMF, Debian's network GRUB, an arm64 kernel and a busybox initrd.

Debian 12 ships no arm64 iPXE, so the built-in table's ``ipxe-arm64.efi`` (arch
11, and 19 for HTTP boot) is not there to serve: the arm64 scenarios boot
Debian's network GRUB instead, ``grubnetaa64.efi`` from ``grub-efi-arm64-bin``
(examples/arm64-grub.toml names it in ``[boot.files]``). That GRUB has the
prefix ``/grub`` on the server it was booted from and reads ``grub/grub.cfg``,
which bootwright renders for the requester's MAC (:mod:`bootwright.boot.loaders`)
— the config's rule gives the lab's arm64 MACs the target ``linux-arm64``
(GRUB's request carries no architecture). The image has TFTP but no HTTP
module: as ``grub-mknetdir`` lays a netboot directory out, the lab serves the
package's modules under ``grub/arm64-efi/``, from where GRUB loads ``http.mod``
when the config names an ``(http,SERVER)`` kernel.

UEFI HTTP boot (arch 19) gets ``grubhttpaa64.efi``, built here with the host's
``grub-mkimage`` (Debian ``grub-common``) from the same package's modules
(:func:`grub_http`): prefix ``/grub``, :data:`GRUB_HTTP_MODULES` with ``http``
inside, no embedded config. Debian's GRUB 2.06-13 carries SUSE's HTTP boot
patches: efinet reads its address and the boot URL from the firmware's device
path (``…/MAC/IPv4(…)/Uri(http://SERVER/…)``), sets the root to
``(http,SERVER)`` and normal mode reads ``$prefix/grub.cfg`` — but
``grubnetaa64.efi`` holds no ``http`` module (debian/build-efi-images adds only
``tftp`` to the netboot image), so it can open neither its config nor
``http.mod`` there and stops at ``grub>``. That parser also expects the IPv4 or
IPv6 node right before the URI: a DHCP answer with DNS servers makes EDK2 put a
DNS node between them, GRUB then matches no card and configures nothing —
examples/arm64-grub.toml sends no DNS servers for this reason.

The payload comes from Debian's arm64 packages *downloaded, never installed*,
and the machine's dpkg architectures are never touched: apt runs with
``APT::Architecture=arm64`` and its own lists and archive directories inside the
lab cache (``<cache>/arm64/apt``), over the machine's own sources. From
``linux-image-*-cloud-arm64`` (what ``linux-image-cloud-arm64`` depends on) the
kernel ``boot/vmlinuz-*`` (an uncompressed EFI-stub Image); from
``busybox-static`` the static arm64 busybox; from ``grub-efi-arm64-bin`` the
monolithic ``grubnetaa64.efi``. The initrd is the x86 payload's ``init`` with
the arm64 busybox, packed here as a newc cpio (the arm64 busybox cannot run on
the host to pack itself). It needs no module: the init prints the marker on
``/dev/console`` (``console=ttyAMA0``, the virt machine's PL011, built into the
cloud kernel) and powers off — the network is not used after the kernel starts.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import tools
from bootwright.lab.payload import INIT_SCRIPT
from bootwright.lab.proc import LabError, run
from bootwright.lab.scenarios import Scenario

KERNEL_META = "linux-image-cloud-arm64"
BUSYBOX_PACKAGE = "busybox-static"
GRUB_PACKAGE = "grub-efi-arm64-bin"
GRUB_MODULES = "usr/lib/grub/arm64-efi"
GRUB_IMAGE = f"{GRUB_MODULES}/monolithic/grubnetaa64.efi"
VERSION = 2  # bump when the cached layout or the initrd changes

# Names in the boot root (examples/arm64-grub.toml's [boot.files] names GRUB_PROGRAM,
# its target linux-arm64 the kernel and initrd).
GRUB_PROGRAM = "grubnetaa64.efi"
GRUB_HTTP_PROGRAM = "grubhttpaa64.efi"  # arch 19: our build with http (module docstring)
GRUB_MODULE_DIR = "grub/arm64-efi"  # $prefix/$grub_cpu-$grub_platform, where GRUB loads modules from
KERNEL = "arm64/vmlinuz"
INITRD = "arm64/initrd.img"

# grub-mkimage, an x86 program that builds an image for any target from that target's
# module directory (kernel.img, moddep.lst, *.mod).
GRUB_MKIMAGE = tools.Requirement("grub-mkimage", "grub-common")
# What grubhttpaa64.efi holds: the network (efinet, net, http, tftp), what the rendered
# grub/grub.cfg uses (normal's scripting, test, linux; chain for EFI targets) and a few
# commands for the prompt. Anything else normal loads from $prefix/arm64-efi/ over HTTP.
GRUB_HTTP_MODULES = (
    "efinet", "net", "http", "tftp", "normal", "configfile", "echo", "test", "true", "sleep",
    "linux", "chain", "gzio", "minicmd", "ls", "cat", "halt", "reboot",
)  # fmt: skip

FIRMWARES = ("arm64", "arm64http")
TITLES = {"arm64": "arm64 UEFI PXE", "arm64http": "arm64 UEFI HTTP"}


@dataclass(frozen=True)
class Arm64Scenario(Scenario):
    """An AAVMF machine (``qemu-system-aarch64 -machine virt``): UEFI PXE (``arm64``) or HTTP boot (``arm64http``)."""

    @property
    def name(self) -> str:
        """``arm64-4``, ``arm64-6``, ``arm64http4``, ``arm64http6`` (a hyphen keeps ``arm64-4`` readable)."""
        return f"{self.firmware}-{self.family}" if self.firmware == "arm64" else f"{self.firmware}{self.family}"

    @property
    def title(self) -> str:
        """``arm64 UEFI PXE v4`` …"""
        return f"{TITLES[self.firmware]} v{self.family}"

    @property
    def mac(self) -> str:
        """Its own MAC, 52:54:00:b0:2<firmware>:0<family>, apart from the x86 and BMC machines."""
        return f"52:54:00:b0:2{FIRMWARES.index(self.firmware)}:{self.family:02x}"

    @property
    def needs(self) -> tuple[str, ...]:
        """DHCP of its family, TFTP for PXE (GRUB and its config), HTTP; no RA (examples/arm64-grub.toml says why)."""
        address = ("dhcp4",) if self.family == 4 else ("dhcp6",)
        program = ("tftp",) if self.firmware == "arm64" else ()
        return (*address, *program, "http")


ALL = tuple(Arm64Scenario(fw, fam, 20 + i) for i, (fw, fam) in enumerate((f, n) for f in FIRMWARES for n in (4, 6)))


def select(firmware: str, family: str | int = "all") -> list[Scenario]:
    """The arm64 scenarios of ``--firmware arm64|arm64http`` and ``--family 4|6|all``."""
    if firmware not in FIRMWARES:
        raise ValueError(f"firmware {firmware!r} is not one of {', '.join(FIRMWARES)}")
    fam = str(family)
    if fam not in ("4", "6", "all"):
        raise ValueError(f"family {family!r} is not one of 4, 6, all")
    return [s for s in ALL if s.firmware == firmware and fam in ("all", str(s.family))]


def chosen(scenarios: list[Scenario]) -> bool:
    """Whether any of ``scenarios`` is an arm64 one (the boot root then needs the arm64 payload)."""
    return any(s.firmware in FIRMWARES for s in scenarios)


@dataclass(frozen=True)
class Arm64Payload:
    """The cached arm64 kernel, initrd (with ``marker``), network GRUB and its modules."""

    kernel: Path
    initrd: Path
    grub: Path
    modules: Path  # the package's arm64-efi directory: *.mod, *.lst and kernel.img (for grub-mkimage)
    marker: str
    kernel_version: str


def _dir(cache: Path) -> Path:
    return cache / "arm64"


def load(cache: Path, marker: str) -> Arm64Payload | None:
    """The cached arm64 payload whose initrd prints ``marker``, or None."""
    where = _dir(cache)
    try:
        data = json.loads((where / "payload.json").read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != VERSION or data.get("marker") != marker:
        return None
    found = Arm64Payload(
        where / "vmlinuz",
        where / "initrd.img",
        where / GRUB_PROGRAM,
        where / "grub-modules",
        marker,
        str(data.get("kernel_version")),
    )
    if not all(p.is_file() for p in (found.kernel, found.initrd, found.grub, *_module_files(found.modules))):
        return None
    return found


def _module_files(modules: Path) -> tuple[Path, ...]:
    """Files of the cached module directory that must be there: GRUB's http module, what grub-mkimage reads."""
    return (modules / "http.mod", modules / "kernel.img", modules / "moddep.lst")


def prepare(cache: Path, marker: str, *, say: object = print) -> Arm64Payload:
    """Return the cached arm64 payload, downloading and building what is missing.

    A new x86 marker only rebuilds the initrd (the arm64 busybox is kept).
    """
    if (cached := load(cache, marker)) is not None:
        return cached
    tools.require(*tools.FOR_PREPARE)
    where = _dir(cache)
    where.mkdir(parents=True, exist_ok=True)
    busybox = where / "busybox"
    manifest: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((where / "payload.json").read_text())
    have = manifest.get("version") == VERSION and all(
        p.is_file() for p in (where / "vmlinuz", where / GRUB_PROGRAM, busybox, *_module_files(where / "grub-modules"))
    )
    if not have:
        _say(say, f"lab: downloading Debian's arm64 {KERNEL_META}, {BUSYBOX_PACKAGE} and {GRUB_PACKAGE}")
        manifest = _download(where)
    _say(say, "lab: building the arm64 busybox initrd")
    initrd = build_initrd(marker, busybox.read_bytes())
    tmp = where / f"initrd.img.{os.getpid()}"
    tmp.write_bytes(initrd)
    os.replace(tmp, where / "initrd.img")
    manifest.update(version=VERSION, marker=marker)
    (where / "payload.json").write_text(json.dumps(manifest, indent=2) + "\n")
    found = load(cache, marker)
    assert found is not None
    _say(say, f"lab: arm64 payload ready in {where} (kernel {found.kernel_version})")
    return found


def _say(say: object, text: str) -> None:
    if callable(say):
        say(text)


def apt_options(where: Path) -> list[str]:
    """apt options for arm64 indexes and downloads in ``where/apt``: dpkg's own architectures stay as they are."""
    apt = where / "apt"
    for sub in ("lists/partial", "archives/partial"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    return [
        "-o", "APT::Architecture=arm64",
        "-o", "APT::Architectures::=arm64",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::Cache={apt}",
        "-o", f"Dir::Cache::Archives={apt / 'archives'}",
        # The installed packages are amd64 ones and irrelevant here.
        "-o", "Dir::State::status=/dev/null",
        # Files written as root into the lab cache, not by apt's sandbox user.
        "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip


def _download(where: Path) -> dict[str, object]:
    """Fetch the arm64 indexes, then download and unpack the three packages into ``where``."""
    opts = apt_options(where)
    result = run(["apt-get", "-q", *opts, "update"], timeout=600, check=False)
    # A third-party source without arm64 may fail; what matters is whether the packages resolve.
    depends = run(["apt-cache", *opts, "depends", KERNEL_META], timeout=120, check=False)
    match = re.search(r"Depends:\s*(linux-image-\S+-cloud-arm64\S*)", depends.stdout.decode(errors="replace"))
    if not match:
        tail = result.stderr.decode(errors="replace").strip().splitlines()
        why = f" ({tail[-1]})" if tail else ""
        raise LabError(
            f"apt knows no arm64 {KERNEL_META}{why}: the machine's apt sources must be a Debian mirror with arm64"
        )
    kernel_package = match.group(1)
    with tempfile.TemporaryDirectory(prefix="bwlab-arm64-", dir=where) as tmp:
        work = Path(tmp)
        packages = (kernel_package, BUSYBOX_PACKAGE, GRUB_PACKAGE)
        got = run(["apt-get", "-q", *opts, "download", *packages], cwd=work, timeout=900, check=False)
        trees: dict[str, Path] = {}
        for package in packages:
            debs = sorted(work.glob(f"{package}_*_arm64.deb"))
            if not debs:
                tail = got.stderr.decode(errors="replace").strip().splitlines()
                raise LabError(f"apt-get download {package} (arm64) failed: {tail[-1] if tail else 'no .deb'}")
            trees[package] = work / package
            run(["dpkg-deb", "-x", str(debs[0]), str(trees[package])], timeout=300)
        kernels = sorted((trees[kernel_package] / "boot").glob("vmlinuz-*"))
        if not kernels:
            raise LabError(f"{kernel_package} holds no boot/vmlinuz-*")
        busybox = trees[BUSYBOX_PACKAGE] / "bin" / "busybox"
        if not is_static_arm64(busybox):
            raise LabError(f"{busybox} from {BUSYBOX_PACKAGE} is not a static arm64 executable")
        grub = trees[GRUB_PACKAGE] / GRUB_IMAGE
        if not grub.is_file():
            raise LabError(f"{GRUB_PACKAGE} holds no {GRUB_IMAGE}")
        shutil.copyfile(kernels[-1], where / "vmlinuz")
        shutil.copyfile(busybox, where / "busybox")
        shutil.copyfile(grub, where / GRUB_PROGRAM)
        shutil.rmtree(where / "grub-modules", ignore_errors=True)
        (where / GRUB_HTTP_PROGRAM).unlink(missing_ok=True)  # built from these modules: rebuilt on demand
        (where / "grub-modules").mkdir()
        for module in (trees[GRUB_PACKAGE] / GRUB_MODULES).glob("*"):
            if module.suffix in (".mod", ".lst") or module.name == "kernel.img":
                shutil.copyfile(module, where / "grub-modules" / module.name)
    return {"kernel_version": kernels[-1].name.removeprefix("vmlinuz-"), "packages": list(packages)}


def is_static_arm64(path: Path) -> bool:
    """A 64-bit little-endian AArch64 ELF (e_machine 183) without a PT_INTERP program header."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01" or int.from_bytes(data[18:20], "little") != 183:
        return False
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    pt_interp = 3  # ELF gABI: program header type PT_INTERP
    return all(
        int.from_bytes(data[phoff + i * phentsize : phoff + i * phentsize + 4], "little") != pt_interp
        for i in range(phnum)
    )


def newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive (the initramfs format, kernel Documentation/driver-api/early-userspace/buffer-format.rst).

    ``entries``: (name, mode, data); directories have mode ``0o040755`` and no data.
    """
    out = bytearray()

    def member(ino: int, name: str, mode: int, data: bytes) -> None:
        encoded = name.encode() + b"\0"
        nlink = 2 if mode & 0o040000 else 1
        fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data) in enumerate(entries, start=1):
        member(ino, name, mode, data)
    member(0, "TRAILER!!!", 0, b"")
    return bytes(out)


def build_initrd(marker: str, busybox: bytes) -> bytes:
    """The gzipped initramfs: ``/bin/busybox`` (arm64) and the lab's ``/init`` printing ``marker``."""
    directory = 0o040755
    archive = newc(
        [
            (".", directory, b""),
            ("bin", directory, b""),
            ("bin/busybox", 0o100755, busybox),
            ("dev", directory, b""),
            ("proc", directory, b""),
            ("sys", directory, b""),
            ("init", 0o100755, INIT_SCRIPT.format(marker=marker).encode()),
        ]
    )
    return gzip.compress(archive, compresslevel=9, mtime=0)


def grub_http(found: Arm64Payload) -> Path:
    """The cached ``grubhttpaa64.efi``, built with ``grub-mkimage`` from the cached modules when missing.

    ``-p /grub``: the prefix of Debian's network images, a path on the device
    GRUB was booted from — ``(http,SERVER)`` after UEFI HTTP boot (efinet makes
    it from the firmware's URI device path), ``(tftp,SERVER)`` after PXE. No
    embedded config: normal mode reads ``$prefix/grub.cfg``, the per-client config.
    """
    image = found.grub.parent / GRUB_HTTP_PROGRAM
    if image.is_file():
        return image
    mkimage = GRUB_MKIMAGE.find()
    if mkimage is None:
        raise LabError(
            f"{GRUB_MKIMAGE.name} not found (it builds {GRUB_HTTP_PROGRAM} for --firmware arm64http): "
            f"install the Debian package with 'apt-get install {GRUB_MKIMAGE.package}'"
        )
    tmp = image.with_name(f"{image.name}.{os.getpid()}")
    cmd = [str(mkimage), "-O", "arm64-efi", "-d", str(found.modules), "-p", "/grub", "-o", str(tmp)]
    try:
        run([*cmd, *GRUB_HTTP_MODULES], timeout=120)
        os.replace(tmp, image)
    finally:
        tmp.unlink(missing_ok=True)
    return image


def fill_root(found: Arm64Payload, root: Path, *, http: bool = False) -> None:
    """Put GRUB, its modules, the arm64 kernel and initrd into the boot root (copies, world-readable).

    ``http``: also ``grubhttpaa64.efi`` (:func:`grub_http`), for UEFI HTTP boot.
    """
    modules = root / GRUB_MODULE_DIR
    modules.mkdir(parents=True, exist_ok=True)
    (root / KERNEL).parent.mkdir(parents=True, exist_ok=True)
    copies = [(found.grub, GRUB_PROGRAM), (found.kernel, KERNEL), (found.initrd, INITRD)]
    if http:
        copies.append((grub_http(found), GRUB_HTTP_PROGRAM))
    copies += [(m, f"{GRUB_MODULE_DIR}/{m.name}") for m in sorted(found.modules.iterdir()) if m.suffix != ".img"]
    for source, name in copies:
        shutil.copyfile(source, root / name)
        (root / name).chmod(0o644)
    for directory in (root / "arm64", root / "grub", modules):
        directory.chmod(0o755)


def install(chosen_scenarios: list[Scenario], cache: Path, marker: str, root: Path, say: object = None) -> None:
    """When an arm64 scenario is chosen: prepare the arm64 payload (``marker`` in its initrd) and fill ``root``."""
    if chosen(chosen_scenarios):
        http = any(s.firmware == "arm64http" for s in chosen_scenarios)
        fill_root(prepare(cache, marker, say=say), root, http=http)
