"""proxyDHCP: the boot half of a DHCP exchange whose address comes from another server.

On a ``mode = "proxy"`` subnet another DHCP server owns the addresses
(a home router, libvirt's dnsmasq, a site's ISC dhcpd); bootwright answers
only booting clients, and only with what they need to boot (PXE 2.1 §2.2.2
"proxyDHCP", the role of dnsmasq's ``dhcp-range=…,proxy``, Pixiecore and smee):

- a *proxy offer* to a DHCPDISCOVER on port 67: yiaddr 0, no lease, option 54
  (ours), option 60 ``PXEClient`` (``HTTPClient`` with the URL for UEFI HTTP
  boot, UEFI 2.x §24.7.2), siaddr and the boot file, option 97 echoed
  (PXE 2.1 §2.2.1, RFC 4578 §2.5);
- a DHCPACK to a boot server DHCPREQUEST on port 4011 (PXE 2.1 §2.2.3),
  sent back to the request's source address and port.

Which client gets what follows what firmware accepts (facts in
docs/proxy.md): BIOS PXE ROMs and iPXE get option 43 with
``PXE_DISCOVERY_CONTROL`` = 8 ("use the boot file in this packet", PXE 2.1
Table 2-1 tag 6 bit 3) and boot the file at once; UEFI PXE (EDK2) gets no
option 43, takes the offer as a BINL offer and asks on port 4011, as with
dnsmasq and Pixiecore; UEFI HTTP boot reads the URL from the offer.

Everything here is pure: the DHCPv4 engine calls it with a plan it already
decided (:func:`bootwright.boot.reply.plan_reply`, the same as a full server's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from enum import StrEnum
from typing import Final

from bootwright.boot.policy import ARCH_TABLE, HTTP_CLIENT, PXE_CLIENT, is_boot_client
from bootwright.engine.dhcp4.reply import PlanEntry, ipxe_octets
from bootwright.model import ClientInfo

__all__ = [
    "DISCOVERY_USE_BOOTFILE",
    "PROXY_OPTIONS",
    "ProxyKind",
    "proxy_entry",
    "proxy_kind",
]

#: Option 43 of a proxy offer to BIOS PXE and iPXE: PXE_DISCOVERY_CONTROL (tag 6, one octet) = 8,
#: bit 3 "download the boot file in this offer without boot server discovery" (PXE 2.1 Table 2-1), END.
DISCOVERY_USE_BOOTFILE: Final = bytes((6, 1, 8, 255))

#: What a proxy reply carries of the plan's options: the boot part only. Addresses, routers, DNS and
#: lease times are the link's DHCP server's (a client merges our offer with its offer, PXE 2.1 §2.2.2).
PROXY_OPTIONS: Final = frozenset((43, 60, 66, 67, 175))

_NO_PXEDHCP: Final = 176  # iPXE DHCP_EB_NO_PXEDHCP: "do not wait for proxyDHCP", meaningless from a proxy


class ProxyKind(StrEnum):
    """How a booting client is answered by a proxy (see the module docstring)."""

    PXE = "pxe"  # BIOS PXE ROM or iPXE: option 43 with the boot file, booted from the offer
    UEFI_PXE = "uefi-pxe"  # UEFI PXE: no option 43; the boot file comes in the ACK on port 4011
    HTTP = "http"  # UEFI HTTP boot: HTTPClient and the URL in the offer


def proxy_kind(client: ClientInfo) -> ProxyKind | None:
    """The :class:`ProxyKind` of a request, or ``None`` for a client that is not booting (never answered).

    iPXE (user class ``iPXE``) counts as :attr:`ProxyKind.PXE` whatever its
    architecture: it uses the boot file of a proxy offer directly.
    """
    if not is_boot_client(client):
        return None
    vendor = client.vendor_class or ""
    if vendor.startswith(HTTP_CLIENT) or any(ARCH_TABLE[a].http for a in client.arches if a in ARCH_TABLE):
        return ProxyKind.HTTP
    if client.is_ipxe:
        return ProxyKind.PXE
    if any(ARCH_TABLE[a].stack == "efi" for a in client.arches if a in ARCH_TABLE):
        return ProxyKind.UEFI_PXE
    return ProxyKind.PXE


def proxy_entry(entry: PlanEntry, kind: ProxyKind, configured: Iterable[int] = ()) -> PlanEntry:
    """A full server's plan cut down to a proxy reply's options (:data:`PROXY_OPTIONS`).

    ``configured``: option codes the subnet sets itself (``[[subnet4]] options``),
    kept as given. Option 60 becomes ``PXEClient`` or ``HTTPClient`` (a client
    only treats a reply as proxyDHCP with it, PXE 2.1 §2.2.2); option 43 is
    :data:`DISCOVERY_USE_BOOTFILE` for :attr:`ProxyKind.PXE` unless configured;
    iPXE's ``no-pxedhcp`` setting is left out of option 175.
    """
    keep = frozenset(configured) | PROXY_OPTIONS
    options = {code: value for code, value in entry.options.items() if code in keep}
    options[60] = (HTTP_CLIENT if kind is ProxyKind.HTTP else PXE_CLIENT).encode()
    if kind is ProxyKind.PXE:
        options.setdefault(43, DISCOVERY_USE_BOOTFILE)
    elif 43 not in configured:
        options.pop(43, None)
    settings = [s for s in entry.answer.ipxe if s.code != _NO_PXEDHCP]
    if 175 in options and 175 not in configured:
        if settings:
            options[175] = ipxe_octets(settings)
        else:
            del options[175]
    return replace(entry, options=options)
