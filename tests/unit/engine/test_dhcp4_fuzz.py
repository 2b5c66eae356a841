"""Fuzzing the DHCPv4 engine (hypothesis, bounded): garbage never escapes as an exception.

Three levels: raw octets through decode + handle (with and without the
magic cookie: RFC 951 BOOTREQUESTs decode too); well-framed messages with
arbitrary option values; and random conversations of a few clients, sent
unicast, broadcast or with an unknown destination, checking the lease
invariants after every step (one live binding per address, reservations only
for their host, every reply decodable and within size; a reply to a
cookie-less request is a 300-octet BOOTREPLY with a zero ``vend``).
"""

from __future__ import annotations

import struct
from dataclasses import replace
from ipaddress import IPv4Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.model import LeaseState
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4 import MAGIC_COOKIE, Dhcp4Message, decode, encode

CONFIG = """
[server]
address4 = "192.0.2.1"

[dhcp4]
allow_bootp = true
authoritative = true
per_mac_rate = 1000000
ntp_servers = ["192.0.2.123"]

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.103", { start = "192.0.2.110", end = "192.0.2.111", dynamic_bootp = true }]
routers = ["192.0.2.1"]
domain_search = ["example.test", "lab.example.test"]

[[subnet4]]
subnet = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.12"]

[[host]]
name = "fixed"
mac = "52:54:00:00:00:0a"
ipv4 = "192.0.2.101"
"""

RX = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500)
MACS = [bytes([0x52, 0x54, 0, 0, 0, i]) for i in (1, 2, 3, 10)]
ADDRS = ["0.0.0.0", "192.0.2.1", "192.0.2.100", "192.0.2.101", "192.0.2.103", "192.0.2.110", "198.51.100.2",
         "198.51.100.11", "203.0.113.9"]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_engine() -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(CONFIG)))


ENGINE = make_engine()


def check_reply(raw: bytes | None, request: Dhcp4Message) -> None:
    if raw is None:
        return
    if request.vend is not None:  # RFC 951: no cookie in, none out; decode() reads only requests so
        assert len(raw) == 300 and raw[236:] == bytes(64), raw[236:].hex()
        op, _, hlen, _, xid, _, _, _, yiaddr = struct.unpack_from("!BBBBIHH4s4s", raw)
        assert op == 2 and xid == request.xid and raw[28 : 28 + hlen] == request.chaddr
        assert any(IPv4Address(yiaddr) in s.subnet for s in ENGINE.config.subnet4)
        return
    reply = decode(raw)  # every reply is well formed
    assert reply.op == 2 and reply.xid == request.xid and reply.chaddr == request.chaddr
    assert len(raw) <= 1500 - 28
    if reply.yiaddr != IPv4Address(0):
        assert any(reply.yiaddr in s.subnet for s in ENGINE.config.subnet4)


@SETTINGS
@given(st.binary(min_size=0, max_size=700))
def test_random_octets(data: bytes) -> None:
    try:
        msg = decode(data)
    except DecodeError:
        return
    out = ENGINE.handle(data, RX, 1000.0)
    if out is not None:
        check_reply(out.reply, msg)


@SETTINGS
@given(st.binary(min_size=0, max_size=400), st.booleans())
def test_random_octets_after_a_valid_header(tail: bytes, cookie: bool) -> None:
    header = encode(Dhcp4Message(op=1, xid=7, chaddr=MACS[0]))[:236] + (MAGIC_COOKIE if cookie else b"")
    try:
        msg = decode(header + tail)
    except DecodeError:
        assert cookie or len(tail) < 64 or tail[:4] == MAGIC_COOKIE
        return
    out = ENGINE.handle(header + tail, RX, 1000.0)
    if out is not None:
        check_reply(out.reply, msg)


@SETTINGS
@given(
    mac=st.sampled_from(MACS),
    htype=st.sampled_from([1, 6, 0, 32]),
    flags=st.sampled_from([0, 0x8000]),
    ciaddr=st.sampled_from(ADDRS),
    giaddr=st.sampled_from(ADDRS),
    vend=st.binary(min_size=64, max_size=120).filter(lambda v: v[:4] != MAGIC_COOKIE),
    broadcast=st.sampled_from([None, True, False]),
)
def test_rfc951_requests_without_cookie(
    mac: bytes, htype: int, flags: int, ciaddr: str, giaddr: str, vend: bytes, broadcast: bool | None
) -> None:
    raw = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, htype, 6, 0, 9, 0, flags, IPv4Address(ciaddr).packed,
                      bytes(4), bytes(4), IPv4Address(giaddr).packed, mac.ljust(16, b"\0"), bytes(64),
                      bytes(128)) + vend
    msg = decode(raw)
    assert msg.vend == vend and not msg.options
    out = make_engine().handle(raw, replace(RX, broadcast=broadcast), 1000.0)
    if out is not None:
        check_reply(out.reply, msg)


OPTION_CODES = st.sampled_from([1, 3, 12, 43, 50, 51, 53, 54, 55, 57, 60, 61, 77, 81, 82, 93, 97, 118, 119, 175, 200])
OPTIONS = st.dictionaries(OPTION_CODES, st.binary(min_size=0, max_size=40), max_size=8)


@SETTINGS
@given(
    op=st.sampled_from([1, 1, 1, 2]),
    mtype=st.one_of(st.none(), st.integers(0, 20)),
    chaddr=st.one_of(st.sampled_from(MACS), st.binary(min_size=0, max_size=16)),
    htype=st.sampled_from([1, 1, 6, 32, 0]),
    flags=st.sampled_from([0, 0x8000, 0xFFFF]),
    ciaddr=st.sampled_from(ADDRS),
    giaddr=st.sampled_from(ADDRS),
    options=OPTIONS,
)
def test_framed_messages_with_arbitrary_options(
    op: int, mtype: int | None, chaddr: bytes, htype: int, flags: int, ciaddr: str, giaddr: str,
    options: dict[int, bytes],
) -> None:
    opts = dict(options)
    if mtype is not None:
        opts[53] = bytes((mtype,))
    data = encode(Dhcp4Message(op=op, xid=1, chaddr=chaddr, htype=htype, flags=flags,
                               ciaddr=IPv4Address(ciaddr), giaddr=IPv4Address(giaddr), options=opts))
    msg = decode(data)
    out = ENGINE.handle(data, RX, 2000.0)
    if out is not None:
        check_reply(out.reply, msg)
        for lease in out.writes:
            IPv4Address(lease.address)


STEP = st.tuples(
    st.integers(0, len(MACS) - 1),  # which client
    st.sampled_from([1, 3, 3, 4, 7, 8, None, "rfc951"]),  # DISCOVER .. INFORM, BOOTP, BOOTP without cookie
    st.sampled_from(ADDRS),  # option 50 / ciaddr
    st.sampled_from(["selecting", "init-reboot", "renewing", "rebinding", "other-server"]),
    st.floats(0, 400),  # seconds until the next step
    st.sampled_from([None, True, False]),  # IP destination: unknown, broadcast, unicast
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=40))
def test_conversations_keep_the_lease_invariants(
    steps: list[tuple[int, int | str | None, str, str, float, bool | None]],
) -> None:
    eng = make_engine()
    now = 10_000.0
    sid = IPv4Address("192.0.2.1").packed
    for who, kind, addr, state, wait, broadcast in steps:
        mtype = None if kind == "rfc951" else kind
        assert mtype is None or isinstance(mtype, int)
        mac = MACS[who]
        opts: dict[int, bytes] = {}
        ciaddr = "0.0.0.0"
        if mtype is not None:
            opts[53] = bytes((mtype,))
        if mtype in (3, 4):
            if state in ("renewing", "rebinding"):
                ciaddr = addr
            else:
                opts[50] = IPv4Address(addr).packed
            if state == "selecting" or mtype == 4:
                opts[54] = sid
            elif state == "other-server":
                opts[54] = IPv4Address("192.0.2.99").packed
        elif mtype in (7, 8):
            ciaddr = addr
        vend = bytes(64) if kind == "rfc951" else None
        data = encode(Dhcp4Message(op=1, xid=who, chaddr=mac, ciaddr=IPv4Address(ciaddr), options=opts, vend=vend))
        msg = decode(data)
        out = eng.handle(data, replace(RX, broadcast=broadcast), now)
        if out is not None:
            check_reply(out.reply, msg)
        now += wait
        eng.on_timer(now)
        live: dict[int, bytes] = {}
        for a, rec in eng.table.by_addr.items():
            if rec.state in (LeaseState.BOUND, LeaseState.OFFERED) and rec.expires > now:
                assert a not in live, "two live bindings on one address"
                live[a] = rec.key
            owner = eng.table.reserved.get(a)
            if owner is not None and rec.state in (LeaseState.BOUND, LeaseState.OFFERED):
                assert rec.mac == owner.hex(":"), "a reserved address was given to another client"
        for binds in eng.table.bindings:
            for key, rec in binds.items():
                assert rec.key == key
