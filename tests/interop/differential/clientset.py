"""The client set: what each kind of boot firmware sends, built with bootwright's own codecs.

Option content follows the golden captures of real firmware in ``tests/data``
(``seabios-ipxe-v4.txt``, ``ovmf-pxe-v4.txt``, ``ovmf-http-v4.txt``,
``ipxe-efi-v6.txt``, ``ovmf-pxe-v6.txt``, ``ovmf-http-v6.txt``): the parameter
request lists, option 94/62 UNDI versions, the option 175 feature bits of iPXE,
the DHCPv6 Option Request lists. Clients the lab has no capture of are built
from their sources: U-Boot (``net/bootp.c``: option 60 ``U-Boot.armv7`` /
``U-Boot.armv8`` from ``CONFIG_BOOTP_VCI_STRING``, option 93 from
``CONFIG_BOOTP_PXE_CLIENTARCH``, 0x15 / 0x16 per RFC 4578's IANA registry) and
gPXE (user class ``gPXE``, option 175 as iPXE's ancestor sends it).

Every message is a pure function of the client, a transaction id and a MAC:
the exchange script (:mod:`.exchange`) sends them; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address

from bootwright.wire.dhcp4 import Dhcp4Message, MessageType, encode
from bootwright.wire.dhcp6 import (
    ClientArchType,
    ClientId,
    ClientNii,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DuidUUID,
    ElapsedTime,
    IaAddr,
    IaNa,
    InterfaceId,
    OptionRequest,
    RelayMessage,
    RemoteId,
    ServerId,
    UserClass,
    VendorClass,
    decode,
)
from bootwright.wire.dhcp6 import MessageType as Msg6

PXE_ENTERPRISE = 343  # Intel: the enterprise number UEFI puts in DHCPv6 option 16 (golden ovmf-*-v6.txt)

# Parameter request lists (option 55) as the captures show them.
PRL_IPXE = (1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203)
PRL_EDK2_PXE = (1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67,
                97, 128, 129, 130, 131, 132, 133, 134, 135)  # fmt: skip
PRL_EDK2_HTTP = (1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 235, 67, 97)
PRL_PXE_ROM = (1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135)
PRL_UBOOT = (1, 3, 6, 12, 15, 17, 28, 42, 66, 67)  # U-Boot net/bootp.c dhcp_extended()
PRL_PLAIN = (1, 3, 6, 12, 15, 28, 42, 51, 58, 59)  # an OS client (dhclient's default request list, in short)

# DHCPv6 Option Request lists (option 6) as the captures show them.
ORO_IPXE = (23, 24, 59, 60)
ORO_EDK2 = (59, 60, 23, 16)
ORO_PLAIN = (23, 24)

# Option 175 of SeaBIOS's iPXE ROM (golden seabios-ipxe-v4.txt): feature indicators, bus-id, version.
IPXE_175 = bytes.fromhex(
    "b105011af41000"  # 177 bus-id
    "eb03010000"  # 235 version 1.0.0
    "170101" "220101" "130101" "110101" "270101" "190101" "290101" "100102" "210101" "150101" "180101" "120101"
)  # fmt: skip
# gPXE 1.0: the same space, fewer features (no menu, no NFS), no bus-id.
GPXE_175 = bytes.fromhex("eb03010000170101130101110101100102210101150101180101120101")


@dataclass(frozen=True, slots=True)
class Client:
    """One kind of booting machine: what its DHCPv4 and DHCPv6 requests carry."""

    name: str
    arch: int | None = None  # option 93 / 61 (RFC 4578 §2.1, RFC 5970 §3.3)
    vendor: str | None = None  # option 60 / 16 (RFC 2132 §9.13, RFC 8415 §21.16)
    user_class: str | None = None  # option 77 / 15 (RFC 3004, RFC 8415 §21.15)
    ipxe: bytes | None = None  # option 175, iPXE's encapsulated options (iPXE dhcp.h)
    prl: tuple[int, ...] = PRL_PLAIN
    oro: tuple[int, ...] = ORO_PLAIN
    undi: tuple[int, int] | None = None  # option 94 / 62: UNDI major, minor (RFC 4578 §2.2, RFC 5970 §3.4)
    v6: bool = True  # sends DHCPv6 at all
    mac: str | None = None  # a fixed MAC (a known host of the seed); else one is made per mode


def _pxe(name: str, arch: int, prl: tuple[int, ...] = PRL_EDK2_PXE, undi: tuple[int, int] = (3, 0),
         http: bool = False, oro: tuple[int, ...] = ORO_EDK2, user_class: str | None = None,
         ipxe: bytes | None = None) -> Client:  # fmt: skip
    vendor = f"{'HTTPClient' if http else 'PXEClient'}:Arch:{arch:05d}:UNDI:{undi[0]:03d}{undi[1]:03d}"
    return Client(name, arch, vendor, user_class, ipxe, prl, oro, undi)


CLIENTS: tuple[Client, ...] = (
    _pxe("seabios-pxe", 0, PRL_PXE_ROM, (2, 1)),
    _pxe("ipxe-bios", 0, PRL_IPXE, (2, 1), oro=ORO_IPXE, user_class="iPXE", ipxe=IPXE_175),
    _pxe("uefi-x86-pxe", 6),
    _pxe("uefi-x64-pxe", 7),
    _pxe("uefi-http-x64", 16, PRL_EDK2_HTTP, http=True),
    _pxe("uefi-http-x86", 15, PRL_EDK2_HTTP, http=True),
    Client("uboot-armv7", arch=21, vendor="U-Boot.armv7", prl=PRL_UBOOT, undi=(1, 0), oro=ORO_EDK2),
    Client("uboot-armv8", arch=22, vendor="U-Boot.armv8", prl=PRL_UBOOT, undi=(1, 0), oro=ORO_EDK2),
    _pxe("arm64-uefi", 11),
    _pxe("gpxe", 0, PRL_IPXE, (2, 1), oro=ORO_IPXE, user_class="gPXE", ipxe=GPXE_175),
    Client("plain"),
)
"""Every client of the brief, in a fixed order (the report's row order)."""

RELAYED: tuple[str, ...] = ("seabios-pxe", "ipxe-bios", "uefi-x64-pxe", "uefi-http-x64", "plain")
"""The clients also sent through a relay (giaddr, option 82): one of each boot path."""

RELAYED6: tuple[str, ...] = ("uefi-x64-pxe", "uefi-http-x64", "ipxe-efi", "plain")
"""The clients also sent through a DHCPv6 relay (Relay-forward): UEFI PXE and HTTP boot, iPXE, an OS."""

# iPXE with HTTPS built in: feature indicator 0x14 (iPXE dhcp.h DHCP_EB_FEATURE_HTTPS) beside the others.
IPXE_HTTPS_175 = IPXE_175 + bytes.fromhex("140101")

EXTRA_CLIENTS: tuple[Client, ...] = (
    # iPXE's EFI build (golden ipxe-efi-v6.txt): arch 7, UNDI 3.10, user class iPXE, asks for 59 and 60.
    _pxe("ipxe-efi", 7, PRL_IPXE, (3, 10), oro=ORO_IPXE, user_class="iPXE", ipxe=IPXE_175),
    _pxe("ipxe-https", 0, PRL_IPXE, (2, 1), oro=ORO_IPXE, user_class="iPXE", ipxe=IPXE_HTTPS_175),
    # Fixed MACs a config may single out: the IANA documentation OUI 00:00:5e (RFC 7042 §2.1.2) and a
    # locally administered MAC whose client identifier (type 1 + MAC, RFC 2132 §9.14) a config names.
    Client("oui-00005e", mac="00:00:5e:00:53:01", v6=False),
    Client("cid-02005e", mac="02:00:00:5e:00:53", v6=False),
)
"""Clients a case adds by name (``Seed.extra_clients``): what its config tests that the firmware set does not show."""

ALL_CLIENTS: dict[str, Client] = {c.name: c for c in (*CLIENTS, *EXTRA_CLIENTS)}
"""Every client by name (the exchange script finds them here)."""


def known_host(mac: str) -> Client:
    """A plain client with a host's MAC from the seed's config (its fixed address)."""
    return replace(Client("known-host"), mac=mac, v6=False)


def client_mac(client: Client, index: int, mode: int) -> bytes:
    """The client's MAC in one mode (0 direct v4, 1 relayed v4, 2 v6, 3+ agents, 9 relayed v6): distinct leases."""
    if client.mac is not None:
        return bytes.fromhex(client.mac.replace(":", ""))
    return bytes((0x52, 0x54, 0x00, 0xD1, mode, index))


def _uuid(mac: bytes) -> bytes:
    """A 16-octet SMBIOS UUID ending in the MAC, as QEMU machines of the lab have (golden option 97)."""
    return bytes.fromhex("b0071ab000004000") + b"\x80\x00" + mac


# --------------------------------------------------------------------------- DHCPv4


CIRCUIT_ID = b"srv0:vlan7"
REMOTE_ID = b"diff-relay"
"""The relay agent's option 82 identities unless a case names others (``Seed.agents``)."""


@dataclass(frozen=True, slots=True)
class Relay:
    """What a relay agent adds (RFC 2131 §4.1 giaddr, hops; RFC 3046 option 82 circuit and remote id)."""

    giaddr: IPv4Address
    circuit_id: bytes = CIRCUIT_ID
    remote_id: bytes = REMOTE_ID

    def option82(self) -> bytes:
        """Sub-option 1 (Agent Circuit ID) and 2 (Agent Remote ID), RFC 3046 §2.0."""
        return bytes((1, len(self.circuit_id))) + self.circuit_id + bytes((2, len(self.remote_id))) + self.remote_id


def _options4(client: Client, kind: MessageType, mac: bytes) -> dict[int, bytes]:
    opts: dict[int, bytes] = {53: bytes((kind,))}
    if client.arch is not None:  # firmware: max message size 1472 (golden captures)
        opts[57] = (1472).to_bytes(2, "big")
        opts[93] = client.arch.to_bytes(2, "big")
    if client.undi is not None:
        opts[94] = bytes((1, *client.undi))
    if client.vendor is not None:
        opts[60] = client.vendor.encode()
    if client.user_class is not None:
        opts[77] = client.user_class.encode()  # iPXE sends the bare string, not RFC 3004 framing (golden)
    opts[55] = bytes(client.prl)
    if client.ipxe is not None:
        opts[175] = client.ipxe
    opts[61] = b"\x01" + mac
    if client.arch is not None:
        opts[97] = b"\x00" + _uuid(mac)  # RFC 4578 §2.5: type 0 + GUID
    return opts


def discover(client: Client, xid: int, mac: bytes, relay: Relay | None = None) -> bytes:
    """A DHCPDISCOVER: broadcast flag set when direct (every reply reaches the shared socket, RFC 2131 §4.1)."""
    opts = _options4(client, MessageType.DISCOVER, mac)
    return _encode4(xid, mac, opts, relay)


def request(client: Client, xid: int, mac: bytes, offer: Dhcp4Message, relay: Relay | None = None) -> bytes:
    """The SELECTING DHCPREQUEST for ``offer``: options 50 and 54 (RFC 2131 §4.3.2)."""
    opts = _options4(client, MessageType.REQUEST, mac)
    opts[50] = offer.yiaddr.packed
    sid = offer.options.get(54)
    if sid is not None:
        opts[54] = sid
    return _encode4(xid, mac, opts, relay)


def _encode4(xid: int, mac: bytes, opts: dict[int, bytes], relay: Relay | None) -> bytes:
    msg = Dhcp4Message(op=1, xid=xid, chaddr=mac, flags=0 if relay else 0x8000, options=opts)
    if relay is not None:
        opts[82] = relay.option82()  # RFC 3046 §2.1: the relay appends it last
        msg = replace(msg, hops=1, giaddr=relay.giaddr, options=opts)
    return encode(msg)


# --------------------------------------------------------------------------- DHCPv6


def _options6(client: Client, mac: bytes) -> list[Dhcp6Option]:
    opts: list[Dhcp6Option] = [ClientId(DuidUUID(_uuid(mac))), ElapsedTime(0), OptionRequest(client.oro)]
    if client.undi is not None:
        opts.append(ClientNii(1, *client.undi))
    if client.arch is not None:
        opts.append(ClientArchType((client.arch,)))
    if client.vendor is not None:
        opts.append(VendorClass(PXE_ENTERPRISE, (client.vendor.encode(),)))
    if client.user_class is not None:
        opts.append(UserClass((client.user_class.encode(),)))
    return opts


def _iaid(mac: bytes) -> int:
    return int.from_bytes(mac[2:], "big")


def solicit(client: Client, xid: int, mac: bytes) -> bytes:
    """A Solicit with one IA_NA, T1 = T2 = 0 (RFC 8415 §18.2.1), as iPXE and EDK2 send it."""
    return Dhcp6Message(Msg6.SOLICIT, xid, (*_options6(client, mac), IaNa(_iaid(mac)))).encode()


def request6(client: Client, xid: int, mac: bytes, server_id: ServerId, address: IPv6Address) -> bytes:
    """A Request for the advertised address, to the advertising server (RFC 8415 §18.2.2)."""
    ia = IaNa(_iaid(mac), 0, 0, (IaAddr(address, 0, 0),))
    return Dhcp6Message(Msg6.REQUEST, xid, (*_options6(client, mac), server_id, ia)).encode()


def information_request(client: Client, xid: int, mac: bytes) -> bytes:
    """An Information-request (RFC 8415 §18.2.6): what a client told "other config" by the RA asks."""
    return Dhcp6Message(Msg6.INFORMATION_REQUEST, xid, tuple(_options6(client, mac))).encode()


# --------------------------------------------------------------------------- DHCPv6 relay

INTERFACE_ID = b"srv0:vlan7"
"""The DHCPv6 relay agent's Interface-Id (option 18, RFC 8415 §21.18): what the server must echo."""
RELAY6_ENTERPRISE = 32473  # the documentation enterprise number (RFC 5612) of option 37's remote id


def link_local(mac: bytes) -> IPv6Address:
    """The client's link-local address: fe80:: and the MAC's modified EUI-64 (RFC 4291 App. A)."""
    eui = bytes((mac[0] ^ 0x02, *mac[1:3], 0xFF, 0xFE, *mac[3:]))
    return IPv6Address(b"\xfe\x80" + bytes(6) + eui)


def relay_forward(message: bytes, link: IPv6Address, peer: IPv6Address, interface_id: bytes,
                  remote_id: bytes = b"") -> bytes:  # fmt: skip
    """The client's ``message`` in a Relay-forward from the first relay (hop-count 0, RFC 8415 §19.1.1).

    ``link`` is the relay's address on the client's link (the server picks the subnet by it, §13.1),
    ``peer`` the client's source address; Interface-Id (§21.18) always, a Remote-Id (option 37,
    RFC 4649 §3) when ``remote_id`` is given. The server echoes the Interface-Id only (§19.3).
    """
    opts: list[Dhcp6Option] = [InterfaceId(interface_id)]
    if remote_id:
        opts.append(RemoteId(RELAY6_ENTERPRISE, remote_id))
    inner = decode(message)
    return Dhcp6Relay(Msg6.RELAY_FORW, 0, link, peer, (RelayMessage(inner), *opts)).encode()
