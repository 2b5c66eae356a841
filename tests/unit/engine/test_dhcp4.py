"""The sans-I/O DHCPv4 engine on bytes: every message type and state of RFC 2131 §4.3, table-driven.

Requests are built as messages, encoded and decoded again (so the engine sees
exactly what the wire codec gives it); replies are decoded with the codec.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import DECLINE_PROBATION, OFFER_HOLD, Dhcp4Engine, RxContext
from bootwright.engine.dhcp4.server import Outcome4 as Outcome
from bootwright.model import Lease
from bootwright.wire.dhcp4 import BROADCAST_FLAG, Destination, Dhcp4Message, decode, encode
from bootwright.wire.dhcp4_options import encode_options

BASE = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
lease_time = 600
max_lease_time = 1200
per_mac_rate = 1000

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.109"]
routers = ["192.0.2.1"]
dns = ["192.0.2.53"]
domain_name = "example.test"

[[subnet4]]
subnet = "198.51.100.0/24"
server = "198.51.100.1"
pools = ["198.51.100.100-198.51.100.109"]
routers = ["198.51.100.254"]

[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "pxelinux.0"
next_server = "192.0.2.1"

[[host]]
name = "fixed"
mac = "52:54:00:00:00:aa"
ipv4 = "192.0.2.50"
"""

MAC1 = bytes.fromhex("525400000001")
MAC2 = bytes.fromhex("525400000002")
FIXED = bytes.fromhex("5254000000aa")
RX = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500)
RX_OTHER = RxContext("srv9", (IPv4Address("203.0.113.1"),), 1500)
SID = IPv4Address("192.0.2.1").packed
T0 = 1_000_000.0


def engine(extra: str = "", base: str = BASE) -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(base + extra)))


def request(mtype: int | None, mac: bytes = MAC1, *, xid: int = 0x1234, flags: int = 0, ciaddr: str = "0.0.0.0",
            giaddr: str = "0.0.0.0", options: dict[int, Any] | None = None, raw: dict[int, bytes] | None = None,
            op: int = 1) -> Dhcp4Message:
    opts: dict[int, bytes] = {}
    if mtype is not None:
        opts[53] = bytes((mtype,))
    opts.update(encode_options(options or {}))
    opts.update(raw or {})
    msg = Dhcp4Message(op=op, xid=xid, chaddr=mac, flags=flags, ciaddr=IPv4Address(ciaddr),
                       giaddr=IPv4Address(giaddr), options=opts)
    return decode(encode(msg))  # what the transport hands over


def handle(eng: Dhcp4Engine, msg: Dhcp4Message | bytes, rx: RxContext, now: float,
           broadcast: bool | None = None) -> Outcome | None:  # fmt: skip
    """What the transport does: the octets, and the link with the IP destination kind."""
    data = msg if isinstance(msg, bytes) else encode(msg)
    return eng.handle(data, replace(rx, broadcast=broadcast), now)


def expire(eng: Dhcp4Engine, now: float) -> tuple[list[Lease], list[str]]:
    """The timer: leases to store as expired, rows to forget."""
    out = eng.on_timer(now)
    return list(out.writes), list(out.forget)


def destination(out: Outcome) -> Destination | None:
    """Where the reply goes (RFC 2131 §4.1)."""
    return out.replies[0].to if out.replies else None


@dataclass
class Client:
    """A scripted client: sends messages to an engine, remembers the last reply."""

    eng: Dhcp4Engine
    mac: bytes = MAC1
    rx: RxContext = RX
    giaddr: str = "0.0.0.0"
    now: float = T0
    outcomes: list[Outcome] = field(default_factory=list)

    def send(self, mtype: int | None, *, broadcast: bool | None = None, **kw: Any) -> Dhcp4Message | None:
        """``broadcast``: the IP destination as the transport saw it (None: unknown)."""
        kw.setdefault("giaddr", self.giaddr)
        out = handle(self.eng, request(mtype, self.mac, **kw), self.rx, self.now, broadcast)
        if out is not None:
            self.outcomes.append(out)
        if out is None or out.reply is None:
            return None
        return decode(out.reply)

    @property
    def last(self) -> Outcome:
        return self.outcomes[-1]

    def lease(self, **discover: Any) -> IPv4Address:
        offer = self.send(1, **discover)
        assert offer is not None and offer.options[53] == b"\x02"
        ack = self.send(3, raw={50: offer.yiaddr.packed, 54: offer.options[54]})
        assert ack is not None and ack.options[53] == b"\x05", ack
        return ack.yiaddr


def mtype(msg: Dhcp4Message | None) -> int | None:
    return None if msg is None else msg.options[53][0]


# --------------------------------------------------------------------------- DISCOVER / OFFER


def test_discover_offers_a_pool_address_with_the_configured_options() -> None:
    c = Client(engine())
    offer = c.send(1)
    assert offer is not None and mtype(offer) == 2
    assert offer.op == 2 and offer.xid == 0x1234 and offer.chaddr == MAC1
    assert offer.yiaddr == IPv4Address("192.0.2.100")
    assert offer.ciaddr == IPv4Address(0)
    assert offer.siaddr == IPv4Address("192.0.2.1")
    assert offer.file == b"pxelinux.0"
    o = offer.options
    assert o[54] == SID and o[51] == (600).to_bytes(4, "big")
    assert o[58] == (300).to_bytes(4, "big") and o[59] == (525).to_bytes(4, "big")  # RFC 2131 §4.4.5
    assert o[1] == IPv4Address("255.255.255.0").packed
    assert o[3] == IPv4Address("192.0.2.1").packed and o[6] == IPv4Address("192.0.2.53").packed
    assert o[15] == b"example.test" and o[28] == IPv4Address("192.0.2.255").packed
    assert 67 not in o  # in the file field; option 67 only when asked for (RFC 2132 §9.5)
    assert c.last.writes == ()  # offers are not persisted
    assert [e[0] for e in c.last.events] == ["dhcp4.offer"]
    assert c.last.events[0][3]["yiaddr"] == "192.0.2.100"


@pytest.mark.parametrize(
    ("flags", "giaddr", "address", "port", "link_layer", "bcast_flag"),
    [
        (0, "0.0.0.0", "192.0.2.100", 68, True, False),  # RFC 2131 §4.1: unicast to yiaddr at chaddr
        (BROADCAST_FLAG, "0.0.0.0", "255.255.255.255", 68, False, True),  # broadcast bit set
        (0, "198.51.100.2", "198.51.100.2", 67, False, False),  # relayed: to giaddr port 67
    ],
)
def test_offer_destination(flags: int, giaddr: str, address: str, port: int, link_layer: bool,
                           bcast_flag: bool) -> None:
    c = Client(engine(), giaddr=giaddr)
    offer = c.send(1, flags=flags)
    assert offer is not None
    dest = destination(c.last)
    assert dest is not None
    assert (str(dest.address), dest.port, dest.link_layer) == (address, port, link_layer)
    assert bool(offer.flags & BROADCAST_FLAG) == bcast_flag
    assert offer.giaddr == IPv4Address(giaddr)
    if link_layer:
        assert dest.chaddr == MAC1


def test_parameter_request_list_order_is_honoured() -> None:
    c = Client(engine())
    offer = c.send(1, raw={55: bytes([15, 6, 3, 1, 67])})
    assert offer is not None
    codes = list(offer.options)
    assert codes[:3] == [53, 54, 51]  # type, server id, lease time first
    assert codes[3:8] == [15, 6, 3, 1, 67]  # then in the order asked (RFC 2132 §9.8)
    assert offer.options[67] == b"pxelinux.0"  # asked for: sent as option too
    rest = codes[8:]
    assert rest == sorted(rest)


def test_repeated_discover_gets_the_same_offer_and_others_get_other_addresses() -> None:
    eng = engine()
    a, b = Client(eng, MAC1), Client(eng, MAC2)
    first = a.send(1)
    assert first is not None
    again = a.send(1, xid=9)
    other = b.send(1)
    assert again is not None and other is not None
    assert again.yiaddr == first.yiaddr
    assert other.yiaddr != first.yiaddr


def test_requested_address_in_discover_is_offered_when_free() -> None:
    c = Client(engine())
    offer = c.send(1, raw={50: IPv4Address("192.0.2.105").packed})
    assert offer is not None and offer.yiaddr == IPv4Address("192.0.2.105")
    outside = Client(engine()).send(1, raw={50: IPv4Address("192.0.2.20").packed})  # not in a pool
    assert outside is not None and outside.yiaddr == IPv4Address("192.0.2.100")


def test_client_identifier_is_the_lease_key_and_is_echoed() -> None:
    eng = engine()
    cid = b"\x00my-client-id"
    a = Client(eng, MAC1)
    first = a.send(1, raw={61: cid})
    assert first is not None and first.options[61] == cid  # RFC 6842 §3
    # same client id from another NIC: the same lease (RFC 2131 §4.2)
    b = Client(eng, MAC2)
    again = b.send(1, raw={61: cid})
    assert again is not None and again.yiaddr == first.yiaddr
    # without option 61 the key is htype + chaddr
    assert eng.table.bindings[0].get(b"\x01" + MAC1) is None


def test_relay_agent_information_is_echoed_last() -> None:
    rai = bytes([1, 3]) + b"eth" + bytes([2, 2]) + b"r1"
    c = Client(engine(), giaddr="198.51.100.2")
    offer = c.send(1, raw={82: rai})
    assert offer is not None
    assert offer.options[82] == rai and list(offer.options)[-1] == 82  # RFC 3046 §2.2


# --------------------------------------------------------------------------- subnet selection


@pytest.mark.parametrize(
    ("rx", "giaddr", "raw", "expect"),
    [
        (RX, "0.0.0.0", {}, "192.0.2.100"),  # receiving interface (subnet4.interface)
        (RxContext("x", (IPv4Address("198.51.100.1"),)), "0.0.0.0", {}, "198.51.100.100"),  # interface address
        (RX, "198.51.100.7", {}, "198.51.100.100"),  # giaddr (RFC 2131 §4.3.1)
        # RFC 3527: link selection in option 82 beats giaddr
        (RX, "192.0.2.7", {82: bytes([5, 4]) + IPv4Address("198.51.100.0").packed}, "198.51.100.100"),
        (RX, "0.0.0.0", {118: IPv4Address("198.51.100.9").packed}, "198.51.100.100"),  # RFC 3011
        (RX, "203.0.113.7", {}, None),  # a relay for a network we do not serve: silence
        (RX_OTHER, "0.0.0.0", {}, None),  # a link with no subnet
    ],
)
def test_subnet_selection(rx: RxContext, giaddr: str, raw: dict[int, bytes], expect: str | None) -> None:
    c = Client(engine(), rx=rx, giaddr=giaddr)
    offer = c.send(1, raw=raw)
    if expect is None:
        assert offer is None
        assert c.last.events[0][0] == "dhcp4.discover" and "reason" in c.last.events[0][3]
    else:
        assert offer is not None and offer.yiaddr == IPv4Address(expect)


def test_subnet_server_id_is_used_for_its_subnet() -> None:
    offer = Client(engine(), giaddr="198.51.100.2").send(1)
    assert offer is not None and offer.options[54] == IPv4Address("198.51.100.1").packed
    assert offer.options[3] == IPv4Address("198.51.100.254").packed


# --------------------------------------------------------------------------- REQUEST


def test_selecting_request_is_acked_and_persisted() -> None:
    c = Client(engine())
    offer = c.send(1)
    assert offer is not None
    ack = c.send(3, raw={50: offer.yiaddr.packed, 54: SID, 12: b"myhost"})
    assert mtype(ack) == 5 and ack is not None
    assert ack.yiaddr == offer.yiaddr and ack.file == b"pxelinux.0"
    [lease] = c.last.writes
    assert lease.address == "192.0.2.100" and lease.state == "bound"
    assert lease.expires == T0 + 600 and lease.mac == "52:54:00:00:00:01" and lease.hostname == "myhost"
    assert lease.client_key == b"\x01" + MAC1
    assert [e[0] for e in c.last.events] == ["dhcp4.ack"]


def test_selecting_another_server_drops_our_offer() -> None:
    eng = engine(base=BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.100-192.0.2.100"'))
    a, b = Client(eng, MAC1), Client(eng, MAC2)
    offer = a.send(1)
    assert offer is not None
    assert b.send(1) is None  # the only address is held for a
    assert a.send(3, raw={50: offer.yiaddr.packed, 54: IPv4Address("192.0.2.254").packed}) is None
    assert a.last.events[0][3]["reason"] == "the client chose another server"
    again = b.send(1)
    assert again is not None and again.yiaddr == offer.yiaddr


def test_offer_hold_lapses() -> None:
    eng = engine(base=BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.100-192.0.2.100"'))
    a, b = Client(eng, MAC1), Client(eng, MAC2)
    assert a.send(1) is not None
    assert b.send(1) is None
    b.now = T0 + OFFER_HOLD + 1
    expire(eng, b.now)
    assert b.send(1) is not None


def test_request_after_offer_forgotten_acks_a_free_address() -> None:
    c = Client(engine())
    ack = c.send(3, raw={50: IPv4Address("192.0.2.104").packed, 54: SID})
    assert mtype(ack) == 5 and ack is not None and ack.yiaddr == IPv4Address("192.0.2.104")


# (case, authoritative, setup, request kwargs, expected type or None)
INIT_REBOOT = [
    ("own lease", False, "lease", {"raw": {50: IPv4Address("192.0.2.100").packed}}, 5),
    ("wrong network, not authoritative", False, "lease", {"raw": {50: IPv4Address("10.0.0.5").packed}}, None),
    ("wrong network, authoritative", True, "lease", {"raw": {50: IPv4Address("10.0.0.5").packed}}, 6),
    ("another client's address", False, "other", {"raw": {50: IPv4Address("192.0.2.100").packed}}, 6),
    ("no record, not authoritative", False, "none", {"raw": {50: IPv4Address("192.0.2.103").packed}}, None),
    ("no record, authoritative", True, "none", {"raw": {50: IPv4Address("192.0.2.103").packed}}, 6),
    ("a different address than its lease", False, "lease", {"raw": {50: IPv4Address("192.0.2.107").packed}}, 6),
    ("reserved for another host", False, "none", {"raw": {50: IPv4Address("192.0.2.50").packed}}, 6),
    ("renewing its lease", False, "lease", {"ciaddr": "192.0.2.100"}, 5),
    ("renewing an unknown address, not authoritative", False, "none", {"ciaddr": "192.0.2.104"}, None),
    ("renewing an unknown address, authoritative", True, "none", {"ciaddr": "192.0.2.104"}, 6),
    ("renewing another client's address", False, "other", {"ciaddr": "192.0.2.100"}, 6),
    ("rebinding its lease", False, "lease", {"ciaddr": "192.0.2.100", "broadcast": True}, 5),
    # RFC 2131 §4.3.2 REBINDING: "MAY extend a client's lease only if it has local administrative authority"
    ("rebinding an unknown address, not authoritative", False, "none", {"ciaddr": "192.0.2.104", "broadcast": True},
     None),
    ("rebinding an unknown address, authoritative", True, "none", {"ciaddr": "192.0.2.104", "broadcast": True}, 6),
    ("rebinding another client's address", False, "other", {"ciaddr": "192.0.2.100", "broadcast": True}, 6),
]


@pytest.mark.parametrize(("case", "auth", "setup", "kw", "expect"), INIT_REBOOT, ids=[r[0] for r in INIT_REBOOT])
def test_request_states(case: str, auth: bool, setup: str, kw: dict[str, Any], expect: int | None) -> None:
    eng = engine(base=BASE.replace("max_lease_time = 1200", f"max_lease_time = 1200\nauthoritative = {str(auth).lower()}"))
    if setup == "lease":
        assert Client(eng, MAC1).lease() == IPv4Address("192.0.2.100")
    elif setup == "other":
        assert Client(eng, MAC2).lease() == IPv4Address("192.0.2.100")
    c = Client(eng, MAC1, now=T0 + 10)
    reply = c.send(3, **kw)
    assert mtype(reply) == expect
    if expect == 6:
        assert reply is not None
        assert reply.yiaddr == IPv4Address(0) and reply.ciaddr == IPv4Address(0)
        assert 51 not in reply.options and 56 in reply.options  # RFC 2131 Table 3: message SHOULD
        assert destination(c.last) is not None and str(destination(c.last).address) == "255.255.255.255"
        assert c.last.events[0][0] == "dhcp4.nak"
    if expect == 5 and "ciaddr" in kw:
        assert reply is not None and reply.ciaddr == IPv4Address(kw["ciaddr"])
        dest = destination(c.last)
        assert dest is not None and (str(dest.address), dest.port) == (kw["ciaddr"], 68)  # RFC 2131 §4.1
    if expect is None:
        assert c.last.events[0][0] == "dhcp4.request" and c.last.writes == ()


def test_renewal_extends_the_lease() -> None:
    eng = engine()
    c = Client(eng)
    addr = c.lease()
    c.now = T0 + 300
    ack = c.send(3, ciaddr=str(addr))
    assert mtype(ack) == 5
    assert c.last.writes[0].expires == T0 + 300 + 600
    assert c.last.events[0][3]["state"] == "renewing"


# (IP destination as the transport saw it, relay or not, the state RFC 2131 §4.3.2 gives the request)
EXTENDING = [
    (False, "0.0.0.0", "renewing"),  # unicast to us
    (True, "0.0.0.0", "rebinding"),  # broadcast to 255.255.255.255
    (None, "0.0.0.0", "renewing"),  # the transport could not tell
    (False, "198.51.100.2", "rebinding"),  # relayed: "no relay agents will be involved" in RENEWING
    (None, "198.51.100.2", "rebinding"),
]


@pytest.mark.parametrize(("broadcast", "giaddr", "state"), EXTENDING)
def test_renewing_and_rebinding_are_told_by_the_destination(broadcast: bool | None, giaddr: str, state: str) -> None:
    eng = engine()
    c = Client(eng, giaddr=giaddr)
    addr = c.lease()
    c.now = T0 + 400
    ack = c.send(3, ciaddr=str(addr), broadcast=broadcast)
    assert mtype(ack) == 5 and ack is not None and ack.ciaddr == addr and ack.yiaddr == addr
    [(kind, _, _, detail)] = c.last.events
    assert kind == "dhcp4.ack" and detail["state"] == state
    assert c.last.writes[0].expires == T0 + 400 + 600
    dest = destination(c.last)
    expected = (giaddr, 67) if giaddr != "0.0.0.0" else (str(addr), 68)  # RFC 2131 §4.1
    assert dest is not None and (str(dest.address), dest.port) == expected


def _routed_lease(auth: bool) -> tuple[Dhcp4Engine, IPv4Address]:
    """A client of 198.51.100.0/24 (reached through relay 198.51.100.2) holding a lease there."""
    base = BASE.replace("max_lease_time = 1200", f"max_lease_time = 1200\nauthoritative = {str(auth).lower()}")
    eng = engine(base=base)
    addr = Client(eng, giaddr="198.51.100.2").lease()
    assert addr == IPv4Address("198.51.100.100")
    return eng, addr


def test_renewing_trusts_ciaddr_from_another_network() -> None:
    """RFC 2131 §4.3.2 RENEWING: unicast, giaddr 0, "the DHCP server will trust the value in 'ciaddr'"."""
    eng, addr = _routed_lease(auth=True)
    c = Client(eng, now=T0 + 400)  # heard on srv0 (192.0.2.0/24), unicast, no relay: a routed client
    ack = c.send(3, ciaddr=str(addr), broadcast=False)
    assert mtype(ack) == 5 and ack is not None and ack.yiaddr == addr
    assert ack.options[54] == IPv4Address("198.51.100.1").packed  # the lease's subnet answers
    assert c.last.events[0][3]["state"] == "renewing"
    dest = destination(c.last)
    assert dest is not None and (str(dest.address), dest.port) == (str(addr), 68)


@pytest.mark.parametrize("auth", [False, True], ids=["not-authoritative", "authoritative"])
def test_rebinding_checks_ciaddr_against_the_link(auth: bool) -> None:
    """RFC 2131 §4.3.2 REBINDING: broadcast on the client's link; "SHOULD check 'ciaddr' for correctness"."""
    eng, addr = _routed_lease(auth)
    c = Client(eng, now=T0 + 400)  # broadcast heard on srv0, whose network is 192.0.2.0/24
    reply = c.send(3, ciaddr=str(addr), broadcast=True)
    [(kind, _, _, detail)] = c.last.events
    assert detail["state"] == "rebinding" and c.last.writes == ()
    if auth:  # wrong network: NAK, broadcast (RFC 2131 §4.1, §4.3.2), as for INIT-REBOOT
        assert mtype(reply) == 6 and reply is not None
        assert kind == "dhcp4.nak" and "not on network 192.0.2.0/24" in detail["reason"]
        assert reply.options[54] == SID  # the link's subnet speaks
        dest = destination(c.last)
        assert dest is not None and str(dest.address) == "255.255.255.255"
    else:
        assert reply is None and kind == "dhcp4.request" and "not on network 192.0.2.0/24" in detail["reason"]
    lease = eng.table.by_addr[int(addr)]
    assert lease.expires == T0 + 600  # not extended


def test_rebinding_with_subnet_selection_is_not_second_guessed() -> None:
    eng, addr = _routed_lease(auth=True)
    c = Client(eng, now=T0 + 400)
    ack = c.send(3, ciaddr=str(addr), broadcast=True, raw={118: IPv4Address("198.51.100.0").packed})  # RFC 3011
    assert mtype(ack) == 5 and c.last.events[0][3]["state"] == "rebinding"


def test_nak_via_relay_sets_the_broadcast_flag() -> None:
    eng = engine(base=BASE.replace("max_lease_time = 1200", "max_lease_time = 1200\nauthoritative = true"))
    c = Client(eng, giaddr="198.51.100.2")
    nak = c.send(3, raw={50: IPv4Address("192.0.2.100").packed})  # wrong network for this relay
    assert mtype(nak) == 6 and nak is not None
    assert nak.flags & BROADCAST_FLAG  # RFC 2131 §4.3.2: the relay must broadcast it
    dest = destination(c.last)
    assert dest is not None and (str(dest.address), dest.port) == ("198.51.100.2", 67)


def test_requested_lease_time_is_capped() -> None:
    c = Client(engine())
    offer = c.send(1, raw={51: (5000).to_bytes(4, "big")})
    assert offer is not None and offer.options[51] == (1200).to_bytes(4, "big")
    offer = c.send(1, raw={51: (60).to_bytes(4, "big")})
    assert offer is not None and offer.options[51] == (60).to_bytes(4, "big")


# --------------------------------------------------------------------------- DECLINE / RELEASE / INFORM


def test_decline_quarantines_the_address() -> None:
    eng = engine()
    a = Client(eng, MAC1)
    addr = a.lease()
    assert a.send(4, raw={50: addr.packed, 54: SID}) is None
    [row] = a.last.writes
    assert row.state == "declined" and row.expires == T0 + DECLINE_PROBATION
    assert a.last.events[0][0] == "dhcp4.decline"
    b = Client(eng, MAC2)
    other = b.send(1, raw={50: addr.packed})
    assert other is not None and other.yiaddr != addr  # never offered while quarantined
    again = a.send(1)
    assert again is not None and again.yiaddr != addr
    _, deletes = expire(eng, T0 + DECLINE_PROBATION + 1)
    assert deletes == [str(addr)]
    assert eng.table.is_free_for(int(addr), b"\x01" + MAC2, T0 + DECLINE_PROBATION + 1)


def test_decline_of_someone_elses_address_is_ignored() -> None:
    eng = engine()
    addr = Client(eng, MAC1).lease()
    b = Client(eng, MAC2)
    assert b.send(4, raw={50: addr.packed, 54: SID}) is None
    assert b.last.writes == () and b.last.events[0][3]["reason"] == "not this client's lease"


def test_release_frees_the_address_and_remembers_the_client() -> None:
    eng = engine(base=BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.100-192.0.2.101"'))
    a = Client(eng, MAC1)
    addr = a.lease()
    assert a.send(7, ciaddr=str(addr), raw={54: SID}) is None
    assert a.last.writes[0].state == "released"
    assert a.last.events[0][0] == "dhcp4.release"
    back = a.send(1, xid=77)
    assert back is not None and back.yiaddr == addr  # RFC 2131 §4.3.1: its previous address


def test_release_of_another_clients_lease_is_ignored() -> None:
    eng = engine()
    addr = Client(eng, MAC1).lease()
    b = Client(eng, MAC2)
    assert b.send(7, ciaddr=str(addr)) is None
    assert b.last.writes == ()


def test_inform_gets_configuration_without_a_lease() -> None:
    c = Client(engine())
    ack = c.send(8, ciaddr="192.0.2.33", raw={55: bytes([1, 3, 6])})
    assert mtype(ack) == 5 and ack is not None
    assert ack.yiaddr == IPv4Address(0) and ack.ciaddr == IPv4Address("192.0.2.33")
    assert not {51, 58, 59} & set(ack.options)  # RFC 2131 §4.3.5
    assert ack.options[3] == IPv4Address("192.0.2.1").packed
    dest = destination(c.last)
    assert dest is not None and (str(dest.address), dest.port, dest.link_layer) == ("192.0.2.33", 68, False)
    assert c.last.writes == () and c.last.events[0][0] == "dhcp4.inform"


# --------------------------------------------------------------------------- BOOTP


BOOTP = """
[dhcp4]
allow_bootp = true
lease_time = 600

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = [{ start = "192.0.2.100", end = "192.0.2.101" },
         { start = "192.0.2.150", end = "192.0.2.151", dynamic_bootp = true }]
routers = ["192.0.2.1"]

[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "pxelinux.0"
next_server = "192.0.2.1"
"""


def test_bootp_gets_a_dynamic_bootp_address_and_no_dhcp_options() -> None:
    eng = Dhcp4Engine(BootPolicy.from_config(parse_config(BOOTP)))
    c = Client(eng)
    out = handle(eng, request(None), RX, T0)
    assert out is not None and out.reply is not None
    reply = decode(out.reply)
    assert reply.yiaddr == IPv4Address("192.0.2.150")  # only dynamic-bootp pools
    assert reply.file == b"pxelinux.0" and reply.siaddr == IPv4Address("192.0.2.1")
    assert not {51, 53, 54, 58, 59} & set(reply.options)  # RFC 1534: no DHCP options
    assert reply.options[3] == IPv4Address("192.0.2.1").packed
    assert len(out.reply) == 300  # RFC 1542 §2.1 minimum, and the 64-octet vendor area
    [lease] = out.writes
    assert lease.expires > T0 + 10 * 365 * 86400  # RFC 1534 §4: BOOTP leases do not expire
    assert c.eng is eng


SEED004 = Path(__file__).resolve().parents[3] / "examples" / "seed004-chainload.toml"
RX_SEED004 = RxContext("eth0", (IPv4Address("10.1.1.1"),), 1500)


def rfc951_request(mac: bytes = MAC1, *, xid: int = 0x0BEEF001, giaddr: str = "0.0.0.0", flags: int = 0,
                   vend: bytes = bytes(64)) -> bytes:
    """RFC 951 §3 BOOTREQUEST by hand: 236 header octets, then the vendor area with no magic cookie."""
    return struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, len(mac), 0, xid, 3, flags, bytes(4), bytes(4),
                       bytes(4), IPv4Address(giaddr).packed, mac.ljust(16, b"\0"), bytes(64), bytes(128)) + vend


def rfc951_reply(mac: bytes, *, xid: int, yiaddr: str, siaddr: str, file: bytes, giaddr: str = "0.0.0.0",
                 flags: int = 0) -> bytes:
    """The BOOTREPLY RFC 951 §3 expects back: the same header with yiaddr/siaddr/file, vend all zeros."""
    return struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, len(mac), 0, xid, 0, flags, bytes(4),
                       IPv4Address(yiaddr).packed, IPv4Address(siaddr).packed, IPv4Address(giaddr).packed,
                       mac.ljust(16, b"\0"), bytes(64), file.ljust(128, b"\0")) + bytes(64)


@pytest.mark.parametrize("vend", [bytes(64), b"STAN" + bytes(60), b"\xc0\x1a\x33\x09" + bytes(60)],
                         ids=["zeros", "cmu-stan", "sgi-magic"])
def test_rfc951_client_without_cookie_gets_a_plain_bootreply(vend: bytes) -> None:
    """Seed 004 (range dynamic-bootp): an RFC 951 client gets yiaddr, siaddr, file and a zero vend."""
    eng = Dhcp4Engine(BootPolicy.from_config(parse_config(SEED004.read_text())))
    raw = rfc951_request(vend=vend)
    assert len(raw) == 300
    msg = decode(raw)
    assert msg.vend == vend and msg.options == {}
    out = handle(eng, msg, RX_SEED004, T0)
    assert out is not None and out.reply is not None
    assert out.reply == rfc951_reply(MAC1, xid=0x0BEEF001, yiaddr="10.1.1.10", siaddr="10.1.1.1",
                                     file=b"undionly.kpxe")
    assert len(out.reply) == 300  # RFC 1542 §2.1, and exactly RFC 951's 300
    assert out.reply[236:] == bytes(64)  # no magic cookie, no RFC 1048 options
    dest = destination(out)  # RFC 2131 §4.1 / RFC 1542 §5.4: no ciaddr, no broadcast bit: unicast at chaddr
    assert dest is not None and (str(dest.address), dest.port, dest.link_layer, dest.chaddr) == (
        "10.1.1.10", 68, True, MAC1)
    [lease] = out.writes
    assert lease.address == "10.1.1.10" and lease.expires > T0 + 10 * 365 * 86400  # RFC 1534 §4
    [(kind, mac, _, detail)] = out.events
    assert kind == "dhcp4.ack" and mac == "52:54:00:00:00:01"
    assert detail["bootp"] is True and detail["rfc951"] is True and detail["bootfile"] == "undionly.kpxe"
    # the same client with the cookie later keeps its address (one client key: htype + chaddr)
    again = handle(eng, request(None), RX_SEED004, T0 + 1)
    assert again is not None and again.reply is not None and decode(again.reply).yiaddr == IPv4Address("10.1.1.10")


def test_rfc951_client_relayed_and_reserved() -> None:
    config = BOOTP + '\n[[host]]\nname = "old-sun"\nmac = "52:54:00:00:00:02"\nipv4 = "192.0.2.60"\n'
    eng = Dhcp4Engine(BootPolicy.from_config(parse_config(config)))
    out = handle(eng, decode(rfc951_request(MAC2, xid=7, giaddr="192.0.2.254", flags=0x8000)), RX_OTHER, T0)
    assert out is not None and out.reply is not None
    assert out.reply == rfc951_reply(MAC2, xid=7, yiaddr="192.0.2.60", siaddr="192.0.2.1", file=b"pxelinux.0",
                                     giaddr="192.0.2.254", flags=0x8000)
    dest = destination(out)
    assert dest is not None and (str(dest.address), dest.port) == ("192.0.2.254", 67)  # RFC 1542 §4.1.2
    assert out.events[0][2] == "old-sun"


def test_rfc951_client_is_dropped_unless_bootp_is_allowed() -> None:
    eng = engine()
    assert handle(eng, decode(rfc951_request()), RX, T0) is None
    assert eng.stats["dropped"] == 1


def test_bootp_is_dropped_unless_allowed() -> None:
    eng = engine()
    assert handle(eng, request(None), RX, T0) is None
    assert eng.stats["dropped"] == 1


def test_bootp_pool_exhaustion_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    eng = Dhcp4Engine(BootPolicy.from_config(parse_config(BOOTP)))
    for i in range(2):
        assert handle(eng, request(None, bytes([2, 0, 0, 0, 0, i])), RX, T0) is not None
    with caplog.at_level(logging.WARNING):
        out = handle(eng, request(None, bytes([2, 0, 0, 0, 0, 9])), RX, T0)
    assert out is not None and out.reply is None
    assert "192.0.2.150-192.0.2.151" in caplog.text


# --------------------------------------------------------------------------- reservations, exhaustion


def test_reserved_host_gets_its_address_and_name() -> None:
    c = Client(engine(), FIXED)
    offer = c.send(1)
    assert offer is not None and offer.yiaddr == IPv4Address("192.0.2.50")
    assert offer.options[12] == b"fixed"  # RFC 2132 §3.14
    ack = c.send(3, raw={50: offer.yiaddr.packed, 54: SID})
    assert mtype(ack) == 5
    assert c.last.events[0][2] == "fixed"  # the event names the host
    assert c.last.writes[0].hostname == "fixed"


def test_reservation_inside_a_pool_is_never_given_to_others() -> None:
    base = BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.50-192.0.2.52"')
    eng = engine(base=base)
    got = set()
    for i in range(3):
        offer = Client(eng, bytes([2, 0, 0, 0, 1, i])).send(1)
        if offer is not None:
            got.add(str(offer.yiaddr))
    assert got == {"192.0.2.51", "192.0.2.52"}
    thief = Client(eng, MAC2)
    assert mtype(thief.send(3, raw={50: IPv4Address("192.0.2.50").packed, 54: SID})) == 6


def test_reserved_host_under_another_client_id_keeps_its_lease() -> None:
    eng = engine()
    addr = Client(eng, FIXED).lease()
    pxe = Client(eng, FIXED, now=T0 + 5)
    offer = pxe.send(1, raw={61: b"\x00firmware-id"})  # same NIC, another client id (firmware vs OS)
    assert offer is not None and offer.yiaddr == addr
    expire(eng, T0 + 5 + OFFER_HOLD + 1)  # the offer lapses; the bound lease must not
    assert eng.mac_for_ip(str(addr), T0 + 40) == "52:54:00:00:00:aa"


def test_reserved_host_asking_for_another_address_is_nakked() -> None:
    c = Client(engine(), FIXED)
    assert mtype(c.send(3, raw={50: IPv4Address("192.0.2.100").packed})) == 6


def test_pool_exhaustion_means_no_offer_and_one_warning_naming_the_pool(caplog: pytest.LogCaptureFixture) -> None:
    eng = engine(base=BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.100-192.0.2.101"'))
    for i in range(2):
        Client(eng, bytes([2, 0, 0, 0, 0, i])).lease()
    with caplog.at_level(logging.WARNING, logger="bootwright.dhcp4"):
        for i in range(5):
            c = Client(eng, bytes([2, 0, 0, 0, 1, i]))
            assert c.send(1) is None
    warnings = [r for r in caplog.records if "exhausted" in r.getMessage()]
    assert len(warnings) == 1
    assert "192.0.2.100-192.0.2.101" in warnings[0].getMessage() and "192.0.2.0/24" in warnings[0].getMessage()
    assert eng.stats["exhausted"] == 5


def test_expired_leases_are_reclaimed() -> None:
    eng = engine(base=BASE.replace('"192.0.2.100-192.0.2.109"', '"192.0.2.100-192.0.2.100"'))
    a = Client(eng, MAC1)
    addr = a.lease()
    b = Client(eng, MAC2, now=T0 + 100)
    assert b.send(1) is None
    writes, deletes = expire(eng, T0 + 601)
    assert [(w.address, w.state) for w in writes] == [(str(addr), "expired")] and deletes == []
    b.now = T0 + 602
    offer = b.send(1)
    assert offer is not None and offer.yiaddr == addr


def test_expired_lease_is_given_back_to_its_client_first() -> None:
    eng = engine()
    a = Client(eng, MAC1)
    addr = a.lease()
    expire(eng, T0 + 700)
    a.now = T0 + 701
    offer = a.send(1)
    assert offer is not None and offer.yiaddr == addr


# --------------------------------------------------------------------------- restart, reload


def test_leases_survive_a_restart() -> None:
    eng = engine()
    rows = []
    for i in range(5):
        c = Client(eng, bytes([2, 0, 0, 0, 0, i]))
        c.lease()
        rows += c.last.writes
    fresh = engine()
    assert fresh.load(rows, T0 + 1) == []
    for i, row in enumerate(rows):
        c = Client(fresh, bytes([2, 0, 0, 0, 0, i]), now=T0 + 2)
        ack = c.send(3, raw={50: IPv4Address(row.address).packed})  # INIT-REBOOT
        assert mtype(ack) == 5 and ack is not None and str(ack.yiaddr) == row.address
    newcomer = Client(fresh, MAC2, now=T0 + 2).send(1)
    assert newcomer is not None and str(newcomer.yiaddr) not in {r.address for r in rows}


def test_loading_skips_leases_that_no_longer_fit() -> None:
    from bootwright.model import Lease

    rows = [
        Lease(4, "192.0.2.100", b"\x01" + MAC1, "52:54:00:00:00:01", T0 + 600),
        Lease(4, "10.9.9.9", b"\x01" + MAC2, "52:54:00:00:00:02", T0 + 600),  # outside every subnet
        Lease(4, "192.0.2.50", b"\x01" + MAC2, "52:54:00:00:00:02", T0 + 600),  # reserved for "fixed"
    ]
    eng = engine()
    warnings = eng.load(rows, T0)
    assert len(warnings) == 2
    assert "10.9.9.9" in warnings[0] and "192.0.2.50" in warnings[1]
    assert eng.mac_for_ip("192.0.2.100", T0) == "52:54:00:00:00:01"


def test_reload_keeps_leases_and_applies_new_settings() -> None:
    eng = engine()
    addr = Client(eng).lease()
    policy = BootPolicy.from_config(parse_config(BASE.replace("lease_time = 600", "lease_time = 900")))
    assert eng.set_policy(policy, T0 + 1) == []
    c = Client(eng, now=T0 + 2)
    ack = c.send(3, ciaddr=str(addr))
    assert mtype(ack) == 5 and ack is not None and ack.options[51] == (900).to_bytes(4, "big")


def test_mac_for_ip() -> None:
    eng = engine()
    addr = Client(eng).lease()
    assert eng.mac_for_ip(str(addr), T0 + 1) == "52:54:00:00:00:01"
    assert eng.mac_for_ip(str(addr), T0 + 10_000) is None  # expired
    assert eng.mac_for_ip("192.0.2.200", T0) is None
    assert eng.mac_for_ip("not an address", T0) is None


# --------------------------------------------------------------------------- options


def _with_site_options(n: int) -> str:
    """BASE plus ``n`` opaque 60-octet options 224.. (``[dhcp4] options``)."""
    opts = ", ".join(f'"{224 + i}" = "{bytes([i]) .hex() * 60}"' for i in range(n))
    return BASE.replace("per_mac_rate = 1000", f"per_mac_rate = 1000\noptions = {{ {opts} }}")


def test_small_max_message_size_overloads_sname_then_file() -> None:
    prl = {57: (576).to_bytes(2, "big"), 55: bytes([1, 3, 6, *range(224, 230)])}
    # options + sname suffice: the boot file stays in the file field
    c = Client(engine(base=_with_site_options(4)))
    mid = c.send(1, raw=prl)
    assert mid is not None and c.last.reply is not None and len(c.last.reply) <= 576 - 28
    assert mid.file == b"pxelinux.0" and all(224 + i in mid.options for i in range(4))
    assert 67 not in mid.options
    # more: the boot file moves to option 67 so the file field can carry options (RFC 2132 §9.3)
    c = Client(engine(base=_with_site_options(6)))
    offer = c.send(1, raw=prl)
    assert offer is not None and c.last.reply is not None and len(c.last.reply) <= 576 - 28
    assert offer.file == b"" and offer.options[67] == b"pxelinux.0"
    assert all(offer.options[224 + i] == bytes([i]) * 60 for i in range(6))
    # a client that takes big messages gets everything in the options field
    big = c.send(1, raw={**prl, 57: (1500).to_bytes(2, "big")})
    assert big is not None and big.file == b"pxelinux.0" and big.options[229] == offer.options[229]


def test_http_client_gets_the_vendor_class_echo() -> None:
    c = Client(engine(base=BASE.replace("builtin = false", "builtin = true").replace(
        '[[rule]]\nname = "all"\nbootfile = "pxelinux.0"\nnext_server = "192.0.2.1"\n', "")))
    offer = c.send(1, raw={93: (16).to_bytes(2, "big"), 60: b"HTTPClient:Arch:00016:UNDI:003000"})
    assert offer is not None
    assert offer.options[60] == b"HTTPClient"  # UEFI HTTP boot needs the echo
    assert offer.file.startswith(b"http://192.0.2.1")


def test_ipxe_encapsulated_options() -> None:
    c = Client(engine(base=BASE.replace("per_mac_rate = 1000", "per_mac_rate = 1000\nipxe = { no-pxedhcp = 1 }")))
    offer = c.send(1, raw={77: b"iPXE"})
    assert offer is not None and offer.options[175] == bytes([176, 1, 1, 255])  # iPXE dhcp.h, END-terminated


def test_reply_options_match_explain() -> None:
    """The options ``bootwright explain`` lists are the ones the reply carries."""
    from bootwright.boot.reply import plan_reply
    from bootwright.model import ClientInfo

    eng = engine()
    c = Client(eng)
    offer = c.send(1, raw={55: bytes([67])})
    assert offer is not None
    plan = plan_reply(eng.policy, ClientInfo(family=4, mac="52:54:00:00:00:01"), eng.config.subnet4[0])
    assert set(plan.options) <= set(offer.options)


# --------------------------------------------------------------------------- flood, bad input


def test_per_mac_rate_limit(caplog: pytest.LogCaptureFixture) -> None:
    eng = engine(base=BASE.replace("per_mac_rate = 1000", "per_mac_rate = 2"))
    with caplog.at_level(logging.WARNING, logger="bootwright.dhcp4"):
        answered = sum(handle(eng, request(1, xid=i), RX, T0) is not None for i in range(20))
        other = handle(eng, request(1, MAC2), RX, T0)
    assert answered == 4  # the burst (max(rate, 4)); then dropped
    assert other is not None  # another client is not affected
    assert eng.stats["rate_limited"] == 16
    floods = [r for r in caplog.records if "exceeds" in r.getMessage()]
    assert len(floods) == 1  # logged once per interval
    later = handle(eng, request(1, xid=99), RX, T0 + 5)
    assert later is not None  # tokens refill


@pytest.mark.parametrize(
    ("msg", "why"),
    [
        (request(1, op=2), "a BOOTREPLY"),
        (request(2), "an OFFER sent to the server"),
        (request(9), "FORCERENEW"),
        (request(None, raw={53: b"\x01\x01"}), "option 53 of 2 octets"),
        (request(1, raw={93: b"\x00"}), "malformed option 93"),
        (request(1, raw={60: b"\xff\xfe"}), "vendor class not UTF-8"),
        (request(3, raw={54: b"\x01"}), "server id of 1 octet"),
        (request(3), "REQUEST with nothing to request"),
        (request(4), "DECLINE without option 50"),
    ],
)
def test_bad_requests_are_dropped_and_counted(msg: Dhcp4Message, why: str) -> None:
    eng = engine()
    assert handle(eng, msg, RX, T0) is None, why
    assert eng.stats["dropped"] == 1


BUILTIN = BASE.replace("builtin = false", "builtin = true").replace(
    '[[rule]]\nname = "all"\nbootfile = "pxelinux.0"\nnext_server = "192.0.2.1"\n', "")


def test_a_discover_without_boot_signals_gets_no_boot_file() -> None:
    """No option 60 PXEClient/HTTPClient, 77 iPXE or 93: an OS renewing its lease, no file (dhcpd/dnsmasq)."""
    c = Client(engine(base=BUILTIN))
    for raw in ({}, {60: b"MSFT 5.0"}, {60: b"android-dhcp-14"}):
        offer = c.send(1, raw=raw)
        assert offer is not None and offer.yiaddr != IPv4Address("0.0.0.0")
        assert offer.file == b"" and 67 not in offer.options and 60 not in offer.options
    ack = c.send(3, raw={50: offer.yiaddr.packed, 54: SID})
    assert ack is not None and ack.options[53] == b"\x05" and ack.file == b"" and 67 not in ack.options
    pxe = Client(engine(base=BUILTIN), mac=MAC2).send(
        1, raw={93: (0).to_bytes(2, "big"), 60: b"PXEClient:Arch:00000:UNDI:002001"})
    assert pxe is not None and (pxe.file or pxe.options.get(67)) == b"undionly.kpxe"  # a PXE client still boots
