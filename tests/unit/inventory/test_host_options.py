"""Per-host DHCPv4 options and ISC ``group { }`` blocks: import, inheritance, export and round trips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bootwright.config import ConfigError, parse_config
from bootwright.inventory import HostInputError, export_hosts, host_from_dict, host_to_dict, parse_hosts, read_hosts
from bootwright.model import Host
from bootwright.wire.dhcp4_options import encode_option, parse_config_value

GROUPS = """\
option arch code 93 = unsigned integer 16;   # seed 003's definition, harmless here
option pxe-menu code 224 = text;
group {
  next-server 192.168.2.14;
  filename "efi-x64/shim.efi";
  option domain-name-servers 192.168.2.10, 192.168.2.11;
  option ntp-servers 192.168.2.10;
  host photosmart { hardware ethernet 10:60:4b:11:71:34; fixed-address 192.168.2.53; option routers 192.168.2.1; }
  group {
    option domain-name-servers 192.168.2.99;   # an inner group wins over an outer one
    option pxe-menu "rescue";
    host nas {
      hardware ethernet 52:54:00:aa:bb:01;
      filename "efi-a64/grubaa64.efi";         # a host wins over its groups
      option log-servers 192.168.2.7;
      option domain-search "home.kraxel.org", "kraxel.org";
    }
  }
}
host pi { hardware ethernet b8:27:eb:00:00:01; fixed-address 192.168.2.108; }
"""


def hosts_of(fmt: str, text: str) -> dict[str, Host]:
    return {i.host.name: i.host for i in parse_hosts(fmt, text)}


def octets(code: int, text: str) -> bytes:
    return encode_option(code, parse_config_value(code, text))


def test_groups_pass_settings_to_their_hosts() -> None:
    got = hosts_of("isc", GROUPS)
    photo, nas, pi = got["photosmart"], got["nas"], got["pi"]
    assert (photo.next_server, photo.bootfile) == ("192.168.2.14", "efi-x64/shim.efi")
    assert dict(photo.options) == {3: "192.168.2.1", 6: "192.168.2.10, 192.168.2.11", 42: "192.168.2.10"}
    assert (nas.next_server, nas.bootfile) == ("192.168.2.14", "efi-a64/grubaa64.efi")
    options = dict(nas.options)
    assert options[6] == "192.168.2.99" and options[42] == "192.168.2.10"
    assert options[119] == "home.kraxel.org, kraxel.org"
    # options the wire table does not know keep their octets as hex: 7 (log servers) and a defined 224
    assert octets(7, options[7]) == bytes([192, 168, 2, 7])
    assert octets(224, options[224]) == b"rescue"
    assert (pi.next_server, pi.bootfile, pi.options) == (None, None, ())


@pytest.mark.parametrize("fmt", ["isc", "csv", "dnsmasq"])
def test_options_round_trip_through_every_format_that_carries_them(fmt: str) -> None:
    original = hosts_of("isc", GROUPS)
    back = hosts_of(fmt, export_hosts(fmt, list(original.values())))
    for name, host in original.items():
        assert back[name].options == host.options, fmt
        assert back[name].groups == host.groups  # the dnsmasq per-host tag is not a group
    if fmt == "isc":
        assert back == original


def test_isc_export_names_options_the_dhcpd_way_and_defines_the_rest() -> None:
    host = Host(
        "box",
        macs=("52:54:00:00:00:01",),
        options=((6, "192.0.2.53, 192.0.2.54"), (15, 'ex "q".org'), (19, "true"), (203, "01:02")),
    )
    text = export_hosts("isc", [host])
    assert text.splitlines()[0] == "option bootwright-option-203 code 203 = string;"
    assert "\toption domain-name-servers 192.0.2.53, 192.0.2.54;" in text
    assert '\toption domain-name "ex \\"q\\".org";' in text
    assert "\toption ip-forwarding true;" in text
    assert "\toption bootwright-option-203 01:02;" in text
    assert hosts_of("isc", text)["box"] == host


@pytest.mark.skipif(shutil.which("dhcpd") is None, reason="dhcpd (isc-dhcp-server) is not installed")
def test_dhcpd_accepts_the_exported_host_blocks(tmp_path: Path) -> None:
    hosts = [
        *hosts_of("isc", GROUPS).values(),
        Host("box", macs=("52:54:00:00:00:01",), options=((19, "true"), (203, "01:02"), (15, "ex.org"))),
    ]
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("subnet 192.168.2.0 netmask 255.255.255.0 { }\n" + export_hosts("isc", hosts))
    done = subprocess.run(
        ["dhcpd", "-4", "-t", "-cf", str(conf)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_options_are_checked_like_dhcp4_options_everywhere() -> None:
    host = host_from_dict({"name": "a", "mac": "52:54:00:00:00:01", "options": {"6": "192.0.2.53", "3": "192.0.2.1"}})
    assert host.options == ((3, "192.0.2.1"), (6, "192.0.2.53"))
    assert host_to_dict(host)["options"] == {"3": "192.0.2.1", "6": "192.0.2.53"}
    with pytest.raises(HostInputError) as exc:
        host_from_dict({"name": "a", "mac": "52:54:00:00:00:01", "options": {"6": "not-an-ip", "51": "60", "x": "1"}})
    shown = str(exc.value)
    assert "6: option 6 (domain-name-servers)" in shown and "51: option 51 (dhcp-lease-time)" in shown
    assert "'x' is not an option code" in shown
    config = '[[host]]\nname = "a"\nmac = "52:54:00:00:00:01"\noptions = { "6" = "192.0.2.53" }\n'
    assert parse_config(config, "site.toml").host[0].options == {"6": "192.0.2.53"}
    with pytest.raises(ConfigError) as bad:
        parse_config(config.replace("192.0.2.53", "nope"), "site.toml")
    assert "host[0].options" in str(bad.value)


def test_bad_options_are_reported_at_their_line() -> None:
    text = """\
host a {
  hardware ethernet 52:54:00:00:00:01;
  option dhcp-lease-time 60;
  option routers 192.0.2.1 192.0.2.2;
  option domain-name 12;
  option broadcast-address 192.0.2.255, 192.0.2.254;
  option routers = concat(1, 2);
}
dhcp-option=tag:a,6,192.0.2.1
"""
    problems = [str(p) for p in read_hosts("isc", text).problems]
    assert problems[0].startswith("line 3: option 'dhcp-lease-time' is not known")
    assert problems[1].startswith("line 6: option broadcast-address: expected one value")
    assert problems[2].startswith("line 7: option routers = EXPRESSION is not supported")
    assert problems[3].startswith("line 9:")
    assert len(problems) == 4  # 'routers' with blanks and a numeric domain name are values dhcpd takes too
    dnsmasq = (
        "dhcp-host=52:54:00:00:00:01,set:x,a\ndhcp-option=3,192.0.2.1\ndhcp-option=tag:y,6,192.0.2.1\n"
        "dhcp-option=tag:x,option:dns-server,192.0.2.1,192.0.2.2\ndhcp-option=tag:x,51,60\n"
    )
    parsed = read_hosts("dnsmasq", dnsmasq)
    assert [p.path for p in parsed.problems] == ["line 2", "line 3", "line 5"]
    assert "[dhcp4] options" in parsed.problems[0].message and "set:y" in parsed.problems[1].message
    assert parsed.hosts[0].host.options == ((6, "192.0.2.1, 192.0.2.2"),)
    assert parsed.hosts[0].host.groups == ("x",)  # a tag several hosts could share stays a group
    csv = "name,mac,ipv4,ipv6,options\na,52:54:00:00:00:01,,,6=192.0.2.53; 42\n"
    assert [str(p) for p in read_hosts("csv", csv).problems] == ["line 2: options: '42' is not CODE=VALUE"]
