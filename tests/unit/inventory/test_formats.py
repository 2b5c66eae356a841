"""Import (ISC host blocks, CSV, dnsmasq) and export (ISC, dnsmasq, BIND zones, /etc/hosts): round trips and bad files."""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from bootwright.config import parse_config
from bootwright.inventory import ImportFormatError, Inventory, InventoryError, export_hosts, guess_format, parse_hosts
from bootwright.inventory.formats import read_hosts, zone_nameservers
from bootwright.inventory.zones import NameServer, ZoneError, parse_nameserver, reverse_zone_name
from bootwright.model import Host
from bootwright.store.sqlite import SqliteStore

# Seed 003's generated include file (/etc/dhcp/home.4.dhcp.inc), one more host and a comment.
SEED003_INC = """\
host photosmart {
        hardware ethernet 10:60:4b:11:71:34;
        fixed-address 192.168.2.53;
}
# the NAS, netbooting the others
host nas {
        hardware ethernet 52:54:00:aa:bb:01;
        fixed-address 192.168.2.14;
        next-server 192.168.2.14;
        filename "efi-x64/shim.efi";
}
"""

HOSTS = [
    Host("photosmart", macs=("10:60:4b:11:71:34",), ipv4="192.168.2.53"),
    Host("nas", macs=("52:54:00:aa:bb:01", "52:54:00:aa:bb:02"), ipv4="192.168.2.14", ipv6="2001:db8::14",
         groups=("servers",), next_server="192.168.2.14", bootfile="efi-x64/shim.efi"),
    Host("pi.home.kraxel.org", macs=("b8:27:eb:00:00:01",), ipv4="192.168.2.108"),
    Host("v6only", duid=bytes.fromhex("000300015254000000aa"), ipv6="2001:db8::aa"),
]


def by_name(hosts: list[Host]) -> dict[str, Host]:
    return {h.name: h for h in hosts}


def test_seed003_include_file() -> None:
    got = by_name([i.host for i in parse_hosts("isc", SEED003_INC)])
    assert got["photosmart"] == Host("photosmart", macs=("10:60:4b:11:71:34",), ipv4="192.168.2.53")
    assert got["nas"].next_server == "192.168.2.14" and got["nas"].bootfile == "efi-x64/shim.efi"
    assert [i.line for i in parse_hosts("isc", SEED003_INC)] == [1, 6]


def test_isc_round_trip_v4_and_v6() -> None:
    text4 = export_hosts("isc", HOSTS)
    assert "host nas-nic2 {\n\thardware ethernet 52:54:00:aa:bb:02;\n\tfixed-address 192.168.2.14;" in text4
    assert 'option host-name "nas";' in text4
    back = by_name([i.host for i in parse_hosts("isc", text4)])
    for host in HOSTS:
        if host.macs:
            assert back[host.name] == Host(host.name, macs=host.macs, ipv4=host.ipv4, next_server=host.next_server,
                                           bootfile=host.bootfile)
    text6 = export_hosts("isc6", HOSTS)
    assert "host-identifier option dhcp6.client-id 00:03:00:01:52:54:00:00:00:aa;" in text6
    back6 = by_name([i.host for i in parse_hosts("isc", text6)])
    assert back6["v6only"] == Host("v6only", duid=HOSTS[3].duid, ipv6="2001:db8::aa")
    assert back6["nas"].macs == HOSTS[1].macs and back6["nas"].ipv6 == "2001:db8::14"


def test_csv_round_trip_and_header_comments() -> None:
    text = export_hosts("csv", HOSTS)
    # The columns past ipv6 are written when a host uses them, named in the header (any order when read).
    assert text.splitlines()[0] == "name,mac,ipv4,ipv6,duid,groups,next_server,bootfile"
    assert "v6only,,,2001:db8::aa,00:03:00:01:52:54:00:00:00:aa,,," in text.splitlines()
    parsed = read_hosts("csv", text)
    assert parsed.keys == ("mac", "ipv4", "ipv6", "duid", "groups", "next_server", "bootfile")
    assert by_name([i.host for i in parsed.hosts]) == by_name(HOSTS)
    assert export_hosts("csv", HOSTS[:1]).splitlines()[0] == "name,mac,ipv4,ipv6"
    reordered = read_hosts("csv", "bootfile,name,mac\nshim.efi,box,52:54:00:00:00:09\n")
    assert reordered.hosts[0].host == Host("box", macs=("52:54:00:00:00:09",), bootfile="shim.efi")
    assert reordered.keys == ("bootfile", "mac")
    bad = read_hosts("csv", "name,mac,colour\nbox,52:54:00:00:00:09,red\n")
    assert str(bad.problems[0]).startswith("line 1: unknown column 'colour'")
    rows = parse_hosts("csv", "# hostname, mac, ip\nphotosmart, 10:60:4B:11:71:34, 192.168.2.53\n\nnas,52:54:00:aa:bb:01 52:54:00:aa:bb:02,192.168.2.14,2001:db8::14\n")
    assert [(i.host.name, i.line) for i in rows] == [("photosmart", 2), ("nas", 4)]
    assert rows[1].host.macs == ("52:54:00:aa:bb:01", "52:54:00:aa:bb:02")


def test_dnsmasq_round_trip() -> None:
    text = export_hosts("dnsmasq", HOSTS)
    assert "dhcp-host=52:54:00:aa:bb:01,52:54:00:aa:bb:02,set:servers,192.168.2.14,[2001:db8::14],nas" in text
    assert "dhcp-host=id:00:03:00:01:52:54:00:00:00:aa,[2001:db8::aa],v6only" in text
    back = by_name([i.host for i in parse_hosts("dnsmasq", text)])
    for host in HOSTS:
        got = back[host.name]
        assert (got.macs, got.ipv4, got.ipv6, got.duid, got.groups) == (host.macs, host.ipv4, host.ipv6, host.duid,
                                                                           host.groups)
    # hosts-file form without the prefix, with a lease time
    assert parse_hosts("dnsmasq", "52:54:00:00:00:05,192.168.2.5,box,infinite\n")[0].host.ipv4 == "192.168.2.5"


def _records(zone: str, rtype: str) -> dict[str, str]:
    out = {}
    for line in zone.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[2] == rtype:
            out[parts[0]] = parts[3]
    return out


NS_PI = NameServer("ns.home.kraxel.org", (ip_address("192.168.2.10"), ip_address("2001:db8::10")))


def test_bind_forward_zone_round_trips() -> None:
    zone = export_hosts("bind-forward", HOSTS, domain="home.kraxel.org", serial=2024010101, nameservers=[NS_PI])
    assert "$ORIGIN home.kraxel.org." in zone
    assert "@\tIN\tSOA\tns.home.kraxel.org. hostmaster.home.kraxel.org. (2024010101 3600 900 1209600 300)" in zone
    assert "@\tIN\tNS\tns.home.kraxel.org." in zone
    a = _records(zone, "A")
    assert a == {"ns": "192.168.2.10", "photosmart": "192.168.2.53", "nas": "192.168.2.14", "pi": "192.168.2.108"}
    assert _records(zone, "AAAA") == {"ns": "2001:db8::10", "nas": "2001:db8::14", "v6only": "2001:db8::aa"}
    with pytest.raises(ZoneError, match="--domain"):
        export_hosts("bind-forward", HOSTS)


def test_forward_zone_name_server_needs_an_address() -> None:
    # The default ns.<domain> with no address would not load in BIND ("NS has no address records"): refused.
    with pytest.raises(ZoneError, match=re.escape("`hosts export --ns ns.home.kraxel.org=ADDRESS`")):
        export_hosts("bind-forward", HOSTS, domain="home.kraxel.org")
    # A host of that name supplies the address; a given address it already has is not repeated.
    zone = export_hosts("bind-forward", HOSTS, domain="home.kraxel.org",
                        nameservers=[parse_nameserver("nas=192.168.2.14,2001:db8::15", "home.kraxel.org")])
    assert "@\tIN\tNS\tnas.home.kraxel.org." in zone
    assert [line for line in zone.splitlines() if line.startswith("nas\t")] == [
        "nas\tIN\tAAAA\t2001:db8::15", "nas\tIN\tA\t192.168.2.14", "nas\tIN\tAAAA\t2001:db8::14"]
    # A name server outside the zone needs nothing here; two name servers give two NS records.
    two = [parse_nameserver("ns1.example.net.", "home.kraxel.org"), parse_nameserver("pi", "home.kraxel.org")]
    zone = export_hosts("bind-forward", HOSTS, domain="home.kraxel.org", nameservers=two)
    assert "@\tIN\tSOA\tns1.example.net. " in zone
    assert "@\tIN\tNS\tns1.example.net.\n@\tIN\tNS\tpi.home.kraxel.org.\n" in zone


def test_zone_name_servers_from_the_config() -> None:
    config = parse_config('[server]\naddress4 = "192.168.2.10"\n')
    assert zone_nameservers(config, HOSTS, "home.kraxel.org", []) == [
        NameServer("ns.home.kraxel.org", (ip_address("192.168.2.10"),))]
    # The inventory host holding the server's address names it.
    config = parse_config('[server]\naddress4 = "192.168.2.108"\n')
    assert zone_nameservers(config, HOSTS, "home.kraxel.org", [])[0].name == "pi.home.kraxel.org"
    assert zone_nameservers(config, HOSTS, "home.kraxel.org", ["dns=2001:db8::53"]) == [
        NameServer("dns.home.kraxel.org", (ip_address("2001:db8::53"),))]
    for bad, why in (("a..b", "give NAME"), ("ns=300.1.1.1", "not an IPv4 or IPv6 address"), ("=1.2.3.4", "give")):
        with pytest.raises(ZoneError, match=why):
            parse_nameserver(bad, "home.kraxel.org")


def test_zones_leave_out_names_dns_refuses() -> None:
    hosts = [*HOSTS, Host("my_pc", macs=("52:54:00:00:00:99",), ipv4="192.168.2.99")]
    zone = export_hosts("bind-forward", hosts, domain="home.kraxel.org", nameservers=[NS_PI])
    assert "my_pc\tIN" not in zone and "; my_pc: no records, not a DNS host name" in zone
    rev = export_hosts("bind-reverse", hosts, domain="home.kraxel.org", network="192.168.2.0/24")
    assert "99\tIN\tPTR" not in rev and "; my_pc: no records" in rev


def test_bind_reverse_zones_round_trip() -> None:
    zone = export_hosts("bind-reverse", HOSTS, domain="home.kraxel.org", network="192.168.2.0/24")
    assert "$ORIGIN 2.168.192.in-addr.arpa." in zone
    ptr = _records(zone, "PTR")
    assert ptr == {"14": "nas.home.kraxel.org.", "53": "photosmart.home.kraxel.org.", "108": "pi.home.kraxel.org."}
    for owner, name in ptr.items():  # the PTR owner maps back to the host's address
        host = next(h for h in HOSTS if name.startswith(h.name.split(".")[0] + "."))
        assert ip_address(f"192.168.2.{owner}") == ip_address(host.ipv4 or "")
    zone6 = export_hosts("bind-reverse", HOSTS, domain="home.kraxel.org", network="2001:db8::/64")
    origin = reverse_zone_name(ip_network("2001:db8::/64"))
    assert f"$ORIGIN {origin}." in zone6
    ptr6 = _records(zone6, "PTR")
    assert ptr6["a.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0"] == "v6only.home.kraxel.org."
    assert ip_address("2001:db8::aa").reverse_pointer == "a.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0." + origin
    with pytest.raises(ZoneError, match=re.escape("candidates: 192.168.2.0/24, 2001:db8::/64")):
        export_hosts("bind-reverse", HOSTS, domain="x.org")
    with pytest.raises(ZoneError, match="/8, /16 or /24"):
        export_hosts("bind-reverse", HOSTS, domain="x.org", network="192.168.2.0/25")


@pytest.mark.parametrize(("net", "name"), [
    ("192.168.2.0/24", "2.168.192.in-addr.arpa"), ("10.0.0.0/8", "10.in-addr.arpa"),
    ("2001:db8::/32", "8.b.d.0.1.0.0.2.ip6.arpa"),
])
def test_reverse_zone_names(net: str, name: str) -> None:
    assert reverse_zone_name(ip_network(net)) == name


def test_etc_hosts_round_trips() -> None:
    text = export_hosts("hosts", HOSTS, domain="home.kraxel.org")
    rows = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            address, *names = line.split()
            rows.setdefault(names[-1], []).append(address)
    assert rows["nas"] == ["192.168.2.14", "2001:db8::14"]
    assert rows["pi.home.kraxel.org"] == ["192.168.2.108"]
    assert "192.168.2.53\tphotosmart.home.kraxel.org\tphotosmart" in text


@pytest.mark.parametrize(
    ("fmt", "text", "needles"),
    [
        ("isc", "host a {\n  hardware ethernet 52:54:00:00:00:01\n}\n", ["line 3: missing ';' before '}'"]),
        ("isc", "host a {\n  hardware ethernet 52:54:00:00:00:01;\n  fixed-address 192.0.2.5;\n",
         ["line 3: the file ends where '}' was expected"]),
        ("isc", "subnet 192.0.2.0 netmask 255.255.255.0 { }\n", ["line 1: only 'host' and 'group' declarations"]),
        ("isc", "host a {\n  hardware token-ring 52:54:00:00:00:01;\n  ddns-hostname \"a\";\n}\n",
         ["line 2: only 'hardware ethernet'", "line 3: unsupported statement 'ddns-hostname a'"]),
        ("isc", "host a {\n  hardware ethernet 52:54:00:00:00:zz;\n}\n", ["line 1: host 'a': mac", "not a MAC"]),
        ("isc", "host a { fixed-address 192.0.2.5, 192.0.2.6; }", ["line 1: fixed-address with several"]),
        ("csv", "name,mac,ipv4\nok,52:54:00:00:00:01,192.0.2.5\nbad,52:54:00:00:00:02,192.0.2\nshort\n",
         ["line 3: ipv4", "line 4: expected name, mac, ipv4; found 1 columns"]),
        ("dnsmasq", "dhcp-host=52:54:00:00:00:01,192.0.2.5\nlisten-address=127.0.0.1\n",
         ["line 1: the line has no host name", "line 2: only dhcp-host and dhcp-option lines"]),
        ("dnsmasq", "dhcp-host=52:54:00:00:00:01,tag:x,box\n", ["line 1: 'tag:x' is not supported"]),
    ],
)
def test_malformed_files_name_their_lines(fmt: str, text: str, needles: list[str]) -> None:
    with pytest.raises(ImportFormatError) as exc:
        parse_hosts(fmt, text)
    shown = "\n".join(str(p) for p in exc.value.problems)
    for needle in needles:
        assert needle in shown


def test_guess_format() -> None:
    assert guess_format("home.4.dhcp.inc", SEED003_INC) == "isc"
    assert guess_format(None, "# hosts\nhost a { }") == "isc"
    assert guess_format(None, "dhcp-host=52:54:00:00:00:01,a") == "dnsmasq"
    assert guess_format("hosts.csv", "a,b,c") == "csv"


def test_import_is_all_or_nothing(tmp_path: Path) -> None:
    config = parse_config('[[subnet4]]\nsubnet = "192.168.2.0/24"\n\n[[host]]\nname = "router"\n'
                          'mac = "52:54:00:ff:ff:ff"\nipv4 = "192.168.2.1"\n', "site.toml")
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    try:
        inv = Inventory(store.host_store(), config)
        inv.sync_config(config)
        report = inv.import_hosts(parse_hosts("isc", SEED003_INC), "home.4.dhcp.inc")
        assert (sorted(report.added), report.updated) == (["nas", "photosmart"], [])
        # a v6 file adds addresses to the same hosts instead of replacing them
        inv.import_hosts(parse_hosts("isc", "host nas { hardware ethernet 52:54:00:aa:bb:01; fixed-address6 2001:db8::14; }"), "v6.inc")
        nas = inv.view("nas").host
        assert (nas.ipv4, nas.ipv6, nas.bootfile) == ("192.168.2.14", "2001:db8::14", "efi-x64/shim.efi")
        bad = ("host new1 {\n hardware ethernet 52:54:00:00:00:10;\n fixed-address 192.168.2.60;\n}\n"
               "host new2 {\n hardware ethernet 10:60:4b:11:71:34;\n fixed-address 192.168.3.9;\n}\n"
               "host router {\n hardware ethernet 52:54:00:00:00:11;\n}\n")
        with pytest.raises(InventoryError) as exc:
            inv.import_hosts(parse_hosts("isc", bad), "more.inc")
        shown = exc.value.render()
        assert "more.inc: line 9: host 'router' is defined in the config file" in shown
        bad = bad.rsplit("host router", 1)[0]
        with pytest.raises(InventoryError) as exc:
            inv.import_hosts(parse_hosts("isc", bad), "more.inc")
        shown = exc.value.render()
        assert "host 'new2' (more.inc line 5) mac: 10:60:4b:11:71:34 is also the MAC of host 'photosmart'" in shown
        assert "host 'new2' (more.inc line 5) ipv4: 192.168.3.9 is outside every subnet4" in shown
        assert "new1" not in [h.name for h in inv.hosts()]  # nothing half-imported
        dry = inv.import_hosts(parse_hosts("csv", "new3,52:54:00:00:00:12,192.168.2.61\n"), "x.csv", dry_run=True)
        assert dry.added == ["new3"] and "new3" not in [h.name for h in inv.hosts()]
    finally:
        store.close()
