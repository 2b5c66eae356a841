"""The boot decision on its own: built-in table, rule semantics, hosts, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.boot.policy import ARCH_TABLE, BootPolicy, ServerContext, is_boot_client, platform_of
from bootwright.config import parse_config
from bootwright.model import ClientInfo

CTX4 = ServerContext(address="192.0.2.1")
CTX6 = ServerContext(address="2001:db8::1", http_port=8080)


def policy(text: str = "") -> BootPolicy:
    return BootPolicy.from_config(parse_config(text))


def test_arch_table_covers_the_registry_and_seed_codes() -> None:
    assert set(range(0, 42)) <= set(ARCH_TABLE)
    assert ARCH_TABLE[0].file == "undionly.kpxe"
    assert ARCH_TABLE[6].file == "ipxe32.efi"
    assert ARCH_TABLE[7].file == ARCH_TABLE[9].file == "ipxe.efi"
    assert ARCH_TABLE[11].file and "arm64" in ARCH_TABLE[11].file
    assert ARCH_TABLE[15].http and ARCH_TABLE[16].http and ARCH_TABLE[18].http and ARCH_TABLE[19].http


def test_builtin_pxe_v4_sets_next_server() -> None:
    ans = policy().decide(ClientInfo(family=4, arches=(7,)), CTX4)
    assert (ans.rule, ans.bootfile, ans.next_server) == ("builtin:pxe", "ipxe.efi", "192.0.2.1")


def test_builtin_v6_urls_bracket_the_address_and_keep_ports() -> None:
    p = policy()
    assert p.decide(ClientInfo(family=6, arches=(7,)), CTX6).bootfile == "tftp://[2001:db8::1]/ipxe.efi"
    http = p.decide(ClientInfo(family=6, arches=(16,), vendor_enterprise=343), CTX6)
    assert http.bootfile == "http://[2001:db8::1]:8080/ipxe.efi"
    assert (http.vendor_class, http.vendor_enterprise) == ("HTTPClient", 343)


def test_builtin_http_by_vendor_class_without_arch_code() -> None:
    ans = policy().decide(ClientInfo(family=4, arches=(7,), vendor_class="HTTPClient:Arch:00007"), CTX4)
    assert ans.rule == "builtin:http" and ans.vendor_class == "HTTPClient"


def test_builtin_ipxe_points_at_entry_script() -> None:
    ans = policy().decide(ClientInfo(family=4, arches=(0,), user_classes=("iPXE",)), CTX4)
    assert ans.bootfile == "http://192.0.2.1/boot.ipxe"


def test_arch_without_boot_program_warns() -> None:
    ans = policy().decide(ClientInfo(family=4, arches=(31,)), CTX4)
    assert ans.bootfile is None and any("boot.files.31" in w for w in ans.warnings)


def test_boot_files_override() -> None:
    ans = policy('[boot]\nfiles = { "11" = "arm64/snp.efi" }\n').decide(ClientInfo(family=4, arches=(11,)), CTX4)
    assert ans.bootfile == "arm64/snp.efi"


def test_first_final_rule_wins_and_classes_accumulate() -> None:
    p = policy(
        """
[[rule]]
name = "cls"
match = { vendor_class = "PXEClient" }
next_server = "192.0.2.9"
final = false
[[rule]]
name = "a"
match = { arch = 7 }
bootfile = "a.efi"
[[rule]]
name = "b"
match = { arch = 7 }
bootfile = "b.efi"
"""
    )
    ans = p.decide(ClientInfo(family=4, arches=(7,), vendor_class="PXEClient:Arch:00007"), CTX4)
    assert (ans.rule, ans.bootfile, ans.next_server) == ("a", "a.efi", "192.0.2.9")


def test_host_match_group_and_override() -> None:
    p = policy(
        """
[[host]]
name = "db1"
mac = "52:54:00:00:00:01"
groups = ["db"]
bootfile = "special.efi"
[[rule]]
name = "db"
match = { group = "db" }
bootfile = "db.efi"
[[rule]]
name = "unknown"
match = { known = false }
bootfile = "unknown.efi"
"""
    )
    known = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:01"), CTX4)
    assert (known.host, known.rule, known.bootfile) == ("db1", "db", "special.efi")
    other = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:02"), CTX4)
    assert (other.host, other.rule, other.bootfile) == (None, "unknown", "unknown.efi")


def test_host_by_duid_for_v6() -> None:
    p = policy('[[host]]\nname = "h"\nduid = "00:03:00:01:52:54:00:00:00:09"\n')
    ans = p.decide(ClientInfo(family=6, duid=bytes.fromhex("0003000152540000000" + "9")), CTX6)
    assert ans.host == "h"


def test_mac_prefix_match() -> None:
    p = policy('[[rule]]\nname = "qemu"\nmatch = { mac = "52:54:00" }\nbootfile = "q"\n')
    assert p.decide(ClientInfo(family=4, mac="52:54:00:01:02:03"), CTX4).rule == "qemu"
    assert p.decide(ClientInfo(family=4, mac="52:55:00:01:02:03"), CTX4).rule != "qemu"


def test_no_arch_match() -> None:
    p = policy('[boot]\nbuiltin = false\n[[rule]]\nname = "none"\nmatch = { no_arch = true }\nbootfile = "x"\n')
    assert p.decide(ClientInfo(family=4), CTX4).rule == "none"
    assert p.decide(ClientInfo(family=4, arches=(0,)), CTX4).rule is None


def test_platform_of() -> None:
    assert platform_of(ClientInfo(family=4, arches=(0,))) == "pcbios"
    assert platform_of(ClientInfo(family=4, arches=(7,))) == "efi"
    assert platform_of(ClientInfo(family=4, arches=(7,), platform="pcbios")) == "pcbios"
    assert platform_of(ClientInfo(family=4)) is None


clients = st.builds(
    ClientInfo,
    family=st.sampled_from([4, 6]),
    mac=st.one_of(st.none(), st.sampled_from(["52:54:00:00:00:01", "10:60:4b:11:71:34"])),
    arches=st.lists(st.integers(0, 0xFFFF), max_size=3).map(tuple),
    vendor_class=st.one_of(st.none(), st.text(max_size=40)),
    user_classes=st.lists(st.sampled_from(["iPXE", "gPXE", "x", ""]), max_size=2).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(clients)
def test_decide_never_raises_on_any_client(client: ClientInfo) -> None:
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.toml")):
        p = BootPolicy.from_config(parse_config(path.read_text()))
        ans = p.decide(client, CTX4 if client.family == 4 else CTX6)
        assert ans.family == client.family


def test_a_plain_os_client_gets_no_boot_file_from_the_builtin_table() -> None:
    """No vendor class PXEClient/HTTPClient, no user class iPXE, no architecture: not booting (dhcpd/dnsmasq)."""
    p = policy()
    for client in (
        ClientInfo(family=4, mac="52:54:00:00:00:01"),
        ClientInfo(family=4, mac="52:54:00:00:00:01", vendor_class="MSFT 5.0"),
        ClientInfo(family=4, mac="52:54:00:00:00:01", user_classes=("systemd",)),
        ClientInfo(family=6, mac="52:54:00:00:00:01"),
    ):
        ans = p.decide(client, CTX4 if client.family == 4 else CTX6)
        assert (ans.rule, ans.bootfile, ans.vendor_class, ans.script) == ("builtin:not-booting", None, None, None)
        assert ans.warnings == ()


@pytest.mark.parametrize(
    ("client", "rule"),
    [
        (ClientInfo(family=4, vendor_class="PXEClient:Arch:00000:UNDI:002001"), "builtin:default"),
        (ClientInfo(family=4, vendor_class="HTTPClient"), "builtin:http"),
        (ClientInfo(family=4, user_classes=("iPXE",)), "builtin:ipxe"),
        (ClientInfo(family=4, arches=(7,)), "builtin:pxe"),
        (ClientInfo(family=6, vendor_class="PXEClient"), "builtin:default"),
    ],
)
def test_each_boot_signal_alone_reaches_the_builtin_table(client: ClientInfo, rule: str) -> None:
    assert is_boot_client(client)
    ans = policy().decide(client, CTX4 if client.family == 4 else CTX6)
    assert ans.rule == rule and ans.bootfile is not None


def test_rules_and_hosts_still_decide_for_a_plain_client() -> None:
    p = policy(
        """
[[host]]
name = "thin"
mac = "52:54:00:00:00:07"
bootfile = "thin.img"
[[rule]]
name = "qemu"
match = { mac = "52:54:00:00:00:08" }
bootfile = "q.efi"
"""
    )
    assert p.decide(ClientInfo(family=4, mac="52:54:00:00:00:07"), CTX4).bootfile == "thin.img"
    assert p.decide(ClientInfo(family=4, mac="52:54:00:00:00:08"), CTX4).bootfile == "q.efi"
    assert p.decide(ClientInfo(family=4, mac="52:54:00:00:00:09"), CTX4).bootfile is None
