"""Kea JSON import: own kea-dhcp4.conf and kea-dhcp6.conf (with an <?include?>)."""

from __future__ import annotations

import pytest

from bootwright.migrate.kea import import_kea
from bootwright.migrate.kea_classes import Unsupported, compile_test, covered_by
from tests.unit.migrate import clients as c
from tests.unit.migrate.clients import checked, decide, reader, text


@pytest.fixture(scope="module")
def v4():
    return import_kea(text("own/kea-dhcp4.conf"), "kea-dhcp4.conf", reader("own"))


@pytest.fixture(scope="module")
def v6():
    return import_kea(text("own/kea-dhcp6.conf"), "kea-dhcp6.conf", reader("own"))


def test_v4_subnets_hosts_options(v4) -> None:
    config = checked(v4)
    lab, relayed = config.subnet4
    assert lab.interface == "eth1" and str(lab.next_server) == "192.0.2.1"
    assert [str(r) for r in lab.routers or []] == ["192.0.2.1"]
    assert lab.pools[1].allow == ["rule:lab-vm"]  # "client-class": "lab-vm"
    assert [(str(p.start), str(p.end)) for p in relayed.pools] == [("198.51.100.64", "198.51.100.127")]
    assert config.dhcp4.lease_time == 3600 and config.dhcp4.max_lease_time == 7200
    assert config.dhcp4.options == {"209": "pxelinux.cfg/default"}  # through option-def
    assert config.dhcp4.domain_name == "lab.example" and config.boot.builtin is False
    node1, node2 = v4.hosts
    assert node1.groups == ("rack1",) and node2.bootfile == "http://192.0.2.1/node2.ipxe"
    assert node2.options == ((17, "iscsi:192.0.2.5::::iqn.2010-04.org.ipxe:node2"),)


@pytest.mark.parametrize(
    ("client", "bootfile"),
    [
        (c.SEABIOS_IPXE, "undionly.kpxe"),  # classes pxe, bios, ipxe: the first one's file, as real Kea answers
        (c.UEFI_IPXE, "ipxe.efi"),  # classes pxe, efi64, ipxe (tests/interop/differential, own-kea)
        (c.BIOS_PXE, "undionly.kpxe"),
        (c.UEFI_PXE, "ipxe.efi"),
        (c.UEFI_HTTP, "http://192.0.2.1/ipxe.efi"),
        (c.ARM64_PXE, "ipxe-arm64.efi"),
        (c.PLAIN, None),
    ],
)
def test_v4_classes_answer_as_kea(v4, client: dict[str, object], bootfile: str | None) -> None:
    answer = decide(checked(v4), v4, "192.0.2.0/24", **client)
    assert answer.bootfile == bootfile
    assert answer.next_server == "192.0.2.1"  # the class's or the subnet's next-server
    assert answer.vendor_class == ("HTTPClient" if client is c.UEFI_HTTP else None)


def test_v4_subnet_boot_file_and_host(v4) -> None:
    config = checked(v4)
    assert decide(config, v4, "198.51.100.0/24", **c.PLAIN).bootfile == "undionly.kpxe"
    host = decide(config, v4, "192.0.2.0/24", mac="52:54:00:12:34:57", **c.UEFI_PXE)
    assert host.bootfile == "http://192.0.2.1/node2.ipxe"


def test_v4_findings_name_lines(v4) -> None:
    found = {(f.line, f.action) for f in v4.findings}
    assert (31, "untranslated") in found  # the class test on pkt4.msgtype
    assert (6, "ignored") in found  # lease-database
    assert (60, "untranslated") in found  # the hook library


def test_v6_include_classes_and_lifetimes(v6) -> None:
    config = checked(v6)
    (sub,) = config.subnet6
    assert str(sub.prefix) == "2001:db8:1::/64" and sub.interface == "eth1"
    assert (config.dhcp6.valid_lifetime, config.dhcp6.preferred_lifetime) == (4000, 3000)
    assert (config.dhcp6.renew_time, config.dhcp6.rebind_time, config.dhcp6.preference) == (1000, 2000, 255)
    assert v6.hosts[0].ipv6 == "2001:db8:1::10"
    ipxe = decide(config, v6, "2001:db8:1::/64", family=6, **c.UEFI_IPXE)
    assert ipxe.bootfile == "http://[2001:db8:1::1]/boot.ipxe"  # not member('ipxe'): no loop
    pxe = decide(config, v6, "2001:db8:1::/64", family=6, **c.UEFI_PXE)
    assert pxe.bootfile == "tftp://[2001:db8:1::1]/ipxe.efi"
    assert any(f.file == "kea-subnets6.json" and f.line == 7 for f in v6.findings)  # pd-pools


@pytest.mark.parametrize(
    ("test", "family", "match"),
    [
        ("substring(option[60].hex,0,9) == 'PXEClient'", 4, [{"vendor_class": ["PXEClient"]}]),
        ("option[93].hex == 0x0007", 4, [{"arch": [7]}]),
        ("option[77].hex == 'iPXE'", 4, [{"user_class": ["iPXE"]}]),
        ("pkt4.mac == 0x525400123456", 4, [{"mac": ["52:54:00:12:34:56"]}]),
        ("member('KNOWN') and relay4[1].hex == 'port7'", 4, [{"known": True, "circuit_id": ["port7"]}]),
        ("option[93].hex == 0x0007 or option[93].hex == 0x000b", 4, [{"arch": [7]}, {"arch": [11]}]),
        ("not member('KNOWN')", 4, [{"known": False}]),
        # How `bootwright export kea6` writes a MAC match: the DUID's last six octets (DUID-LL/LLT end with it).
        ("substring(option[1].hex,-6,6) == 0x525400b03004", 6, [{"mac": ["52:54:00:b0:30:04"]}]),
        ("substring(pkt4.mac,0,all) == 0x525400123456", 4, [{"mac": ["52:54:00:12:34:56"]}]),
    ],
)
def test_class_expressions(test: str, family: int, match: list[dict[str, object]]) -> None:
    assert compile_test(test, family, {}).alternatives == match


@pytest.mark.parametrize(
    "test",
    ["pkt4.msgtype == 1", "substring(option[1].hex,-x,6) == 0x01", "option[-].hex == 0x01", "substring(option[1].hex,"],
)
def test_unsupported_expression(test: str) -> None:
    with pytest.raises(Unsupported):  # a finding with file:line, never a bare int() error
        compile_test(test, 4, {})


def test_json_errors_name_file_and_line() -> None:
    with pytest.raises(ValueError, match=r"k.conf:3"):
        import_kea('{\n "Dhcp4": {\n  "valid-lifetime": ,\n }\n}\n', "k.conf")


CHAIN = """{"Dhcp4": {
  "client-classes": [
    {"name": "ipxe", "test": "option[77].hex == 'iPXE'", "boot-file-name": "http://192.0.2.1/boot.ipxe"},
    {"name": "none", "test": "option[93].hex == 0x0016 and not (option[77].hex == 'iPXE')"},
    {"name": "pxe", "next-server": "192.0.2.1", "boot-file-name": "undionly.kpxe",
     "test": "option[93].exists and not (option[77].hex == 'iPXE') and not (option[93].hex == 0x0016)"}
  ],
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]
}}
"""


@pytest.mark.parametrize(
    ("client", "answer"),
    [
        (c.SEABIOS_IPXE, ("http://192.0.2.1/boot.ipxe", None)),  # not the next-server of "pxe", which excludes it
        (dict(arches=(22,), vendor_class="U-Boot.armv8"), (None, None)),  # "none" sets nothing; "pxe" excludes it
        (c.BIOS_PXE, ("undionly.kpxe", "192.0.2.1")),
        (c.PLAIN, (None, None)),
    ],
)
def test_first_match_chain_becomes_final_rules(client: dict[str, object], answer: tuple[object, ...]) -> None:
    # Each class excludes the ones before it (an if/else-if chain, as the exporters write the built-in table):
    # a client gets one class's fields only, also when that class sets none, which only final rules can say.
    imported = import_kea(CHAIN, "k.conf")
    config = checked(imported)
    assert [(r.name, r.final) for r in config.rule] == [("ipxe", True), ("none", True), ("pxe", True)]
    assert not [f for f in imported.findings if "client-classes" in f.statement or "test" in f.statement]
    got = decide(config, imported, "192.0.2.0/24", **client)
    assert (got.bootfile, got.next_server) == answer


def test_classes_sharing_clients_stay_non_final(v4) -> None:
    # pxe, bios, efi64 … overlap (a BIOS client is in pxe and bios): first-wins per field, later rules win
    assert not any(r.final for r in checked(v4).rule)


def test_not_member_chain_is_exact() -> None:
    # "efi" sets next-server, which "ipxe" does not: exact only as final rules (no finding then)
    imported = import_kea(
        """{"Dhcp4": {"client-classes": [
          {"name": "ipxe", "test": "option[77].hex == 'iPXE'", "boot-file-name": "http://192.0.2.1/boot.ipxe"},
          {"name": "efi", "test": "option[93].hex == 0x0007 and not member('ipxe')",
           "boot-file-name": "ipxe.efi", "next-server": "192.0.2.1"}],
          "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]}}""",
        "k.conf",
    )
    config = checked(imported)
    assert [(r.name, r.final) for r in config.rule] == [("ipxe", True), ("efi", True)]
    assert not [f for f in imported.findings if "member" in f.message]
    got = decide(config, imported, "192.0.2.0/24", **c.UEFI_IPXE)
    assert (got.bootfile, got.next_server) == ("http://192.0.2.1/boot.ipxe", None)


def test_the_drop_class_is_an_ignore_rule_first() -> None:
    text = """{"Dhcp4": {
      "client-classes": [
        {"name": "pxe", "test": "substring(option[60].hex,0,9) == 'PXEClient'", "boot-file-name": "undionly.kpxe"},
        {"name": "DROP", "test": "substring(pkt4.mac,0,3) == 0x00005e"}
      ],
      "subnet4": [{"subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10-192.0.2.20"}]}]
    }}"""
    imported = import_kea(text, "kea-dhcp4.conf")
    first = imported.config["rule"][0]
    assert first["ignore"] is True and first["match"]["mac"] == ["00:00:5e"]
    assert not [f for f in imported.findings if f.action == "untranslated"]


def test_a_negation_is_covered_by_several_alternatives_together() -> None:
    # The export's class "arch 7 and (mac A or mac B)" comes back as two alternatives; a later not (…) of it is one.
    alternatives: list[dict[str, object]] = [{"arch": [7], "mac": ["a"]}, {"arch": [7], "mac": ["b"]}]
    assert covered_by({"arch": [7], "mac": ["a", "b"]}, alternatives)
    assert not covered_by({"arch": [7], "mac": ["a", "c"]}, alternatives)
    assert not covered_by({"mac": ["a"]}, alternatives)  # any architecture: wider than both
