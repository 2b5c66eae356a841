"""Every branch of every seed's if/else chain, asserted through ``bootwright explain --json``.

Each row is one client (family, flags) and the answer the seed's own
dhcpd/dhcpd6 configuration gives it. The examples in ``examples/`` must give
the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootwright.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MAC = "52:54:00:12:34:56"
PXE0 = "PXEClient:Arch:00000:UNDI:002001"
PXE6 = "PXEClient:Arch:00006:UNDI:003016"
PXE7 = "PXEClient:Arch:00007:UNDI:003016"
HTTP15 = "HTTPClient:Arch:00015:UNDI:003000"
HTTP16 = "HTTPClient:Arch:00016:UNDI:003000"
HTTP19 = "HTTPClient:Arch:00019:UNDI:003000"

runner = CliRunner()


def explain(example: str, family: int, *args: str, mac: str = MAC) -> dict[str, Any]:
    """Run ``bootwright explain --json`` in-process and parse its output."""
    result = runner.invoke(
        app, ["explain", "--config", str(EXAMPLES / example), "--family", str(family), "--mac", mac, "--json", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def flags(arch: int | None = None, vc: str | None = None, uc: str | None = None) -> list[str]:
    out: list[str] = []
    if arch is not None:
        out += ["--arch", str(arch)]
    if vc is not None:
        out += ["--vendor-class", vc]
    if uc is not None:
        out += ["--user-class", uc]
    return out


# (example, family, flags, rule, bootfile, next_server, vendor_class)
BRANCHES = [
    # seed 000: iPXE, then arch 7; nothing for anyone else
    ("seed000-ipv6-ipxe.toml", 6, flags(7), "uefi-pxe", "tftp://[2001:db8::69]/ipxe.efi", None, None),
    ("seed000-ipv6-ipxe.toml", 6, flags(uc="iPXE"), "ipxe", "http://boot.ipxe.org/demo/boot.php", None, None),
    # the seed tests the architecture before the user class, so today's iPXE-on-EFI (arch 7 and user class
    # iPXE) would get ipxe.efi again, forever; the example puts the iPXE rule first and breaks the loop
    ("seed000-ipv6-ipxe.toml", 6, flags(7, uc="iPXE"), "ipxe", "http://boot.ipxe.org/demo/boot.php", None, None),
    ("seed000-ipv6-ipxe.toml", 6, flags(0), None, None, None, None),
    # seed 001: iPXE first, then the architecture chain, else nothing
    ("seed001-ipv6-menu.toml", 6, flags(uc="iPXE"), "ipxe", "http://[3ffe:501:ffff:100::1]/start.ipxe", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(0), "bios", "tftp://[3ffe:501:ffff:100::1]/undionly.kpxe", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(6), "efi-x86", "tftp://[3ffe:501:ffff:100::1]/ipxe.efi", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(7), "efi-x64", "tftp://[3ffe:501:ffff:100::1]/ipxe.efi", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(9), "efi-x64-obsolete", "tftp://[3ffe:501:ffff:100::1]/ipxe.efi", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(10), "efi-arm32", "tftp://[3ffe:501:ffff:100::1]/ipxe.efi", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(11), "efi-arm64", "tftp://[3ffe:501:ffff:100::1]/arm64.efi", None, None),
    ("seed001-ipv6-menu.toml", 6, flags(16), None, None, None, None),
    # seed 002, DHCPv4: classes add next-server / the HTTPClient echo, then the chain
    ("seed002-showmax.toml", 4, flags(0, PXE0, "iPXE"), "ipxe", "http://192.0.2.1/script.ipxe", "192.0.2.1", None),
    ("seed002-showmax.toml", 4, flags(uc="iPXE"), "ipxe", "http://192.0.2.1/script.ipxe", None, None),
    ("seed002-showmax.toml", 4, flags(15, HTTP15), "http-x86", "http://192.0.2.1/ipxe32.efi", None, "HTTPClient"),
    ("seed002-showmax.toml", 4, flags(16, HTTP16), "http-x64", "http://192.0.2.1/ipxe.efi", None, "HTTPClient"),
    ("seed002-showmax.toml", 4, flags(19, HTTP19), "http-other", None, None, "HTTPClient"),
    ("seed002-showmax.toml", 4, flags(6, PXE6), "efi-x86", "ipxe32.efi", "192.0.2.1", None),
    ("seed002-showmax.toml", 4, flags(7, PXE7), "efi-x64", "ipxe.efi", "192.0.2.1", None),
    ("seed002-showmax.toml", 4, flags(0, PXE0), "legacy-pxe", "undionly.kpxe", "192.0.2.1", None),
    ("seed002-showmax.toml", 4, flags(0), "legacy-pxe", "undionly.kpxe", None, None),
    # seed 002, DHCPv6
    ("seed002-showmax.toml", 6, flags(uc="iPXE"), "ipxe6", "http://[2001:db8::1]/script.ipxe", None, None),
    ("seed002-showmax.toml", 6, flags(6), "efi-x86-6", "tftp://[2001:db8::1]/ipxe32.efi", None, None),
    ("seed002-showmax.toml", 6, flags(7), "efi-x64-6", "tftp://[2001:db8::1]/ipxe.efi", None, None),
    ("seed002-showmax.toml", 6, flags(15), "http-x86-6", "http://[2001:db8::1]/ipxe32.efi", None, "HTTPClient"),
    ("seed002-showmax.toml", 6, flags(16), "http-x64-6", "http://[2001:db8::1]/ipxe.efi", None, "HTTPClient"),
    ("seed002-showmax.toml", 6, flags(0), "bios6", "tftp://[2001:db8::1]/undionly.kpxe", None, None),
    ("seed002-showmax.toml", 6, flags(), "bios6", "tftp://[2001:db8::1]/undionly.kpxe", None, None),
    # seed 003: the architecture, then U-Boot vendor classes, then iPXE/gPXE, else gPXE chainload
    ("seed003-home-lab.toml", 4, flags(11), "efi-aarch64", "efi-a64/grubaa64.efi", "192.168.2.14", None),
    ("seed003-home-lab.toml", 4, flags(9), "efi-x64-ipxe", "efi-x64/shim.efi", "192.168.2.14", None),
    ("seed003-home-lab.toml", 4, flags(7), "efi-x64-ovmf", "efi-x64/shim.efi", "192.168.2.14", None),
    ("seed003-home-lab.toml", 4, flags(vc="U-Boot.armv8"), "rpi3", "rpi3/boot.conf", "192.168.2.108", None),
    ("seed003-home-lab.toml", 4, flags(vc="U-Boot.armv7"), "rpi2", "rpi2/boot.conf", "192.168.2.108", None),
    (
        "seed003-home-lab.toml", 4, flags(0, uc="iPXE"), "bios-ipxe",
        "http://192.168.2.14/tftpboot/pxelinux.0", "192.168.2.14", None,
    ),
    (
        "seed003-home-lab.toml", 4, flags(uc="gPXE"), "bios-ipxe",
        "http://192.168.2.14/tftpboot/pxelinux.0", "192.168.2.14", None,
    ),
    ("seed003-home-lab.toml", 4, flags(0), "bios-chainload", "gpxe-undionly.kpxe", "192.168.2.14", None),
    # seed 004: iPXE gets the script, everyone else undionly.kpxe; global next-server
    ("seed004-chainload.toml", 4, flags(0, PXE0, "iPXE"), "ipxe", "http://10.1.1.1/boot.php", "10.1.1.1", None),
    ("seed004-chainload.toml", 4, flags(0, PXE0), "pxe", "undionly.kpxe", "10.1.1.1", None),
]


@pytest.mark.parametrize(("example", "family", "args", "rule", "bootfile", "next_server", "vendor_class"), BRANCHES)
def test_seed_branch(
    example: str,
    family: int,
    args: list[str],
    rule: str | None,
    bootfile: str | None,
    next_server: str | None,
    vendor_class: str | None,
) -> None:
    got = explain(example, family, *args)
    assert got["family"] == family
    assert got["rule"] == rule
    assert got["bootfile"] == bootfile
    assert got["next_server"] == next_server
    assert got["vendor_class"] == vendor_class
    if bootfile is not None:
        assert got["options"]["67" if family == 4 else "59"] == bootfile
    else:
        assert ("67" if family == 4 else "59") not in got["options"]
    if vendor_class is not None:
        assert got["options"]["60" if family == 4 else "16"].endswith(vendor_class)


def test_seed000_stateless_options() -> None:
    got = explain("seed000-ipv6-ipxe.toml", 6, *flags(7))
    assert got["options"]["23"] == "2001:4860:4860::8888"
    assert "3" not in got["options"]  # no range6: stateless, no IA_NA
    assert got["script"] is None


def test_seed000_ipxe_script_is_not_ours() -> None:
    assert explain("seed000-ipv6-ipxe.toml", 6, *flags(uc="iPXE"))["script"] is None


def test_seed001_options_and_menu() -> None:
    got = explain("seed001-ipv6-menu.toml", 6, *flags(uc="iPXE"))
    opts = got["options"]
    assert opts["7"] == "255"
    assert opts["23"] == "2001:4860:4860::8888"
    assert opts["24"] == "test.example.com, example.com"
    assert "3ffe:501:ffff:100::10-3ffe:501:ffff:100::50" in opts["3"]
    assert "T1 3600, T2 7200" in opts["3"]
    script = got["script"]
    assert script.startswith("#!ipxe\n")
    assert "set boot-url http://[3ffe:501:ffff:100::1]" in script
    assert "item --key 0 localhdd [0] Local HDD" in script
    assert "item --key 2 linux [2] Linux Install" in script
    assert "choose --default localhdd --timeout 30000 target && goto ${target}" in script
    assert ":localhdd\nexit\n" in script
    assert "menu Linux Menu\nitem redhat74 RedHat74" in script
    # The EFI branch adds the IPv6 install options; both keep initrd= for the EFI stub.
    assert "iseq ${platform} efi && goto redhat74-efi || goto redhat74-pcbios" in script
    efi = script.split(":redhat74-efi\n")[1].split(":redhat74-pcbios")[0]
    legacy = script.split(":redhat74-pcbios\n")[1]
    assert "noipv4 ip=dhcp6" in efi and "initrd=initrd.img" in efi
    assert "noipv4" not in legacy and "initrd=initrd.img" in legacy


def test_seed002_v6_http_boot_echo_enterprise_zero() -> None:
    got = explain("seed002-showmax.toml", 6, *flags(16))
    assert got["options"]["16"] == "enterprise 0: HTTPClient"
    assert got["options"]["23"] == "2001:db8::1"
    assert "2001:db8::1:0-2001:db8::1:ffff" in got["options"]["3"]


def test_seed002_v4_options() -> None:
    opts = explain("seed002-showmax.toml", 4, *flags(7, PXE7))["options"]
    assert opts["1"] == "255.255.255.0"
    assert opts["3"] == "192.0.2.1"
    assert opts["6"] == "192.0.2.1"
    assert opts["51"] == "600"
    assert opts["54"] == "192.0.2.1"


def test_seed002_menu_script() -> None:
    script = explain("seed002-showmax.toml", 4, *flags(0, PXE0, "iPXE"))["script"]
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    assert "isset ${kbmap} || set kbmap us" in lines
    assert "cpuid --ext 29 && set bitn 64 || set bitn 32" in lines
    # per-MAC script first, over IPv4 then next to the DHCPv6 boot file
    assert lines.index(
        "chain --autofree http://${next-server}/script.ipxe-${netX/mac} && goto showmax-menu || goto bw-chain-1"
    ) < lines.index(":showmax-menu")
    assert "chain --autofree ${netX.dhcpv6/filename}-${netX/mac} && goto showmax-menu || goto showmax-menu" in lines
    assert "iseq ${platform} efi && goto showmax-menu-efi || goto showmax-menu-pcbios" in lines
    efi = script.split(":showmax-menu-efi\n")[1].split(":showmax-menu-pcbios")[0]
    bios = script.split(":showmax-menu-pcbios\n")[1].split(":showmax\n")[0]
    assert "item efishell EFI shell" in efi
    assert "efishell" not in bios  # the seed hides the EFI shell on BIOS
    for menu in (efi, bios):
        assert "choose --default showmax --timeout 5000 target && goto ${target} || goto showmax-menu" in menu
    assert (
        "kernel showmax/vmlinuz initrd=initrd.img fetch=http://local-server/stretch/filesystem.squashfs "
        "live-media-path=/ boot=live noprompt noeject live-config.username=root BOOTIF=01-${netX/mac:hexhyp}"
    ) in lines
    assert "initrd showmax/initrd.img" in lines
    assert "chain --autofree efishell/efishell.efi || goto bw-failed" in lines
    assert ":ipxeconfig" in lines and "config" in lines
    failed = script.split(":bw-failed\n")[1]
    assert failed.startswith("echo Last menu item boot failed.")
    assert "sleep 10\ngoto showmax-menu" in failed


def test_seed002_v6_ipxe_gets_same_menu() -> None:
    v4 = explain("seed002-showmax.toml", 4, *flags(uc="iPXE"))["script"]
    v6 = explain("seed002-showmax.toml", 6, *flags(uc="iPXE"))["script"]
    assert v4 == v6


def test_seed003_static_host() -> None:
    got = explain("seed003-home-lab.toml", 4, *flags(0), mac="10:60:4B:11:71:34")
    assert got["host"] == "photosmart"
    assert got["subnet"] == "192.168.2.0/24"
    opts = got["options"]
    assert opts["12"] == "photosmart"
    assert opts["15"] == "home.kraxel.org"
    # The server resolves NTP server names at start and leaves out those it cannot resolve; so does explain.
    if "42" not in opts:
        assert any("ntp.home.kraxel.org" in w for w in got["warnings"])
    assert opts["51"] == "86400"
    assert opts["3"] == "192.168.2.1"


def test_seed003_ipxe_script_is_not_ours() -> None:
    # pxelinux.0 on another machine is a file, not a script bootwright renders
    assert explain("seed003-home-lab.toml", 4, *flags(uc="iPXE"))["script"] is None


def test_seed004_ipxe_options_and_script() -> None:
    got = explain("seed004-chainload.toml", 4, *flags(0, PXE0, "iPXE"))
    opts = got["options"]
    assert opts["175"] == "no-pxedhcp(176)=1"
    assert opts["15"] == "higaknowit.com"
    assert opts["51"] == "600"
    script = got["script"]
    assert "dhcp net0\nset 209:string pxelinux.cfg/default\nset 210:string http://10.1.1.1/\n" in script
    assert "chain ${210:string}pxelinux.0" in script


def test_seed004_pxe_gets_ipxe_options_too() -> None:
    # option ipxe.no-pxedhcp is global in the seed: every reply carries it
    assert explain("seed004-chainload.toml", 4, *flags(0, PXE0))["options"]["175"] == "no-pxedhcp(176)=1"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_passes_check(example: str) -> None:
    result = runner.invoke(app, ["check", "--config", str(EXAMPLES / example)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
