"""Boot documents without sockets: server context, client facts, caching, errors; who the client is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootwright.boot.documents import Documents, client_facts, ipxe_client
from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.web.access import AllowList
from bootwright.web.neighbours import MacLookup, parse_ip_neigh, parse_proc_arp, plain_address

CONFIG = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[[subnet4]]
subnet = "198.51.100.0/24"
server = "198.51.100.1"

[[subnet6]]
prefix = "2001:db8:1::/64"
server = "2001:db8:1::1"

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"

[targets.arm]
kernel = "{{ http }}/arm64/vmlinuz"

[targets.broken]
kernel = "{{ http }}/{{ vars.missing }}"

[[rule]]
name = "arm64"
match = { arch = 11 }
script = "arm"

[[host]]
name = "b"
mac = "52:54:00:00:00:0b"
target = "broken"
"""


@pytest.fixture
def docs() -> Documents:
    return Documents(BootPolicy.from_config(parse_config(CONFIG)))


@pytest.mark.parametrize(
    ("local", "port", "http"),
    [
        ("198.51.100.1", 8080, "http://198.51.100.1:8080"),  # in subnet4[0]: its server
        ("198.51.100.77", 80, "http://198.51.100.1"),
        ("127.0.0.1", 8080, "http://192.0.2.1:8080"),  # no subnet: server.address4
        ("2001:db8:1::1", 8080, "http://[2001:db8:1::1]:8080"),
        ("::1", 80, "http://[2001:db8::1]"),
    ],
)
def test_context_from_the_local_address_and_bound_port(docs: Documents, local: str, port: int, http: str) -> None:
    assert docs.context(local, port).http == http


def test_context_falls_back_to_the_local_address_without_configured_ones() -> None:
    docs = Documents(BootPolicy.from_config(parse_config("")))
    assert docs.context("192.0.2.50", 8080).http == "http://192.0.2.50:8080"
    assert docs.context("2001:db8::5", 80).http == "http://[2001:db8::5]"


@pytest.mark.parametrize(
    ("platform", "buildarch", "facts", "arches"),
    [
        ("efi", "x86_64", ("efi", "x86_64"), (7,)),
        ("efi", "arm64", ("efi", "arm64"), (11,)),
        ("efi", "i386", ("efi", "i386"), (6,)),
        ("pcbios", "i386", ("pcbios", "i386"), (0,)),
        ("efi", None, ("efi", None), ()),
        ("${platform}", "../x", (None, None), ()),  # unexpanded or junk values are dropped
    ],
)
def test_client_facts_and_arch(
    platform: str | None, buildarch: str | None, facts: tuple[str | None, str | None], arches: tuple[int, ...]
) -> None:
    got = client_facts(platform, buildarch)
    assert got == facts
    client = ipxe_client(4, "52:54:00:00:00:01", *got)  # type: ignore[arg-type]
    assert client.arches == arches and client.is_ipxe


def test_rules_see_the_architecture_ipxe_reports(docs: Documents) -> None:
    ctx = docs.context("198.51.100.1", 80)
    key = ("198.51.100.1", 80)
    arm = docs.host_script(ctx, key, "52:54:00:00:00:01", "efi", "arm64")
    x86 = docs.host_script(ctx, key, "52:54:00:00:00:01", "efi", "x86_64")
    assert arm.target == "arm" and b"arm64/vmlinuz" in arm.body
    assert x86.target == "linux"


def test_documents_are_cached_by_their_inputs(docs: Documents) -> None:
    ctx = docs.context("198.51.100.1", 80)
    key = ("198.51.100.1", 80)
    first = docs.host_script(ctx, key, "52:54:00:00:00:01", "efi", "x86_64")
    again = docs.host_script(ctx, key, "52:54:00:00:00:01", "efi", "x86_64")
    other = docs.host_script(ctx, key, "52:54:00:00:00:02", "efi", "x86_64")
    assert first is again and other is not first
    assert (docs.hits, docs.misses) == (1, 2)
    assert docs.for_policy(docs.policy) is docs
    assert docs.for_policy(BootPolicy.from_config(docs.config)) is not docs


def test_a_template_error_is_an_ipxe_script_with_500(docs: Documents) -> None:
    doc = docs.host_script(docs.context("127.0.0.1", 80), ("127.0.0.1", 80), "52:54:00:00:00:0b", None, None)
    assert (
        doc.status == 500 and doc.body.startswith(b"#!ipxe\n") and b"echo bootwright: cannot render broken" in doc.body
    )


def test_proc_net_arp_parsing() -> None:
    text = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "198.51.0.10      0x1         0x2         02:00:00:00:00:01     *        bw-srv\n"
        "198.51.0.11      0x1         0x0         00:00:00:00:00:00     *        bw-srv\n"
        "198.51.0.12      0x1         0x6         02:00:00:00:00:0C     *        bw-srv\n"
    )
    assert parse_proc_arp(text) == {"198.51.0.10": "02:00:00:00:00:01", "198.51.0.12": "02:00:00:00:00:0c"}


def test_ip_neigh_parsing() -> None:
    text = (
        "2001:db8:1::10 dev bw-srv lladdr 02:00:00:00:00:01 REACHABLE\n"
        "fe80::1 dev bw-srv lladdr 02:00:00:00:00:02 router STALE\n"
        "2001:db8:1::11 dev bw-srv  FAILED\n"
        "2001:db8:1::12 dev bw-srv lladdr 02:00:00:00:00:03 INCOMPLETE\n"
    )
    assert parse_ip_neigh(text) == {"2001:db8:1::10": "02:00:00:00:00:01", "fe80::1": "02:00:00:00:00:02"}


def test_mac_lookup_prefers_leases_then_arp(tmp_path: Path) -> None:
    arp = tmp_path / "arp"
    arp.write_text("IP address HW type Flags HW address Mask Device\n192.0.2.9 0x1 0x2 52:54:00:00:00:09 * eth0\n")
    lookup = MacLookup(arp_path=str(arp), ip6=False)
    assert lookup("192.0.2.9") == "52:54:00:00:00:09"
    assert lookup("::ffff:192.0.2.9") == "52:54:00:00:00:09"
    assert lookup("192.0.2.10") is None and lookup(None) is None
    leased = MacLookup(leases={"192.0.2.10": "52:54:00:00:00:10"}.get, arp_path=str(arp), ip6=False)
    assert leased("192.0.2.10") == "52:54:00:00:00:10"
    assert plain_address("fe80::1%eth0") == "fe80::1"


def test_allow_list() -> None:
    allow = AllowList(parse_config('[http]\nallow = ["127.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]').http.allow)
    assert allow.allows("127.0.0.1") and allow.allows("192.168.2.14") and allow.allows("2001:db8::5")
    assert allow.allows("::ffff:192.168.2.14")  # IPv4-mapped counts as IPv4
    assert not allow.allows("10.0.0.1") and not allow.allows("::1") and not allow.allows(None)
    assert not allow.allows("not an address")
    assert AllowList([]).allows("10.0.0.1")
