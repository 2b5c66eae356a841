"""radvd.conf import: seed 001 verbatim and an own file with every option (tests/data/migrate)."""

from __future__ import annotations

import pytest

from bootwright.engine.ra import ra_settings
from bootwright.migrate.radvd import import_radvd
from tests.unit.migrate.clients import checked, lines, text


def test_seed001_radvd_is_the_example_ra() -> None:
    imported = import_radvd(text("seed001/radvd.conf"), "radvd.conf")
    config = checked(imported)
    (sub,) = config.subnet6
    assert str(sub.prefix) == "3ffe:501:ffff:100::/64" and sub.interface == "eth0"
    ra = sub.ra
    assert ra is not None
    assert (ra.managed, ra.other, ra.on_link, ra.autonomous, ra.router_address) == (True, True, True, True, False)
    assert (ra.min_interval, ra.max_interval) == (30, 100)
    # radvd sends no RDNSS/DNSSL unless configured; bootwright would fall back to the DHCPv6 dns.
    assert ra.rdnss == [] and ra.dnssl == []
    # Every statement is translated; only the DHCPv6 note (no line) remains.
    assert [f.line for f in imported.findings] == [None]


def test_own_radvd_every_option() -> None:
    imported = import_radvd(text("own/radvd.conf"), "radvd.conf")
    config = checked(imported)
    first, second = config.subnet6
    assert [str(s.prefix) for s in config.subnet6] == ["2001:db8:1::/64", "2001:db8:5::/64"]
    ra = first.ra
    assert ra is not None
    assert (ra.min_interval, ra.max_interval, ra.router_lifetime, ra.router_preference) == (10, 30, 0, "high")
    assert (ra.hop_limit, ra.reachable_time, ra.retrans_timer, ra.mtu) == (32, 30000, 1000, 1500)
    assert ra.solicited_unicast is False and ra.autonomous is False and ra.router_address is True
    assert (ra.prefix_valid_lifetime, ra.prefix_preferred_lifetime) == (7200, 3600)
    assert [str(a) for a in ra.rdnss or []] == ["2001:db8:1::53", "2001:db8:1::54"]
    assert ra.dnssl == ["lab.example", "example.org"]
    # prefix 2001:db8:5::1/64 with AdvRouterAddr: the address is the subnet's server (RFC 6275 §7.2).
    assert str(second.server) == "2001:db8:5::1"
    assert second.ra is not None and second.ra.prefix_valid_lifetime == 0xFFFFFFFF
    # The RA bootwright builds carries both prefixes with the interface's timing.
    settings = ra_settings(config, config.subnet6)
    assert settings.max_interval == 30 and settings.advertisement.router_lifetime == 0
    found = lines(imported)
    assert found[5] == ["ignored"]  # IgnoreIfMissing
    assert found[36] == ["approximated"]  # DNSSL lifetime 2 × 30 s vs bootwright's 90 s
    assert found[39] == ["untranslated"] and found[43] == ["untranslated"]  # route, clients
    assert found[49] == ["ignored"]  # eth2: AdvSendAdvert off
    assert 33 not in found  # RDNSS lifetime 90 = 3 × 30: exactly bootwright's


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("UnicastOnly on;", "unicast-only"),
        ("AdvHomeAgentFlag on;", "Mobile IPv6"),
        ("prefix ::/64 { };", "every prefix"),
        ("prefix 2001:db8::/64 { Base6to4Interface ppp0; };", "another interface"),
        ("Bogus 1;", "unknown radvd interface option"),
    ],
)
def test_untranslated_options_are_findings_with_lines(body: str, message: str) -> None:
    source = f"interface eth0 {{\n  AdvSendAdvert on;\n  {body}\n  prefix 2001:db8:9::/64 {{ }};\n}};\n"
    imported = import_radvd(source, "r.conf")
    assert any(f.line == 3 and message in f.message for f in imported.findings), imported.findings


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(ValueError, match=r"r.conf: line 2"):
        import_radvd("interface eth0 {\n AdvSendAdvert on\n", "r.conf")
