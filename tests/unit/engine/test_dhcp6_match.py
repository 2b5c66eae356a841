"""The DHCPv6 engine on bytes: rules on relay interface-id/remote-id and the DUID, ``ignore``, pool allow/deny."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.engine.dhcp6.server import Outcome6 as Outcome
from bootwright.model import EventKind
from bootwright.wire.dhcp6 import (
    HW_TYPE_ETHERNET,
    ClientId,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DuidLL,
    DuidLLT,
    IaAddr,
    IaNa,
    InterfaceId,
    MessageType,
    RelayMessage,
    RemoteId,
    ServerId,
    StatusCode,
    StatusCodeOption,
    decode,
    innermost,
)

CONFIG = """
[server]
address6 = "2001:db8::1"

[boot]
builtin = false

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = [{ start = "2001:db8::100", end = "2001:db8::1ff", allow = ["group:lab"] },
         { start = "2001:db8::200", end = "2001:db8::2ff", deny = ["known"] }]

[[rule]]
name = "quiet"
match = { client_id = "00:03:00:01:52:54:00:ee:00:01" }
ignore = true

[[rule]]
name = "port"
match = { circuit_id = "ge-0/0/1", remote_id = "01:02" }
bootfile = "http://[2001:db8::1]/port.efi"

[[rule]]
name = "all"
bootfile = "http://[2001:db8::1]/all.efi"

[[host]]
name = "h1"
mac = "52:54:00:00:00:01"
groups = ["lab"]
"""

SERVER_DUID = DuidLLT(HW_TYPE_ETHERNET, 1000, bytes.fromhex("020000000001")).encode()
NOW = 1_000_000.0
RELAY = IPv6Address("2001:db8::fe")


def make(config: str = CONFIG) -> Dhcp6Engine:
    cfg = parse_config(config)
    return Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {"eth0": cfg.subnet6[0]}, (), NOW)


def cid(mac: str) -> ClientId:
    return ClientId(DuidLL(HW_TYPE_ETHERNET, bytes.fromhex(mac.replace(":", ""))))


def ll(mac: str) -> IPv6Address:
    o = bytes.fromhex(mac.replace(":", ""))
    return IPv6Address(b"\xfe\x80" + bytes(6) + bytes((o[0] ^ 2,)) + o[1:3] + b"\xff\xfe" + o[3:])


def send(eng: Dhcp6Engine, t: MessageType, mac: str, *extra: Dhcp6Option, relay: tuple[Dhcp6Option, ...] | None = None,
         now: float = NOW) -> Outcome | None:  # fmt: skip
    msg = Dhcp6Message(t, 0x1234, (cid(mac), *extra))
    if relay is None:
        return eng.handle(msg.encode(), Received(ll(mac), "eth0", True), now)
    fwd = Dhcp6Relay(MessageType.RELAY_FORW, 0, RELAY, ll(mac), (RelayMessage(msg), *relay))
    return eng.handle(fwd.encode(), Received(RELAY, None, True), now)


def ia(out: Outcome | None) -> IaNa:
    assert out is not None and out.replies
    msg, _ = innermost(decode(bytes(out.replies[0].data)))
    found = msg.get(IaNa)
    assert found is not None
    return found


def test_the_relay_interface_id_and_remote_id_match_circuit_and_remote() -> None:
    """RFC 8415 §21.18 interface-id is the circuit; RFC 4649 remote-id is compared without its enterprise number."""
    eng = make()
    hit = send(eng, MessageType.SOLICIT, "52:54:00:00:00:09", IaNa(1),
               relay=(InterfaceId(b"ge-0/0/1"), RemoteId(3561, b"\x01\x02")))  # fmt: skip
    miss = send(eng, MessageType.SOLICIT, "52:54:00:00:00:08", IaNa(1),
                relay=(InterfaceId(b"ge-0/0/1"), RemoteId(3561, b"\x01\x03")))  # fmt: skip
    assert hit is not None and hit.answer is not None and hit.answer.rule == "port"
    assert miss is not None and miss.answer is not None and miss.answer.rule == "all"


@pytest.mark.parametrize("t", [MessageType.SOLICIT, MessageType.REQUEST, MessageType.INFORMATION_REQUEST])
def test_an_ignored_client_gets_no_reply_at_all(t: MessageType) -> None:
    eng = make()
    extra: tuple[Dhcp6Option, ...] = ()
    if t == MessageType.REQUEST:
        extra = (ServerId.decode_payload(SERVER_DUID, 0, len(SERVER_DUID)), IaNa(1))
    elif t == MessageType.SOLICIT:
        extra = (IaNa(1),)
    out = send(eng, t, "52:54:00:ee:00:01", *extra)
    assert out is not None and not out.replies and not out.writes
    (event,) = out.events
    assert event.kind is EventKind.DHCP6_IGNORED and event.detail["rule"] == "quiet"
    assert eng.counters["dropped.ignored"] == 1


def test_pools_admit_by_group_and_unknown() -> None:
    eng = make()
    known = ia(send(eng, MessageType.SOLICIT, "52:54:00:00:00:01", IaNa(1))).get(IaAddr)
    stranger = ia(send(eng, MessageType.SOLICIT, "52:54:00:00:00:09", IaNa(1))).get(IaAddr)
    assert known is not None and IPv6Address("2001:db8::100") <= known.address <= IPv6Address("2001:db8::1ff")
    assert stranger is not None and IPv6Address("2001:db8::200") <= stranger.address <= IPv6Address("2001:db8::2ff")


def test_no_pool_admits_the_client_means_no_addrs_avail() -> None:
    eng = make(CONFIG.replace('deny = ["known"]', 'allow = ["known"]'))
    status = ia(send(eng, MessageType.SOLICIT, "52:54:00:00:00:09", IaNa(1))).get(StatusCodeOption)
    assert status is not None and status.status == StatusCode.NO_ADDRS_AVAIL


def test_a_binding_in_a_pool_the_client_may_no_longer_use_gets_lifetimes_0() -> None:
    """RFC 8415 §18.3.4: an address no longer appropriate is returned with lifetimes 0, with a usable one."""
    # First the unknown client may use only the first pool, then (reloaded) only the second.
    open_cfg = CONFIG.replace('allow = ["group:lab"]', "allow = []").replace('deny = ["known"]', 'deny = ["unknown"]')
    eng = make(open_cfg)
    sid = ServerId.decode_payload(SERVER_DUID, 0, len(SERVER_DUID))
    got = ia(send(eng, MessageType.REQUEST, "52:54:00:00:00:09", sid, IaNa(1))).get(IaAddr)
    assert got is not None
    old = got.address
    eng.set_policy(BootPolicy.from_config(parse_config(CONFIG)))
    renewed = ia(send(eng, MessageType.RENEW, "52:54:00:00:00:09", sid, IaNa(1, 0, 0, (IaAddr(old, 0, 0),))))
    addrs = {a.address: a.valid_lifetime for a in renewed.get_all(IaAddr)}
    assert IPv6Address("2001:db8::100") <= old <= IPv6Address("2001:db8::1ff")
    assert addrs[old] == 0 and any(v > 0 and a >= IPv6Address("2001:db8::200") for a, v in addrs.items())
