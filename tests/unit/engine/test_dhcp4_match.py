"""The DHCPv4 engine on bytes: rules on option 82/61/175, ``ignore = true``, pool allow/deny (issue 16)."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp4.server import Outcome4 as Outcome
from bootwright.model import EventKind
from bootwright.wire.dhcp4 import Dhcp4Message, MessageType, decode, encode

BASE = """
[server]
address4 = "192.0.2.1"

[dhcp4]
per_mac_rate = 1000
authoritative = true

[boot]
builtin = false

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = [{ start = "192.0.2.10", end = "192.0.2.11", allow = ["known"] },
         { start = "192.0.2.20", end = "192.0.2.21", allow = ["rule:secure"], deny = ["rule:quarantine"] },
         { start = "192.0.2.30", end = "192.0.2.31", deny = ["known", "rule:secure"] }]

[[subnet4]]
subnet = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.20"]

[[subnet4]]
subnet = "203.0.113.0/24"
interface = "prx0"
mode = "proxy"

[[rule]]
name = "quiet"
match = { mac = "52:54:00:ee" }
ignore = true

[[rule]]
name = "quarantine"
match = { circuit_id = "00:00:00:07", remote_id = "sw1" }
final = false

[[rule]]
name = "cid"
match = { client_id = "ff:00:00:00:01:00:01" }
bootfile = "cid.efi"

[[rule]]
name = "secure"
match = { ipxe_feature = ["https"] }
bootfile = "https://boot.example/secure.ipxe"

[[rule]]
name = "all"
bootfile = "plain.0"

[[host]]
name = "h1"
mac = "52:54:00:00:00:01"
"""

RX = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500, broadcast=True)
PROXY = RxContext("prx0", (IPv4Address("203.0.113.1"),), 1500, broadcast=True)
SID = IPv4Address("192.0.2.1").packed
T0 = 1_000_000.0
STRANGER = bytes.fromhex("525400000009")
HOST = bytes.fromhex("525400000001")
QUIET = bytes.fromhex("525400ee0001")
# Option 175 of Debian's ipxe.efi (tests/data/ipxe-efi-v4.txt) with https (20) added: bus-id, version, features.
IPXE_175 = bytes.fromhex("b105011af41000eb03010000170101240101130101140101ff")


def engine(text: str = BASE) -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(text)))


def send(eng: Dhcp4Engine, mtype: int, mac: bytes, raw: dict[int, bytes] | None = None, *, giaddr: str = "0.0.0.0",
         ciaddr: str = "0.0.0.0", rx: RxContext = RX, now: float = T0) -> Outcome | None:  # fmt: skip
    opts = {53: bytes((mtype,)), **(raw or {})}
    msg = Dhcp4Message(op=1, xid=0x42, chaddr=mac, giaddr=IPv4Address(giaddr), ciaddr=IPv4Address(ciaddr),
                       hops=1 if giaddr != "0.0.0.0" else 0, options=opts)  # fmt: skip
    return eng.handle(encode(msg), rx, now)


def reply(out: Outcome | None) -> Dhcp4Message | None:
    return decode(bytes(out.replies[0].data)) if out is not None and out.replies else None


def bootfile(msg: Dhcp4Message | None) -> bytes:
    """Option 67, or the ``file`` field that carries it when the client asked for no options (RFC 2132 §9.5)."""
    assert msg is not None
    return msg.options.get(67) or (msg.file or b"").rstrip(b"\0")


def offer(eng: Dhcp4Engine, mac: bytes, raw: dict[int, bytes] | None = None, **kw: Any) -> Dhcp4Message | None:
    return reply(send(eng, MessageType.DISCOVER, mac, raw, **kw))


def test_unknown_clients_get_the_pool_that_denies_known_ones() -> None:
    eng = engine()
    assert str(offer(eng, STRANGER).yiaddr) == "192.0.2.30"  # type: ignore[union-attr]
    assert str(offer(eng, HOST).yiaddr) == "192.0.2.10"  # type: ignore[union-attr]


def test_ipxe_feature_from_option_175_selects_rule_and_pool() -> None:
    eng = engine()
    msg = offer(eng, STRANGER, {175: IPXE_175, 77: b"\x04iPXE"})
    assert msg is not None and str(msg.yiaddr) == "192.0.2.20"
    assert bootfile(msg) == b"https://boot.example/secure.ipxe"
    plain = offer(eng, bytes.fromhex("525400000008"), {175: IPXE_175.replace(b"\x14\x01\x01", b""), 77: b"\x04iPXE"})
    assert plain is not None and str(plain.yiaddr) == "192.0.2.30" and bootfile(plain) == b"plain.0"


def test_client_identifier_matches_with_its_type_octet() -> None:
    eng = engine()
    msg = offer(eng, STRANGER, {61: bytes.fromhex("ff000000010001")})
    assert msg is not None and bootfile(msg) == b"cid.efi"
    other = offer(eng, bytes.fromhex("525400000007"), {61: bytes.fromhex("ff000000010002")})
    assert other is not None and bootfile(other) == b"plain.0"


def test_relay_circuit_and_remote_id_both_must_hold() -> None:
    """RFC 3046 §3.1/§3.2 sub-options; the rule is not final but its membership takes pool 2 away (deny)."""
    eng = engine()
    agent = bytes.fromhex("010400000007") + b"\x02\x03sw1"
    out = send(eng, MessageType.DISCOVER, STRANGER, {82: agent, 175: IPXE_175}, giaddr="192.0.2.254")
    assert out is not None and out.answer is not None
    assert out.answer.matched == ("quarantine", "secure", "all")
    # secure admits pool 2, quarantine denies it, deny wins; pool 3 denies rule:secure: nothing is left.
    assert not out.replies and out.events[0].detail["reason"] == "no pool allows this client (pool allow/deny)"
    half = send(eng, MessageType.DISCOVER, STRANGER, {82: agent[:6], 175: IPXE_175}, giaddr="192.0.2.254")
    assert str(reply(half).yiaddr) == "192.0.2.20"  # type: ignore[union-attr]


def test_the_same_client_is_told_apart_by_option_82_despite_the_plan_cache() -> None:
    eng = engine(BASE.replace("final = false", 'bootfile = "q.efi"'))
    agent = bytes.fromhex("010400000007") + b"\x02\x03sw1"
    first = offer(eng, STRANGER, giaddr="192.0.2.254")
    second = offer(eng, STRANGER, {82: agent}, giaddr="192.0.2.254")
    assert (bootfile(first), bootfile(second)) == (b"plain.0", b"q.efi")


@pytest.mark.parametrize(("mtype", "kind", "raw", "ciaddr"), [
    (MessageType.DISCOVER, EventKind.DHCP4_DISCOVER, {}, "0.0.0.0"),
    (MessageType.REQUEST, EventKind.DHCP4_REQUEST, {50: bytes([192, 0, 2, 30]), 54: SID}, "0.0.0.0"),
    (MessageType.REQUEST, EventKind.DHCP4_REQUEST, {50: bytes([192, 0, 2, 77])}, "0.0.0.0"),  # would be a NAK
    (MessageType.INFORM, EventKind.DHCP4_INFORM, {}, "192.0.2.77"),
])  # fmt: skip
def test_an_ignored_client_gets_no_reply_at_all(mtype: int, kind: EventKind, raw: dict[int, bytes],
                                                ciaddr: str) -> None:  # fmt: skip
    """dnsmasq ``dhcp-ignore``: not an offer, not an ACK, not a NAK; the event says which rule."""
    eng = engine()
    out = send(eng, mtype, QUIET, raw, ciaddr=ciaddr)
    assert out is not None and not out.replies and not out.writes
    (event,) = out.events
    assert event.kind is kind and event.detail["ignored"] == "quiet"
    assert event.detail["reason"] == "ignored by rule 'quiet'"
    assert eng.stats["ignored"] == 1 and out.answer is not None and out.answer.ignored


def test_an_ignored_client_gets_no_proxy_offer() -> None:
    eng = engine()
    pxe = {93: b"\x00\x07", 60: b"PXEClient:Arch:00007:UNDI:003000"}
    assert reply(send(eng, MessageType.DISCOVER, STRANGER, pxe, rx=PROXY)) is not None
    out = send(eng, MessageType.DISCOVER, QUIET, pxe, rx=PROXY)
    assert out is not None and not out.replies and out.events[0].detail["ignored"] == "quiet"


def test_request_for_an_address_in_a_pool_the_client_may_not_use_is_nakked() -> None:
    """dhcpd find_lease(): a lease in a pool whose permit list refuses the client is dropped and the REQUEST for
    an address the server owns is NAKed (dhcpd.conf(5) PERMIT LISTS); RFC 2131 §4.3.2 lets the client restart."""
    eng = engine()
    out = send(eng, MessageType.REQUEST, STRANGER, {50: bytes([192, 0, 2, 10])})  # INIT-REBOOT into known-only
    msg = reply(out)
    assert out is not None and msg is not None and msg.message_type == MessageType.NAK
    reason = out.events[0].detail["reason"]
    assert reason == "192.0.2.10 is in pool 192.0.2.10-192.0.2.11, which this client may not use"


def test_a_lease_in_a_pool_the_client_may_no_longer_use_is_not_renewed() -> None:
    eng = engine(BASE.replace('allow = ["known"]', "allow = []").replace(', deny = ["known", "rule:secure"]', ""))
    msg = offer(eng, STRANGER)
    assert msg is not None and str(msg.yiaddr) == "192.0.2.10"
    ack = reply(send(eng, MessageType.REQUEST, STRANGER, {50: msg.yiaddr.packed, 54: SID}))
    assert ack is not None and ack.message_type == MessageType.ACK
    # The pool is restricted to known hosts on reload: the renewal is NAKed, the next DISCOVER moves the client.
    eng.set_policy(BootPolicy.from_config(parse_config(BASE)), T0 + 10)
    renew = send(
        eng,
        MessageType.REQUEST,
        STRANGER,
        ciaddr="192.0.2.10",
        rx=RxContext("srv0", RX.addresses, 1500, broadcast=False),
        now=T0 + 20,
    )
    assert reply(renew).message_type == MessageType.NAK  # type: ignore[union-attr]
    assert str(offer(eng, STRANGER, now=T0 + 30).yiaddr) == "192.0.2.30"  # type: ignore[union-attr]


def test_unrestricted_subnets_are_unchanged() -> None:
    eng = engine()
    msg = offer(eng, STRANGER, giaddr="198.51.100.1")
    assert msg is not None and str(msg.yiaddr) == "198.51.100.10"
