"""Joining one site's translated files: subnets by prefix, hosts by name, rules in order, conflicts reported."""

from __future__ import annotations

import tomllib

from bootwright.config import Config
from bootwright.migrate.merge import merge
from bootwright.migrate.render import clean_config, render_hosts, render_toml
from bootwright.migrate.result import Imported
from bootwright.model import Host


def _part(source: str, file: str, config: dict, hosts: list[Host] | None = None) -> Imported:
    return Imported(source=source, file=file, config=config, hosts=hosts or [], translated=1)


def test_subnet6_of_dhcpd6_and_radvd_is_one_subnet() -> None:
    dhcpd6 = _part("dhcpd6", "dhcpd6.conf", {"subnet6": [{"prefix": "2001:db8::/64", "pools": ["2001:db8::10-2001:db8::50"]}]})
    radvd = _part("radvd", "radvd.conf", {"subnet6": [{"prefix": "2001:db8:0:0::/64", "interface": "eth0",
                                                       "ra": {"managed": True, "other": True}}]})
    merged = merge([dhcpd6, radvd])
    assert merged.config["subnet6"] == [{"prefix": "2001:db8::/64", "pools": ["2001:db8::10-2001:db8::50"],
                                         "interface": "eth0", "ra": {"managed": True, "other": True}}]
    assert merged.findings == []
    assert merged.translated == 2
    assert merged.file == "dhcpd6.conf, radvd.conf"


def test_a_value_two_files_set_differently_keeps_the_first_and_says_so() -> None:
    a = _part("radvd", "radvd.conf", {"subnet6": [{"prefix": "2001:db8::/64", "ra": {"managed": True}}]})
    b = _part("bird", "bird.conf", {"subnet6": [{"prefix": "2001:db8::/64", "ra": {"managed": False}}]})
    merged = merge([a, b])
    assert merged.config["subnet6"][0]["ra"]["managed"] is True
    (finding,) = merged.findings
    assert finding.file == "bird.conf" and finding.action == "approximated"
    assert "subnet6[2001:db8::/64].ra.managed" in finding.statement and "True" in finding.message


def test_hosts_of_one_name_are_one_machine() -> None:
    v4 = _part("dhcpd", "dhcpd.conf", {}, [Host("pc", macs=("52:54:00:00:00:01",), ipv4="192.0.2.20",
                                                 options=((6, "192.0.2.53"),))])
    v6 = _part("dhcpd6", "dhcpd6.conf", {}, [Host("pc", ipv6="2001:db8::20", duid=b"\x00\x01",
                                                  options=((6, "192.0.2.54"),))])
    merged = merge([v4, v6])
    (host,) = merged.hosts
    assert (host.macs, host.ipv4, host.ipv6, host.duid) == (("52:54:00:00:00:01",), "192.0.2.20", "2001:db8::20", b"\x00\x01")
    assert host.options == ((6, "192.0.2.53"),)
    assert [f.statement for f in merged.findings] == ["host pc option 6 = '192.0.2.54'"]


def test_rules_keep_their_order_and_get_unique_names() -> None:
    a = _part("dhcpd", "dhcpd.conf", {"rule": [{"name": "ipxe", "match": {"user_class": ["iPXE"]}}]})
    b = _part("dhcpd6", "dhcpd6.conf", {"rule": [{"name": "ipxe", "match": {"family": 6}}]})
    merged = merge([a, b])
    assert [r["name"] for r in merged.config["rule"]] == ["ipxe", "ipxe-2"]


def test_rendered_toml_loads_as_the_config_and_lists_findings_as_comments() -> None:
    imported = _part("dhcpd", "dhcpd.conf", {
        "dhcp4": {"lease_time": 600, "next_server": None},
        "subnet4": [{"subnet": "192.0.2.0/24", "pools": [{"start": "192.0.2.10", "end": "192.0.2.99"}],
                     "options": {}}],
        "rule": [{"name": "bios", "match": {"arch": [0]}, "bootfile": "undionly.kpxe"}],
    }, [Host("pc", macs=("52:54:00:00:00:01",), ipv4="192.0.2.20")])
    imported.note(7, 'option   foo  "bar";', "untranslated", "no such option")
    text = render_toml(imported)
    assert "#   dhcpd.conf:7: untranslated: option foo \"bar\"; — no such option" in text
    data = tomllib.loads(text)
    assert data == clean_config(imported.config)
    assert "next_server" not in data["dhcp4"] and "options" not in data["subnet4"][0]
    Config.model_validate(data)
    assert render_hosts(imported).splitlines() == ["name,mac,ipv4,ipv6", "pc,52:54:00:00:00:01,192.0.2.20,"]
