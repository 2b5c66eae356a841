"""DHCPv4 message codec (RFC 2131 §2, RFC 2132 §2 and §9.3, RFC 3396; RFC 951 BOOTP), stdlib only.

Wire layout (RFC 2131 §2, Figure 1), offsets in octets::

    0 op | 1 htype | 2 hlen | 3 hops | 4 xid(4) | 8 secs(2) | 10 flags(2)
    12 ciaddr | 16 yiaddr | 20 siaddr | 24 giaddr | 28 chaddr(16)
    44 sname(64) | 108 file(128) | 236 magic cookie 99.130.83.99 | 240 options

Plain BOOTP (RFC 951 §3). A client that does not speak the RFC 1048 vendor
extensions sends a BOOTREQUEST whose 64-octet ``vend`` field (offset 236) is
all zeros or starts with a vendor magic of its own. Such a request decodes
when it is a BOOTREQUEST of at least 300 octets (RFC 1542 §2.1: "the minimal
BOOTP header of 300 octets"): :attr:`Dhcp4Message.vend` then holds every
octet from offset 236 on and ``options`` is empty. Anything else without the
cookie (a BOOTREPLY, or a shorter datagram) is a :class:`DecodeError`.

Representation. :class:`Dhcp4Message` keeps every option as its raw value
octets in an immutable ordered mapping (:class:`Options`), keyed by code, in
order of first appearance. Framing is undone on decode and redone on encode:
PAD/END, RFC 3396 long options (instances of one code are concatenated in
the order options field, ``file``, ``sname``; values over 255 octets are split
on encode) and option overload 52 (RFC 2132 §9.3), which therefore never
appears in :attr:`Dhcp4Message.options`. Values are decoded only on request
(:meth:`Dhcp4Message.get`), through the table in
:mod:`bootwright.wire.dhcp4_options`. Unknown options pass through verbatim.
``decode(encode(m)) == m`` for every message ``encode`` accepts.

Leniencies (documented, like ISC dhcpd): a missing END is accepted when the
options run to the end of their area; octets after END are ignored; ``sname``
and ``file`` end at their first NUL; an option 52 found inside an overloaded
field is ignored (so overloading cannot loop).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Any, Final, TypeVar

from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_options import (
    END,
    PAD,
    MessageType,
    OptionSpec,
    decode_option,
)

__all__ = [
    "BOOTP_HEADER_SIZE",
    "BOOTREPLY",
    "BOOTREQUEST",
    "BROADCAST_FLAG",
    "CLIENT_PORT",
    "DEFAULT_MAX_SIZE",
    "IP_UDP_HEADERS",
    "MAGIC_COOKIE",
    "MIN_MESSAGE_SIZE",
    "SERVER_PORT",
    "VEND_SIZE",
    "Destination",
    "Dhcp4Message",
    "EncodeError",
    "MessageType",
    "Options",
    "client_key",
    "decode",
    "encode",
    "mac_of",
    "max_message_size",
    "reply_destination",
]

T = TypeVar("T")

BOOTREQUEST: Final = 1  # RFC 2131 §2 op
BOOTREPLY: Final = 2  # RFC 2131 §2 op
SERVER_PORT: Final = 67  # RFC 2131 §4.1 "DHCP server" port
CLIENT_PORT: Final = 68  # RFC 2131 §4.1 "DHCP client" port
BROADCAST_FLAG: Final = 0x8000  # RFC 2131 §2 Figure 2, leftmost bit of flags
MAGIC_COOKIE: Final = b"\x63\x82\x53\x63"  # RFC 2131 §3, RFC 2132 §2 (99.130.83.99)
MIN_MESSAGE_SIZE: Final = 300  # RFC 1542 §2.1: the BOOTP minimum (RFC 951), replies are padded to it
BOOTP_HEADER_SIZE: Final = 236  # RFC 951 §3: op .. file, the octets before ``vend``
VEND_SIZE: Final = 64  # RFC 951 §3: "vend 64 optional vendor-specific area"
DEFAULT_MAX_SIZE: Final = 576  # RFC 2132 §9.10 minimum, RFC 2131 §2: 576-octet datagrams
IP_UDP_HEADERS: Final = 28  # IPv4 (20, no options) + UDP (8) headers counted by option 57

_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s4s")  # RFC 2131 §2 Figure 1 + cookie
_FIXED = _HEADER.size  # 240
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # RFC 951 §3 up to ``vend``
_COOKIE = slice(BOOTP_HEADER_SIZE, _FIXED)
_SNAME = slice(44, 108)
_FILE = slice(108, 236)
_OVERLOAD = 52  # RFC 2132 §9.3
_OVERLOAD_FILE = 1  # RFC 2132 §9.3: "file" field holds options
_OVERLOAD_SNAME = 2  # RFC 2132 §9.3: "sname" field holds options
# Options kept in the options field when overloading: the message type (clients look for it
# first), the server id, and relay agent information (relays strip it, RFC 3046 §2.2, and
# look only there).
_PINNED: Final = frozenset((53, 54, 82))
_ZERO = IPv4Address(0)


@lru_cache(maxsize=4096)
def _addr(raw: bytes) -> IPv4Address:
    return IPv4Address(raw)


class EncodeError(ValueError):
    """A message cannot be encoded: a field is out of range or the options do not fit."""


class Options(Mapping[int, bytes]):
    """Immutable, ordered, hashable ``code -> value octets`` mapping of a message's options.

    Order is that of first appearance on the wire (or of construction) and is
    kept by :func:`encode`; equality, like ``dict``'s, ignores order.
    """

    __slots__ = ("_d",)
    _d: dict[int, bytes]

    def __init__(self, items: Mapping[int, bytes] | Iterable[tuple[int, bytes]] = ()) -> None:
        """Copy ``items`` (a mapping or ``(code, octets)`` pairs; a repeated code keeps the last)."""
        self._d = dict(items)

    @classmethod
    def _wrap(cls, d: dict[int, bytes]) -> Options:
        o = cls.__new__(cls)
        o._d = d
        return o

    def __getitem__(self, code: int) -> bytes:
        """The value octets of ``code``."""
        return self._d[code]

    def __iter__(self) -> Iterator[int]:
        """Codes in order."""
        return iter(self._d)

    def __len__(self) -> int:
        """Number of distinct options."""
        return len(self._d)

    def __contains__(self, code: object) -> bool:
        """Whether ``code`` is present."""
        return code in self._d

    def get(self, code: int, default: Any = None) -> Any:
        """The value octets of ``code`` or ``default``."""
        return self._d.get(code, default)

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same items (order ignored)."""
        if isinstance(other, Options):
            return self._d == other._d
        if isinstance(other, Mapping):
            return self._d == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        """Hash of the item set."""
        return hash(frozenset(self._d.items()))

    def __repr__(self) -> str:
        """``Options({53: b'\\x01', ...})``."""
        return f"Options({self._d!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dhcp4Message:
    """One DHCPv4/BOOTP message (RFC 2131 §2), fields as on the wire.

    ``chaddr`` holds exactly ``hlen`` octets (``hlen`` is derived from it);
    ``sname``/``file`` are the fields up to their first NUL (empty when the
    field carried overloaded options); ``options`` maps code -> raw value
    octets, see the module docstring. ``vend`` is ``None`` for a message with
    the magic cookie; for a plain RFC 951 BOOTREQUEST without it, the raw
    vendor area (at least 64 octets, shorter values are zero-padded) and
    ``options`` is empty. Build replies with :func:`dataclasses.replace` or
    the constructor.
    """

    op: int  # RFC 2131 §2: 1 BOOTREQUEST, 2 BOOTREPLY
    xid: int  # RFC 2131 §2: transaction id chosen by the client
    chaddr: bytes = b""  # RFC 2131 §2: client hardware address (hlen octets)
    htype: int = 1  # RFC 2131 §2: ARP hardware type, 1 = 10 Mb Ethernet (RFC 1700)
    hops: int = 0  # RFC 2131 §2: relay hop count
    secs: int = 0  # RFC 2131 §2: seconds since the client began
    flags: int = 0  # RFC 2131 §2 Figure 2: BROADCAST_FLAG, other bits MBZ
    ciaddr: IPv4Address = _ZERO  # RFC 2131 §2: client address when it can answer ARP
    yiaddr: IPv4Address = _ZERO  # RFC 2131 §2: "your" (client) address
    siaddr: IPv4Address = _ZERO  # RFC 2131 §2: next server (TFTP) address
    giaddr: IPv4Address = _ZERO  # RFC 2131 §2: relay agent address
    sname: bytes = b""  # RFC 2131 §2: server host name, ≤ 64 octets
    file: bytes = b""  # RFC 2131 §2: boot file name, ≤ 128 octets
    options: Mapping[int, bytes] = field(default_factory=Options)
    # RFC 951 §3 "vend": the raw vendor area of a message without the RFC 1048 magic cookie
    # (RFC 1542 §3.5), None when the message carries the cookie and options.
    vend: bytes | None = None

    def __post_init__(self) -> None:
        """Freeze ``options`` into :class:`Options`; pad ``vend`` to its 64 octets (RFC 951 §3)."""
        if type(self.options) is not Options:
            object.__setattr__(self, "options", Options(self.options))
        vend = self.vend
        if vend is not None and (type(vend) is not bytes or len(vend) < VEND_SIZE):
            object.__setattr__(self, "vend", bytes(vend).ljust(VEND_SIZE, b"\0"))

    @property
    def has_cookie(self) -> bool:
        """Whether the message uses the RFC 1048 vendor extensions (magic cookie, options; RFC 2132 §2)."""
        return self.vend is None

    @property
    def hlen(self) -> int:
        """Hardware address length, ``len(chaddr)`` (RFC 2131 §2)."""
        return len(self.chaddr)

    @property
    def broadcast(self) -> bool:
        """Whether the client asked for broadcast replies (RFC 2131 §4.1)."""
        return bool(self.flags & BROADCAST_FLAG)

    @property
    def message_type(self) -> MessageType | None:
        """Option 53, or ``None`` for plain BOOTP. Raises :class:`DecodeError` if malformed."""
        raw = self.options.get(53)
        if raw is None:
            return None
        value: MessageType = decode_option(53, raw)
        return value

    def get(self, spec: OptionSpec[T]) -> T | None:
        """The decoded value of a known option (``msg.get(ROUTERS)``), or ``None`` if absent.

        Raises :class:`DecodeError` naming the option when its octets are malformed.
        """
        raw = self.options.get(spec.code)
        if raw is None:
            return None
        try:
            return spec.codec.decode(raw)
        except DecodeError as e:
            raise DecodeError(f"option {spec.code} ({spec.name}): {e}") from None

    def option(self, code: int) -> Any:
        """The decoded value of option ``code`` (raw octets if unknown), or ``None`` if absent."""
        raw = self.options.get(code)
        return None if raw is None else decode_option(code, raw)


# --- decode ----------------------------------------------------------------------------------


def _parse_options(data: bytes, i: int, end: int, into: dict[int, bytes], where: str) -> None:
    """Parse options in ``data[i:end]`` into ``into``, concatenating repeats (RFC 3396 §5)."""
    while i < end:
        code = data[i]
        if code == PAD:  # RFC 2132 §3.1
            i += 1
            continue
        if code == END:  # RFC 2132 §3.2; what follows is padding
            return
        if i + 1 >= end:
            raise DecodeError(f"option {code} at offset {i} in {where}: length octet missing")
        j = i + 2 + data[i + 1]
        if j > end:
            raise DecodeError(f"option {code} at offset {i} in {where}: length {data[i + 1]} runs past the end ({end})")
        value = data[i + 2 : j]
        prev = into.get(code)
        into[code] = value if prev is None else prev + value
        i = j
    # No END: tolerated (ISC dhcpd does), the area simply ran out.


def _cstr(raw: bytes) -> bytes:
    i = raw.find(0)
    return raw if i < 0 else raw[:i]


def decode(data: bytes | bytearray | memoryview) -> Dhcp4Message:
    """Decode one DHCPv4 or BOOTP message (a UDP payload).

    A message with the magic cookie is decoded with its options. Without the
    cookie, a BOOTREQUEST of at least 300 octets is a plain RFC 951 request
    (``vend`` set, no options; RFC 1542 §2.1, §3.5). Raises
    :class:`DecodeError` (naming field and offset) for anything shorter than
    the 236-octet BOOTP header, longer than 65535 octets, without the cookie
    and not such a BOOTREQUEST, with an unknown ``op``, ``hlen`` > 16, an
    option running past its area, or a malformed option 52.
    """
    data = bytes(data)  # no copy for bytes
    n = len(data)
    if n < _FIXED and (n < BOOTP_HEADER_SIZE or data[0] != BOOTREQUEST):
        raise DecodeError(f"DHCPv4 message is {n} octets, shorter than the 240-octet header (RFC 2131 §2)")
    if n > 65535:
        raise DecodeError(f"DHCPv4 message is {n} octets, longer than any UDP payload")
    (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, chaddr, sname, file) = _BOOTP.unpack_from(data)
    if op != BOOTREQUEST and op != BOOTREPLY:
        raise DecodeError(f"op {op} at offset 0 is neither BOOTREQUEST (1) nor BOOTREPLY (2)")
    if hlen > 16:
        raise DecodeError(f"hlen {hlen} at offset 2 exceeds the 16-octet chaddr field")
    cookie = data[_COOKIE]
    opts: dict[int, bytes] = {}
    vend: bytes | None = None
    if cookie != MAGIC_COOKIE:
        # RFC 951 §3 / RFC 1542 §3.5: a BOOTP client without RFC 1048 vendor extensions. Only a
        # request of the full BOOTP size (RFC 1542 §2.1) is one; anything else is not BOOTP.
        if op != BOOTREQUEST:
            raise DecodeError(f"no DHCP magic cookie at offset 236 (found {cookie.hex()}; RFC 2131 §3) in a BOOTREPLY")
        if n < MIN_MESSAGE_SIZE:
            raise DecodeError(
                f"no DHCP magic cookie at offset 236 (found {cookie.hex()}; RFC 2131 §3), and at {n} octets the "
                f"message is shorter than a 300-octet RFC 951 BOOTREQUEST (RFC 1542 §2.1)"
            )
        vend = data[BOOTP_HEADER_SIZE:]  # no options: the vend field as it came
    else:
        _parse_options(data, _FIXED, n, opts, "options")
        overload = opts.pop(_OVERLOAD, None)
        if overload is not None:
            if len(overload) != 1 or not 1 <= overload[0] <= 3:
                raise DecodeError(f"option 52 (overload) must be one octet 1..3, got {overload.hex() or 'none'}")
            # RFC 2131 §4.1 / RFC 3396 §5: options field, then file, then sname.
            if overload[0] & _OVERLOAD_FILE:
                _parse_options(data, _FILE.start, _FILE.stop, opts, "file")
                file = b""
            if overload[0] & _OVERLOAD_SNAME:
                _parse_options(data, _SNAME.start, _SNAME.stop, opts, "sname")
                sname = b""
            opts.pop(_OVERLOAD, None)  # nested overload is ignored: no loops
    return Dhcp4Message(
        op=op,
        xid=xid,
        chaddr=chaddr[:hlen],
        htype=htype,
        hops=hops,
        secs=secs,
        flags=flags,
        ciaddr=_addr(ci),
        yiaddr=_addr(yi),
        siaddr=_addr(si),
        giaddr=_addr(gi),
        sname=_cstr(sname),
        file=_cstr(file),
        options=Options._wrap(opts),
        vend=vend,
    )


# --- encode ----------------------------------------------------------------------------------


def _packed(a: IPv4Address) -> bytes:
    return a.packed if type(a) is IPv4Address else IPv4Address(a).packed


def _header(msg: Dhcp4Message, sname: bytes, file: bytes, cookie: bytes = MAGIC_COOKIE) -> bytes:
    if len(msg.chaddr) > 16:
        raise EncodeError(f"chaddr is {len(msg.chaddr)} octets; the field holds 16 (RFC 2131 §2)")
    if len(sname) > 64:
        raise EncodeError(f"sname is {len(sname)} octets; the field holds 64 (RFC 2131 §2)")
    if len(file) > 128:
        raise EncodeError(f"file is {len(file)} octets; the field holds 128 (RFC 2131 §2) - send option 67 instead")
    try:
        return _HEADER.pack(
            msg.op,
            msg.htype,
            len(msg.chaddr),
            msg.hops,
            msg.xid,
            msg.secs,
            msg.flags,
            _packed(msg.ciaddr),
            _packed(msg.yiaddr),
            _packed(msg.siaddr),
            _packed(msg.giaddr),
            msg.chaddr,
            sname,
            file,
            cookie,
        )
    except struct.error as e:
        raise EncodeError(f"header field out of range: {e}") from None


def _instances(code: int, value: bytes) -> list[bytes]:
    """One option as wire instances of ≤ 255 value octets each (RFC 3396 §5)."""
    n = len(value)
    if n <= 255:
        return [bytes((code, n)) + value]
    return [bytes((code, len(c))) + c for c in (value[k : k + 255] for k in range(0, n, 255))]


def encode(msg: Dhcp4Message, max_size: int = DEFAULT_MAX_SIZE, min_size: int = MIN_MESSAGE_SIZE) -> bytes:
    """Encode a message, padded with zeros to ``min_size`` octets.

    ``max_size`` is the largest IP datagram the peer accepts, with option 57
    semantics (RFC 2132 §9.10, see :func:`max_message_size`): the message may
    use ``max_size - 28`` octets. When the options do not fit, they spill into
    the unused ``file`` then ``sname`` field and option 52 is set (RFC 2132
    §9.3, RFC 2131 §4.1); options 53, 54 and 82 always stay in the options
    field. Raises :class:`EncodeError` when a field is out of range, an option
    code is invalid (0, 52, 255 or not 0..255), a value is not ``bytes``, or the
    options do not fit even so.

    A message with ``vend`` set is a plain RFC 951 BOOTREQUEST: the header and
    the raw vendor area, no cookie and no options (RFC 951 §3). Only what
    :func:`decode` reads back is accepted: op BOOTREQUEST, no options, a
    ``vend`` that does not start with the magic cookie.
    """
    if msg.vend is not None:
        return _encode_rfc951(msg, min_size)
    limit = max_size - IP_UDP_HEADERS
    if limit < _FIXED + 1:
        raise EncodeError(f"max_size {max_size} leaves no room for the 240-octet header and END")
    total = 0
    opts = msg.options
    for code, value in opts.items():
        if not 0 < code < 255 or code == _OVERLOAD:
            raise EncodeError(f"option code {code} cannot be sent (1..254, 52 is set by the encoder)")
        if type(value) is not bytes:
            raise EncodeError(f"option {code} value must be bytes, got {type(value).__name__}")
        n = len(value)
        total += n + 2 if n <= 255 else n + 2 * -(-n // 255)
    if _FIXED + total + 1 <= limit:  # the common case: everything fits in the options field
        out = bytearray(_header(msg, msg.sname, msg.file))
        for code, value in opts.items():
            n = len(value)
            if n <= 255:
                out.append(code)
                out.append(n)
                out += value
            else:
                out += b"".join(_instances(code, value))
        out.append(END)
    else:
        out = _encode_overloaded(msg, limit, total)
    if len(out) < min_size:
        out += bytes(min(min_size, limit) - len(out))
    return bytes(out)


def _encode_rfc951(msg: Dhcp4Message, min_size: int) -> bytes:
    """A BOOTREQUEST without the magic cookie: header, then ``vend`` verbatim (RFC 951 §3)."""
    vend = msg.vend
    assert vend is not None
    if msg.op != BOOTREQUEST:
        raise EncodeError(
            "a message without the magic cookie (vend set) must be a BOOTREQUEST; decode reads only those "
            "(RFC 1542 §2.1)"
        )
    if msg.options:
        raise EncodeError("a message without the magic cookie (vend set) carries no options (RFC 951 §3)")
    if vend[:4] == MAGIC_COOKIE:
        raise EncodeError("vend starts with the magic cookie; put the options in options instead (RFC 2132 §2)")
    out = _header(msg, msg.sname, msg.file, vend[:4]) + vend[4:]
    if len(out) > 65535:
        raise EncodeError(f"message is {len(out)} octets, longer than any UDP payload")
    if len(out) < min_size:
        out += bytes(min_size - len(out))
    return out


def _encode_overloaded(msg: Dhcp4Message, limit: int, total: int) -> bytearray:
    """Place options in options field, ``file``, ``sname`` (RFC 2132 §9.3, RFC 2131 §4.1)."""
    caps = [limit - _FIXED - 1 - 3]  # room for END and option 52 itself
    areas = ["options"]
    if not msg.file:
        caps.append(128 - 1)  # each overloaded field ends with END (RFC 2131 §4.1)
        areas.append("file")
    if not msg.sname:
        caps.append(64 - 1)
        areas.append("sname")
    placed: list[list[bytes]] = [[] for _ in caps]
    items = [(code, _instances(code, value)) for code, value in msg.options.items()]
    caps[0] -= sum(len(i) for code, insts in items if code in _PINNED for i in insts)
    if caps[0] < 0:
        raise EncodeError(f"options 53, 54 and 82 alone exceed the {limit}-octet message limit")
    for code, insts in items:
        if code in _PINNED:
            placed[0].extend(insts)
            continue
        area = 0  # instances of one code keep the options -> file -> sname order (RFC 3396 §5)
        for inst in insts:
            while area < len(caps) and caps[area] < len(inst):
                area += 1
            if area == len(caps):
                raise EncodeError(
                    f"options need {total} octets and do not fit a {limit}-octet message even with "
                    f"{' and '.join(areas[1:]) or 'no free field'} overloaded; "
                    "raise the client's max message size (option 57) or send fewer options"
                )
            placed[area].append(inst)
            caps[area] -= len(inst)
    overload = 0
    fields = {"file": msg.file, "sname": msg.sname}
    for name, insts in zip(areas[1:], placed[1:], strict=True):
        if insts:
            overload |= _OVERLOAD_FILE if name == "file" else _OVERLOAD_SNAME
            fields[name] = b"".join(insts) + bytes((END,))
    out = bytearray(_header(msg, fields["sname"], fields["file"]))
    for inst in placed[0]:
        out += inst
    out += bytes((_OVERLOAD, 1, overload, END))
    return out


# --- pure helpers ------------------------------------------------------------------------------


def mac_of(msg: Dhcp4Message) -> str | None:
    """The client MAC as ``52:54:00:12:34:56`` when chaddr is an Ethernet/IEEE 802 address, else ``None``.

    (htype 1 or 6 with hlen 6, RFC 1700 ARP hardware types; e.g. InfiniBand,
    RFC 4390, sends no usable chaddr.)
    """
    if len(msg.chaddr) == 6 and msg.htype in (1, 6):
        return msg.chaddr.hex(":")
    return None


def client_key(msg: Dhcp4Message) -> bytes:
    """The octets that identify the client for leases (RFC 2131 §4.2).

    Option 61 as sent when present and non-empty, else ``htype`` followed by
    ``chaddr`` — the same octets a type-``htype`` client identifier would hold
    (RFC 2132 §9.14), so both spellings of one NIC map to one key.
    """
    cid = msg.options.get(61)
    if cid:
        return bytes(cid)
    return bytes((msg.htype,)) + msg.chaddr


def max_message_size(request: Dhcp4Message, default: int = DEFAULT_MAX_SIZE) -> int:
    """The ``max_size`` for :func:`encode` of a reply to ``request``.

    Option 57 when present and well formed, raised to the legal minimum of 576
    (RFC 2132 §9.10); otherwise ``default``. Callers cap it at the link MTU.
    """
    raw = request.options.get(57)
    if raw is None or len(raw) != 2:
        return default
    return max(DEFAULT_MAX_SIZE, int.from_bytes(raw, "big"))


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a reply goes (RFC 2131 §4.1), for the transport.

    ``link_layer``: unicast to ``address`` at hardware address ``chaddr``
    without ARP (the client has no address yet); the transport needs a raw
    send or a static ARP entry. ``set_broadcast_flag``: the reply must carry
    the broadcast bit (NAK via relay, RFC 2131 §4.3.2). ``reason`` is a short
    label for logs.
    """

    address: IPv4Address
    port: int
    reason: str
    link_layer: bool = False
    chaddr: bytes = b""
    set_broadcast_flag: bool = False


_BROADCAST_ADDR: Final = IPv4Address("255.255.255.255")


def reply_destination(
    request: Dhcp4Message,
    reply_yiaddr: IPv4Address,
    is_nak: bool,
    server_port: int = SERVER_PORT,
    client_port: int = CLIENT_PORT,
) -> Destination:
    """Apply RFC 2131 §4.1 ("If the 'giaddr' field ...") to choose a reply's destination.

    1. giaddr set: to the relay at ``giaddr:server_port``; a NAK must set the
       broadcast bit so the relay broadcasts it (RFC 2131 §4.3.2).
    2. NAK without relay: broadcast to ``255.255.255.255:client_port``.
    3. ciaddr set: unicast to ``ciaddr:client_port`` (also DHCPINFORM, §4.3.5).
    4. broadcast bit set: broadcast.
    5. else unicast to ``reply_yiaddr`` at ``chaddr`` (``link_layer``); when
       there is no yiaddr or no hardware address (hlen 0, e.g. RFC 4390
       InfiniBand) this falls back to broadcast.
    """
    if request.giaddr != _ZERO:
        return Destination(request.giaddr, server_port, "relay (giaddr)", set_broadcast_flag=is_nak)
    if is_nak:
        return Destination(_BROADCAST_ADDR, client_port, "broadcast (NAK)")
    if request.ciaddr != _ZERO:
        return Destination(request.ciaddr, client_port, "unicast (ciaddr)")
    if request.flags & BROADCAST_FLAG:
        return Destination(_BROADCAST_ADDR, client_port, "broadcast (flag)")
    if reply_yiaddr == _ZERO or not request.chaddr:
        return Destination(_BROADCAST_ADDR, client_port, "broadcast (no yiaddr/chaddr)")
    return Destination(reply_yiaddr, client_port, "unicast (yiaddr at chaddr)", True, request.chaddr)
