"""Other DHCPv4 servers on a link: the probe's question, what each answer says, and what it means here.

Rule: every judgement about a foreign DHCP server happens here. The probe
(:mod:`bootwright.net.probe`: ``bootwright probe dhcp`` and the DHCPv4
service's check at start) sends :func:`discover`, keeps the replies that
:func:`is_offer_for` accepts as :func:`offer_of` records, and asks
:func:`judge` what they mean for the config's subnets on that link.

What :func:`judge` says, loudest first:

1. A *full* subnet (``mode = "full"``) on a link where another server offers
   an address: two DHCP servers on one link hand out conflicting addresses
   (RFC 2131 §3.1 lets a client take any offer; each server believes its own).
2. A *proxy* subnet where a server that offers addresses also sends option 60
   ``PXEClient``: PXE firmware takes a PXEClient offer that carries an address
   over the address offer plus a proxy offer (EDK2's offer ranking; PXE 2.1
   §2.2.1), so bootwright's proxy answer is ignored.
3. A *proxy* subnet where no server offers an address: proxyDHCP gives no
   addresses (PXE 2.1 §2.2.2), so clients there get none.
4. Another proxyDHCP server (yiaddr 0 and ``PXEClient``/``HTTPClient``) on a
   link bootwright serves: booting clients get two boot offers.

A server on this host (``local``: its OFFER left through the probed
interface) counts for 2 and 3 — libvirt's dnsmasq beside a proxy bootwright —
but not for 1 and 4: there it is bootwright itself (a second process cannot
hold UDP 67 beside bootwright's plain bind; docs/probe.md).

Pure: no sockets, no clocks; the transaction id and MAC come from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final, TypeVar

from bootwright.boot.policy import HTTP_CLIENT, PXE_CLIENT
from bootwright.boot.subnets import compile4, on_link4
from bootwright.config import Config, Subnet4
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4 import BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, Dhcp4Message, Options
from bootwright.wire.dhcp4_options import (
    BOOTFILE_NAME,
    DNS_SERVERS,
    LEASE_TIME,
    ROUTERS,
    SERVER_ID,
    SUBNET_MASK,
    MessageType,
    OptionSpec,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "PROBE_VENDOR_CLASS",
    "ForeignServer",
    "discover",
    "is_offer_for",
    "judge",
    "offer_of",
    "subnets_on",
]

T = TypeVar("T")

DEFAULT_TIMEOUT: Final = 5.0
"""Seconds the probe listens for OFFERs by default. Servers ping an address before they offer it to a new
client: dnsmasq waits 3 s for an echo reply (seen here: its OFFER came 3.0 s after the DISCOVER), ISC dhcpd
1 s (``ping-timeout``). The DISCOVER is sent again halfway."""

#: Option 60 of the probe's PXE DISCOVER: a BIOS PXE ROM (PXE 2.1 §2.4 "PXEClient:Arch:xxxxx:UNDI:yyyzzz",
#: arch 0 = x86 BIOS, RFC 4578 §2.1; UNDI 2.1), as SeaBIOS's iPXE ROM sends it. Servers that answer only
#: booting clients (proxyDHCP, dnsmasq ``pxe-service``, dhcpd ``class "PXEClient"``) answer it.
PROBE_VENDOR_CLASS: Final = "PXEClient:Arch:00000:UNDI:002001"
_ARCH_BIOS: Final = b"\x00\x00"  # option 93 (RFC 4578 §2.1): x86 BIOS
_NDI_UNDI_2_1: Final = b"\x01\x02\x01"  # option 94 (RFC 4578 §2.2): UNDI, version 2.1
_MAX_SIZE: Final = (1472).to_bytes(2, "big")  # option 57 (RFC 2132 §9.10): a 1500-octet link, as PXE ROMs send
# Option 55 (RFC 2132 §9.8): what a PXE ROM asks for that the report shows, so servers that send only
# requested options still send them: mask, router, DNS, host and domain name, broadcast, NTP, 43, lease
# time, server id, T1/T2, 60, TFTP server, boot file.
_PRL: Final = bytes((1, 3, 6, 12, 15, 28, 42, 43, 51, 54, 58, 59, 60, 66, 67))
_VENDOR_SPECIFIC: Final = 43  # RFC 2132 §8.4
_VENDOR_CLASS: Final = 60  # RFC 2132 §9.13
_TFTP_SERVER_NAME: Final = 66  # RFC 2132 §9.4
_ZERO: Final = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class ForeignServer:
    """What one DHCP server offered the probe (one OFFER, RFC 2131 §4.3.1), and where it came from."""

    source: IPv4Address  # IP source of the OFFER (the server, or the relay that forwarded it)
    mac: str  # link-layer source of the OFFER, "aa:bb:cc:dd:ee:ff"
    server_id: IPv4Address | None  # option 54 (RFC 2132 §9.7): the address clients REQUEST from
    offered: IPv4Address  # yiaddr; 0.0.0.0 in a proxyDHCP offer (PXE 2.1 §2.2.2)
    vendor_class: str | None  # option 60 (RFC 2132 §9.13): "PXEClient" marks a PXE-aware offer
    siaddr: IPv4Address  # RFC 2131 §2 next server (TFTP), 0.0.0.0 when unset
    boot_file: str | None  # option 67 (RFC 2132 §9.5), else the ``file`` field
    tftp_server: str | None  # option 66 (RFC 2132 §9.4), else the ``sname`` field
    vendor_options: bool  # option 43 present (RFC 2132 §8.4; PXE 2.1 Table 2-1 for PXEClient)
    routers: tuple[IPv4Address, ...]  # option 3 (RFC 2132 §3.5)
    dns: tuple[IPv4Address, ...]  # option 6 (RFC 2132 §3.8)
    subnet_mask: IPv4Address | None  # option 1 (RFC 2132 §3.3)
    lease_time: int | None  # option 51 (RFC 2132 §9.2), seconds
    relay: IPv4Address | None  # giaddr when a relay agent forwarded the exchange (RFC 2131 §4.1)
    local: bool = False  # the OFFER left this host (a server running beside the probe)

    @property
    def pxe_client(self) -> bool:
        """Whether the offer carries option 60 ``PXEClient`` (PXE 2.1 §2.2.1: a PXE-aware server's offer)."""
        return self.vendor_class is not None and self.vendor_class.startswith(PXE_CLIENT)

    @property
    def proxy(self) -> bool:
        """Whether this is a proxyDHCP offer: no address (yiaddr 0), PXEClient/HTTPClient (PXE 2.1 §2.2.2)."""
        vc = self.vendor_class or ""
        return self.offered == _ZERO and vc.startswith((PXE_CLIENT, HTTP_CLIENT))

    @property
    def name(self) -> str:
        """For people: ``192.0.2.254 (52:54:00:aa:bb:cc)``, the server id or the source, and how it was heard."""
        where = f"{self.server_id or self.source} ({self.mac}"
        if self.relay is not None:
            where += f", through relay {self.relay}"
        return where + (", on this host)" if self.local else ")")


def discover(xid: int, chaddr: bytes, pxe: bool = True, secs: int = 0) -> Dhcp4Message:
    """The probe's DHCPDISCOVER (RFC 2131 §4.4.1), broadcast flag set so every answer is heard.

    With ``pxe`` it looks like a BIOS PXE ROM (options 60, 93, 94, 97; PXE 2.1
    §2.2.1), so PXE-only servers and proxies answer too, and a server that
    sends ``PXEClient`` shows it; a plain client asks what any other client
    gets. Option 97 is a type-0 GUID made of ``chaddr`` (RFC 4578 §2.3).
    """
    options: list[tuple[int, bytes]] = [(53, bytes((MessageType.DISCOVER,))), (57, _MAX_SIZE), (55, _PRL)]
    if pxe:
        guid = chaddr.ljust(16, b"\x00")[:16]
        options += [
            (93, _ARCH_BIOS),
            (94, _NDI_UNDI_2_1),
            (97, b"\x00" + guid),
            (_VENDOR_CLASS, PROBE_VENDOR_CLASS.encode()),
        ]
    return Dhcp4Message(
        op=BOOTREQUEST, xid=xid, chaddr=chaddr, secs=min(secs, 0xFFFF), flags=BROADCAST_FLAG, options=Options(options)
    )


def is_offer_for(msg: Dhcp4Message, xid: int, chaddr: bytes) -> bool:
    """Whether ``msg`` answers the probe: a BOOTREPLY DHCPOFFER with its xid and client MAC (RFC 2131 §4.4.1)."""
    if msg.op != BOOTREPLY or msg.xid != xid or msg.chaddr != chaddr:
        return False
    try:
        return msg.message_type is MessageType.OFFER
    except DecodeError:
        return False


def _get(msg: Dhcp4Message, spec: OptionSpec[T]) -> T | None:
    """An option's value, ``None`` when absent or malformed (a foreign server's mistake is shown as absent)."""
    try:
        return msg.get(spec)
    except DecodeError:
        return None


def _text(raw: bytes | None) -> str | None:
    """Option or field octets as text for people: UTF-8 where valid, NULs trimmed; ``None`` when empty."""
    if not raw:
        return None
    text = raw.split(b"\x00", 1)[0].decode("utf-8", "replace")
    return text or None


def offer_of(msg: Dhcp4Message, source: IPv4Address, mac: bytes, local: bool = False) -> ForeignServer:
    """The record of one OFFER heard from ``source`` at link address ``mac``."""
    return ForeignServer(
        source=source,
        mac=mac.hex(":"),
        server_id=_get(msg, SERVER_ID),
        offered=msg.yiaddr,
        vendor_class=_text(msg.options.get(_VENDOR_CLASS)),
        siaddr=msg.siaddr,
        boot_file=_text(msg.options.get(BOOTFILE_NAME.code)) or _text(msg.file),
        tftp_server=_text(msg.options.get(_TFTP_SERVER_NAME)) or _text(msg.sname),
        vendor_options=_VENDOR_SPECIFIC in msg.options,
        routers=_get(msg, ROUTERS) or (),
        dns=_get(msg, DNS_SERVERS) or (),
        subnet_mask=_get(msg, SUBNET_MASK),
        lease_time=_get(msg, LEASE_TIME),
        relay=msg.giaddr if msg.giaddr != _ZERO else None,
        local=local,
    )


def subnets_on(config: Config, interface: str, addresses: Iterable[IPv4Address]) -> list[Subnet4]:
    """The config's ``[[subnet4]]`` served on ``interface`` (our ``addresses`` there), as the engine places them."""
    entries = compile4(config)
    return [e.subnet for e in on_link4(entries, interface, (int(a) for a in addresses))]


def _boot_part(server: ForeignServer) -> str:
    parts = [f"option 60 {server.vendor_class!r}" if server.vendor_class else "no option 60"]
    if server.boot_file:
        parts.append(f"boot file {server.boot_file!r}")
    if server.vendor_options:
        parts.append("option 43")
    return ", ".join(parts)


def judge(servers: Sequence[ForeignServer], subnets: Sequence[Subnet4], interface: str, waited: float) -> list[str]:
    """Warnings for the subnets bootwright serves on ``interface`` given what the probe heard there (module rules).

    ``waited`` is how long the probe listened, in seconds. No subnets: no
    warnings (bootwright does not serve that link).
    """
    if not subnets:
        return []
    full = [str(s.subnet) for s in subnets if s.mode != "proxy"]
    proxy = [str(s.subnet) for s in subnets if s.mode == "proxy"]
    addressing = [s for s in servers if s.offered != _ZERO]
    proxies = [s for s in servers if s.proxy and not s.local]
    out: list[str] = []
    if full:
        where = ", ".join(full)
        for s in addressing:
            if s.local:
                continue
            out.append(
                f"{interface}: another DHCP server answers on this link: {s.name} offered {s.offered}, while "
                f"bootwright serves {where} here as the DHCP server: two DHCP servers on one link hand out "
                f'conflicting addresses. Stop that server on this link, or set mode = "proxy" on {where} '
                "to leave the addresses to it (docs/proxy.md)"
            )
    if proxy:
        where = ", ".join(proxy)
        for s in addressing:
            if s.pxe_client:
                out.append(
                    f"{interface}: {s.name} sends option 60 PXEClient with its address offer "
                    f"({_boot_part(s)}): firmware prefers its PXEClient offer over any proxy: proxy boots "
                    f"on {where} will likely fail; remove the PXE options (option 60, 43, boot file) from {s.name}"
                )
        if not addressing:
            out.append(
                f"{interface}: no DHCP server offered an address in {waited:g} s, but {where} is a proxy subnet: "
                "a proxy gives no addresses, so clients here will get none. Check that the link's DHCP server "
                'runs and serves this link, or set mode = "full" and pools on it'
            )
    for s in proxies:
        out.append(
            f"{interface}: another proxyDHCP server answers booting clients on this link: {s.name} "
            f"({_boot_part(s)}): clients get two boot offers and the firmware picks one; stop it on this link"
        )
    return out
