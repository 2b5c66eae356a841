"""DHCPv6 messages (RFC 8415): codec, relay helpers and option text for people.

Client/server messages (RFC 8415 §8) decode to :class:`Dhcp6Message`, relay
messages (§9) to :class:`Dhcp6Relay` whose option 9 (:class:`RelayMessage`)
holds the nested message, decoded recursively up to ``HOP_COUNT_LIMIT + 1``
relay layers. :func:`decode` raises only :class:`~bootwright.wire.DecodeError`;
``decode(encode(m)) == m`` and, for accepted input, ``encode(decode(b)) == b``.
Option classes live in :mod:`.dhcp6_options`, registries and DUIDs in
:mod:`.dhcp6_types`; both are re-exported here.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from struct import Struct
from typing import Final
from urllib.parse import urlsplit

from bootwright.wire import DecodeError
from bootwright.wire._dnsname import decode_names, encode_name
from bootwright.wire.dhcp4_codecs import parse_octets
from bootwright.wire.dhcp6_options import (
    TOP_LEVEL_DECODERS,
    BootFileParams,
    BootFileUrl,
    ClientArchType,
    ClientFqdn,
    ClientId,
    ClientLinkLayerAddr,
    ClientNii,
    Dhcp6Option,
    DnsServers,
    DomainList,
    EchoRequest,
    ElapsedTime,
    HasOptions,
    IaAddr,
    IaNa,
    IaPd,
    IaPrefix,
    IaTa,
    InfMaxRt,
    InfoRefreshTime,
    InterfaceId,
    NtpServer,
    Option,
    OptionDecoder,
    OptionRequest,
    Preference,
    RapidCommit,
    RelayMessage,
    RemoteId,
    ServerId,
    SolMaxRt,
    StatusCodeOption,
    UnknownOption,
    UserClass,
    VendorClass,
    VendorOpts,
    decode_options,
    encode_options,
)
from bootwright.wire.dhcp6_types import (
    HW_TYPE_ETHERNET,
    Duid,
    DuidEN,
    DuidLL,
    DuidLLT,
    DuidOther,
    DuidType,
    DuidUUID,
    MessageType,
    OptionCode,
    StatusCode,
    decode_duid,
    duid_mac,
)

__all__ = [
    "ALL_DHCP_RELAY_AGENTS_AND_SERVERS", "ALL_DHCP_SERVERS", "CLIENT_PORT", "HOP_COUNT_LIMIT",
    "HW_TYPE_ETHERNET", "IRT_MINIMUM", "SERVER_PORT", "BootFileParams", "BootFileUrl",
    "ClientArchType", "ClientFqdn", "ClientId", "ClientLinkLayerAddr", "ClientNii", "Dhcp6Message",
    "Dhcp6Option", "Dhcp6Relay", "DnsServers", "DomainList", "Duid", "DuidEN", "DuidLL", "DuidLLT",
    "DuidOther", "DuidType", "DuidUUID", "EchoRequest", "ElapsedTime", "HasOptions", "IaAddr", "IaNa",
    "IaPd", "IaPrefix", "IaTa", "InfMaxRt", "InfoRefreshTime", "InterfaceId", "MessageType", "NtpServer", "Option",
    "OptionCode", "OptionRequest", "Preference", "RapidCommit", "RelayMessage", "RemoteId", "ServerId",
    "SolMaxRt", "StatusCode", "StatusCodeOption", "UnknownOption", "UserClass", "VendorClass",
    "VendorOpts", "client_mac", "decode", "decode_duid", "decode_options", "duid_mac", "encode",
    "encode_options", "format_duid", "format_option", "innermost", "message_name", "option_name",
    "parse_config_option", "parse_option", "relay_reply",
]  # fmt: skip

HOP_COUNT_LIMIT: Final = 8  # RFC 8415 §7.6
IRT_MINIMUM: Final = 600  # RFC 8415 §7.6, lower bound clients apply to option 32
CLIENT_PORT: Final = 546  # RFC 8415 §7.2
SERVER_PORT: Final = 547  # RFC 8415 §7.2
ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Final = IPv6Address("ff02::1:2")  # RFC 8415 §7.1
ALL_DHCP_SERVERS: Final = IPv6Address("ff05::1:3")  # RFC 8415 §7.1

# A relay forwards a Relay-forward only while its hop-count < HOP_COUNT_LIMIT (RFC 8415
# §19.1.1), so hop-counts run 0..HOP_COUNT_LIMIT: at most HOP_COUNT_LIMIT + 1 relay layers.
_MAX_RELAY_LAYERS: Final = HOP_COUNT_LIMIT + 1
_RELAY_HDR = Struct("!BB16s16s")  # msg-type, hop-count, link-address, peer-address (RFC 8415 §9)
_MSG_TYPES = {int(t): t for t in MessageType}
_RELAY_TYPES = (MessageType.RELAY_FORW, MessageType.RELAY_REPL)


@dataclass(frozen=True, slots=True)
class Dhcp6Message(HasOptions):
    """A client/server message: type, 24-bit transaction id, options (RFC 8415 §8)."""

    msg_type: int
    transaction_id: int
    options: tuple[Dhcp6Option, ...] = ()

    def encode(self) -> bytes:
        """Return the wire form; ``ValueError`` if a field is out of range."""
        try:
            head = bytes((self.msg_type,)) + self.transaction_id.to_bytes(3)
            return head + encode_options(self.options)
        except (struct.error, OverflowError) as e:
            raise ValueError(f"cannot encode {message_name(self.msg_type)}: {e}") from None


@dataclass(frozen=True, slots=True)
class Dhcp6Relay(HasOptions):
    """A Relay-forward/Relay-reply: hop count, link and peer address, options (RFC 8415 §9)."""

    msg_type: int
    hop_count: int
    link_address: IPv6Address
    peer_address: IPv6Address
    options: tuple[Dhcp6Option, ...] = ()

    @property
    def message(self) -> Dhcp6Message | Dhcp6Relay | None:
        """The message in the first Relay Message option (RFC 8415 §21.10), if any."""
        rm = self.get(RelayMessage)
        return rm.message if rm is not None else None

    @property
    def interface_id(self) -> bytes | None:
        """The Interface-Id option's value (RFC 8415 §21.18), if present."""
        iid = self.get(InterfaceId)
        return iid.value if iid is not None else None

    def encode(self) -> bytes:
        """Return the wire form; ``ValueError`` if a field is out of range."""
        try:
            la, pa = self.link_address.packed, self.peer_address.packed
            head = _RELAY_HDR.pack(self.msg_type, self.hop_count, la, pa)
            return head + encode_options(self.options)
        except (struct.error, OverflowError) as e:
            raise ValueError(f"cannot encode {message_name(self.msg_type)}: {e}") from None


def _relay_table(layers: int) -> dict[int, OptionDecoder]:
    def relayed(buf: bytes, start: int, end: int) -> RelayMessage:
        return RelayMessage(_decode(buf, start, end, layers))

    return {**TOP_LEVEL_DECODERS, 9: relayed}


# _RELAY_TABLES[n]: options of a relay with n relay layers around its option 9 contents.
_RELAY_TABLES = [_relay_table(n) for n in range(1, _MAX_RELAY_LAYERS + 1)]


def _decode(buf: bytes, start: int, end: int, layers: int) -> Dhcp6Message | Dhcp6Relay:
    if end - start < 4:
        raise DecodeError(f"DHCPv6 message at offset {start}: {end - start} octets, need at least 4")
    t = buf[start]
    if t not in _RELAY_TYPES:
        xid = int.from_bytes(buf[start + 1 : start + 4])
        return Dhcp6Message(_MSG_TYPES.get(t, t), xid, decode_options(buf, start + 4, end))
    if layers >= _MAX_RELAY_LAYERS:
        raise DecodeError(f"relay message at offset {start}: more than {_MAX_RELAY_LAYERS} relay layers")
    if end - start < 34:
        raise DecodeError(f"relay message at offset {start}: {end - start} octets, need at least 34")
    _, hops, link, peer = _RELAY_HDR.unpack_from(buf, start)
    options = decode_options(buf, start + 34, end, _RELAY_TABLES[layers])
    if not any(type(o) is RelayMessage for o in options):
        raise DecodeError(f"relay message at offset {start} has no Relay Message option (RFC 8415 §21.10)")
    return Dhcp6Relay(_MSG_TYPES[t], hops, IPv6Address(link), IPv6Address(peer), options)


def decode(data: bytes | bytearray | memoryview) -> Dhcp6Message | Dhcp6Relay:
    """Decode one DHCPv6 UDP payload; raise :class:`DecodeError` (only) if malformed."""
    buf = bytes(data)
    return _decode(buf, 0, len(buf), 0)


def encode(msg: Dhcp6Message | Dhcp6Relay) -> bytes:
    """Encode a message to its UDP payload; ``ValueError`` if a field is out of range."""
    return msg.encode()


def innermost(msg: Dhcp6Message | Dhcp6Relay) -> tuple[Dhcp6Message, list[Dhcp6Relay]]:
    """Unwrap relays: return the client's message and the relay layers, outermost first.

    Raises ``ValueError`` for a relay without a Relay Message option (never from :func:`decode`).
    """
    layers: list[Dhcp6Relay] = []
    while isinstance(msg, Dhcp6Relay):
        layers.append(msg)
        inner = msg.message
        if inner is None:
            raise ValueError("relay message without a Relay Message option")
        msg = inner
    return msg, layers


def relay_reply(reply: Dhcp6Message, layers: Sequence[Dhcp6Relay]) -> Dhcp6Message | Dhcp6Relay:
    """Wrap a server reply in one Relay-reply per Relay-forward layer (outermost first).

    Copies hop-count, link-address, peer-address and Interface-Id (RFC 8415 §19.3) and the
    options named in an Echo Request option (RFC 4994 §4). With no layers, returns ``reply``.
    """
    out: Dhcp6Message | Dhcp6Relay = reply
    for fwd in reversed(layers):
        ero = fwd.get(EchoRequest)
        echo = {InterfaceId.code, *(ero.values if ero else ())} - {RelayMessage.code, EchoRequest.code}
        copied = [o for o in fwd.options if o.code in echo]
        out = Dhcp6Relay(
            MessageType.RELAY_REPL,
            fwd.hop_count,
            fwd.link_address,
            fwd.peer_address,
            (*copied, RelayMessage(out)),
        )
    return out


def client_mac(msg: Dhcp6Message | Dhcp6Relay) -> bytes | None:
    """Best MAC for the client: the first-hop relay's option 79 (RFC 6939), else the DUID's.

    Returns 6 octets for Ethernet (hardware type 1), else ``None``.
    """
    inner, layers = innermost(msg)
    if layers:
        lla = layers[-1].get(ClientLinkLayerAddr)  # RFC 6939 §4: added by the first-hop relay
        if lla is not None and lla.link_type == HW_TYPE_ETHERNET and len(lla.address) == 6:
            return lla.address
    cid = inner.get(ClientId)
    return duid_mac(cid.duid) if cid is not None else None


# ---------------------------------------------------------------- text for people


def message_name(msg_type: int) -> str:
    """Human name of a message type: ``"Solicit"``, ``"Relay-Forw"``, ``"type 42"``."""
    t = _MSG_TYPES.get(msg_type)
    return t.name.title().replace("_", "-") if t is not None else f"type {msg_type}"


def option_name(code: int) -> str:
    """Short name of an option code: ``"dns-servers"``, ``"bootfile-url"``, ``"option-300"``."""
    try:
        return OptionCode(code).name.lower().replace("_", "-")
    except ValueError:
        return f"option-{code}"


def _text(raw: bytes) -> str:
    if raw and raw.isascii() and raw.decode("ascii").isprintable():
        return raw.decode("ascii")
    return "0x" + raw.hex() if raw else "(empty)"


def _hw(hw_type: int, addr: bytes) -> str:
    if hw_type == HW_TYPE_ETHERNET and len(addr) == 6:
        return "ethernet " + addr.hex(":")
    return f"hw {hw_type} {_text(addr)}"


def _seconds(v: int) -> str:
    return "infinity" if v == 0xFFFFFFFF else f"{v} s"  # RFC 8415 §7.7


def format_duid(duid: Duid) -> str:
    """Describe a DUID: ``"DUID-LL ethernet 52:54:00:12:34:56"``, ``"DUID-EN enterprise 343 0x.."``."""
    match duid:
        case DuidLLT():
            return f"DUID-LLT {_hw(duid.hw_type, duid.link_layer_address)} time {duid.time}"
        case DuidLL():
            return f"DUID-LL {_hw(duid.hw_type, duid.link_layer_address)}"
        case DuidEN():
            return f"DUID-EN enterprise {duid.enterprise} {_text(duid.identifier)}"
        case DuidUUID():
            h = duid.uuid.hex()
            return f"DUID-UUID {h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        case _:
            return f"DUID type {duid.duid_type} {_text(duid.data)}"


def _nested(head: str, options: tuple[Dhcp6Option, ...]) -> str:
    if not options:
        return head
    return head + " [" + "; ".join(f"{option_name(o.code)} {_describe(o)}" for o in options) + "]"


def _describe(o: Dhcp6Option) -> str:
    match o:
        case ClientId() | ServerId():
            return format_duid(o.duid)
        case IaNa() | IaPd():
            return _nested(f"iaid {o.iaid} T1 {o.t1} T2 {o.t2}", o.options)
        case IaTa():
            return _nested(f"iaid {o.iaid}", o.options)
        case IaAddr():
            life = f"preferred {o.preferred_lifetime} valid {o.valid_lifetime}"
            return _nested(f"{o.address} {life}", o.options)
        case IaPrefix():
            life = f"preferred {o.preferred_lifetime} valid {o.valid_lifetime}"
            return _nested(f"{o.prefix}/{o.prefix_length} {life}", o.options)
        case OptionRequest() | EchoRequest():
            return ", ".join(f"{c} {option_name(c)}" for c in o.values)
        case ClientArchType():
            return ", ".join(str(v) for v in o.values)
        case Preference():
            return str(o.value)
        case ElapsedTime():
            return f"{o.value / 100:.2f} s"
        case InfoRefreshTime() | SolMaxRt() | InfMaxRt():
            return _seconds(o.value)
        case StatusCodeOption():
            s = StatusCode(o.status).name.title().replace("_", "") if o.status in _STATUS_NAMES else "?"
            return f"{s} ({o.status})" + (f": {o.message}" if o.message else "")
        case RapidCommit():
            return "present"
        case UserClass():
            return ", ".join(_text(d) for d in o.data)
        case VendorClass():
            return f"enterprise {o.enterprise}: " + ", ".join(_text(d) for d in o.data)
        case VendorOpts():
            return f"enterprise {o.enterprise}: " + ", ".join(f"{c}={_text(d)}" for c, d in o.options)
        case InterfaceId():
            return _text(o.value)
        case RemoteId():
            return f"enterprise {o.enterprise}: {_text(o.remote_id)}"
        case DnsServers():
            return ", ".join(str(a) for a in o.addresses)
        case DomainList():
            return ", ".join(o.names)
        case ClientFqdn():
            try:
                name = ", ".join(decode_names(o.name, 0, len(o.name)))
            except DecodeError:
                name = _text(o.name)  # partial names (RFC 4704 §4.2) are shown raw
            return f"flags 0x{o.flags:02x} {name}"
        case NtpServer():
            return ", ".join(_ntp_source(sub, value) for sub, value in o.sources)
        case BootFileUrl():
            return o.url
        case BootFileParams():
            return ", ".join(o.params)
        case ClientNii():
            kind = "UNDI" if o.nii_type == 1 else f"type {o.nii_type}"  # RFC 5970 §3.4
            return f"{kind} {o.major}.{o.minor}"
        case ClientLinkLayerAddr():
            return _hw(o.link_type, o.address)
        case RelayMessage():
            m = o.message
            if isinstance(m, Dhcp6Relay):
                return f"{message_name(m.msg_type)} hop {m.hop_count} link {m.link_address}"
            return f"{message_name(m.msg_type)} xid 0x{m.transaction_id:06x}"
        case _:
            return _text(o.payload())


_STATUS_NAMES = frozenset(int(s) for s in StatusCode)


def _ntp_source(sub: int, value: IPv6Address | str | bytes) -> str:
    # Addresses (sub-options 1 and 2, a multicast one is recognisable) and names as written in the
    # config, so parse_option(56, text) reads the text back; sub-options RFC 5908 lacks as octets.
    return f"sub-option {sub} {_text(value)}" if isinstance(value, bytes) else str(value)


def format_option(code: int, value: Dhcp6Option | bytes) -> str:
    """Describe an option for people (``bootwright explain``).

    ``value`` is a decoded option or the raw option data of option ``code``; examples:
    ``"2001:db8::1"``, ``"test.example.com, example.com"``, ``"enterprise 343: HTTPClient"``.
    """
    if not isinstance(value, bytes):
        return _describe(value)
    dec = _RELAY_TABLES[0].get(code)
    try:
        return _describe(dec(value, 0, len(value)) if dec else UnknownOption(code, value))
    except DecodeError as e:
        return f"{_text(value)} (malformed: {e})"


_SPLIT = re.compile(r"[\s,]+")
_U32_MAX = 0xFFFFFFFF


def _items(value: str | int | Sequence[str]) -> list[str]:
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, str):
        return [v for v in _SPLIT.split(value) if v]
    return [str(v) for v in value]


def _int(code: int, value: str | int | Sequence[str], lo: int, hi: int) -> int:
    if isinstance(value, int):
        n = value
    else:
        text = " ".join(_items(value)).removesuffix(" s").removesuffix("s").strip()
        if text == "infinity" and hi == _U32_MAX:
            return _U32_MAX
        try:
            n = int(text)
        except ValueError:
            raise ValueError(f"option {code} ({option_name(code)}): {text!r} is not a number") from None
    if not lo <= n <= hi:
        raise ValueError(f"option {code} ({option_name(code)}): {n} is outside {lo}..{hi}")
    return n


def parse_option(code: int, value: str | int | Sequence[str]) -> Dhcp6Option:
    """Build an option from config text; raise ``ValueError`` naming what is wrong.

    Supports 7 preference (0..255), 23 DNS servers and 24 domain list (comma/space
    separated text or a list), 32 information refresh time (seconds ≥ 600 or
    ``"infinity"``), 56 NTP servers (IPv6 addresses and names, RFC 5908), 59 boot file URL,
    60 boot file parameters, 82/83 SOL/INF_MAX_RT.
    Accepts the text :func:`format_option` produces for these options.
    """
    where = f"option {code} ({option_name(code)})"
    if code == 23:
        addrs: list[IPv6Address] = []
        for a in _items(value):
            try:
                addrs.append(IPv6Address(a))
            except ValueError:
                raise ValueError(f"{where}: {a!r} is not an IPv6 address") from None
        return DnsServers(tuple(addrs))
    if code == 24:
        names = _items(value)
        for n in names:
            try:
                encode_name(n)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
        return DomainList(tuple(n.removesuffix(".") for n in names))
    if code == 7:
        return Preference(_int(code, value, 0, 255))
    if code == 32:  # RFC 8415 §21.23: clients raise smaller values to IRT_MINIMUM
        return InfoRefreshTime(_int(code, value, IRT_MINIMUM, _U32_MAX))
    if code in (82, 83):  # RFC 8415 §21.24/§21.25: 60..86400
        return (SolMaxRt if code == 82 else InfMaxRt)(_int(code, value, 60, 86400))
    if code == 59:
        url = value.strip() if isinstance(value, str) else ""
        parts = urlsplit(url)
        if not parts.scheme or not (parts.netloc or parts.path):
            raise ValueError(f"{where}: {value!r} is not a URL like http://[2001:db8::1]/boot.efi")
        return BootFileUrl(url)
    if code == 60:
        return BootFileParams((value,) if isinstance(value, str) else tuple(str(v) for v in _items(value)))
    if code == 56:
        try:
            return NtpServer.of(_items(value))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    raise ValueError(f"{where} cannot be set from configuration")


# Options ``[dhcp6] options`` parses with their own codec (numbers, not octets).
_TYPED_CONFIG = frozenset({82, 83})


def parse_config_option(code: int, text: str) -> Dhcp6Option:
    """An option of ``[dhcp6] options`` (``code = text``), as the engine sends it; ``ValueError`` if not.

    82 and 83 (SOL_MAX_RT, INF_MAX_RT) are numbers (:func:`parse_option`); any other code
    carries octets, written as hex (``0a:0b:0c``) or as text (its UTF-8 octets), see
    :func:`~bootwright.wire.dhcp4_codecs.parse_octets`. Config validation and the engine
    both call this, so ``bootwright check`` fails exactly when the option could not be sent.
    """
    if not 1 <= code <= 0xFFFF:
        raise ValueError(f"option code {code} is outside 1..65535 (RFC 8415 §21.1)")
    if code in _TYPED_CONFIG:
        return parse_option(code, text)
    data = parse_octets(text)
    if len(data) > 0xFFFF:
        raise ValueError(f"option {code}: {len(data)} octets, more than an option holds (65535)")
    return UnknownOption(code, data)
