"""The lab's boot chains beyond iPXE: Secure Boot (shim → GRUB), GRUB alone, and pxelinux.

==============================  ==================================================  =============================
scenario                        firmware (QEMU)                                      chain
==============================  ==================================================  =============================
``secureboot-efi4``             OVMF with Secure Boot on, Microsoft keys, UEFI PXE  shim → GRUB → kernel, TFTP v4
``secureboot-efi6``             same, PXE over IPv6                                 same over TFTP v6
``secureboot-efihttp4``         same, UEFI HTTP boot                                shim → GRUB over HTTP: stops
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
* ``pxelinux.0`` and ``ldlinux.c32``: ``pxelinux`` and ``syslinux-common``
  (pxelinux loads ``ldlinux.c32`` from beside itself before reading its config).

Two machines stop before the marker (:data:`STOPS`) and are booted by the e2e
test only, not by ``--firmware secureboot``: ``secureboot-ipxe-efi4``, whose
firmware must refuse Debian's unsigned ``ipxe.efi`` ("Access Denied"), and
``secureboot-efihttp4``: shim and GRUB load over UEFI HTTP boot, but Debian
12's signed GRUB images carry no ``http`` module (and Secure Boot lets GRUB
load none), so GRUB cannot read its config from the HTTP server it was booted
from and waits at its prompt.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import tools
from bootwright.lab.payload import _copy, _unpack
from bootwright.lab.proc import LabError
from bootwright.lab.scenarios import FIRMWARE_TITLES, Scenario

CONFIG = Path(__file__).resolve().parents[3] / "examples" / "lab-chains.toml"
GROUPS = ("secureboot", "grub", "pxelinux")  # ``--firmware`` values
PROGRAMS_VERSION = 1  # bump when PROGRAMS changes

# Name in the boot root → (Debian package, path inside it).
PROGRAMS: dict[str, tuple[str, str]] = {
    "shimx64.efi": ("shim-signed", "usr/lib/shim/shimx64.efi.signed"),
    "grubx64.efi": ("grub-efi-amd64-signed", "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"),
    "pxelinux.0": ("pxelinux", "usr/lib/PXELINUX/pxelinux.0"),
    "ldlinux.c32": ("syslinux-common", "usr/lib/syslinux/modules/bios/ldlinux.c32"),
}
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
    "secureboot-efihttp4": "Debian 12's signed GRUB has no HTTP client: after a UEFI HTTP boot it reaches no"
    " config and waits at its prompt",
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
    return found if all(p.is_file() for p in found.values()) else None


def prepare(cache: Path, say: object = None) -> dict[str, Path]:
    """The boot programs in the cache, downloaded from Debian's packages first when needed (apt)."""
    if (found := cached(cache)) is not None:
        return found
    tools.require(*tools.FOR_PREPARE)
    target = cache / "chains"
    target.mkdir(parents=True, exist_ok=True)
    packages = sorted({package for package, _ in PROGRAMS.values()})
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
    _manifest(cache).write_text(json.dumps({"version": PROGRAMS_VERSION, "debs": versions}, indent=2) + "\n")
    found = cached(cache)
    assert found is not None
    return found


def install(chosen: list[Scenario], cache: Path, root: Path, say: object = None) -> None:
    """Copy the boot programs into ``root`` when a chosen scenario needs them (preparing them first)."""
    if not any(isinstance(s, ChainScenario) for s in chosen):
        return
    for name, path in prepare(cache, say).items():
        _copy(path, root / name)
        (root / name).chmod(0o644)
