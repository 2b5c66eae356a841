"""Router Solicitation / Router Advertisement codec (RFC 4861 §4.1-§4.2, §4.6).

Options: link-layer addresses and Prefix Information/MTU (RFC 4861 §4.6),
Route Information (RFC 4191 §2.3), RDNSS and DNSSL (RFC 8106 §5). :func:`decode`
raises only :class:`~bootwright.wire.DecodeError` and checks the ICMPv6 checksum
only when given the IPv6 addresses (the kernel checks it on raw ICMPv6 sockets).
Reserved bits and fields are written as zero and ignored on receipt, as RFC 4861
requires, so ``encode(decode(b)) == b`` holds for packets that zero them (and, for
Route Information, use the shortest length; trailing DNSSL padding is minimal).
Also here: RFC 4861 §10 constants and the §6.2.1/§6.2.4/§6.2.6 timing rules.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv6Address
from struct import Struct
from typing import ClassVar, Final, Self, TypeVar

from bootwright.wire import DecodeError
from bootwright.wire._dnsname import decode_name, encode_names

T = TypeVar("T")

ICMPV6_ROUTER_SOLICITATION: Final = 133  # RFC 4861 §4.1
ICMPV6_ROUTER_ADVERTISEMENT: Final = 134  # RFC 4861 §4.2
ND_HOP_LIMIT: Final = 255  # RFC 4861 §6.1.1/§6.1.2: IP Hop Limit of every RS/RA
ALL_NODES: Final = IPv6Address("ff02::1")  # RFC 4291 §2.7.1
ALL_ROUTERS: Final = IPv6Address("ff02::2")  # RFC 4291 §2.7.1
INFINITY: Final = 0xFFFFFFFF  # RFC 4861 §4.6.2 lifetimes, RFC 8106 §5.1

# RFC 4861 §10, router constants (seconds / counts)
MAX_INITIAL_RTR_ADVERT_INTERVAL: Final = 16
MAX_INITIAL_RTR_ADVERTISEMENTS: Final = 3
MAX_FINAL_RTR_ADVERTISEMENTS: Final = 3
MIN_DELAY_BETWEEN_RAS: Final = 3
MAX_RA_DELAY_TIME: Final = 0.5
# RFC 4861 §10, host constants
MAX_RTR_SOLICITATION_DELAY: Final = 1
RTR_SOLICITATION_INTERVAL: Final = 4
MAX_RTR_SOLICITATIONS: Final = 3

# RFC 4861 §6.2.1 router configuration defaults and bounds
DEFAULT_MAX_RTR_ADV_INTERVAL: Final = 600
MAX_RTR_ADV_INTERVAL_RANGE: Final = (4, 1800)
MIN_MIN_RTR_ADV_INTERVAL: Final = 3
MAX_ADV_DEFAULT_LIFETIME: Final = 9000
DEFAULT_ADV_VALID_LIFETIME: Final = 2592000  # 30 days
DEFAULT_ADV_PREFERRED_LIFETIME: Final = 604800  # 7 days

_RS = Struct("!BBHI")  # type, code, checksum, reserved (RFC 4861 §4.1)
_RA = Struct("!BBHBBHII")  # type, code, checksum, hop limit, flags, lifetime, reachable, retrans (§4.2)
_OPT = Struct("!BB")  # type, length in 8-octet units (RFC 4861 §4.6)
_PREFIX = Struct("!BBBBIII16s")  # type, len=4, plen, flags, valid, preferred, reserved2, prefix (§4.6.2)
_MTU = Struct("!BBHI")  # type, len=1, reserved, MTU (§4.6.4)
_ROUTE = Struct("!BBBBI")  # type, len, plen, flags (Prf), route lifetime (RFC 4191 §2.3)
_DNS = Struct("!BBHI")  # type, len, reserved, lifetime (RFC 8106 §5.1/§5.2)
_DNS_BODY = Struct("!HI")  # reserved, lifetime

_M, _O = 0x80, 0x40  # RFC 4861 §4.2 Managed / Other configuration flags
_PRF_SHIFT, _PRF_MASK = 3, 0x18  # RFC 4191 §2.2 Prf bits of the RA flags / §2.3 Route Info flags
_L, _A, _R = 0x80, 0x40, 0x20  # RFC 4861 §4.6.2 on-link, autonomous; RFC 6275 §7.2 router address


class RouterPreference(IntEnum):
    """Default router / route preference, two-bit wire values (RFC 4191 §2.1)."""

    MEDIUM = 0
    HIGH = 1
    LOW = 3  # 2 is reserved: received as MEDIUM (RFC 4191 §2.2)


def _prf(bits: int) -> RouterPreference:
    return RouterPreference.MEDIUM if bits == 2 else RouterPreference(bits)


def _padded(body: bytes) -> bytes:
    # Whole option (2-octet header + body) padded to a multiple of 8 octets (RFC 4861 §4.6).
    pad = -(len(body) + 2) % 8
    return body + bytes(pad)


class NdOption:
    """Base of the typed ND options: class-level ``option_type`` and the body codec."""

    __slots__ = ()
    option_type: ClassVar[int]

    def encode(self) -> bytes:
        """Return the whole option: type, length (8-octet units) and body (RFC 4861 §4.6)."""
        raise NotImplementedError

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        """Decode an option whose type/length header starts at ``start``; ``end`` is its end."""
        raise NotImplementedError


def _with_header(option_type: int, body: bytes) -> bytes:
    body = _padded(body)
    units = (len(body) + 2) // 8
    if units > 255:
        raise ValueError(f"ND option {option_type} is {units * 8} octets, over the 2040 maximum")
    return _OPT.pack(option_type, units) + body


@dataclass(frozen=True, slots=True)
class UnknownNdOption:
    """An option without a typed codec, kept verbatim: type and body after the 2-octet header."""

    option_type: int
    data: bytes

    def encode(self) -> bytes:
        """Return the whole option (body must make the option a multiple of 8 octets)."""
        if (len(self.data) + 2) % 8:
            raise ValueError(f"ND option {self.option_type}: body of {len(self.data)} octets is not 8n-2")
        return _with_header(self.option_type, self.data)


@dataclass(frozen=True, slots=True)
class SourceLinkLayerAddress(NdOption):
    """Option 1, Source Link-Layer Address, e.g. a 6-octet MAC (RFC 4861 §4.6.1).

    The address field is everything after the header, padding included (a 6-octet MAC needs none).
    """

    option_type: ClassVar[int] = 1
    address: bytes

    def encode(self) -> bytes:
        return _with_header(self.option_type, self.address)

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        return cls(buf[start + 2 : end])


@dataclass(frozen=True, slots=True)
class TargetLinkLayerAddress(SourceLinkLayerAddress):
    """Option 2, Target Link-Layer Address (RFC 4861 §4.6.1)."""

    option_type: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class PrefixInformation(NdOption):
    """Option 3, Prefix Information: on-link / SLAAC prefix and lifetimes (RFC 4861 §4.6.2).

    ``router_address`` is the R flag (RFC 6275 §7.2, radvd ``AdvRouterAddr``): ``prefix``
    then holds the router's full address. Bits after the prefix length are sent as given.
    """

    option_type: ClassVar[int] = 3
    prefix: IPv6Address
    prefix_length: int = 64
    on_link: bool = True  # L, RFC 4861 §6.2.1 AdvOnLinkFlag default TRUE
    autonomous: bool = True  # A, AdvAutonomousFlag default TRUE
    router_address: bool = False  # R, RFC 6275 §7.2
    valid_lifetime: int = DEFAULT_ADV_VALID_LIFETIME
    preferred_lifetime: int = DEFAULT_ADV_PREFERRED_LIFETIME

    def encode(self) -> bytes:
        flags = (_L if self.on_link else 0) | (_A if self.autonomous else 0) | (_R if self.router_address else 0)
        valid, pref = self.valid_lifetime, self.preferred_lifetime
        return _PREFIX.pack(3, 4, self.prefix_length, flags, valid, pref, 0, self.prefix.packed)

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        if end - start != 32:
            raise DecodeError(f"Prefix Information at offset {start}: length {end - start}, expected 32")
        _, _, plen, flags, valid, pref, _, prefix = _PREFIX.unpack_from(buf, start)
        if plen > 128:
            raise DecodeError(f"Prefix Information at offset {start}: prefix length {plen} > 128")
        return cls(IPv6Address(prefix), plen, bool(flags & _L), bool(flags & _A), bool(flags & _R), valid, pref)


@dataclass(frozen=True, slots=True)
class Mtu(NdOption):
    """Option 5, MTU: the link MTU hosts should use (RFC 4861 §4.6.4)."""

    option_type: ClassVar[int] = 5
    mtu: int

    def encode(self) -> bytes:
        return _MTU.pack(5, 1, 0, self.mtu)

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        if end - start != 8:
            raise DecodeError(f"MTU option at offset {start}: length {end - start}, expected 8")
        return cls(_MTU.unpack_from(buf, start)[3])


@dataclass(frozen=True, slots=True)
class RouteInformation(NdOption):
    """Option 24, Route Information: a more-specific route via this router (RFC 4191 §2.3)."""

    option_type: ClassVar[int] = 24
    prefix: IPv6Address
    prefix_length: int
    lifetime: int
    preference: RouterPreference = RouterPreference.MEDIUM

    def encode(self) -> bytes:
        n = 0 if self.prefix_length == 0 else 8 if self.prefix_length <= 64 else 16  # shortest length
        units = 1 + n // 8
        head = _ROUTE.pack(24, units, self.prefix_length, self.preference << _PRF_SHIFT, self.lifetime)
        return head + self.prefix.packed[:n]

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        _, units, plen, flags, life = _ROUTE.unpack_from(buf, start)
        if units > 3 or plen > 128 or (plen > 64 and units < 3) or (plen > 0 and units < 2):
            raise DecodeError(f"Route Information at offset {start}: length {units} for /{plen}")
        prefix = buf[start + 8 : end].ljust(16, b"\0")
        return cls(IPv6Address(prefix), plen, life, _prf((flags & _PRF_MASK) >> _PRF_SHIFT))


@dataclass(frozen=True, slots=True)
class Rdnss(NdOption):
    """Option 25, Recursive DNS Server: lifetime (s) and one or more addresses (RFC 8106 §5.1)."""

    option_type: ClassVar[int] = 25
    lifetime: int
    addresses: tuple[IPv6Address, ...]

    def encode(self) -> bytes:
        if not self.addresses:
            raise ValueError("RDNSS option needs at least one address (RFC 8106 §5.1)")
        head = _DNS.pack(25, 1 + 2 * len(self.addresses), 0, self.lifetime)
        return head + b"".join(a.packed for a in self.addresses)

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        units = (end - start) // 8
        if units < 3 or units % 2 == 0:  # RFC 8106 §5.1: 1 + 2 * addresses
            raise DecodeError(f"RDNSS option at offset {start}: length {units}, expected odd >= 3")
        life = _DNS.unpack_from(buf, start)[3]
        return cls(life, tuple(IPv6Address(buf[p : p + 16]) for p in range(start + 8, end, 16)))


@dataclass(frozen=True, slots=True)
class Dnssl(NdOption):
    """Option 31, DNS Search List: lifetime (s) and domain names (RFC 8106 §5.2)."""

    option_type: ClassVar[int] = 31
    lifetime: int
    names: tuple[str, ...]

    def encode(self) -> bytes:
        if not self.names:
            raise ValueError("DNSSL option needs at least one name (RFC 8106 §5.2)")
        return _with_header(31, _DNS_BODY.pack(0, self.lifetime) + encode_names(self.names))

    @classmethod
    def decode_body(cls, buf: bytes, start: int, end: int) -> Self:
        if end - start < 16:  # RFC 8106 §5.2: length >= 2
            raise DecodeError(f"DNSSL option at offset {start}: length {(end - start) // 8}, expected >= 2")
        life = _DNS.unpack_from(buf, start)[3]
        names: list[str] = []
        pos = start + 8
        while pos < end and buf[pos] != 0:  # a zero octet here starts the padding
            name, pos = decode_name(buf, pos, end)
            names.append(name)
        if not names or any(buf[pos:end]):
            raise DecodeError(f"DNSSL option at offset {start}: no names, or non-zero padding")
        return cls(life, tuple(names))


NdOptionValue = (
    SourceLinkLayerAddress | TargetLinkLayerAddress | PrefixInformation | Mtu | RouteInformation
    | Rdnss | Dnssl | UnknownNdOption
)  # fmt: skip
"""Any decoded ND option."""

_DECODERS: dict[int, Callable[[bytes, int, int], NdOptionValue]] = {
    c.option_type: c.decode_body
    for c in (SourceLinkLayerAddress, TargetLinkLayerAddress, PrefixInformation, Mtu,
              RouteInformation, Rdnss, Dnssl)
}  # fmt: skip


def _decode_options(buf: bytes, pos: int) -> tuple[NdOptionValue, ...]:
    out: list[NdOptionValue] = []
    end = len(buf)
    while pos < end:
        if pos + 2 > end:
            raise DecodeError(f"ND option header at offset {pos} truncated")
        otype, units = _OPT.unpack_from(buf, pos)
        if units == 0:  # RFC 4861 §4.6: MUST silently discard the packet
            raise DecodeError(f"ND option {otype} at offset {pos} has length 0")
        nxt = pos + units * 8
        if nxt > end:
            raise DecodeError(f"ND option {otype} at offset {pos}: length {units * 8} runs past the end")
        dec = _DECODERS.get(otype)
        out.append(dec(buf, pos, nxt) if dec else UnknownNdOption(otype, buf[pos + 2 : nxt]))
        pos = nxt
    return tuple(out)


class _HasNdOptions:
    __slots__ = ()
    options: tuple[NdOptionValue, ...]

    def get(self, kind: type[T]) -> T | None:
        """Return the first option of class ``kind``, or ``None``."""
        return next((o for o in self.options if isinstance(o, kind)), None)

    def get_all(self, kind: type[T]) -> list[T]:
        """Return every option of class ``kind``, in wire order."""
        return [o for o in self.options if isinstance(o, kind)]


@dataclass(frozen=True, slots=True)
class RouterSolicitation(_HasNdOptions):
    """ICMPv6 type 133, Router Solicitation: options only (RFC 4861 §4.1)."""

    options: tuple[NdOptionValue, ...] = ()

    @property
    def source_link_layer_address(self) -> bytes | None:
        """The Source Link-Layer Address option's address, if present (RFC 4861 §4.6.1)."""
        sll = self.get(SourceLinkLayerAddress)
        return sll.address if sll is not None else None


@dataclass(frozen=True, slots=True)
class RouterAdvertisement(_HasNdOptions):
    """ICMPv6 type 134, Router Advertisement (RFC 4861 §4.2, RFC 4191 §2.2).

    ``router_lifetime`` is seconds as default router (0 = not a default router),
    ``reachable_time`` and ``retrans_timer`` are milliseconds (0 = unspecified).
    """

    cur_hop_limit: int = 64  # RFC 4861 §6.2.1 AdvCurHopLimit: IANA default TTL
    managed: bool = False  # M flag: addresses via DHCPv6
    other: bool = False  # O flag: other configuration via DHCPv6
    preference: RouterPreference = RouterPreference.MEDIUM  # RFC 4191 §2.2
    router_lifetime: int = 0
    reachable_time: int = 0
    retrans_timer: int = 0
    options: tuple[NdOptionValue, ...] = ()


def icmpv6_checksum(src: bytes | IPv6Address, dst: bytes | IPv6Address, message: bytes) -> int:
    """ICMPv6 checksum of ``message`` (its checksum field taken as zero) over the IPv6
    pseudo-header of ``src``, ``dst``, length and next header 58 (RFC 4443 §2.3, RFC 8200 §8.1)."""
    s = src.packed if isinstance(src, IPv6Address) else src
    d = dst.packed if isinstance(dst, IPv6Address) else dst
    if len(s) != 16 or len(d) != 16:
        raise ValueError("ICMPv6 checksum needs 16-octet IPv6 source and destination addresses")
    data = s + d + struct.pack("!I3xB", len(message), 58) + message[:2] + b"\0\0" + message[4:]
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def decode(
    data: bytes | bytearray | memoryview,
    src: bytes | IPv6Address | None = None,
    dst: bytes | IPv6Address | None = None,
) -> RouterSolicitation | RouterAdvertisement:
    """Decode an ICMPv6 RS or RA; with ``src`` and ``dst`` also verify the checksum.

    Raises :class:`DecodeError` (only) for other ICMPv6 types, a non-zero code (RFC 4861
    §6.1.1/§6.1.2), truncation, bad option lengths or a wrong checksum.
    """
    buf = bytes(data)
    if len(buf) < 8:
        raise DecodeError(f"ICMPv6 message of {len(buf)} octets, need at least 8")
    t, code, checksum = buf[0], buf[1], int.from_bytes(buf[2:4])
    if code != 0:
        raise DecodeError(f"ICMPv6 type {t} with code {code}, expected 0 (RFC 4861 §6.1)")
    if src is not None and dst is not None:
        try:
            want = icmpv6_checksum(src, dst, buf)
        except ValueError as e:
            raise DecodeError(str(e)) from None
        if want != checksum:
            raise DecodeError(f"ICMPv6 checksum 0x{checksum:04x}, expected 0x{want:04x}")
    if t == ICMPV6_ROUTER_SOLICITATION:
        return RouterSolicitation(_decode_options(buf, 8))
    if t == ICMPV6_ROUTER_ADVERTISEMENT:
        if len(buf) < 16:
            raise DecodeError(f"Router Advertisement of {len(buf)} octets, need at least 16")
        _, _, _, hop, flags, life, reach, retrans = _RA.unpack_from(buf)
        prf = _prf((flags & _PRF_MASK) >> _PRF_SHIFT)
        opts = _decode_options(buf, 16)
        return RouterAdvertisement(hop, bool(flags & _M), bool(flags & _O), prf, life, reach, retrans, opts)
    raise DecodeError(f"ICMPv6 type {t} is not a Router Solicitation (133) or Advertisement (134)")


def encode(
    msg: RouterSolicitation | RouterAdvertisement,
    src: bytes | IPv6Address | None = None,
    dst: bytes | IPv6Address | None = None,
) -> bytes:
    """Encode an RS or RA; the checksum is filled in when ``src`` and ``dst`` are given,
    else left zero for the kernel (raw ICMPv6 sockets, RFC 3542 §3.1). ``ValueError`` on bad fields."""
    try:
        opts = b"".join(o.encode() for o in msg.options)
        if isinstance(msg, RouterSolicitation):
            out = _RS.pack(ICMPV6_ROUTER_SOLICITATION, 0, 0, 0) + opts
        else:
            flags = (_M if msg.managed else 0) | (_O if msg.other else 0) | (msg.preference << _PRF_SHIFT)
            life, reach, retrans = msg.router_lifetime, msg.reachable_time, msg.retrans_timer
            head = _RA.pack(ICMPV6_ROUTER_ADVERTISEMENT, 0, 0, msg.cur_hop_limit, flags, life, reach, retrans)
            out = head + opts
    except struct.error as e:
        raise ValueError(f"cannot encode {type(msg).__name__}: {e}") from None
    if src is not None and dst is not None:
        out = out[:2] + icmpv6_checksum(src, dst, out).to_bytes(2) + out[4:]
    return out


# ---------------------------------------------------------------- timing rules (RFC 4861 §6.2)


def default_min_rtr_adv_interval(max_interval: float) -> float:
    """Default MinRtrAdvInterval for a MaxRtrAdvInterval (RFC 4861 §6.2.1).

    0.33 * Max when Max >= 9 s; below that 0.75 * Max, the largest value §6.2.1 allows
    (the RFC's literal "Max" would break its own Min <= 0.75 * Max rule; radvd does the same).
    """
    return 0.33 * max_interval if max_interval >= 9 else 0.75 * max_interval


def default_adv_default_lifetime(max_interval: float) -> int:
    """Default AdvDefaultLifetime (router lifetime): 3 * MaxRtrAdvInterval, at most 9000 s (§6.2.1)."""
    return min(MAX_ADV_DEFAULT_LIFETIME, int(3 * max_interval))


def check_rtr_adv_intervals(min_interval: float, max_interval: float, default_lifetime: int) -> None:
    """Raise ``ValueError`` saying which RFC 4861 §6.2.1 bound the three settings break."""
    lo, hi = MAX_RTR_ADV_INTERVAL_RANGE
    if not lo <= max_interval <= hi:
        raise ValueError(f"MaxRtrAdvInterval {max_interval} s must be {lo}..{hi} s (RFC 4861 §6.2.1)")
    if not MIN_MIN_RTR_ADV_INTERVAL <= min_interval <= 0.75 * max_interval:
        raise ValueError(
            f"MinRtrAdvInterval {min_interval} s must be 3..{0.75 * max_interval:g} s "
            f"(0.75 * MaxRtrAdvInterval, RFC 4861 §6.2.1)"
        )
    if default_lifetime != 0 and not max_interval <= default_lifetime <= MAX_ADV_DEFAULT_LIFETIME:
        raise ValueError(
            f"AdvDefaultLifetime {default_lifetime} s must be 0 or {max_interval:g}..9000 s (RFC 4861 §6.2.1)"
        )


def unsolicited_ra_interval(min_interval: float, max_interval: float, u: float, sent: int) -> float:
    """Seconds until the next unsolicited RA (RFC 4861 §6.2.4).

    ``u`` is a uniform random number in [0, 1) supplied by the caller; ``sent`` is how many
    unsolicited RAs the interface has sent so far. While ``sent`` is below
    MAX_INITIAL_RTR_ADVERTISEMENTS the interval is capped at MAX_INITIAL_RTR_ADVERT_INTERVAL.
    """
    t = min_interval + u * (max_interval - min_interval)
    return min(t, MAX_INITIAL_RTR_ADVERT_INTERVAL) if sent < MAX_INITIAL_RTR_ADVERTISEMENTS else t


def solicited_ra_time(now: float, last_multicast_ra: float | None, u: float) -> float:
    """When to send the multicast RA answering an RS (RFC 4861 §6.2.6).

    Delay by ``u * MAX_RA_DELAY_TIME`` (``u`` uniform in [0, 1)), counted from
    ``last_multicast_ra + MIN_DELAY_BETWEEN_RAS`` if that is still in the future.
    """
    delay = u * MAX_RA_DELAY_TIME
    if last_multicast_ra is not None and now - last_multicast_ra < MIN_DELAY_BETWEEN_RAS:
        return last_multicast_ra + MIN_DELAY_BETWEEN_RAS + delay
    return now + delay
