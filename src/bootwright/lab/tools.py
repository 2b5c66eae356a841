"""Find what the lab needs on this machine; name the Debian package when missing.

Everything the lab runs or loads is listed in :data:`REQUIREMENTS` with the
Debian package that provides it, so a missing piece ends in one clear line:
``qemu-system-x86_64 not found: apt-get install qemu-system-x86``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab.proc import LabError


@dataclass(frozen=True)
class Requirement:
    """One program or file, where to look for it, and the package that ships it."""

    name: str
    package: str
    paths: tuple[str, ...] = ()  # files to try in order; empty: look the name up on PATH

    def find(self) -> Path | None:
        """The first existing candidate, or None."""
        if not self.paths:
            found = shutil.which(self.name) or shutil.which(self.name, path="/usr/sbin:/sbin:/usr/bin:/bin")
            return Path(found) if found else None
        for candidate in self.paths:
            if Path(candidate).exists():
                return Path(candidate)
        return None


IPXE_DIR = Path("/usr/lib/ipxe")

REQUIREMENTS: dict[str, Requirement] = {
    r.name: r
    for r in (
        Requirement("ip", "iproute2"),
        Requirement("nft", "nftables"),
        Requirement("qemu-system-x86_64", "qemu-system-x86"),
        Requirement("seabios", "seabios", ("/usr/share/seabios/bios-256k.bin",)),
        Requirement(
            "ipxe-rom", "ipxe-qemu", ("/usr/lib/ipxe/qemu/efi-virtio.rom", "/usr/lib/ipxe/qemu/pxe-virtio.rom")
        ),
        Requirement("ovmf-code", "ovmf", ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd")),
        Requirement("ovmf-vars", "ovmf", ("/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd")),
        Requirement("ovmf-code-secboot", "ovmf", ("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",)),
        Requirement("ovmf-vars-ms", "ovmf", ("/usr/share/OVMF/OVMF_VARS_4M.ms.fd",)),
        Requirement("qemu-system-aarch64", "qemu-system-arm"),
        Requirement("aavmf-code", "qemu-efi-aarch64", ("/usr/share/AAVMF/AAVMF_CODE.fd",)),
        Requirement("aavmf-vars", "qemu-efi-aarch64", ("/usr/share/AAVMF/AAVMF_VARS.fd",)),
        Requirement("undionly.kpxe", "ipxe", (str(IPXE_DIR / "undionly.kpxe"),)),
        Requirement("ipxe.efi", "ipxe", (str(IPXE_DIR / "ipxe.efi"),)),
        Requirement("dnsmasq", "dnsmasq-base"),
        Requirement("dhcpd", "isc-dhcp-server"),
        Requirement("tcpdump", "tcpdump"),
        Requirement("ipmi_sim", "openipmi"),
        Requirement("ipmitool", "ipmitool"),
        # PyPI, not Debian: installed beside bootwright (pip install sushy-tools, or the test extra).
        Requirement(
            "sushy-emulator",
            "sushy-tools (pip install sushy-tools)",
            (str(Path(sys.executable).parent / "sushy-emulator"),),
        ),
        # --firmware nfs: the NFS server bootwright supervises (net/nfs.py), NFS-Ganesha with its own rpcbind.
        Requirement("ganesha.nfsd", "nfs-ganesha nfs-ganesha-vfs"),
        Requirement("rpcbind", "rpcbind"),
        Requirement("apt-get", "apt"),
        Requirement("dpkg", "dpkg"),
        Requirement("dpkg-deb", "dpkg"),
    )
}

# What each part of the lab needs.
FOR_PREPARE = ("apt-get", "dpkg")
FOR_NETWORK = ("ip", "nft")
FOR_BIOS = ("qemu-system-x86_64", "seabios", "ipxe-rom")
FOR_EFI = ("qemu-system-x86_64", "ovmf-code", "ovmf-vars")
FOR_SECUREBOOT = ("ovmf-code-secboot", "ovmf-vars-ms")  # the chains of lab/chains.py
FOR_ARM64 = ("qemu-system-aarch64", "aavmf-code", "aavmf-vars")  # the arm64 scenarios (lab/arm64.py)
FOR_ROOT = ("undionly.kpxe", "ipxe.efi")
FOR_REFERENCE = ("dnsmasq",)
FOR_BMC = ("ipmi_sim", "ipmitool", "sushy-emulator")
FOR_NFS = ("ganesha.nfsd", "rpcbind")
# The foreign DHCP servers of the proxy runs (--foreign-dhcp); tcpdump is optional (a capture when present).
FOR_FOREIGN = {"dnsmasq": ("dnsmasq",), "dhcpd": ("dhcpd",)}


def find(name: str) -> Path:
    """The path of a required program or file, or a LabError naming the Debian package."""
    req = REQUIREMENTS[name]
    path = req.find()
    if path is None:
        where = f" (looked in {', '.join(req.paths)})" if req.paths else ""
        raise LabError(f"{name} not found{where}: install the Debian package with 'apt-get install {req.package}'")
    return path


def require(*names: str) -> dict[str, Path]:
    """Find every named requirement; one LabError listing all missing packages."""
    missing: list[str] = []
    found: dict[str, Path] = {}
    for name in dict.fromkeys(names):
        path = REQUIREMENTS[name].find()
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        packages = sorted({REQUIREMENTS[n].package for n in missing})
        raise LabError(
            f"missing {', '.join(missing)}: install with 'apt-get install {' '.join(packages)}' "
            "(or run 'bash scripts/setup.sh')"
        )
    return found


def kvm_usable() -> bool:
    """True when /dev/kvm can be opened read-write (QEMU is then started with KVM)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True
