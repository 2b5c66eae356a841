"""ISC dhcpd.conf / dhcpd6.conf import: each seed's own config text answers the seed's clients as dhcpd does.

The expected answers were derived by reading each config with dhcpd's
semantics (dhcpd.conf(5), dhcp-eval(5): the first true arm of an if-chain,
classes contributing, the last statement executed winning), not from the
importer's output.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from bootwright.boot.policy import BootPolicy, ServerContext
from bootwright.boot.validation import validate
from bootwright.config import Config
from bootwright.migrate.isc_conf import import_dhcpd, import_dhcpd6
from bootwright.migrate.result import Imported
from bootwright.model import ClientInfo

DATA = Path(__file__).parents[2] / "data" / "migrate"


def _read(base: Path):  # type: ignore[no-untyped-def]
    def read(path: str) -> str:
        return (base / Path(path).name).read_text()  # seed 003 names /etc/dhcp/…; the copies sit beside it

    return read


def _import(rel: str) -> Imported:
    path = DATA / rel
    load = import_dhcpd6 if path.name.startswith("dhcpd6") else import_dhcpd
    return load(path.read_text(), rel, _read(path.parent))


# Clients as the lab's firmware sends them (PEERS.md, tests/data/*.txt captures).
MAC = "52:54:00:12:34:99"
CLIENTS: dict[str, dict[str, object]] = {
    "seabios-pxe": {"arches": (0,), "vendor_class": "PXEClient:Arch:00000:UNDI:002001"},
    "ipxe-bios": {"arches": (0,), "vendor_class": "PXEClient:Arch:00000:UNDI:002001", "user_classes": ("iPXE",)},
    "uefi-x64": {"arches": (7,), "vendor_class": "PXEClient:Arch:00007:UNDI:003016"},
    "ipxe-efi": {"arches": (7,), "vendor_class": "PXEClient:Arch:00007:UNDI:003010", "user_classes": ("iPXE",)},
    "http-x64": {"arches": (16,), "vendor_class": "HTTPClient:Arch:00016:UNDI:003001"},
    "arm64": {"arches": (11,), "vendor_class": "PXEClient:Arch:00011:UNDI:003000"},
    "uboot-armv7": {"arches": (21,), "vendor_class": "U-Boot.armv7"},
    "uboot-armv8": {"arches": (22,), "vendor_class": "U-Boot.armv8"},
    "plain": {},
}


def _answers(imported: Imported, family: int, subnet: str) -> dict[str, tuple[object, ...]]:
    config = Config.model_validate(imported.config)
    policy = BootPolicy(config, imported.hosts)
    ctx = ServerContext(address=None, subnet=ip_network(subnet))
    out: dict[str, tuple[object, ...]] = {}
    for name, fields in CLIENTS.items():
        client = ClientInfo(family=family, mac=MAC, **fields)  # type: ignore[arg-type]
        answer = policy.decide(client, ctx)
        if family == 4:
            out[name] = (answer.bootfile, answer.next_server, answer.vendor_class)
        else:
            out[name] = (answer.bootfile, answer.vendor_class, answer.vendor_enterprise)
    return out


SEEDS = [
    "seed000/dhcpd6.conf",
    "seed001/dhcpd6.conf",
    "seed002/dhcpd.conf",
    "seed002/dhcpd6.conf",
    "seed003/dhcpd.conf",
    "seed004/dhcpd.conf",
]


@pytest.mark.parametrize("rel", SEEDS)
def test_seed_imports_and_validates(rel: str) -> None:
    imported = _import(rel)
    config = Config.model_validate(imported.config)
    report = validate(config)
    assert not report.errors, [str(p) for p in report.errors]
    assert imported.translated > 0
    assert all(f.line is not None for f in imported.findings), [str(f) for f in imported.findings]


def test_seed000_v6_chain_checks_the_architecture_first() -> None:
    # if arch = 00:07 → ipxe.efi; else if user class iPXE → the demo script (no else: nothing).
    # iPXE EFI (arch 7 and iPXE) gets ipxe.efi again: the seed's loop, faithfully.
    efi = ("tftp://[2001:db8::69]/ipxe.efi", None, None)
    demo = ("http://boot.ipxe.org/demo/boot.php", None, None)
    none = (None, None, None)
    assert _answers(_import("seed000/dhcpd6.conf"), 6, "2001:db8::/64") == {
        "seabios-pxe": none,
        "ipxe-bios": demo,
        "uefi-x64": efi,
        "ipxe-efi": efi,
        "http-x64": none,
        "arm64": none,
        "uboot-armv7": none,
        "uboot-armv8": none,
        "plain": none,
    }


def test_seed001_v6() -> None:
    base = "tftp://[3ffe:501:ffff:100::1]/"
    start = ("http://[3ffe:501:ffff:100::1]/start.ipxe", None, None)
    none = (None, None, None)
    imported = _import("seed001/dhcpd6.conf")
    assert _answers(imported, 6, "3ffe:501:ffff:100::/64") == {
        "seabios-pxe": (base + "undionly.kpxe", None, None),
        "ipxe-bios": start,
        "uefi-x64": (base + "ipxe.efi", None, None),
        "ipxe-efi": start,
        "http-x64": none,
        "arm64": (base + "arm64.efi", None, None),
        "uboot-armv7": none,
        "uboot-armv8": none,
        "plain": none,
    }
    dhcp6 = imported.config["dhcp6"]
    assert (dhcp6["valid_lifetime"], dhcp6["preferred_lifetime"], dhcp6["renew_time"], dhcp6["rebind_time"]) == (
        2592000,
        604800,
        3600,
        7200,
    )
    assert (dhcp6["preference"], dhcp6["info_refresh_time"], dhcp6["rapid_commit"]) == (255, 21600, False)
    assert dhcp6["domain_search"] == ["test.example.com", "example.com"]
    assert imported.config["subnet6"][0]["pools"] == [
        {"start": "3ffe:501:ffff:100::10", "end": "3ffe:501:ffff:100::50"}
    ]
    lines = {f.line: f.action for f in imported.findings}
    assert lines == {5: "ignored", 8: "ignored", 38: "untranslated", 39: "untranslated"}


def test_seed002_v4_classes_and_chain() -> None:
    ns = "192.0.2.1"
    script = "http://192.0.2.1/script.ipxe"
    imported = _import("seed002/dhcpd.conf")
    assert _answers(imported, 4, "192.0.2.0/24") == {
        "seabios-pxe": ("undionly.kpxe", ns, None),
        "ipxe-bios": (script, ns, None),
        "uefi-x64": ("ipxe.efi", ns, None),
        "ipxe-efi": (script, ns, None),
        "http-x64": ("http://192.0.2.1/ipxe.efi", None, "HTTPClient"),
        "arm64": ("undionly.kpxe", ns, None),
        "uboot-armv7": ("undionly.kpxe", None, None),
        "uboot-armv8": ("undionly.kpxe", None, None),
        "plain": ("undionly.kpxe", None, None),
    }
    assert [(r["name"], r.get("final", True)) for r in imported.config["rule"][:2]] == [
        ("pxeclients", False),
        ("httpclients", False),
    ]
    assert [str(f) for f in imported.findings] == [
        "seed002/dhcpd.conf:4: ignored: ddns-update-style none; — no dynamic DNS updates, as in bootwright"
    ]


def test_seed002_v6() -> None:
    u = "http://[2001:db8::1]/"
    t = "tftp://[2001:db8::1]/"
    assert _answers(_import("seed002/dhcpd6.conf"), 6, "2001:db8::/64") == {
        "seabios-pxe": (t + "undionly.kpxe", None, None),
        "ipxe-bios": (u + "script.ipxe", None, None),
        "uefi-x64": (t + "ipxe.efi", None, None),
        "ipxe-efi": (u + "script.ipxe", None, None),
        "http-x64": (u + "ipxe.efi", "HTTPClient", 0),
        "arm64": (t + "undionly.kpxe", None, None),
        "uboot-armv7": (t + "undionly.kpxe", None, None),
        "uboot-armv8": (t + "undionly.kpxe", None, None),
        "plain": (t + "undionly.kpxe", None, None),
    }


def test_seed003_chain_include_and_missing_include() -> None:
    imported = _import("seed003/dhcpd.conf")
    nas, ws = "192.168.2.14", "192.168.2.108"
    shim = ("efi-x64/shim.efi", nas, None)
    gpxe = ("gpxe-undionly.kpxe", nas, None)
    assert _answers(imported, 4, "192.168.2.0/24") == {
        "seabios-pxe": gpxe,
        "ipxe-bios": ("http://192.168.2.14/tftpboot/pxelinux.0", nas, None),
        "uefi-x64": shim,
        "ipxe-efi": shim,
        "http-x64": gpxe,
        "arm64": ("efi-a64/grubaa64.efi", nas, None),
        "uboot-armv7": ("rpi2/boot.conf", ws, None),
        "uboot-armv8": ("rpi3/boot.conf", ws, None),
        "plain": gpxe,
    }
    assert [(h.name, h.macs, h.ipv4) for h in imported.hosts] == [
        ("photosmart", ("10:60:4b:11:71:34",), "192.168.2.53")
    ]
    sub = imported.config["subnet4"][0]
    assert sub["ntp_servers"] == ["ntp.home.kraxel.org"] and sub["domain_name"] == "home.kraxel.org"
    assert imported.config["dhcp4"]["authoritative"] is True
    found = [(f.line, f.action) for f in imported.findings]
    assert found == [(6, "ignored"), (30, "approximated"), (35, "approximated"), (52, "untranslated")]
    assert "xeni.4.dhcp.inc" in imported.findings[-1].statement


def test_seed004_ipxe_space() -> None:
    imported = _import("seed004/dhcpd.conf")
    kpxe = ("undionly.kpxe", "10.1.1.1", None)
    php = ("http://10.1.1.1/boot.php", "10.1.1.1", None)
    answers = _answers(imported, 4, "10.1.1.0/24")
    assert answers == {name: php if name.startswith("ipxe") else kpxe for name in CLIENTS}
    assert imported.config["dhcp4"]["ipxe"] == {"no-pxedhcp": 1}
    assert imported.config["dhcp4"]["allow_bootp"] is True
    assert imported.config["subnet4"][0]["pools"] == [
        {"start": "10.1.1.10", "end": "10.1.1.254", "dynamic_bootp": True}
    ]
    assert [f.line for f in imported.findings] == [6]


def test_own_dhcpd_conf_every_construct() -> None:
    imported = _import("own/dhcpd.conf")
    config = imported.config
    Config.model_validate(config)
    rules = {r["name"]: r for r in config["rule"]}
    assert rules["pxeclients"]["final"] is False and rules["pxeclients"]["next_server"] == "192.0.2.5"
    assert rules["lab-macs"]["match"]["mac"] == ["52:54:00:12:34:56"]
    assert rules["relayed"]["match"]["circuit_id"] == ["eth0/1"] and rules["relayed-2"]["match"]["remote_id"] == [
        "rack-4"
    ]
    assert rules["ignore-quiet"] == {"name": "ignore-quiet", "match": {"family": 4, "host": ["quiet"]}, "ignore": True}
    assert rules["dhcpd-61"]["match"]["ipxe_feature"] == ["https"]
    assert rules["dhcpd-63"]["match"]["known"] is False and rules["dhcpd-63"]["ipxe"] == {"username": "boot"}
    assert rules["dhcpd-68"]["vendor_class"] == "HTTPClient"
    assert rules["dhcpd-71"]["match"]["arch"] == [7, 9]
    assert rules["dhcpd-73"]["match"]["arch"] == [11]
    assert rules["dhcpd-75"]["match"]["mac"] == ["00:00:5e"] and rules["dhcpd-75"]["ignore"] is True
    assert rules["dhcpd-77"]["match"]["client_id"] == ["01:02:00:00:5e:00:53"]
    # option arch != 00:00 and exists arch: arch 0 goes on to the else arm, other arches get other.efi.
    names = [r["name"] for r in config["rule"]]
    assert names[-3:] == ["dhcpd-81", "dhcpd-79", "dhcpd-81-2"]
    assert rules["dhcpd-81"]["match"]["arch"] == [0] and rules["dhcpd-79"]["match"]["no_arch"] is False
    lab, main = config["subnet4"]
    assert lab["routers"] == ["198.51.100.1"]  # from the shared-network
    assert lab["pools"][1]["allow"] == ["rule:lab-macs", "rule:lab-macs-2"]
    assert main["pools"][0] == {
        "start": "192.0.2.100",
        "end": "192.0.2.149",
        "dynamic_bootp": True,
        "deny": ["unknown"],
    }
    assert main["pools"][1]["allow"] == ["rule:relayed", "rule:relayed-2"]
    assert main["options"] == {"66": "192.0.2.1", "17": "iscsi:192.0.2.1::::iqn.2010-04.org.example:disk"}
    assert config["dhcp4"]["domain_search"] == ["example.org", "lab.example.org"]
    hosts = {h.name: h for h in imported.hosts}
    assert (hosts["builder"].next_server, hosts["builder"].bootfile) == ("192.0.2.9", "group.kpxe")
    assert hosts["printer"].options == ((6, "192.0.2.53"),) and hosts["printer"].bootfile == "printer.bin"
    assert {f.line for f in imported.findings} == {12, 13, 14}


def test_own_dhcpd_conf_answers() -> None:
    imported = _import("own/dhcpd.conf")
    policy = BootPolicy(Config.model_validate(imported.config), imported.hosts)
    ctx = ServerContext(subnet=ip_network("192.0.2.0/24"))

    def ask(**fields: object) -> tuple[object, ...]:
        answer = policy.decide(ClientInfo(family=4, mac=MAC, **fields), ctx)  # type: ignore[arg-type]
        return answer.bootfile, answer.next_server

    pxe = "PXEClient:Arch:00000:UNDI:002001"
    assert ask(arches=(0,), vendor_class=pxe) == ("undionly.kpxe", "192.0.2.5")
    assert ask(arches=(9,), vendor_class=pxe) == ("ipxe.efi", "192.0.2.5")
    assert ask(arches=(20,)) == ("other.efi", "192.0.2.1")
    assert ask() == ("undionly.kpxe", "192.0.2.1")
    assert ask(arches=(0,), user_classes=("iPXE",)) == ("http://192.0.2.1/boot.ipxe", "192.0.2.1")


def test_own_dhcpd6_conf_every_construct() -> None:
    imported = _import("own/dhcpd6.conf")
    config = imported.config
    assert not validate(Config.model_validate(config)).errors
    assert config["dhcp6"]["rapid_commit"] is True and config["dhcp6"]["preference"] == 255
    first, second = config["subnet6"]
    assert first["dns"] == ["2001:db8:1::53"] and "temporary" not in first and "pd_pools" not in first
    assert second["pools"] == [{"start": "2001:db8:2::", "end": "2001:db8:2::ffff"}]
    hosts = {h.name: h for h in imported.hosts}
    assert (
        hosts["node1"].duid == bytes.fromhex("000100012a2b2c2d525400aabb04") and hosts["node1"].ipv6 == "2001:db8:1::21"
    )
    assert hosts["node2"].macs == ("52:54:00:aa:bb:05",)
    answers = _answers(imported, 6, "2001:db8:1::/64")
    assert answers["http-x64"] == ("http://[2001:db8:1::1]/ipxe.efi", "HTTPClient", 0)
    assert answers["ipxe-efi"] == ("http://[2001:db8:1::1]/boot.ipxe", None, None)
    assert answers["arm64"] == ("tftp://[2001:db8:1::1]/ipxe-arm64.efi", None, None)
    assert answers["plain"] == (None, None, None)
    assert [(f.line, f.action) for f in imported.findings] == [
        (16, "ignored"),
        (17, "ignored"),
        (21, "untranslated"),
        (22, "untranslated"),
    ]


def test_untranslated_constructs_are_findings_with_lines() -> None:
    text = (
        "option foo code 250 = text;\n"  # 1
        'failover peer "x" { primary; }\n'  # 2
        "min-lease-time 60;\n"  # 3
        "subnet 192.0.2.0 netmask 255.255.255.0 {\n"  # 4
        '  if option host-name = "a" { filename "a"; }\n'  # 5
        '  elsif substring(option vendor-class-identifier, 0, 9) = "PXEClient" {\n'  # 6
        "    option routers 192.0.2.1;\n"  # 7
        '    filename "b";\n'  # 8
        "  }\n"
        "  next-server boot.example.org;\n"  # 10
        "}\n"
        'include "missing.conf";\n'  # 12
    )

    def read(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", path)

    imported = import_dhcpd(text, "site.conf", read)
    Config.model_validate(imported.config)
    assert sorted((f.line, f.action) for f in imported.findings) == [
        (2, "untranslated"),
        (3, "untranslated"),
        (5, "untranslated"),
        (7, "untranslated"),
        (10, "untranslated"),
        (12, "untranslated"),
    ]
    assert all(str(f).startswith("site.conf:") for f in imported.findings)
    rule = imported.config["rule"][0]
    assert rule["match"]["vendor_class"] == ["PXEClient"] and rule["bootfile"] == "b"
    assert import_dhcpd('include "x";', "a.conf").findings[0].message.startswith("the included file was not read")


def test_substring_tests_of_the_first_architecture_and_user_class_entry() -> None:
    """The idioms many dhcpd.conf files (and `bootwright export`) write for array options."""
    v4 = import_dhcpd(
        "option arch code 93 = array of unsigned integer 16;\n"
        "subnet 192.0.2.0 netmask 255.255.255.0 {\n"
        "  range 192.0.2.10 192.0.2.20;\n"
        '  if substring(option arch, 0, 2) = 00:07 { filename "ipxe.efi"; }\n'
        "}\n",
        "dhcpd.conf",
    )
    assert not [f for f in v4.findings if f.action == "untranslated"], v4.findings
    (rule,) = v4.config["rule"]
    assert rule["match"]["arch"] == [7] and rule["bootfile"] == "ipxe.efi"
    v6 = import_dhcpd6(
        "option dhcp6.user-class code 15 = string;\n"
        "subnet6 2001:db8::/64 {\n"
        '  if substring(option dhcp6.user-class, 0, 6) = 00:04:69:50:58:45 {\n'
        '    option dhcp6.bootfile-url "http://[2001:db8::1]/boot.ipxe";\n'
        "  }\n"
        "}\n",
        "dhcpd6.conf",
    )
    assert not [f for f in v6.findings if f.action == "untranslated"], v6.findings
    (rule,) = v6.config["rule"]
    assert rule["match"]["user_class"] == ["iPXE"]
