"""DHCPv6 options (RFC 8415 §21 and the option RFCs): one frozen class per option.

Every option class has a class-level ``code``, ``payload()`` (the option-data
field, RFC 8415 §21.1) and ``decode_payload(buf, start, end)``. ``decode_options``
keeps wire order, repeats and unknown codes (:class:`UnknownOption`, verbatim).
Typed decoders accept only canonical layouts, so ``encode(decode(b)) == b``.
The text side (``format_option``/``parse_option``) lives in :mod:`.dhcp6`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address
from struct import Struct
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, TypeVar

from bootwright.wire import DecodeError
from bootwright.wire._dnsname import decode_name, decode_names, encode_name, encode_names
from bootwright.wire.dhcp6_types import Duid, StatusCode, decode_duid

if TYPE_CHECKING:
    from bootwright.wire.dhcp6 import Dhcp6Message, Dhcp6Relay

_U8 = Struct("!B")
_U16 = Struct("!H")
_U32 = Struct("!I")
_HDR = Struct("!HH")  # option-code, option-len (RFC 8415 §21.1)
_IA = Struct("!III")  # IAID, T1, T2 (RFC 8415 §21.4, §21.21)
_IAADDR = Struct("!16sII")  # address, preferred, valid (RFC 8415 §21.6)
_IAPREFIX = Struct("!IIB16s")  # preferred, valid, prefix-length, prefix (RFC 8415 §21.22)
_NII = Struct("!BBB")  # type, major, minor (RFC 5970 §3.4)
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")  # a dotted quad is an address mistaken for a name

T = TypeVar("T")
OptionDecoder = Callable[[bytes, int, int], "Dhcp6Option"]
"""Decoder of an option's data field ``buf[start:end]``."""


_STATUS = {int(s): s for s in StatusCode}


def _exact(code: int, start: int, end: int, size: int) -> None:
    if end - start != size:
        raise DecodeError(f"option {code} at offset {start}: length {end - start}, expected {size}")


def _at_least(code: int, start: int, end: int, size: int) -> None:
    if end - start < size:
        raise DecodeError(f"option {code} at offset {start}: length {end - start}, need at least {size}")


def _opaque_list(code: int, buf: bytes, pos: int, end: int) -> tuple[bytes, ...]:
    # u16 length + data, repeated (RFC 8415 §21.15/§21.16, RFC 5970 §3.2)
    out: list[bytes] = []
    while pos < end:
        if pos + 2 > end:
            raise DecodeError(f"option {code}: entry length at offset {pos} truncated")
        (n,) = _U16.unpack_from(buf, pos)
        pos += 2
        if pos + n > end:
            raise DecodeError(f"option {code}: entry at offset {pos - 2} runs past the option end")
        out.append(buf[pos : pos + n])
        pos += n
    return tuple(out)


def _pack_opaque_list(items: Iterable[bytes]) -> bytes:
    return b"".join(_U16.pack(len(i)) + i for i in items)


def _utf8(code: int, raw: bytes, start: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"option {code} at offset {start}: text is not UTF-8 ({e.reason})") from None


# ---------------------------------------------------------------- option classes


class _Encodable(Protocol):
    @property
    def code(self) -> int: ...

    def payload(self) -> bytes: ...


class HasOptions:
    """Lookup helpers for anything with an ``options`` tuple (messages, IA options)."""

    __slots__ = ()
    options: tuple[Dhcp6Option, ...]

    def get(self, kind: type[T]) -> T | None:
        """Return the first option of class ``kind``, or ``None``."""
        for o in self.options:
            if isinstance(o, kind):
                return o
        return None

    def get_all(self, kind: type[T]) -> list[T]:
        """Return every option of class ``kind``, in wire order."""
        return [o for o in self.options if isinstance(o, kind)]

    def find(self, code: int) -> list[Dhcp6Option]:
        """Return every option (typed or unknown) with option code ``code``."""
        return [o for o in self.options if o.code == code]


class Option:
    """Base of the typed options: a class-level ``code`` plus the data-field codec."""

    __slots__ = ()
    code: ClassVar[int]

    def payload(self) -> bytes:
        """Return the option-data field (RFC 8415 §21.1)."""
        raise NotImplementedError

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        """Decode the option-data field ``buf[start:end]``; raise :class:`DecodeError` if malformed."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """Any option without a typed codec (or outside the context it is defined for), verbatim."""

    code: int
    data: bytes

    def payload(self) -> bytes:
        """Return the option data."""
        return self.data


@dataclass(frozen=True, slots=True)
class RelayMessage:
    """Option 9, Relay Message: the relayed (or replied) message (RFC 8415 §21.10).

    Only decoded inside Relay-forward/Relay-reply, by :func:`bootwright.wire.dhcp6.decode`
    (which bounds the nesting); elsewhere option 9 stays an :class:`UnknownOption`.
    """

    code: ClassVar[int] = 9
    message: Dhcp6Message | Dhcp6Relay

    def payload(self) -> bytes:
        """Return the option data: the encoded inner message."""
        return self.message.encode()


@dataclass(frozen=True, slots=True)
class _DuidOption(Option):
    duid: Duid

    def payload(self) -> bytes:
        return self.duid.encode()

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(decode_duid(buf[start:end]))


@dataclass(frozen=True, slots=True)
class ClientId(_DuidOption):
    """Option 1, Client Identifier: the client's DUID (RFC 8415 §21.2)."""

    code: ClassVar[int] = 1


@dataclass(frozen=True, slots=True)
class ServerId(_DuidOption):
    """Option 2, Server Identifier: the server's DUID (RFC 8415 §21.3)."""

    code: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class StatusCodeOption(Option):
    """Option 13, Status Code: a status and a UTF-8 message for people (RFC 8415 §21.13)."""

    code: ClassVar[int] = 13
    status: int
    message: str = ""

    def payload(self) -> bytes:
        return _U16.pack(self.status) + self.message.encode("utf-8")

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(13, start, end, 2)
        (status,) = _U16.unpack_from(buf, start)
        return cls(_STATUS.get(status, status), _utf8(13, buf[start + 2 : end], start))


# Options inside IA options and addresses decode only what RFC 8415 allows there
# (§21.4-§21.6, §21.21-§21.22); anything else is kept verbatim. This also bounds the
# recursion to IA -> address/prefix -> status.
_IN_LEASE: dict[int, OptionDecoder] = {13: StatusCodeOption.decode_payload}


@dataclass(frozen=True, slots=True)
class IaAddr(HasOptions, Option):
    """Option 5, IA Address: address, preferred and valid lifetimes, options (RFC 8415 §21.6)."""

    code: ClassVar[int] = 5
    address: IPv6Address
    preferred_lifetime: int
    valid_lifetime: int
    options: tuple[Dhcp6Option, ...] = ()

    def payload(self) -> bytes:
        head = _IAADDR.pack(self.address.packed, self.preferred_lifetime, self.valid_lifetime)
        return head + encode_options(self.options)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(5, start, end, 24)
        addr, pref, valid = _IAADDR.unpack_from(buf, start)
        return cls(IPv6Address(addr), pref, valid, decode_options(buf, start + 24, end, _IN_LEASE))


@dataclass(frozen=True, slots=True)
class IaPrefix(HasOptions, Option):
    """Option 26, IA Prefix: lifetimes, prefix length, prefix, options (RFC 8415 §21.22)."""

    code: ClassVar[int] = 26
    preferred_lifetime: int
    valid_lifetime: int
    prefix_length: int
    prefix: IPv6Address
    options: tuple[Dhcp6Option, ...] = ()

    def payload(self) -> bytes:
        pref, valid, plen = self.preferred_lifetime, self.valid_lifetime, self.prefix_length
        return _IAPREFIX.pack(pref, valid, plen, self.prefix.packed) + encode_options(self.options)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(26, start, end, 25)
        pref, valid, plen, prefix = _IAPREFIX.unpack_from(buf, start)
        return cls(pref, valid, plen, IPv6Address(prefix), decode_options(buf, start + 25, end, _IN_LEASE))


_IN_IA_NA: dict[int, OptionDecoder] = {5: IaAddr.decode_payload, 13: StatusCodeOption.decode_payload}
_IN_IA_PD: dict[int, OptionDecoder] = {26: IaPrefix.decode_payload, 13: StatusCodeOption.decode_payload}


@dataclass(frozen=True, slots=True)
class _IaWithTimers(HasOptions, Option):
    _inner: ClassVar[dict[int, OptionDecoder]]
    iaid: int
    t1: int = 0
    t2: int = 0
    options: tuple[Dhcp6Option, ...] = ()

    def payload(self) -> bytes:
        return _IA.pack(self.iaid, self.t1, self.t2) + encode_options(self.options)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(cls.code, start, end, 12)
        iaid, t1, t2 = _IA.unpack_from(buf, start)
        return cls(iaid, t1, t2, decode_options(buf, start + 12, end, cls._inner))


@dataclass(frozen=True, slots=True)
class IaNa(_IaWithTimers):
    """Option 3, IA_NA: IAID, T1, T2 and options such as IA Address (RFC 8415 §21.4)."""

    code: ClassVar[int] = 3
    _inner: ClassVar[dict[int, OptionDecoder]] = _IN_IA_NA


@dataclass(frozen=True, slots=True)
class IaPd(_IaWithTimers):
    """Option 25, IA_PD: IAID, T1, T2 and options such as IA Prefix (RFC 8415 §21.21)."""

    code: ClassVar[int] = 25
    _inner: ClassVar[dict[int, OptionDecoder]] = _IN_IA_PD


@dataclass(frozen=True, slots=True)
class IaTa(HasOptions, Option):
    """Option 4, IA_TA: IAID and options, no T1/T2 (RFC 8415 §21.5)."""

    code: ClassVar[int] = 4
    iaid: int
    options: tuple[Dhcp6Option, ...] = ()

    def payload(self) -> bytes:
        return _U32.pack(self.iaid) + encode_options(self.options)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(4, start, end, 4)
        return cls(_U32.unpack_from(buf, start)[0], decode_options(buf, start + 4, end, _IN_IA_NA))


@dataclass(frozen=True, slots=True)
class _U16ListOption(Option):
    values: tuple[int, ...]

    def payload(self) -> bytes:
        return struct.pack(f"!{len(self.values)}H", *self.values)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        if (end - start) % 2:
            raise DecodeError(f"option {cls.code} at offset {start}: odd length {end - start} for u16 list")
        return cls(struct.unpack_from(f"!{(end - start) // 2}H", buf, start))


@dataclass(frozen=True, slots=True)
class OptionRequest(_U16ListOption):
    """Option 6, Option Request (ORO): codes of the options the client wants (RFC 8415 §21.7)."""

    code: ClassVar[int] = 6


@dataclass(frozen=True, slots=True)
class EchoRequest(_U16ListOption):
    """Option 43, Echo Request (ERO): codes of relay options the server must echo (RFC 4994 §4)."""

    code: ClassVar[int] = 43


@dataclass(frozen=True, slots=True)
class ClientArchType(_U16ListOption):
    """Option 61, Client System Architecture Types, IANA registry values (RFC 5970 §3.3)."""

    code: ClassVar[int] = 61


@dataclass(frozen=True, slots=True)
class _UIntOption(Option):
    _fmt: ClassVar[Struct] = _U32
    value: int

    def payload(self) -> bytes:
        return self._fmt.pack(self.value)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _exact(cls.code, start, end, cls._fmt.size)
        return cls(cls._fmt.unpack_from(buf, start)[0])


@dataclass(frozen=True, slots=True)
class Preference(_UIntOption):
    """Option 7, Preference: server preference 0..255, 255 = pick me now (RFC 8415 §21.8)."""

    code: ClassVar[int] = 7
    _fmt: ClassVar[Struct] = _U8


@dataclass(frozen=True, slots=True)
class ElapsedTime(_UIntOption):
    """Option 8, Elapsed Time: hundredths of a second since the exchange began (RFC 8415 §21.9)."""

    code: ClassVar[int] = 8
    _fmt: ClassVar[Struct] = _U16


@dataclass(frozen=True, slots=True)
class InfoRefreshTime(_UIntOption):
    """Option 32, Information Refresh Time in seconds, 0xFFFFFFFF = infinity (RFC 8415 §21.23)."""

    code: ClassVar[int] = 32


@dataclass(frozen=True, slots=True)
class SolMaxRt(_UIntOption):
    """Option 82, SOL_MAX_RT: the client's maximum Solicit timeout in seconds (RFC 8415 §21.24)."""

    code: ClassVar[int] = 82


@dataclass(frozen=True, slots=True)
class InfMaxRt(_UIntOption):
    """Option 83, INF_MAX_RT: maximum Information-request timeout in seconds (RFC 8415 §21.25)."""

    code: ClassVar[int] = 83


@dataclass(frozen=True, slots=True)
class RapidCommit(Option):
    """Option 14, Rapid Commit: empty; asks for the two-message exchange (RFC 8415 §21.14)."""

    code: ClassVar[int] = 14

    def payload(self) -> bytes:
        return b""

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _exact(14, start, end, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class UserClass(Option):
    """Option 15, User Class: length-prefixed opaque entries, iPXE sends ``(b"iPXE",)`` (RFC 8415 §21.15)."""

    code: ClassVar[int] = 15
    data: tuple[bytes, ...]

    def payload(self) -> bytes:
        return _pack_opaque_list(self.data)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(_opaque_list(15, buf, start, end))


@dataclass(frozen=True, slots=True)
class VendorClass(Option):
    """Option 16, Vendor Class: enterprise number and length-prefixed entries (RFC 8415 §21.16)."""

    code: ClassVar[int] = 16
    enterprise: int
    data: tuple[bytes, ...]

    def payload(self) -> bytes:
        return _U32.pack(self.enterprise) + _pack_opaque_list(self.data)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(16, start, end, 4)
        return cls(_U32.unpack_from(buf, start)[0], _opaque_list(16, buf, start + 4, end))


@dataclass(frozen=True, slots=True)
class VendorOpts(Option):
    """Option 17, Vendor-specific Information: enterprise, (code, data) sub-options (RFC 8415 §21.17)."""

    code: ClassVar[int] = 17
    enterprise: int
    options: tuple[tuple[int, bytes], ...] = ()

    def payload(self) -> bytes:
        return _U32.pack(self.enterprise) + b"".join(_HDR.pack(c, len(d)) + d for c, d in self.options)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(17, start, end, 4)
        subs = decode_options(buf, start + 4, end, {})
        return cls(_U32.unpack_from(buf, start)[0], tuple((o.code, o.payload()) for o in subs))


@dataclass(frozen=True, slots=True)
class InterfaceId(Option):
    """Option 18, Interface-Id: opaque relay-assigned interface name (RFC 8415 §21.18)."""

    code: ClassVar[int] = 18
    value: bytes

    def payload(self) -> bytes:
        return self.value

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(buf[start:end])


@dataclass(frozen=True, slots=True)
class RemoteId(Option):
    """Option 37, Relay Agent Remote-ID: enterprise number and opaque id (RFC 4649 §3)."""

    code: ClassVar[int] = 37
    enterprise: int
    remote_id: bytes

    def payload(self) -> bytes:
        return _U32.pack(self.enterprise) + self.remote_id

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(37, start, end, 4)
        return cls(_U32.unpack_from(buf, start)[0], buf[start + 4 : end])


@dataclass(frozen=True, slots=True)
class ClientFqdn(Option):
    """Option 39, Client FQDN: flags and a (maybe partial) wire-format name, kept raw (RFC 4704 §4)."""

    code: ClassVar[int] = 39
    flags: int
    name: bytes

    def payload(self) -> bytes:
        return _U8.pack(self.flags) + self.name

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(39, start, end, 1)
        return cls(buf[start], buf[start + 1 : end])

    def domain_name(self) -> str:
        """The name as text without a trailing dot, ``""`` when the client sent none (RFC 4704 §4.2).

        The field holds a fully qualified name (ending in the root label) or a partial one, its
        labels without the root label (RFC 4704 §4, RFC 8415 §10); both decode here. Raises
        :class:`DecodeError` for anything else (compression, labels running past the end, junk after).
        """
        raw = self.name
        if not raw:
            return ""
        try:
            name, pos = decode_name(raw, 0, len(raw))
        except DecodeError:
            # A partial name: read it as if the root label followed (§4.2: "the last label" is the host's).
            name, pos = decode_name(raw + b"\x00", 0, len(raw) + 1)
            return name
        if pos != len(raw):
            raise DecodeError(f"option 39: {len(raw) - pos} octets after the domain name")
        return name


@dataclass(frozen=True, slots=True)
class DnsServers(Option):
    """Option 23, DNS Recursive Name Servers: IPv6 addresses (RFC 3646 §3)."""

    code: ClassVar[int] = 23
    addresses: tuple[IPv6Address, ...]

    def payload(self) -> bytes:
        return b"".join(a.packed for a in self.addresses)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        if (end - start) % 16:
            raise DecodeError(f"option 23 at offset {start}: length {end - start} not a multiple of 16")
        return cls(tuple(IPv6Address(buf[p : p + 16]) for p in range(start, end, 16)))


@dataclass(frozen=True, slots=True)
class DomainList(Option):
    """Option 24, Domain Search List: uncompressed wire-format names (RFC 3646 §4, RFC 8415 §10)."""

    code: ClassVar[int] = 24
    names: tuple[str, ...]

    def payload(self) -> bytes:
        return encode_names(self.names)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(decode_names(buf, start, end))


# RFC 5908 §4: the time-source sub-options of option 56, each a u16 code, u16 length and data.
NTP_SUBOPTION_SRV_ADDR = 1  # unicast server address, 16 octets (RFC 5908 §4.1)
NTP_SUBOPTION_MC_ADDR = 2  # multicast group address, 16 octets (RFC 5908 §4.2)
NTP_SUBOPTION_SRV_FQDN = 3  # server name, uncompressed DNS wire format (RFC 5908 §4.3, RFC 8415 §10)

NtpSource = tuple[int, IPv6Address | str | bytes]
"""One time source of option 56: sub-option code and value (an address for 1 and 2, a name for 3,
the octets of a sub-option code RFC 5908 does not define)."""


@dataclass(frozen=True, slots=True)
class NtpServer(Option):
    """Option 56, NTP Server: time sources as sub-options 1 (address), 2 (multicast), 3 (FQDN) (RFC 5908 §4).

    RFC 5908 §4.3: a name is sent as a name; the client resolves it (the server does not).
    """

    code: ClassVar[int] = 56
    sources: tuple[NtpSource, ...]

    @classmethod
    def of(cls, servers: Iterable[IPv6Address | str]) -> NtpServer:
        """Time sources from addresses and names: a multicast address as sub-option 2, another address
        as sub-option 1, a name as sub-option 3; raise ``ValueError`` for a name that is not one."""
        out: list[NtpSource] = []
        for server in servers:
            text = str(server).strip()
            if ":" in text:
                addr = IPv6Address(text)  # raises ValueError naming the text
                out.append((NTP_SUBOPTION_MC_ADDR if addr.is_multicast else NTP_SUBOPTION_SRV_ADDR, addr))
                continue
            name = text.removesuffix(".")
            if _IPV4.fullmatch(name):
                raise ValueError(f"{server!r} is an IPv4 address: option 56 carries IPv6 addresses and names")
            if not name or " " in name:
                raise ValueError(f"{server!r} is neither an IPv6 address nor a host name")
            encode_name(name)  # raises ValueError for labels over 63 octets, non-ASCII text
            out.append((NTP_SUBOPTION_SRV_FQDN, name))
        return cls(tuple(out))

    def payload(self) -> bytes:
        parts: list[bytes] = []
        for sub, value in self.sources:
            if isinstance(value, IPv6Address):
                data = value.packed
            elif isinstance(value, str):
                data = encode_name(value)
            else:
                data = value
            parts.append(_HDR.pack(sub, len(data)) + data)
        return b"".join(parts)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        out: list[NtpSource] = []
        for sub in decode_options(buf, start, end, {}):
            data = sub.payload()
            if sub.code in (NTP_SUBOPTION_SRV_ADDR, NTP_SUBOPTION_MC_ADDR):
                if len(data) != 16:
                    raise DecodeError(f"option 56: sub-option {sub.code} has length {len(data)}, expected 16")
                out.append((sub.code, IPv6Address(data)))
            elif sub.code == NTP_SUBOPTION_SRV_FQDN:
                name, pos = decode_name(data, 0, len(data))
                if pos != len(data):
                    raise DecodeError(f"option 56: {len(data) - pos} octets after the name in sub-option 3")
                out.append((sub.code, name))
            else:
                out.append((sub.code, data))  # kept verbatim: the round trip stays exact
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class BootFileUrl(Option):
    """Option 59, Boot File URL, e.g. ``http://[2001:db8::1]/ipxe.efi`` (RFC 5970 §3.1)."""

    code: ClassVar[int] = 59
    url: str

    def payload(self) -> bytes:
        return self.url.encode("utf-8")

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(_utf8(59, buf[start:end], start))


@dataclass(frozen=True, slots=True)
class BootFileParams(Option):
    """Option 60, Boot File Parameters: length-prefixed UTF-8 strings (RFC 5970 §3.2)."""

    code: ClassVar[int] = 60
    params: tuple[str, ...]

    def payload(self) -> bytes:
        return _pack_opaque_list(p.encode("utf-8") for p in self.params)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(tuple(_utf8(60, p, start) for p in _opaque_list(60, buf, start, end)))


@dataclass(frozen=True, slots=True)
class ClientNii(Option):
    """Option 62, Client Network Interface Identifier: type (1 = UNDI), major, minor (RFC 5970 §3.4)."""

    code: ClassVar[int] = 62
    nii_type: int
    major: int
    minor: int

    def payload(self) -> bytes:
        return _NII.pack(self.nii_type, self.major, self.minor)

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _exact(62, start, end, 3)
        return cls(*_NII.unpack_from(buf, start))


@dataclass(frozen=True, slots=True)
class ClientLinkLayerAddr(Option):
    """Option 79, Client Link-Layer Address: u16 hardware type and address, from relays (RFC 6939 §4)."""

    code: ClassVar[int] = 79
    link_type: int
    address: bytes

    def payload(self) -> bytes:
        return _U16.pack(self.link_type) + self.address

    @classmethod
    def decode_payload(cls, buf: bytes, start: int, end: int) -> Self:
        _at_least(79, start, end, 2)
        return cls(_U16.unpack_from(buf, start)[0], buf[start + 2 : end])


Dhcp6Option = (
    ClientId | ServerId | IaNa | IaTa | IaAddr | OptionRequest | Preference | ElapsedTime
    | StatusCodeOption | RapidCommit | UserClass | VendorClass | VendorOpts | InterfaceId
    | DnsServers | DomainList | IaPd | IaPrefix | InfoRefreshTime | RemoteId | ClientFqdn
    | EchoRequest | BootFileUrl | BootFileParams | ClientArchType | ClientNii
    | ClientLinkLayerAddr | SolMaxRt | InfMaxRt | NtpServer | RelayMessage | UnknownOption
)  # fmt: skip
"""Any decoded option."""


TOP_LEVEL_DECODERS: dict[int, OptionDecoder] = {
    c.code: c.decode_payload
    for c in (
        ClientId, ServerId, IaNa, IaTa, IaAddr, OptionRequest, Preference, ElapsedTime,
        StatusCodeOption, RapidCommit, UserClass, VendorClass, VendorOpts, InterfaceId,
        DnsServers, DomainList, IaPd, IaPrefix, InfoRefreshTime, RemoteId, ClientFqdn,
        EchoRequest, BootFileUrl, BootFileParams, ClientArchType, ClientNii,
        ClientLinkLayerAddr, SolMaxRt, InfMaxRt, NtpServer,
    )
}  # fmt: skip
"""Typed decoders for options in a message, by code; codes not here decode as :class:`UnknownOption`."""


def decode_options(
    buf: bytes, pos: int, end: int, table: dict[int, OptionDecoder] = TOP_LEVEL_DECODERS
) -> tuple[Dhcp6Option, ...]:
    """Decode the options filling ``buf[pos:end]`` exactly, in wire order (RFC 8415 §21.1)."""
    out: list[Dhcp6Option] = []
    unpack = _HDR.unpack_from
    get = table.get
    while pos < end:
        if pos + 4 > end:
            raise DecodeError(f"option header at offset {pos} truncated ({end - pos} octets left)")
        code, length = unpack(buf, pos)
        pos += 4
        nxt = pos + length
        if nxt > end:
            raise DecodeError(f"option {code} at offset {pos - 4}: length {length} runs past the end ({end})")
        dec = get(code)
        out.append(dec(buf, pos, nxt) if dec is not None else UnknownOption(code, buf[pos:nxt]))
        pos = nxt
    return tuple(out)


def encode_options(options: Iterable[_Encodable]) -> bytes:
    """Encode options in order as code, length, data (RFC 8415 §21.1)."""
    parts: list[bytes] = []
    pack = _HDR.pack
    for o in options:
        data = o.payload()
        parts.append(pack(o.code, len(data)))
        parts.append(data)
    return b"".join(parts)
