"""dnsmasq.conf import: an own file with every construct (tests/data/migrate/own/dnsmasq.conf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootwright.migrate.dnsmasq_conf import import_dnsmasq
from tests.unit.migrate import clients as c
from tests.unit.migrate.clients import checked, decide, lines, reader, text


@pytest.fixture(scope="module")
def imported():
    return import_dnsmasq(text("own/dnsmasq.conf"), "dnsmasq.conf", reader("own"))


def test_subnets_hosts_and_options(imported) -> None:
    config = checked(imported)
    full, proxy = config.subnet4
    assert str(full.subnet) == "192.0.2.0/24" and full.lease_time == 43200  # 12h
    assert [(str(p.start), str(p.end)) for p in full.pools] == [("192.0.2.100", "192.0.2.199")]
    assert full.ntp_servers == ["192.0.2.1"]  # dhcp-option=tag:lab (the range's tag) → the subnet
    assert proxy.mode == "proxy" and str(proxy.subnet) == "198.51.100.0/24"
    assert [str(r) for r in config.dhcp4.routers or []] == ["192.0.2.1"]
    assert [str(a) for a in config.dhcp4.dns or []] == ["192.0.2.1", "192.0.2.2"]
    assert config.dhcp4.domain_name == "lab.example" and config.dhcp4.authoritative is True
    assert config.server.interfaces == ["eth1"] and str(config.root) == "/srv/tftp"
    assert config.boot.builtin is False and config.tftp.enabled is True
    node1, node2 = imported.hosts
    assert (node1.name, node1.ipv4, node1.groups) == ("node1", "192.0.2.10", ("rack1",))
    assert node2.options == ((17, "iscsi:192.0.2.5::::iqn.2010-04.org.ipxe:node2"),) and node2.groups == ()


def test_ipv6_ranges_and_ra_modes(imported) -> None:
    config = checked(imported)
    by_prefix = {str(s.prefix): s for s in config.subnet6}
    stateful = by_prefix["2001:db8:1::/64"]
    assert [(str(p.start), str(p.end)) for p in stateful.pools] == [("2001:db8:1::100", "2001:db8:1::1ff")]
    assert stateful.valid_lifetime == 86400
    flags = {p: (s.ra.managed, s.ra.other, s.ra.autonomous) for p, s in by_prefix.items() if s.ra}
    assert flags == {
        "2001:db8:1::/64": (True, True, False),  # enable-ra on a DHCPv6 range: "managed bits set"
        "2001:db8:2::/64": (False, False, True),  # ra-only
        "2001:db8:3::/64": (False, True, True),  # ra-stateless
        "2001:db8:4::/64": (False, True, True),  # slaac (no DHCPv6 addresses)
    }
    assert [str(a) for a in config.dhcp6.dns or []] == ["2001:db8:1::1"]
    assert lines(imported)[25] == ["untranslated"]  # constructor: the prefix is the interface's


@pytest.mark.parametrize(
    ("client", "bootfile"),
    [
        (c.SEABIOS_IPXE, "http://192.0.2.1/boot.ipxe"),  # the last dhcp-boot line, tag:ipxe
        (c.UEFI_IPXE, "http://192.0.2.1/boot.ipxe"),
        (c.BIOS_PXE, "undionly.0"),  # pxe-service x86PC (tag:!ipxe): the PXE layer suffix .0
        (c.UEFI_PXE, "ipxe.efi"),  # pxe-service X86-64_EFI
        (c.UEFI_HTTP, "http://192.0.2.1/ipxe.efi"),
        (c.ARM64_PXE, "ipxe-arm64.efi"),
        (c.PLAIN, None),
    ],
)
def test_rules_answer_as_dnsmasq(imported, client: dict[str, object], bootfile: str | None) -> None:
    answer = decide(checked(imported), imported, "192.0.2.0/24", **client)
    assert answer.bootfile == bootfile
    assert answer.vendor_class == ("HTTPClient" if client is c.UEFI_HTTP else None)


def test_ignore_rules(imported) -> None:
    config = checked(imported)
    blocked = decide(config, imported, "192.0.2.0/24", mac="02:00:00:01:02:03", **c.UEFI_PXE)
    assert blocked.rule == "dhcp-ignore-line58"
    host = decide(config, imported, "192.0.2.0/24", mac="52:54:00:66:66:66", **c.UEFI_PXE)
    assert host.rule == "dhcp-host-dnsmasq-hosts.conf-line5"
    assert all(r.ignore for r in config.rule[:2])


def test_ipv6_boot_url_for_ipxe(imported) -> None:
    answer = decide(checked(imported), imported, "2001:db8:1::/64", family=6, **c.UEFI_IPXE)
    assert answer.bootfile == "http://[2001:db8:1::1]/boot.ipxe"


def test_untranslated_lines_are_findings(imported) -> None:
    found = lines(imported)
    assert found[7] == found[8] == ["untranslated"]  # server=, address=: DNS
    assert found[5] == ["ignored"] and found[10] == ["ignored"]  # bind-interfaces, log-dhcp
    assert found[44] == ["untranslated"]  # a tagged option 209: rules carry no options
    assert found[54] == ["approximated"]  # pxe-prompt
    assert not any(f.line is None for f in imported.findings)
    included = [f for f in imported.findings if f.file == "dnsmasq-hosts.conf"]
    assert [(f.line, f.action) for f in included] == [(3, "approximated")]  # the per-host lease time


def test_missing_include_is_a_finding() -> None:
    imported = import_dnsmasq("conf-file=/nonexistent.conf\n", "d.conf", read=lambda p: Path(p).read_text())
    assert [(f.line, f.action) for f in imported.findings] == [(1, "untranslated")]
