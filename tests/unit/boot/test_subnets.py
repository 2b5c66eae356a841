"""The one subnet choice: RFC 3527 link selection → RFC 3011 subnet selection → giaddr → ciaddr → link."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from bootwright.boot.subnets import (
    Subnet4Entry,
    compile4,
    find4,
    link_selection,
    local_subnet,
    on_link4,
    on_link6,
    select4,
    select6,
    subnet4_of_address,
)
from bootwright.config import parse_config

CONFIG = parse_config("""
[[subnet4]]
subnet = "192.0.2.0/25"
interface = "eth0"
pools = ["192.0.2.10-192.0.2.20"]

[[subnet4]]
subnet = "192.0.2.128/25"
pools = ["192.0.2.150-192.0.2.160"]

[[subnet4]]
subnet = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.20"]

[[subnet6]]
prefix = "2001:db8:1::/64"
interface = "eth0"

[[subnet6]]
prefix = "2001:db8:2::/64"
""")
SUBNETS = compile4(CONFIG)
A, B, C = SUBNETS


def ip(text: str) -> int:
    return int(IPv4Address(text))


def rai(link: str) -> bytes:
    return bytes([1, 2]) + b"c1" + bytes([5, 4]) + IPv4Address(link).packed  # circuit id, then link selection


@pytest.mark.parametrize(
    ("giaddr", "ciaddr", "relay_info", "selection", "on_link", "want"),
    [
        # 1. RFC 3527 §4: link selection names the subnet, not giaddr
        ("198.51.100.1", "0.0.0.0", rai("192.0.2.130"), None, (A,), B),
        # ... and it is only trusted from a relay (RFC 3527 §3: giaddr set)
        ("0.0.0.0", "0.0.0.0", rai("192.0.2.130"), None, (A,), A),
        # 2. RFC 3011 §3: subnet selection before giaddr
        ("198.51.100.1", "0.0.0.0", None, IPv4Address("192.0.2.129").packed, (A,), B),
        # 1 before 2
        ("198.51.100.1", "0.0.0.0", rai("198.51.100.9"), IPv4Address("192.0.2.129").packed, (A,), C),
        # 3. RFC 2131 §4.3.1: giaddr
        ("198.51.100.1", "192.0.2.5", None, None, (A,), C),
        # a selector outside every subnet: silence, no fall-through
        ("203.0.113.1", "0.0.0.0", None, None, (A,), None),
        ("198.51.100.1", "0.0.0.0", rai("203.0.113.9"), None, (A,), None),
        ("0.0.0.0", "0.0.0.0", None, b"\x01\x02", (A,), None),  # malformed option 118
        # 4. ciaddr (RENEWING from a routed network)
        ("0.0.0.0", "192.0.2.140", None, None, (A,), B),
        # 5. the receiving link
        ("0.0.0.0", "0.0.0.0", None, None, (A,), A),
        ("0.0.0.0", "203.0.113.7", None, None, (C,), C),
        ("0.0.0.0", "0.0.0.0", None, None, (), None),
    ],
)
def test_select4_precedence(giaddr: str, ciaddr: str, relay_info: bytes | None, selection: bytes | None,
                            on_link: tuple[Subnet4Entry, ...], want: Subnet4Entry | None) -> None:  # fmt: skip
    assert select4(SUBNETS, on_link, ip(giaddr), ip(ciaddr), relay_info, selection) is want


def test_rebinding_on_a_link_does_not_trust_ciaddr() -> None:
    # RFC 2131 §4.3.2: a REBINDING request heard on a link is answered in the link's subnet
    assert select4(SUBNETS, (A,), 0, ip("192.0.2.140"), None, None, trust_ciaddr=False) is A
    assert select4(SUBNETS, (A, B), 0, ip("192.0.2.140"), None, None, trust_ciaddr=False) is B
    assert select4(SUBNETS, (), 0, ip("192.0.2.140"), None, None, trust_ciaddr=False) is B  # no link known
    selection = IPv4Address("198.51.100.0").packed
    assert select4(SUBNETS, (A,), 0, ip("192.0.2.140"), None, selection, trust_ciaddr=False) is C


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (bytes([5, 4, 192, 0, 2, 1]), "192.0.2.1"),
        (bytes([1, 1, 0x41, 5, 4, 192, 0, 2, 1]), "192.0.2.1"),
        (bytes([1, 1, 0x41]), None),  # no sub-option 5
        (bytes([5, 3, 192, 0, 2]), None),  # wrong length
        (bytes([1, 9, 0x41]), None),  # truncated (RFC 3046 §2.0)
        (b"", None),
    ],
)
def test_link_selection(raw: bytes, want: str | None) -> None:
    got = link_selection(raw)
    assert got == (ip(want) if want is not None else None)


def test_on_link4_named_interface_first_then_our_addresses() -> None:
    assert on_link4(SUBNETS, "eth0", [ip("198.51.100.1")]) == (A, C)
    assert on_link4(SUBNETS, "eth9", [ip("192.0.2.129"), ip("198.51.100.1")]) == (B, C)
    assert on_link4(SUBNETS, None, []) == ()


def test_find4_and_subnet_of_address() -> None:
    assert find4(SUBNETS, ip("192.0.2.200")) is B
    assert find4(SUBNETS, ip("203.0.113.1")) is None
    assert subnet4_of_address(CONFIG, IPv4Address("198.51.100.1")) is CONFIG.subnet4[2]


def test_select6_relay_link_address_then_receiving_link() -> None:
    s1, s2 = CONFIG.subnet6
    # RFC 8415 §13.1: a relayed message is placed by the relay's link-address
    assert select6(CONFIG.subnet6, True, IPv6Address("2001:db8:2::1"), s1) is s2
    assert select6(CONFIG.subnet6, True, IPv6Address("2001:db8:9::1"), s1) is None
    assert select6(CONFIG.subnet6, True, None, s1) is None
    assert select6(CONFIG.subnet6, False, None, s1) is s1
    assert on_link6(CONFIG.subnet6, "eth0", []) is s1
    assert on_link6(CONFIG.subnet6, "eth1", [IPv6Address("2001:db8:2::1")]) is s2
    assert on_link6(CONFIG.subnet6, "eth1", [IPv6Address("2001:db8:1::1")]) is None  # s1 belongs to eth0


def test_local_subnet_for_documents() -> None:
    assert local_subnet(CONFIG, "192.0.2.129") is CONFIG.subnet4[1]
    assert local_subnet(CONFIG, "2001:db8:2::1%eth1") is CONFIG.subnet6[1]
    assert local_subnet(CONFIG, "203.0.113.1") is None
    assert local_subnet(CONFIG, "not an address") is None
