"""`bootwright export`'s exporters on every example and on a config with every construct (pure).

The real peers check the syntax (tests/interop/test_export_checkers.py); here: the boot decision
each format carries, what is noted, and that nothing is silently left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootwright.boot.policy import hosts_from_config
from bootwright.config import Config, load_config, parse_model
from bootwright.migrate.export_dhcpd import export_dhcpd, export_dhcpd6
from bootwright.migrate.export_dnsmasq import export_dnsmasq
from bootwright.migrate.export_kea import export_kea4, export_kea6
from bootwright.migrate.export_libvirt import export_libvirt
from bootwright.migrate.export_radvd import export_radvd

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted([REPO / "examples" / "quickstart.toml", *(REPO / "examples").glob("seed00*.toml")])
EVERY = REPO / "tests" / "data" / "migrate" / "every-construct.toml"
EXPORTERS = [export_dhcpd, export_dhcpd6, export_kea4, export_kea6, export_dnsmasq]


def every() -> Config:
    # parse_model: pd_pools are refused by `check` until IA_PD is implemented, but exported all the same.
    return parse_model(EVERY.read_text())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("exporter", EXPORTERS, ids=[e.__name__ for e in EXPORTERS])
def test_every_example_exports(path: Path, exporter: object) -> None:
    config = load_config(path)
    result = exporter(config, hosts_from_config(config))  # type: ignore[operator]
    assert result.text.strip() and "{http}" not in result.text and "{server}" not in result.text
    assert all(n.path and n.message for n in result.notes)


def test_seed003_dhcpd_keeps_the_if_elsif_chain_and_the_host() -> None:
    config = load_config(REPO / "examples" / "seed003-home-lab.toml")
    result = export_dhcpd(config, hosts_from_config(config))
    text = result.text
    assert "if (option pxe-system-type = 00:0b) {" in text
    assert '} elsif (substring(option vendor-class-identifier, 0, 12) = "U-Boot.armv8") {' in text
    assert '} else {  # rule[6] bios-chainload\n    filename "gpxe-undionly.kpxe";' in text
    assert "host photosmart {" in text and "fixed-address 192.168.2.53;" in text
    assert text.index("rule[0]") < text.index("rule[3]") < text.index("rule[6]")
    assert not result.notes


def test_builtin_table_is_written_out_with_the_server_address() -> None:
    config = load_config(REPO / "examples" / "quickstart.toml")
    text = export_dhcpd(config, []).text
    assert 'filename "http://192.0.2.1/boot.ipxe";' in text  # iPXE: the entry script
    assert 'filename "ipxe.efi";\n    next-server 192.0.2.1;' in text  # arch 7 (and 9) PXE
    assert 'filename "http://192.0.2.1/ipxe.efi";\n    option vendor-class-identifier "HTTPClient";' in text
    # --server replaces the subnet's address everywhere
    other = export_dhcpd(config, [], ["198.51.100.9"]).text
    assert "http://198.51.100.9/boot.ipxe" in other and "192.0.2.1/boot.ipxe" not in other


def test_non_final_rules_are_applied_again_after_the_table() -> None:
    config = parse_model("""
[server]
address4 = "192.0.2.1"
[[subnet4]]
subnet = "192.0.2.0/24"
[[rule]]
name = "lab"
match = { mac = "52:54:00" }
bootfile = "lab.efi"
final = false
""")
    text = export_dhcpd(config, []).text
    first, again = text.index('filename "lab.efi"'), text.rindex('filename "lab.efi"')
    assert first < text.index("boot.builtin") < again  # before the table and again after it


def test_every_construct_dhcpd() -> None:
    config = every()
    result = export_dhcpd(config, hosts_from_config(config))
    text = result.text
    assert 'class "bw-rule-pxe"' in text and 'allow members of "bw-rule-pxe";' in text
    assert 'deny members of "bw-group-lab";' in text and "allow known-clients;" in text
    assert "deny unknown-clients;" in text
    assert 'option agent.circuit-id = "port-7"' in text and "option agent.remote-id = 01:02:03:04:05:06" in text
    assert "option dhcp-client-identifier = 01:52:54:00:aa:00:01" in text and "known" in text
    assert "exists ipxe.https" in text and "option ipxe.https code 20 = unsigned integer 8;" in text
    assert "substring(hardware, 1, 3) = 52:54:00" in text and "not exists pxe-system-type" in text
    assert "ignore booting;" in text
    assert 'filename "http://192.0.2.1/box.ipxe";' in text  # the host's own, placeholders filled in
    assert "tftp://192.0.2.1/known.efi" in text
    assert any(n.path == "subnet4[1].mode" for n in result.notes)
    six = export_dhcpd6(config, hosts_from_config(config)).text
    assert "prefix6 2001:db8:0:100:: 2001:db8:0:f00:: /56;" in six and "pool6 {" in six
    assert 'option dhcp6.bootfile-url "http://[2001:db8::1]/v6.efi";' in six
    assert "option dhcp6.client-id = 00:03:00:01:52:54:00:aa:00:01" in six


def test_every_construct_kea_classes_are_order_independent() -> None:
    config = every()
    data = json.loads(export_kea4(config, hosts_from_config(config)).text)["Dhcp4"]
    classes = {c["name"]: c for c in data["client-classes"]}
    assert next(iter(classes)) == "DROP" and "pkt4.mac" in classes["DROP"]["test"]
    # the last rule first; each later one tests that no earlier final rule matched
    assert "not (relay4[1].hex == 'port-7'" in classes["by-id"]["test"]
    assert classes["https-ipxe"]["boot-file-name"] == "https://boot.example/boot.ipxe"
    assert "option[175].option[20].exists" in classes["https-ipxe"]["test"]
    pools = data["subnet4"][0]["pools"]
    assert [p.get("client-class") for p in pools] == [None, "bw-pool-0-1", "bw-pool-0-2", "bw-pool-0-3"]
    assert classes["bw-pool-0-1"]["test"] == "member('KNOWN')"
    assert len(data["subnet4"]) == 1  # the proxy subnet is noted, not exported
    six = json.loads(export_kea6(config, hosts_from_config(config)).text)["Dhcp6"]
    assert six["subnet6"][0]["pd-pools"][0]["delegated-len"] == 56


def test_every_construct_dnsmasq() -> None:
    config = every()
    result = export_dnsmasq(config, hosts_from_config(config))
    text = result.text
    assert "dhcp-range=set:s4-1,198.51.100.0,proxy,255.255.255.0" in text
    assert "dhcp-range=tag:known,set:s4-0,192.0.2.150,192.0.2.169,255.255.255.0,3600" in text
    assert "dhcp-circuitid=set:" in text and "dhcp-remoteid=set:" in text and "dhcp-ignore=tag:" in text
    assert "enable-ra" in text and "ra-param=srv0,mtu:1500,100,300" in text
    assert "dhcp-host=52:54:00:aa:00:01,52:54:00:aa:00:02" in text
    paths = {n.path for n in result.notes}
    assert "rule[3].match.ipxe_feature" in paths and "subnet6[0].pd_pools" in paths


def test_radvd_writes_the_ra_bootwright_sends() -> None:
    config = every()
    text = export_radvd(config).text
    assert "interface srv0 {" in text and "MinRtrAdvInterval 30;" in text and "AdvDefaultLifetime 300;" in text
    assert "AdvManagedFlag on;" in text and "AdvLinkMTU 1500;" in text and "RDNSS 2001:db8::53 {" in text
    assert "prefix 2001:db8::/64 {" in text
    assert export_radvd(load_config(REPO / "examples" / "seed003-home-lab.toml")).notes  # nothing to advertise


@pytest.mark.parametrize(
    ("arch", "file", "server"),
    [("bios", "gpxe-undionly.kpxe", "192.168.2.14"), ("efi", "efi-x64/shim.efi", "192.168.2.14")],
)
def test_libvirt_network_per_firmware_family_as_seed_003(arch: str, file: str, server: str) -> None:
    config = load_config(REPO / "examples" / "seed003-home-lab.toml")
    result = export_libvirt(config, hosts_from_config(config), arch=arch)  # type: ignore[arg-type]
    assert f'<bootp file="{file}" server="{server}"/>' in result.text
    assert "<range start='192.168.2.200' end='192.168.2.249'>" in result.text
    assert "<host mac='10:60:4b:11:71:34' name=\"photosmart\" ip='192.168.2.53'/>" in result.text
    assert any(n.path == "rule" for n in result.notes)


@pytest.mark.parametrize("exporter", [export_dhcpd6, export_kea6])
def test_an_ipxe_feature_rule_is_left_out_of_dhcpv6_with_a_note(exporter: object) -> None:
    """iPXE sends option 175 over DHCPv4 only: such a rule never matches a DHCPv6 client, in bootwright either."""
    config = parse_model(
        '[[subnet6]]\nprefix = "2001:db8::/64"\n'
        '[[rule]]\nname = "https-ipxe"\nmatch = { ipxe_feature = ["https"] }\nbootfile = "https://[2001:db8::1]/x.ipxe"\n',
    )
    result = exporter(config, [], ["2001:db8::1"])  # type: ignore[operator]
    assert "x.ipxe" not in result.text
    assert [n.path for n in result.notes if "option 175" in str(n)] == ["rule[0].match.ipxe_feature"]
