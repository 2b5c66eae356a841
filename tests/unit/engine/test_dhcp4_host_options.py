"""A host's own DHCPv4 options on the wire: they win over the subnet's and the global ones, and follow reloads."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.wire.dhcp4 import Dhcp4Message, decode, encode

BASE = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
per_mac_rate = 1000
options = { "7" = "c0:00:02:46" }  # log servers (a code the table does not know: hex)

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.109"]
routers = ["192.0.2.1"]
dns = ["192.0.2.53"]
options = { "42" = "192.0.2.123" }

[boot]
builtin = false

[[host]]
name = "fixed"
mac = "52:54:00:00:00:aa"
ipv4 = "192.0.2.50"
"""
HOST_OPTIONS = 'options = { "6" = "198.51.100.53, 198.51.100.54", "42" = "198.51.100.123", "224" = "72:65" }\n'
FIXED = bytes.fromhex("5254000000aa")
OTHER = bytes.fromhex("525400000001")
RX = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500)
PRL = bytes([1, 3, 6, 7, 42, 224])


def engine(host_options: str) -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(BASE + host_options)))


def offer(eng: Dhcp4Engine, mac: bytes, now: float = 1000.0) -> dict[int, bytes]:
    msg = Dhcp4Message(op=1, xid=0x42, chaddr=mac, options={53: b"\x01", 55: PRL})
    out = eng.handle(encode(msg), replace(RX, broadcast=True), now)
    assert out is not None and out.reply is not None
    reply = decode(out.reply)
    assert reply.options[53] == b"\x02"
    return reply.options


def addresses(*texts: str) -> bytes:
    return b"".join(IPv4Address(t).packed for t in texts)


def test_a_hosts_options_win_over_the_subnets_and_the_global_ones() -> None:
    eng = engine(HOST_OPTIONS)
    mine = offer(eng, FIXED)
    assert mine[6] == addresses("198.51.100.53", "198.51.100.54")  # over the subnet's dns
    assert mine[42] == addresses("198.51.100.123")  # over the subnet's options."42"
    assert mine[224] == b"re"  # a code the table does not know: hex octets
    assert mine[7] == addresses("192.0.2.70") and mine[3] == addresses("192.0.2.1")  # the rest is inherited
    other = offer(eng, OTHER)  # a client that is not the host gets the subnet's and the global options
    assert other[6] == addresses("192.0.2.53") and other[42] == addresses("192.0.2.123") and 224 not in other


def test_a_reload_with_changed_host_options_is_answered_with_the_new_ones() -> None:
    eng = engine(HOST_OPTIONS)
    assert offer(eng, FIXED)[6] == addresses("198.51.100.53", "198.51.100.54")
    assert offer(eng, OTHER)[6] == addresses("192.0.2.53")  # both kinds of client are in the plan cache now
    eng.set_policy(BootPolicy.from_config(parse_config(BASE + 'options = { "6" = "198.51.100.99" }\n')), 1001.0)
    again = offer(eng, FIXED, 1002.0)
    assert again[6] == addresses("198.51.100.99") and again[42] == addresses("192.0.2.123") and 224 not in again
    assert offer(eng, OTHER, 1002.0)[6] == addresses("192.0.2.53")
