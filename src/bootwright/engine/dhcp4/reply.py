"""DHCPv4 reply content: the options a reply carries, in the client's order, encoded once.

The options come from :func:`bootwright.boot.reply.plan_reply` — the same code
``bootwright explain`` runs — so what ``explain`` lists is what the server
sends. Deciding and encoding them per packet would dominate the server's CPU
time, so they are cached in two layers:

- :class:`PlanEntry` per (subnet, host, what the client says about itself:
  options 93, 60, 77, and the MAC only when a rule or boot file depends on
  it): the boot answer and every option value encoded to octets.
- :class:`Block` per (plan, message type, parameter request list, lease time,
  server id): the options field laid out in order — 53 and 54 first, then the
  codes of option 55 in the client's order (RFC 2132 §9.8 "MUST try to insert
  the requested options in the order requested"), then the rest by code — plus
  the fixed ``sname``/``file``/cookie octets.

A reply is then one 44-octet header pack, the cached block, the per-client
echoes (option 61, RFC 6842 §3; option 82, RFC 3046 §2.2) and END. When that
does not fit the client's maximum message size (option 57, RFC 2132 §9.10)
the reply goes through the codec's :func:`~bootwright.wire.dhcp4.encode`,
which overloads ``file``/``sname`` (RFC 2132 §9.3); if even that fails,
options the client did not ask for are left out.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Final

from bootwright.boot.reply import T1_FRACTION, T2_FRACTION
from bootwright.model import BootAnswer, IpxeSetting
from bootwright.wire.dhcp4 import (
    BOOTREPLY,
    MAGIC_COOKIE,
    MIN_MESSAGE_SIZE,
    VEND_SIZE,
    Dhcp4Message,
    EncodeError,
    MessageType,
    encode,
)
from bootwright.wire.dhcp4_options import IPXE_ENCAP, encode_option, parse_config_value
from bootwright.wire.ipxe_options import encode_ipxe_value

__all__ = [
    "ALWAYS",
    "DHCP_ONLY",
    "Block",
    "PlanEntry",
    "encode_plan_options",
    "instances",
    "ipxe_octets",
    "make_block",
    "nak_block",
    "plan_entry",
    "render",
    "render_rfc951",
    "render_slow",
]

log = logging.getLogger("bootwright.dhcp4")

# RFC 2131 §2 Figure 1 up to chaddr: op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr.
HEADER: Final = struct.Struct("!BBBBIHH4s4s4s4s16s")
_FIXED: Final = 240  # header + sname + file + cookie (RFC 2131 §2, §3)
_END: Final = b"\xff"  # RFC 2132 §3.2
_ZERO4: Final = bytes(4)
INFINITE: Final = 0xFFFFFFFF  # RFC 2132 §9.2: an infinite lease

#: Sent whether or not the client asked: message type, server id, lease times (RFC 2131 §4.3.1
#: Table 3), subnet mask, the HTTPClient echo (UEFI 2.x §24.7.2), vendor/iPXE encapsulations.
ALWAYS: Final = frozenset((1, 43, 51, 53, 54, 58, 59, 60, 175))
#: DHCP-only options a BOOTP reply leaves out (RFC 1534 §2: BOOTP clients ignore or misread them).
DHCP_ONLY: Final = frozenset(range(50, 60)) | {61, 80, 81}


def instances(code: int, value: bytes) -> bytes:
    """One option as wire octets, split into ≤ 255-octet instances (RFC 3396 §5)."""
    n = len(value)
    if n <= 255:
        return bytes((code, n)) + value
    return b"".join(bytes((code, len(c))) + c for c in (value[k : k + 255] for k in range(0, n, 255)))


def ipxe_octets(settings: Iterable[IpxeSetting]) -> bytes:
    """Option 175's value: iPXE settings as encapsulated sub-options (iPXE src/include/ipxe/dhcp.h)."""
    return IPXE_ENCAP.codec.encode({s.code: encode_ipxe_value(s.code, s.value) for s in settings})


def _addresses(values: Iterable[Any], names: Mapping[str, tuple[IPv4Address, ...]]) -> tuple[IPv4Address, ...]:
    out: list[IPv4Address] = []
    for v in values:
        try:
            out.append(IPv4Address(v))
        except ValueError:
            out.extend(names.get(str(v), ()))
    return tuple(out)


def encode_plan_options(
    options: Mapping[int, Any], names: Mapping[str, tuple[IPv4Address, ...]]
) -> tuple[dict[int, bytes], list[str]]:
    """Encode a plan's option values (``answer.dhcp4_options``) to octets.

    Text values of non-text options (``[dhcp4] options``) are parsed with the
    option's codec; option 175 is the iPXE encapsulation; host names in
    option 42 are replaced by ``names`` (resolved by the transport at start).
    Options that cannot be encoded are left out, with a warning each.
    """
    out: dict[int, bytes] = {}
    problems: list[str] = []
    for code, value in options.items():
        try:
            if code == 175:
                raw = ipxe_octets(value)
            elif code == 42:
                addrs = _addresses(value, names)
                if not addrs:
                    problems.append(f"option 42: no address known for {', '.join(map(str, value))}; left out")
                    continue
                raw = encode_option(42, addrs)
            else:
                if isinstance(value, str):
                    value = parse_config_value(code, value)
                raw = encode_option(code, value)
        except (ValueError, TypeError) as e:
            problems.append(f"option {code}: {e}; left out")
            continue
        if code in (52, 0, 255):
            continue
        out[code] = raw
    return out, problems


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """A boot answer with every option encoded (cached per client kind)."""

    answer: BootAnswer
    options: Mapping[int, bytes]  # by code; 51/58/59/54 are set per reply
    siaddr: bytes  # RFC 2131 §2: next server (TFTP) address, 4 octets
    file: bytes  # RFC 2131 §2: the boot file when it fits the 128-octet field, else b""
    bootfile_too_long: bool  # the boot file travels only in option 67


def plan_entry(answer: BootAnswer, options: Mapping[int, bytes]) -> PlanEntry:
    """Place the boot answer in the header fields (``siaddr``, ``file``)."""
    siaddr = _ZERO4
    if answer.next_server:
        try:
            siaddr = IPv4Address(answer.next_server).packed
        except ValueError:
            siaddr = _ZERO4
    file = b""
    too_long = False
    if answer.bootfile is not None:
        raw = answer.bootfile.encode()
        if len(raw) <= 127:  # keep a terminating NUL (RFC 2131 §2: "null terminated string")
            file = raw
        else:
            too_long = True
    return PlanEntry(answer, dict(options), siaddr, file, too_long)


@dataclass(frozen=True, slots=True)
class Block:
    """The constant part of one kind of reply: ordered options and the fixed fields."""

    order: tuple[tuple[int, bytes], ...]  # (code, value) in wire order
    static: bytes  # ``order`` encoded as option instances
    mid: bytes  # sname (64) + file (128) + magic cookie: offsets 44..240
    file: bytes  # the boot file placed in the ``file`` field (b"" if none)
    siaddr: bytes
    wanted: frozenset[int]  # codes kept when options must be cut to fit
    bootp: bool


def make_block(
    entry: PlanEntry,
    msg_type: MessageType | None,
    prl: bytes,
    lease_time: int | None,
    server_id: bytes | None,
) -> Block:
    """Lay out one reply kind. ``msg_type`` None: a BOOTP reply (RFC 951, RFC 1534)."""
    opts = dict(entry.options)
    bootp = msg_type is None
    if entry.file and 67 not in prl:
        opts.pop(67, None)  # the file field carries it (RFC 2132 §9.5)
    for code in (51, 58, 59, 54):
        opts.pop(code, None)
    head: list[tuple[int, bytes]] = []
    if msg_type is not None:
        head.append((53, bytes((msg_type,))))  # RFC 2132 §9.6
        if server_id is not None:
            head.append((54, server_id))  # RFC 2132 §9.7
        if lease_time is not None:
            t1 = lease_time if lease_time == INFINITE else int(lease_time * T1_FRACTION)
            t2 = lease_time if lease_time == INFINITE else int(lease_time * T2_FRACTION)
            head.append((51, lease_time.to_bytes(4, "big")))  # RFC 2132 §9.2
            opts[58] = t1.to_bytes(4, "big")  # RFC 2132 §9.11
            opts[59] = t2.to_bytes(4, "big")  # RFC 2132 §9.12
    else:
        for code in DHCP_ONLY:
            opts.pop(code, None)
    order = list(head)
    for code in prl:  # RFC 2132 §9.8: in the order requested
        value = opts.pop(code, None)
        if value is not None:
            order.append((code, value))
    order += sorted(opts.items())
    file_field = entry.file
    static = b"".join(instances(c, v) for c, v in order)
    mid = bytes(64) + file_field.ljust(128, b"\x00") + MAGIC_COOKIE
    wanted = frozenset(ALWAYS | set(prl))
    return Block(tuple(order), static, mid, file_field, entry.siaddr, wanted, bootp)


def nak_block(server_id: bytes | None, text: str | None) -> Block:
    """A DHCPNAK's options (RFC 2131 Table 3): 53, 54 and a message (option 56) saying why."""
    order: list[tuple[int, bytes]] = [(53, bytes((MessageType.NAK,)))]
    if server_id is not None:
        order.append((54, server_id))
    if text:
        order.append((56, text.encode("utf-8", "replace")[:255]))  # RFC 2132 §9.9
    static = b"".join(instances(c, v) for c, v in order)
    mid = bytes(192) + MAGIC_COOKIE
    return Block(tuple(order), static, mid, b"", _ZERO4, frozenset(c for c, _ in order), False)


def render(
    block: Block,
    xid: int,
    htype: int,
    chaddr: bytes,
    flags: int,
    ciaddr: bytes,
    yiaddr: bytes,
    giaddr: bytes,
    extra: bytes,
    limit: int,
) -> bytes | None:
    """The reply octets, or ``None`` when they exceed ``limit`` octets (use :func:`render_slow`).

    ``extra`` holds the per-client echoes (options 61 and 82) already encoded.
    """
    n = _FIXED + len(block.static) + len(extra) + 1
    if n > limit:
        return None
    header = HEADER.pack(BOOTREPLY, htype, len(chaddr), 0, xid, 0, flags, ciaddr, yiaddr, block.siaddr, giaddr, chaddr)
    tail = block.static + extra + _END
    if n < MIN_MESSAGE_SIZE:  # RFC 1542 §2.1: at least 300 octets
        tail += bytes(MIN_MESSAGE_SIZE - n)
    return header + block.mid + tail


_RFC951_TAIL: Final = bytes(VEND_SIZE)  # RFC 951 §3 "vend": nothing for a client without the cookie
_RFC951_SNAME: Final = bytes(64)  # RFC 951 §3 "sname": not set (as in every reply here)


def render_rfc951(
    entry: PlanEntry,
    xid: int,
    htype: int,
    chaddr: bytes,
    flags: int,
    yiaddr: bytes,
    giaddr: bytes,
) -> bytes:
    """A BOOTREPLY to a request without the magic cookie: exactly 300 octets (RFC 951 §3, RFC 1542 §2.1).

    The answer travels in the header alone: ``yiaddr``, ``siaddr`` (next
    server) and ``file`` (the boot file, when it fits the 128-octet field).
    ``vend`` is 64 zero octets: the client did not send the RFC 1048 magic
    cookie, and the request's cookie is what tells a server which vendor
    format its reply may use (RFC 1542 §3.5), so no vendor extensions are
    sent. ``ciaddr`` is 0 as in the other BOOTP replies here.
    """
    header = HEADER.pack(BOOTREPLY, htype, len(chaddr), 0, xid, 0, flags, _ZERO4, yiaddr, entry.siaddr, giaddr, chaddr)
    return header + _RFC951_SNAME + entry.file.ljust(128, b"\x00") + _RFC951_TAIL


def render_slow(
    block: Block,
    request: Dhcp4Message,
    flags: int,
    ciaddr: IPv4Address,
    yiaddr: IPv4Address,
    echoes: Iterable[tuple[int, bytes]],
    max_size: int,
) -> bytes | None:
    """Encode through the codec, overloading ``sname``/``file`` (RFC 2132 §9.3).

    Tried in order until one fits: every option with the boot file kept in
    ``file`` (PXE ROMs read it there); only the options the client asked for
    (and :data:`ALWAYS`); then both again with the boot file moved to option
    67 so ``file`` can carry options too. A BOOTP reply (no overload, RFC 1534)
    keeps the options that fit, in order. ``None`` when nothing fits.
    """
    echo = list(echoes)
    candidates: list[tuple[list[tuple[int, bytes]], bytes]] = []
    if block.bootp:
        room = max_size - 28 - _FIXED - 1 - sum(len(instances(c, v)) for c, v in echo)
        kept: list[tuple[int, bytes]] = []
        for code, value in block.order:
            size = len(instances(code, value))
            if size <= room:
                kept.append((code, value))
                room -= size
        candidates.append((kept, block.file))
    else:
        full = list(block.order)
        wanted = [(c, v) for c, v in full if c in block.wanted]
        candidates += [(full, block.file), (wanted, block.file)]
        if block.file:
            moved = [(c, v) for c, v in full if c != 67] + [(67, block.file)]
            candidates += [(moved, b""), ([(c, v) for c, v in moved if c in block.wanted or c == 67], b"")]
    for opts, file in candidates:
        msg = Dhcp4Message(
            op=BOOTREPLY,
            xid=request.xid,
            chaddr=request.chaddr,
            htype=request.htype,
            flags=flags,
            ciaddr=ciaddr,
            yiaddr=yiaddr,
            siaddr=IPv4Address(block.siaddr),
            giaddr=request.giaddr,
            file=file,
            options=dict(opts + echo),
        )
        try:
            return encode(msg, max_size=max_size)
        except EncodeError as e:
            log.debug("dhcp4: reply to %s does not fit %d octets: %s", request.chaddr.hex(":"), max_size, e)
    return None
