"""The lab's boot scenarios: firmware × address family.

==========  ===============================================  =====================
scenario    firmware                                          boot chain
==========  ===============================================  =====================
bios4       SeaBIOS + iPXE option ROM (``-boot n``)           DHCPv4 → script → kernel → initrd
bios6       same; its bridge port carries IPv6 only           RA + DHCPv6 → script → …
efi4        OVMF, its own UEFI PXE (virtio-net ``romfile=``)  DHCPv4 → TFTP ipxe.efi → script → …
efi6        OVMF with ``IPv4PXESupport=n``                    DHCPv6 → TFTP ipxe.efi → …
efihttp4    OVMF with both PXE knobs off (UEFI HTTP boot)     DHCPv4 (HTTPClient) → HTTP ipxe.efi → …
efihttp6    same, IPv6                                        DHCPv6 (HTTPClient) → HTTP ipxe.efi → …
==========  ===============================================  =====================

A proxy run (``--foreign-dhcp``: another server gives the addresses, bootwright
only the boot part) boots the IPv4 three, :data:`PROXY`: proxyDHCP is DHCPv4's
(PXE 2.1 §2.2.2).

Boot chains other than iPXE (``--firmware secureboot|grub|pxelinux``: shim → GRUB
under Secure Boot, GRUB, pxelinux) are :mod:`bootwright.lab.chains`.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRMWARES = ("bios", "efi", "efihttp")
FAMILIES = (4, 6)
FIRMWARE_TITLES = {"bios": "BIOS", "efi": "UEFI PXE", "efihttp": "UEFI HTTP"}


@dataclass(frozen=True)
class Scenario:
    """One VM to boot: which firmware, which family, and its MAC address."""

    firmware: str
    family: int
    index: int

    @property
    def name(self) -> str:
        """Short id, e.g. ``efi6``."""
        return f"{self.firmware}{self.family}"

    @property
    def title(self) -> str:
        """Human title, e.g. ``UEFI PXE v6``."""
        return f"{FIRMWARE_TITLES[self.firmware]} v{self.family}"

    @property
    def mac(self) -> str:
        """Locally administered, unique per scenario: 52:54:00:b0:0<firmware>:0<family>."""
        return f"52:54:00:b0:{FIRMWARES.index(self.firmware):02x}:{self.family:02x}"

    @property
    def needs(self) -> tuple[str, ...]:
        """The server services this boot path uses (names as in ``<service> ready`` log lines)."""
        address = ("dhcp4",) if self.family == 4 else ("dhcp6", "ra")
        program = ("tftp",) if self.firmware == "efi" else ()
        return (*address, *program, "http")

    @property
    def has_boot_program(self) -> bool:
        """BIOS VMs already run iPXE from the option ROM: no boot program is fetched."""
        return self.firmware != "bios"

    @property
    def secure_boot(self) -> bool:
        """Whether the firmware runs with Secure Boot on (the chains of :mod:`bootwright.lab.chains`)."""
        return False


ALL = tuple(Scenario(fw, fam, i) for i, (fw, fam) in enumerate((fw, fam) for fw in FIRMWARES for fam in FAMILIES))


PROXY = tuple(s for s in ALL if s.family == 4)


def select(firmware: str = "all", family: str | int = "all", proxy: bool = False) -> list[Scenario]:
    """The scenarios matching ``--firmware`` and ``--family`` (each may be ``all``); ``proxy``: IPv4 only."""
    if firmware != "all" and firmware not in FIRMWARES:
        raise ValueError(f"firmware {firmware!r} is not one of bios, efi, efihttp, all")
    fam = str(family)
    if fam != "all" and fam not in ("4", "6"):
        raise ValueError(f"family {family!r} is not one of 4, 6, all")
    if proxy and fam == "6":
        raise ValueError("--foreign-dhcp runs boot over IPv4 only (proxyDHCP is DHCPv4's): drop --family 6")
    pool = PROXY if proxy else ALL
    return [s for s in pool if firmware in ("all", s.firmware) and fam in ("all", str(s.family))]


def by_name(name: str) -> Scenario:
    """The scenario called ``name`` (``bios4`` … ``efihttp6``)."""
    for s in ALL:
        if s.name == name:
            return s
    raise KeyError(name)
