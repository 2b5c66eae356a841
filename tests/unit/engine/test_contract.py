"""The one engine contract (``bootwright.engine``): every engine runs under the same driver.

:class:`tests.helpers.Driver` is what each transport in ``net/`` does, with no
socket: octets and ``meta`` in, the :class:`~bootwright.engine.Outcome` applied
in its order (store, send, report), one timer on ``next_deadline()``. Each
engine is put through it: a real exchange, its timer, and junk octets (decoded
inside the engine: counted, never raised).
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine import Engine, EventRecord, Outcome
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.engine.ra import RouterAdvertiser, RsContext, ra_settings
from bootwright.engine.tftp.source import InMemorySource
from bootwright.engine.tftp.transfer import ReadTransfer
from bootwright.engine.tftp.write import InMemorySink, WriteTransfer
from bootwright.model import EventKind, LeaseState
from bootwright.wire import dhcp4 as w4
from bootwright.wire import dhcp6 as w6
from bootwright.wire import ndp
from bootwright.wire.tftp import Data, Opcode, Request, TransferMode, encode, encode_ack
from tests.helpers import Driver

CONFIG4 = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.109"]
lease_time = 600
"""

CONFIG6 = """
[server]
interfaces = ["eth0"]
address6 = "2001:db8::1"

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::1ff"]
valid_lifetime = 4000
preferred_lifetime = 3000

[subnet6.ra]
max_interval = 600
"""

MAC = bytes.fromhex("525400000001")
LL = IPv6Address("fe80::5054:ff:fe00:1")
SERVER_DUID = w6.DuidLLT(1, 1000, bytes.fromhex("020000000001")).encode()
JUNK = [b"", b"\x00", b"\xff" * 3, b"\x01" + bytes(20), bytes(range(256))]


def dhcp4() -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(CONFIG4)))


def dhcp6() -> Dhcp6Engine:
    cfg = parse_config(CONFIG6)
    return Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {"eth0": cfg.subnet6[0]})


def advertiser() -> RouterAdvertiser:
    cfg = parse_config(CONFIG6)
    adv = RouterAdvertiser(ra_settings(cfg, cfg.subnet6, MAC), lambda: 0.5)
    adv.start(0.0)
    return adv


def reader(body: bytes) -> ReadTransfer:
    return ReadTransfer(Request(Opcode.RRQ, "f", TransferMode.OCTET), InMemorySource(body))


def writer() -> WriteTransfer:
    return WriteTransfer(Request(Opcode.WRQ, "f", TransferMode.OCTET), InMemorySink())


RX4 = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500, broadcast=True)
RX6 = Received(LL, "eth0", True)
RS = RsContext(LL, 255)

# Every engine, a meta it takes, and how to build it: the same driver runs them all.
ENGINES: list[tuple[str, Any, Any]] = [
    ("dhcp4", dhcp4, RX4),
    ("dhcp6", dhcp6, RX6),
    ("ra", advertiser, RS),
    ("tftp-read", lambda: reader(b"x" * 1500), None),
    ("tftp-write", writer, None),
]


@pytest.mark.parametrize(("name", "make", "meta"), ENGINES, ids=[e[0] for e in ENGINES])
def test_every_engine_has_the_one_shape(name: str, make: Any, meta: Any) -> None:
    """``handle(datagram, meta, now)``, ``next_deadline()``, ``on_timer(now) -> Outcome``."""
    engine: Engine[Any, Any] = make()
    assert list(inspect.signature(engine.handle).parameters) == ["datagram", "meta", "now"]
    assert list(inspect.signature(engine.on_timer).parameters) == ["now"]
    assert not inspect.signature(engine.next_deadline).parameters
    assert isinstance(engine.on_timer(0.0), Outcome)


@pytest.mark.parametrize(("name", "make", "meta"), ENGINES, ids=[e[0] for e in ENGINES])
@pytest.mark.parametrize("junk", JUNK)
def test_undecodable_octets_are_dropped_inside_the_engine(name: str, make: Any, meta: Any, junk: bytes) -> None:
    """Decoding is the engine's (for every protocol): junk is no exception and gets no reply."""
    driver = Driver(make())
    out = driver.feed(junk, meta)
    assert out is None or not out.replies
    assert not driver.stored


def test_dhcp4_through_the_driver() -> None:
    """DISCOVER → OFFER, REQUEST → the lease stored before the ACK is sent, then expiry on the timer."""
    d: Driver[RxContext, w4.Destination] = Driver(dhcp4(), now=1000.0)
    d.feed(w4.encode(w4.Dhcp4Message(op=1, xid=1, chaddr=MAC, options={53: b"\x01"})), RX4)
    [(data, dest)] = d.take()
    offer = w4.decode(data)
    assert offer.options[53] == b"\x02" and dest.port == 68
    opts = {53: b"\x03", 50: offer.yiaddr.packed, 54: offer.options[54]}
    d.order.clear()
    d.feed(w4.encode(w4.Dhcp4Message(op=1, xid=2, chaddr=MAC, options=opts)), RX4)
    assert d.order == ["store", "send", "report"]  # RFC 2131 §4.3.2: the ACK promises a stored lease
    [(data, _)] = d.take()
    assert w4.decode(data).options[53] == b"\x05"
    [lease] = d.stored
    assert lease.state is LeaseState.BOUND
    assert [e.kind for e in d.events] == [EventKind.DHCP4_OFFER, EventKind.DHCP4_ACK]
    assert all(isinstance(e, EventRecord) for e in d.events)
    assert d.advance(601) >= 1  # the lease runs out: the timer stores it as expired
    assert d.stored[-1].state is LeaseState.EXPIRED and d.stored[-1].address == lease.address


def test_dhcp6_through_the_driver() -> None:
    """SOLICIT → ADVERTISE (nothing stored), REQUEST → lease stored, Reply to port 546, expiry."""
    d: Driver[Received, int] = Driver(dhcp6(), now=1000.0)
    cid = w6.ClientId(w6.DuidLL(1, MAC))
    d.feed(w6.Dhcp6Message(w6.MessageType.SOLICIT, 1, (cid, w6.IaNa(1))).encode(), RX6)
    [(data, port)] = d.take()
    adv = w6.decode(data)
    assert isinstance(adv, w6.Dhcp6Message) and adv.msg_type == w6.MessageType.ADVERTISE and port == 546
    assert not d.stored
    ia = adv.get(w6.IaNa)
    assert ia is not None
    addr = ia.get(w6.IaAddr)
    assert addr is not None
    sid = w6.ServerId(w6.decode_duid(SERVER_DUID))
    req = w6.Dhcp6Message(w6.MessageType.REQUEST, 2, (cid, sid, w6.IaNa(1, 0, 0, (w6.IaAddr(addr.address, 0, 0),))))
    d.order.clear()
    d.feed(req.encode(), RX6)
    assert d.order == ["store", "send", "report"]  # RFC 8415 §18.3.2
    assert d.stored[0].address == str(addr.address) and d.take()
    d.advance(4001)
    assert d.stored[-1].state is LeaseState.EXPIRED


def test_ra_through_the_driver() -> None:
    """The first RA on the timer; a solicitation schedules a unicast RA after the random delay (§6.2.6)."""
    d: Driver[RsContext, IPv6Address] = Driver(advertiser())
    d.advance(0)
    [(data, to)] = d.take()
    assert to == ndp.ALL_NODES and isinstance(ndp.decode(data), ndp.RouterAdvertisement)
    rs = ndp.encode(ndp.RouterSolicitation((ndp.SourceLinkLayerAddress(MAC),)))
    d.now = 10.0
    assert d.feed(rs, RS) is None  # answered later, never at once
    d.advance(1.0)
    [(_, to)] = d.take()
    assert to == LL
    solicited = [e for e in d.events if e.kind is EventKind.RA_SOLICITED]
    assert [(e.mac, e.detail["unicast"]) for e in solicited] == [("52:54:00:00:00:01", True)]


def test_tftp_read_through_the_driver() -> None:
    """A transfer is one engine instance: each ACK (RFC 1350 §6) through ``handle``, a lost one through the timer."""
    body = bytes(range(256)) * 6  # 1536 octets: 3 full blocks and an empty last one
    xfer = reader(body)
    d: Driver[None, None] = Driver(xfer)
    d.apply(xfer.start(0.0))
    blocks: dict[int, bytes] = {}
    order: list[int] = []
    lost = False
    d.advance(0.5)  # not yet due: nothing resent
    for _ in range(10):
        sent = d.take()
        if not sent:
            break
        data = sent[-1][0]
        block = int.from_bytes(data[2:4], "big")
        blocks[block] = data[4:]
        order.append(block)
        if block == 2 and not lost:  # lose this ACK once: the timer resends DATA 2
            lost = True
            d.advance(1.5)
            continue
        d.feed(encode_ack(block), None)
    assert order == [1, 2, 2, 3, 4] and b"".join(blocks[b] for b in sorted(blocks)) == body
    assert xfer.done and xfer.next_deadline() is None


def test_tftp_write_through_the_driver() -> None:
    """An upload: ACK 0, DATA → ACK, the short block ends it (RFC 1350 §6)."""
    sink = InMemorySink()
    xfer = WriteTransfer(Request(Opcode.WRQ, "f", TransferMode.OCTET), sink)
    d: Driver[None, None] = Driver(xfer)
    d.apply(xfer.start(0.0))
    d.feed(encode(Data(1, b"a" * 512)), None)
    d.feed(encode(Data(2, b"b")), None)
    assert [data for data, _ in d.take()] == [encode_ack(0), encode_ack(1), encode_ack(2)]
    assert xfer.done and bytes(sink.data) == b"a" * 512 + b"b"


def test_a_dhcp4_meta_is_built_once_per_link_and_destination() -> None:
    """The transport keeps three ``RxContext`` per link (broadcast, ours, unknown): none per datagram."""
    variants = {b: replace(RX4, broadcast=b) for b in (True, False, None)}
    assert len({id(v) for v in variants.values()}) == 3


def test_lease_states_keep_their_stored_strings() -> None:
    """``LeaseState`` replaces the string literals; the store's rows are the same strings as before."""
    assert [s.value for s in LeaseState] == ["offered", "bound", "released", "declined", "expired"]
    assert LeaseState("bound") is LeaseState.BOUND and str(LeaseState.BOUND) == "bound"
