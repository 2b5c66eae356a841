"""The lab's boot chains beyond iPXE: Secure Boot (shim → GRUB), GRUB alone, and pxelinux.

==============================  ==================================================  =============================
scenario                        firmware (QEMU)                                      chain
==============================  ==================================================  =============================
``secureboot-efi4``             OVMF with Secure Boot on, Microsoft keys, UEFI PXE  shim → GRUB → kernel, TFTP v4
``secureboot-efi6``             same, PXE over IPv6                                 same over TFTP v6
``secureboot-efihttp4``         same + a site key in ``db``, UEFI HTTP boot         shim → site-signed GRUB, HTTP
``secureboot-ipxe-efi4``        same, UEFI PXE v4                                   unsigned ``ipxe.efi``: refused
``grub-efi4``                   OVMF without Secure Boot, UEFI PXE                  GRUB (no shim) → kernel
``pxelinux-bios4``              SeaBIOS + iPXE ROM as the PXE stack                 TFTP ``pxelinux.0`` → config
``pxelinux-http-bios4``         same                                                iPXE → ``http://…/pxelinux.0``
==============================  ==================================================  =============================

Each chain boots the lab's payload (Debian's cloud kernel, signed by Debian,
and the busybox initrd) from the configs bootwright renders for the client:
GRUB's ``grub/grub.cfg`` (Debian's network GRUB reads that name under its
prefix ``/grub``, no per-MAC names) and pxelinux's ``pxelinux.cfg/01-<mac>``
(:mod:`bootwright.boot.loaders`), from the same decision an iPXE client gets.
``examples/lab-chains.toml`` gives every scenario's MAC its host and group.

The boot programs come from Debian's packages, downloaded (``apt-get
download``) and unpacked into the lab cache, never installed — the maintainer
scripts of shim-signed and grub-efi-amd64-signed may run ``grub-install`` on
the machine:

* ``shimx64.efi``: ``shim-signed``'s ``shimx64.efi.signed`` (signed by Microsoft);
* ``grubx64.efi``: ``grub-efi-amd64-signed``'s ``grubnetx64.efi.signed``
  (signed by Debian; shim loads ``grubx64.efi`` from its own directory);
* ``sb-http/shimx64.efi`` and ``sb-http/grubx64.efi``: the same shim beside
  the lab's own HTTP-capable GRUB, signed with a site key (:func:`build_http_grub`);
* ``pxelinux.0`` and ``ldlinux.c32``: ``pxelinux`` and ``syslinux-common``
  (pxelinux loads ``ldlinux.c32`` from beside itself before reading its config).

Over UEFI HTTP boot Debian 12's signed GRUB images do not do: they carry no
``http`` module (and under Secure Boot GRUB loads none from the network), so
after an HTTP boot they read no config and wait at ``grub>``. A site running
Secure Boot with its own key does what ``secureboot-efihttp4`` does: it builds
``grubhttpx64.efi`` with ``grub-mkimage`` from Debian's ``grub-efi-amd64-bin``
modules (those of Debian's signed ``grubnetx64.efi`` plus ``http``, with its
SBAT section: shim refuses an image without one), signs it with its own key
(``sbsign``) and enrolls that certificate in the firmware's ``db``
(``virt-fw-vars --add-db`` on the VM's copy of ``OVMF_VARS_4M.ms.fd``). shim
checks the next stage against its vendor certificate, MOK and the firmware's
``db`` (shim's ``verify_buffer``), so it starts that GRUB; GRUB verifies the
Debian-signed kernel through shim's protocol (shim_lock). shim loads
``grubx64.efi`` from its own URL directory, so that GRUB is served beside a
second copy of shim under ``sb-http/``, which only the HTTP-boot rule of
``examples/lab-chains.toml`` names; the TFTP machines keep Debian's signed
GRUB. The subnet sends no DNS servers: with them EDK2 puts a DNS node before
the URI in the device path and Debian's GRUB HTTP-boot patch configures no
network (docs/lab.md, arm64 HTTP boot).

One machine stops before the marker (:data:`STOPS`) and is booted by the e2e
test only, not by ``--firmware secureboot``: ``secureboot-ipxe-efi4``, whose
firmware must refuse Debian's unsigned ``ipxe.efi`` ("Access Denied").
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import qemu, tools
from bootwright.lab.arm64 import GRUB_MKIMAGE
from bootwright.lab.payload import _copy, _unpack
from bootwright.lab.proc import LabError, run
from bootwright.lab.scenarios import FIRMWARE_TITLES, Scenario

CONFIG = Path(__file__).resolve().parents[3] / "examples" / "lab-chains.toml"
GROUPS = ("secureboot", "grub", "pxelinux")  # ``--firmware`` values
PROGRAMS_VERSION = 2  # bump when PROGRAMS or the HTTP chain (below) changes

# Name in the boot root → (Debian package, path inside it).
PROGRAMS: dict[str, tuple[str, str]] = {
    "shimx64.efi": ("shim-signed", "usr/lib/shim/shimx64.efi.signed"),
    "grubx64.efi": ("grub-efi-amd64-signed", "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"),
    "pxelinux.0": ("pxelinux", "usr/lib/PXELINUX/pxelinux.0"),
    "ldlinux.c32": ("syslinux-common", "usr/lib/syslinux/modules/bios/ldlinux.c32"),
}

# -- the site-signed HTTP chain (module docstring) --
HTTP_DIR = "sb-http"  # shim + the site-signed GRUB as grubx64.efi: the URL directory only HTTP boot is sent to
GRUB_BIN = ("grub-efi-amd64-bin", "usr/lib/grub/x86_64-efi")  # kernel.img, moddep.lst, *.mod
# Debian's signed grubnetx64.efi's modules (the ELF objects of its ``mods`` section; Debian's
# build-efi-images: the CD set + tftp) plus http. Under Secure Boot GRUB loads no module from
# the network (shim_lock refuses GRUB_FILE_TYPE_GRUB_MODULE), so the image must hold them all.
HTTP_GRUB_MODULES = (
    "acpi", "adler32", "all_video", "bitmap", "bitmap_scale", "boot", "btrfs", "bufio", "cat", "chain",
    "configfile", "cpuid", "crypto", "datetime", "disk", "diskfilter", "echo", "efi_gop", "efi_uga",
    "efifwsetup", "efinet", "ext2", "extcmd", "f2fs", "fat", "file", "font", "fshelp", "gcry_crc",
    "gcry_rijndael", "gcry_sha1", "gcry_sha512", "gettext", "gfxmenu", "gfxterm", "gfxterm_background", "gzio",
    "halt", "help", "hfsplus", "http", "iso9660", "jpeg", "keystatus", "linux", "linuxefi", "loadenv",
    "loopback", "ls", "lsefi", "lsefimmap", "lsefisystab", "lssal", "lzopio", "memdisk", "minicmd", "mmap",
    "net", "normal", "part_apple", "part_gpt", "part_msdos", "password_pbkdf2", "pbkdf2", "play", "png",
    "priority_queue", "probe", "raid5rec", "raid6rec", "reboot", "regexp", "relocator", "search",
    "search_fs_file", "search_fs_uuid", "search_label", "serial", "sleep", "smbios", "squash4", "terminal",
    "terminfo", "test", "tftp", "tpm", "tr", "trig", "true", "video", "video_bochs", "video_cirrus",
    "video_colors", "video_fb", "xfs", "xzio", "zfs", "zfscrypt", "zfsinfo", "zstd",
)  # fmt: skip
SITE_SUBJECT = "/CN=bootwright lab site key (Secure Boot db)"
SITE_OWNER = "6b6c2f5e-0c1b-4b8e-9f3a-62776c616221"  # the db entry's owner GUID (any GUID: the site's own)
SITE_VARS = "OVMF_VARS_4M.site.fd"  # OVMF_VARS_4M.ms.fd + the site certificate in db
OPENSSL = tools.Requirement("openssl", "openssl")
SBSIGN = tools.Requirement("sbsign", "sbsigntool")

# Chain → (its --firmware group, its title).
CHAINS: dict[str, tuple[str, str]] = {
    "secureboot": ("secureboot", "Secure Boot shim → GRUB"),
    "secureboot-ipxe": ("secureboot", "Secure Boot, unsigned ipxe.efi"),
    "grub": ("grub", "GRUB"),
    "pxelinux": ("pxelinux", "pxelinux.0 over TFTP"),
    "pxelinux-http": ("pxelinux", "iPXE → pxelinux.0 over HTTP"),
}


@dataclass(frozen=True)
class ChainScenario(Scenario):
    """A VM whose firmware (``bios``, ``efi``, ``efihttp``) boots a chain of :data:`CHAINS`."""

    chain: str = "secureboot"

    @property
    def name(self) -> str:
        """``secureboot-efi4``, ``pxelinux-bios4`` …"""
        return f"{self.chain}-{self.firmware}{self.family}"

    @property
    def title(self) -> str:
        """``UEFI PXE v4, Secure Boot shim → GRUB``."""
        return f"{FIRMWARE_TITLES[self.firmware]} v{self.family}, {CHAINS[self.chain][1]}"

    @property
    def mac(self) -> str:
        """Its own MAC, 52:54:00:b0:3<n>:0<family> (``examples/lab-chains.toml`` names each one)."""
        return f"52:54:00:b0:3{self.index:x}:{self.family:02x}"

    @property
    def needs(self) -> tuple[str, ...]:
        """DHCP of its family, TFTP when a program or config comes over TFTP, and HTTP (kernel, initrd)."""
        address = ("dhcp4",) if self.family == 4 else ("dhcp6", "ra")
        tftp = ("tftp",) if self.firmware == "efi" or self.chain == "pxelinux" else ()
        return (*address, *tftp, "http")

    @property
    def has_boot_program(self) -> bool:
        """Every chain fetches its boot program (pxelinux.0 too: the ROM's iPXE loads it)."""
        return True

    @property
    def secure_boot(self) -> bool:
        """Secure Boot on, Microsoft's keys enrolled (``OVMF_CODE_4M.secboot.fd`` + ``OVMF_VARS_4M.ms.fd``)."""
        return self.chain.startswith("secureboot")


ALL = tuple(
    ChainScenario(firmware, family, index, chain)
    for index, (chain, firmware, family) in enumerate(
        (
            ("secureboot", "efi", 4),
            ("secureboot", "efi", 6),
            ("secureboot", "efihttp", 4),
            ("secureboot-ipxe", "efi", 4),
            ("grub", "efi", 4),
            ("pxelinux", "bios", 4),
            ("pxelinux-http", "bios", 4),
        )
    )
)
# Machines that stop before the marker, and why: booted by the e2e test (which checks that they stop
# there), never by ``--firmware …``.
STOPS = {
    "secureboot-ipxe-efi4": "the firmware refuses Debian's unsigned ipxe.efi (Access Denied)",
}


def select(group: str = "all", family: str | int = "all") -> list[ChainScenario]:
    """The scenarios of ``--firmware secureboot|grub|pxelinux`` (``all``: every one) and ``--family``.

    The machines of :data:`STOPS` are left out: they stop before the marker on purpose.
    """
    if group not in (*GROUPS, "all"):
        raise ValueError(f"firmware {group!r} is not one of {', '.join(GROUPS)}")
    fam = str(family)
    if fam not in ("4", "6", "all"):
        raise ValueError(f"family {family!r} is not one of 4, 6, all")
    chosen = [
        s for s in ALL if s.name not in STOPS and group in ("all", CHAINS[s.chain][0]) and fam in ("all", str(s.family))
    ]
    if not chosen:
        raise ValueError(f"--firmware {group} has no IPv{fam} scenario")
    return chosen


def by_name(name: str) -> ChainScenario:
    """The chain scenario called ``name``."""
    for s in ALL:
        if s.name == name:
            return s
    raise KeyError(name)


# -- the boot programs -----------------------------------------------------------------------------


def _manifest(cache: Path) -> Path:
    return cache / "chains" / "programs.json"


def cached(cache: Path) -> dict[str, Path] | None:
    """Root name → file in the cache, or None when missing or outdated."""
    try:
        data = json.loads(_manifest(cache).read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != PROGRAMS_VERSION:
        return None
    found = {name: cache / "chains" / name for name in PROGRAMS}
    found[f"{HTTP_DIR}/shimx64.efi"] = found["shimx64.efi"]
    found[f"{HTTP_DIR}/grubx64.efi"] = cache / "chains" / HTTP_DIR / "grubhttpx64.efi"
    ready = (cache / "chains" / HTTP_DIR / SITE_VARS).is_file()
    return found if ready and all(p.is_file() for p in found.values()) else None


def prepare(cache: Path, say: object = None) -> dict[str, Path]:
    """The boot programs in the cache, downloaded from Debian's packages first when needed (apt)."""
    if (found := cached(cache)) is not None:
        return found
    tools.require(*tools.FOR_PREPARE)
    target = cache / "chains"
    target.mkdir(parents=True, exist_ok=True)
    packages = sorted({package for package, _ in (*PROGRAMS.values(), GRUB_BIN)})
    if callable(say):
        say(f"lab: downloading {', '.join(packages)} (boot programs, unpacked, not installed)")
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bwlab-chains-", dir=cache) as tmp:
        trees = {package: _unpack(package, Path(tmp) / package) for package in packages}
        for package in packages:
            debs = sorted((Path(tmp) / package).glob("*.deb"))
            versions[package] = debs[0].name if debs else package
        for name, (package, inside) in PROGRAMS.items():
            source = trees[package] / inside
            if not source.is_file():
                raise LabError(f"{package} holds no {inside}")
            shutil.copyfile(source, target / f".{name}.tmp")
            os.replace(target / f".{name}.tmp", target / name)
        if callable(say):
            say(f"lab: building {HTTP_DIR}/grubx64.efi (GRUB with http, signed with a site key enrolled in db)")
        build_http_grub(trees[GRUB_BIN[0]] / GRUB_BIN[1], target / "grubx64.efi", target / HTTP_DIR)
    _manifest(cache).write_text(json.dumps({"version": PROGRAMS_VERSION, "debs": versions}, indent=2) + "\n")
    found = cached(cache)
    assert found is not None
    return found


def install(chosen: list[Scenario], cache: Path, root: Path, say: object = None) -> None:
    """Copy the boot programs into ``root`` when a chosen scenario needs them (preparing them first).

    A Secure Boot machine booting over HTTP also gets the variable store with the site key in ``db``:
    its private copy (:func:`~bootwright.lab.qemu.vars_copy_path`; ``root``'s parent is the work
    directory), which ``qemu.command`` keeps when it exists.
    """
    if not any(isinstance(s, ChainScenario) for s in chosen):
        return
    for name, path in prepare(cache, say).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).parent.chmod(0o755)
        _copy(path, root / name)
        (root / name).chmod(0o644)
    for s in chosen:
        if isinstance(s, ChainScenario) and s.secure_boot and s.firmware == "efihttp":
            shutil.copyfile(cache / "chains" / HTTP_DIR / SITE_VARS, qemu.vars_copy_path(root.parent, s.name))


# -- the site-signed HTTP chain --------------------------------------------------------------------


def pe_section(image: bytes, name: str) -> bytes:
    """The contents of PE section ``name`` (Microsoft PE/COFF spec §3, §4), trailing NULs removed; b"" if absent."""
    pe = int.from_bytes(image[0x3C:0x40], "little")
    if image[pe : pe + 4] != b"PE\0\0":
        raise ValueError("not a PE image")
    sections = int.from_bytes(image[pe + 6 : pe + 8], "little")
    table = pe + 24 + int.from_bytes(image[pe + 20 : pe + 22], "little")  # after the optional header
    for i in range(sections):
        header = image[table + 40 * i : table + 40 * (i + 1)]
        if header[:8].rstrip(b"\0") == name.encode():
            size = min(int.from_bytes(header[8:12], "little"), int.from_bytes(header[16:20], "little"))
            start = int.from_bytes(header[20:24], "little")
            return image[start : start + size].rstrip(b"\0")
    return b""


def _virt_fw_vars() -> Path:
    """``virt-fw-vars`` (PyPI virt-firmware, the test extra): on PATH or beside this Python (a venv)."""
    found = shutil.which("virt-fw-vars") or shutil.which("virt-fw-vars", path=str(Path(sys.executable).parent))
    if found is None:
        raise LabError("virt-fw-vars not found (it enrolls the lab's site key): pip install virt-firmware")
    return Path(found)


def _tool(requirement: tools.Requirement) -> str:
    found = requirement.find()
    if found is None:
        raise LabError(
            f"{requirement.name} not found (it builds the Secure Boot HTTP chain): "
            f"install the Debian package with 'apt-get install {requirement.package}'"
        )
    return str(found)


def build_http_grub(modules: Path, signed_grub: Path, target: Path) -> None:
    """Into ``target``: the site key pair, ``grubhttpx64.efi`` signed with it, and :data:`SITE_VARS`.

    The image: ``grub-mkimage`` from ``modules`` (``grub-efi-amd64-bin``, the same GRUB
    version as Debian's signed images), :data:`HTTP_GRUB_MODULES`, prefix ``/grub`` as
    Debian's network images (efinet makes it ``(http,SERVER)/grub`` from the boot URI),
    and the SBAT section of Debian's signed ``signed_grub``: shim 15.7+ refuses an image
    without SBAT data (shim SBAT.md), and this build is Debian's GRUB at that version.
    """
    mkimage, openssl, sbsign = _tool(GRUB_MKIMAGE), _tool(OPENSSL), _tool(SBSIGN)
    fw_vars = _virt_fw_vars()
    sbat = pe_section(signed_grub.read_bytes(), ".sbat")
    if not sbat.startswith(b"sbat,"):
        raise LabError(f"{signed_grub.name} holds no SBAT section to copy")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "sbat.csv").write_bytes(sbat + b"\n")
    key, cert = target / "site.key", target / "site.pem"
    run([openssl, "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", SITE_SUBJECT,
         "-keyout", str(key), "-out", str(cert)], timeout=60)  # fmt: skip
    key.chmod(0o600)
    unsigned = target / "grubhttpx64.unsigned.efi"
    run([mkimage, "-O", "x86_64-efi", "-d", str(modules), "-p", "/grub", "--sbat", str(target / "sbat.csv"),
         "-o", str(unsigned), *HTTP_GRUB_MODULES], timeout=120)  # fmt: skip
    run([sbsign, "--key", str(key), "--cert", str(cert), "--output", str(target / "grubhttpx64.efi"), str(unsigned)])
    unsigned.unlink()
    source = tools.require(*tools.FOR_SECUREBOOT)["ovmf-vars-ms"]
    run([str(fw_vars), "--input", str(source), "--output", str(target / SITE_VARS), "--add-db", SITE_OWNER, str(cert)])
