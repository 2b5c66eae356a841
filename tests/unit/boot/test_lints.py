"""The rule lints of ``check``/``serve``/reload: shadowed rules, missing boot files, family mismatches, HTTPClient."""

from __future__ import annotations

import pytest

from bootwright.boot.lints import Located, family_mismatches, http_boot_without_echo, missing_boot_files
from bootwright.boot.validation import validate
from bootwright.config import Config, parse_model

DUAL = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[[subnet6]]
prefix = "2001:db8::/64"
pools = ["2001:db8::100-2001:db8::1ff"]
"""

V4 = """
[server]
address4 = "192.0.2.1"

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]
"""


def rule(name: str, match: str = "{}", **fields: str | bool) -> str:
    text = f'\n[[rule]]\nname = "{name}"\nmatch = {match}\n'
    for key, value in fields.items():
        shown = str(value).lower() if isinstance(value, bool) else f'"{value}"'
        text += f"{key} = {shown}\n"
    return text


def config(text: str) -> Config:
    return parse_model(text, "site.toml")


def warnings(text: str) -> list[str]:
    report = validate(config(text), text=text)
    assert report.ok, report.errors
    return [str(p) for p in report.warnings]


def shadowing(text: str) -> list[str]:
    return [w for w in warnings(text) if "can never match" in w]


# --------------------------------------------------------------------------- 1. shadowed rules


def test_the_narrower_rule_after_the_wider_final_one_is_named_with_both_rules_and_the_reason() -> None:
    text = (
        V4
        + rule("efi", "{ arch = [7] }", bootfile="ipxe.efi", final=True)
        + rule("efi-ipxe", '{ arch = [7], user_class = ["iPXE"] }', bootfile="{http}/boot.ipxe")
    )
    [found] = shadowing(text)
    assert found.startswith(
        "rule[1]: rule 'efi-ipxe' can never match: rule 'efi' (rule[0], earlier, final) matches every client it "
        "matches (arch = [7]); put the narrower rule first, or set final = false on 'efi'"
    )
    # The narrower rule first: nothing is shadowed.
    i = text.index("\n[[rule]]")
    j = text.index('\n[[rule]]\nname = "efi-ipxe"')
    assert shadowing(text[:i] + text[j:] + text[i:j]) == []


def test_a_shadowed_rule_gets_the_line_of_its_table() -> None:
    text = V4 + rule("all", bootfile="a") + rule("bios", "{ arch = [0] }", bootfile="b")
    report = validate(config(text), text=text)
    [problem] = [p for p in report.warnings if "can never match" in p.message]
    lines = text.splitlines()
    second = lines.index("[[rule]]", lines.index("[[rule]]") + 1)
    assert problem.path == "rule[1]" and problem.line == second + 1  # the second [[rule]] header, 1-based
    assert "rule 'all' (rule[0], earlier, final) has no conditions and answers every client first" in problem.message


@pytest.mark.parametrize(
    ("earlier", "later", "shadowed"),
    [
        ("{}", "{ arch = [0] }", True),
        ("{ family = 4 }", "{ family = 4, arch = [0] }", True),
        ("{ family = 4 }", "{ arch = [0] }", False),  # answers DHCPv6 clients too
        ("{ family = 6 }", '{ subnet = ["192.0.2.0/25"] }', False),
        ("{ family = 4 }", '{ subnet = ["192.0.2.0/25"] }', True),  # an IPv4 subnet is family 4
        ("{ arch = [7, 9] }", "{ arch = [7] }", True),
        ("{ arch = [7] }", "{ arch = [7, 9] }", False),  # a client sending only 9
        ('{ arch = [7], user_class = ["iPXE"] }', "{ arch = [7] }", False),
        ('{ vendor_class = "PXEClient" }', '{ vendor_class = "PXEClient:Arch:00007" }', True),
        ('{ vendor_class = "PXEClient:Arch:00007" }', '{ vendor_class = "PXEClient" }', False),
        ('{ vendor_class = ["PXE", "HTTP"] }', '{ vendor_class = ["PXEClient", "HTTPClient"] }', True),
        ('{ user_class = ["iPXE", "gPXE"] }', '{ user_class = ["iPXE"] }', True),
        ('{ mac = "52:54:00" }', '{ mac = "52-54-00-12" }', True),
        ('{ mac = "52:54:00:12" }', '{ mac = "52:54:00" }', False),
        ('{ subnet = ["192.0.2.0/24"] }', '{ subnet = ["192.0.2.128/25"] }', True),
        ('{ subnet = ["192.0.2.128/25"] }', '{ subnet = ["192.0.2.0/24"] }', False),
        ("{ known = true }", '{ host = ["web1"] }', True),
        ("{ known = true }", '{ group = ["lab"] }', True),
        ("{ known = true }", "{ known = false }", False),
        ('{ group = ["lab", "rack"] }', '{ group = ["lab"] }', True),
        ('{ host = ["web1"] }', '{ host = ["web1", "web2"] }', False),
        ("{ no_arch = false }", "{ arch = [7] }", True),
        ("{ no_arch = true }", "{ arch = [7] }", False),
        ('{ circuit_id = ["eth0/1", "ge-0/0/1"] }', '{ circuit_id = ["eth0/1"] }', True),
        ('{ remote_id = ["61:62"] }', '{ remote_id = ["ab"] }', True),  # hex octets and text compared as bytes
        ('{ client_id = ["x"] }', '{ client_id = ["y"] }', False),
        ('{ ipxe_feature = ["https"] }', '{ ipxe_feature = ["https", "efi"] }', True),  # all must be present
        ('{ ipxe_feature = ["https", "efi"] }', '{ ipxe_feature = ["https"] }', False),
        ("{ arch = [7] }", "{}", False),
    ],
)
def test_which_earlier_final_rules_shadow_a_later_one(earlier: str, later: str, shadowed: bool) -> None:
    text = V4 + rule("first", earlier, bootfile="{http}/a.ipxe") + rule("second", later, bootfile="{http}/b.ipxe")
    assert bool(shadowing(text)) is shadowed


def test_only_final_and_ignore_rules_shadow() -> None:
    later = rule("bios", "{ arch = [0] }", bootfile="{http}/b.ipxe")
    assert shadowing(V4 + rule("tag", bootfile="{http}/a.ipxe", final=False) + later) == []
    [found] = shadowing(
        V4
        + rule("drop", '{ mac = "52:54:00" }', ignore=True, final=False)
        + rule("vm", '{ mac = "52:54:00:12" }', bootfile="{http}/b.ipxe")
    )
    assert "rule 'drop' (rule[0], earlier, final, ignore = true)" in found


def test_a_rule_a_pool_only_classifies_with_is_not_reported() -> None:
    pool = V4.replace(
        'pools = ["192.0.2.100-192.0.2.199"]',
        'pools = [{ start = "192.0.2.100", end = "192.0.2.199", allow = ["rule:vms"] }]',
    )
    text = pool + rule("all", bootfile="{http}/a.ipxe") + rule("vms", '{ mac = "52:54:00" }', final=False)
    assert shadowing(text) == []
    # ... but one that also sets part of the answer is: that part is never given.
    assert shadowing(text.replace("final = false", 'final = false\nbootfile = "{http}/b.ipxe"'))


def test_each_shadowed_rule_is_reported_once_against_the_first_rule_that_shadows_it() -> None:
    text = (
        V4
        + rule("a", "{ arch = [0, 7] }", bootfile="x")
        + rule("b", "{ arch = [7] }", bootfile="y")
        + rule("c", "{ arch = [7], known = true }", bootfile="z")
    )
    found = shadowing(text)
    assert len(found) == 2 and all("rule 'a' (rule[0]" in w for w in found)


# --------------------------------------------------------------------------- 3. address families


def family(text: str) -> list[str]:
    return [str(p) for p in family_mismatches(config(text))]


@pytest.mark.parametrize(
    ("base", "match", "bootfile", "needle"),
    [
        (
            DUAL,
            "{}",
            "http://192.0.2.1/boot.ipxe",
            "can answer DHCPv6 clients, but http://192.0.2.1/boot.ipxe names the IPv4 address 192.0.2.1",
        ),
        (DUAL, "{ family = 6 }", "tftp://192.0.2.1/ipxe.efi", "names the IPv4 address 192.0.2.1"),
        (
            DUAL,
            "{ family = 4 }",
            "http://[2001:db8::1]/boot.ipxe",
            "can answer DHCPv4 clients, but http://[2001:db8::1]/boot.ipxe names the IPv6 address 2001:db8::1",
        ),
        (
            DUAL,
            "{ family = 6 }",
            "ipxe.efi",
            "'ipxe.efi' is not a URL: DHCPv6 option 59 must be one (RFC 5970 §3.1); write \"{tftp}/ipxe.efi\"",
        ),
        (DUAL, "{}", "/pxelinux.0", '"{tftp}/pxelinux.0"'),
    ],
)
def test_boot_files_a_client_of_the_family_cannot_use_warn(base: str, match: str, bootfile: str, needle: str) -> None:
    found = family(base + rule("r", match, bootfile=bootfile))
    assert len(found) == 1 and found[0].startswith("rule[0].bootfile: rule 'r' ") and needle in found[0]


@pytest.mark.parametrize(
    ("base", "match", "bootfile"),
    [
        (DUAL, "{ family = 4 }", "http://192.0.2.1/boot.ipxe"),
        (DUAL, "{ family = 6 }", "http://[2001:db8::1]/boot.ipxe"),
        (DUAL, '{ subnet = ["192.0.2.0/24"] }', "http://192.0.2.1/boot.ipxe"),  # an IPv4 subnet: DHCPv4 only
        (DUAL, "{}", "{http}/boot.ipxe"),  # our address in the client's family
        (DUAL, "{}", "http://{server}/boot.ipxe"),
        (DUAL, "{}", "http://boot.example/boot.ipxe"),  # a name: DNS may have both
        (DUAL, "{ family = 4 }", "pxelinux.0"),
        (V4, "{}", "pxelinux.0"),  # no [[subnet6]]: the rule answers DHCPv4 only
        (V4, "{}", "http://192.0.2.1/boot.ipxe"),
    ],
)
def test_boot_files_that_fit_the_family_do_not_warn(base: str, match: str, bootfile: str) -> None:
    assert family(base + rule("r", match, bootfile=bootfile)) == []


def test_a_dhcp6_rule_with_dhcp6_off_does_not_warn() -> None:
    assert family(DUAL + "\n[dhcp6]\nenabled = false\n" + rule("r", bootfile="pxelinux.0")) == []


# --------------------------------------------------------------------------- 4. the HTTPClient echo


def echo(text: str) -> list[str]:
    return [str(p) for p in http_boot_without_echo(config(text))]


def test_an_http_boot_rule_without_the_echo_warns() -> None:
    [found] = echo(V4 + rule("efi-http", "{ arch = [16] }", bootfile="{http}/ipxe.efi"))
    assert (
        found.startswith(
            "rule[0]: rule 'efi-http' gives UEFI HTTP boot clients {http}/ipxe.efi but sends no vendor class"
        )
        and 'set vendor_class = "HTTPClient"' in found
    )
    [found] = echo(
        V4
        + rule("h", '{ vendor_class = "HTTPClient" }', bootfile="http://192.0.2.1/ipxe.efi", vendor_class="PXEClient")
    )
    assert "sends vendor class 'PXEClient'" in found


@pytest.mark.parametrize(
    ("match", "fields"),
    [
        ("{ arch = [16] }", {"vendor_class": "HTTPClient"}),
        ('{ vendor_class = "HTTPClient", arch = [19] }', {"vendor_class": "HTTPClient"}),
        ("{ arch = [16] }", {"final": False}),  # a later rule or the built-in table completes the answer
        ("{ arch = [7] }", {}),  # UEFI PXE: option 60 PXEClient, no echo needed
        ("{ arch = [20] }", {}),  # x86 BIOS HTTP is no UEFI firmware
        ('{ arch = [16], user_class = ["iPXE"] }', {}),  # EDK2 sends no user class
        ('{ arch = [16], vendor_class = "PXEClient" }', {}),  # nor PXEClient
        ("{}", {}),  # not written for HTTP boot
        ('{ vendor_class = "" }', {}),
    ],
)
def test_rules_that_need_no_echo_do_not_warn(match: str, fields: dict[str, str | bool]) -> None:
    assert echo(V4 + rule("r", match, bootfile="{http}/ipxe.efi", **fields)) == []


def test_a_tftp_url_or_no_boot_file_is_not_looked_at() -> None:
    assert echo(V4 + rule("r", "{ arch = [16] }", bootfile="{tftp}/ipxe.efi")) == []
    assert echo(V4 + rule("r", "{ arch = [16] }", script="local")) == []


def test_an_earlier_non_final_rule_setting_the_echo_for_every_client_of_the_rule_is_enough() -> None:
    # Seed 002: a non-final HTTPClient rule first, then the per-architecture rules.
    tag = rule("http", '{ family = 4, vendor_class = "HTTPClient" }', vendor_class="HTTPClient", final=False)
    final = rule("http-x64", '{ family = 4, vendor_class = "HTTPClient", arch = 16 }', bootfile="{http}/ipxe.efi")
    assert echo(DUAL + tag + final) == []
    # The tag covers DHCPv4 only: the same rule for both families misses the echo over DHCPv6.
    assert echo(DUAL + tag + final.replace("family = 4, ", ""))


# --------------------------------------------------------------------------- 2. boot files missing from the root


def missing(text: str, files: set[str], roots: tuple[str, ...] = ("tftp", "http")) -> list[str]:
    def locate(transport: str, name: str) -> Located | None:
        return Located(f"/srv/{transport}", name.lstrip("/")) if transport in roots else None

    return [str(p) for p in missing_boot_files(config(text), locate, files.__contains__)]  # type: ignore[arg-type]


def test_a_boot_file_the_root_lacks_warns_with_who_names_it_and_where_it_was_looked_for() -> None:
    text = V4 + rule("pxe", bootfile="pxelinux.0") + rule("x", "{ arch = [7] }", bootfile="{http}/efi/shim.efi")
    found = missing(text, set())
    assert found == [
        "rule[0].bootfile: rule 'pxe' boots pxelinux.0, but pxelinux.0 is not in the TFTP root /srv/tftp, and "
        "bootwright renders no document of that name: clients get 'file not found'; put the file there or correct "
        "the name",
        "rule[1].bootfile: rule 'x' boots {http}/efi/shim.efi, but efi/shim.efi is not in the HTTP root /srv/http, "
        "and bootwright renders no document of that name: clients get 'file not found'; put the file there or "
        "correct the name",
    ]
    assert missing(text, {"/srv/tftp/pxelinux.0", "/srv/http/efi/shim.efi"}) == []
    assert missing(text, set(), roots=()) == []  # no root to look in: not checked


def test_documents_and_the_ipxe_package_need_no_file() -> None:
    text = (
        V4
        + '\n[http]\nscripts = { "menu.ipxe" = "m" }\n[menus.m]\nitems = [{ target = "local" }]\n'
        + "[targets.local]\nexit = true\n"
    )
    for i, bootfile in enumerate(
        [
            "{http}/boot.ipxe",
            "{http}/menu.ipxe",
            "http://192.0.2.1/menu.ipxe",
            "{http}/boot/52-54-00-12-34-56.ipxe",
            "grub/grub.cfg",
            "ipxe.efi",
        ]
    ):
        text += rule(f"r{i}", f"{{ arch = [{i + 30}] }}", bootfile=bootfile)
    assert missing(text, {"/usr/lib/ipxe/ipxe.efi"}) == []
    off = text.replace("[http]", '[boot]\nipxe_dir = ""\n\n[http]')
    assert [w for w in missing(off, set()) if "ipxe.efi" in w] != []
    assert next(w for w in missing(text, set()) if "ipxe.efi" in w).count("nor in /usr/lib/ipxe") == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"bootfile": "pxelinux.0", "next_server": "198.51.100.7"},  # another TFTP server
        {"bootfile": "pxelinux.0", "tftp_server": "198.51.100.7"},
        {"bootfile": "http://198.51.100.7/x.efi"},
        {"bootfile": "http://boot.example/x.efi"},
        {"bootfile": "http://192.0.2.1:8080/x.efi"},  # not our HTTP port
        {"bootfile": "https://192.0.2.1/x.efi"},  # no TLS configured: not ours
        {"bootfile": "{http}/boot/${net0/mac}.ipxe"},  # iPXE fills it in
        {"bootfile": "{tftp}/{mac}.efi"},
        {"bootfile": "ftp://192.0.2.1/x.efi"},
    ],
)
def test_files_fetched_from_elsewhere_or_unknowable_are_not_checked(fields: dict[str, str]) -> None:
    assert missing(V4 + rule("r", **fields), set()) == []


def test_our_own_addresses_count_as_us() -> None:
    for fields in (
        {"bootfile": "pxelinux.0", "next_server": "192.0.2.1"},
        {"bootfile": "http://192.0.2.1/x.efi"},
        {"bootfile": "http://{server}/x.efi"},
        {"bootfile": "tftp://192.0.2.1/x.efi"},
    ):
        assert len(missing(V4 + rule("r", **fields), set())) == 1, fields
    # [dhcp4] next_server elsewhere: a bare name goes there; the rule's own next_server wins.
    elsewhere = V4 + '\n[dhcp4]\nnext_server = "198.51.100.7"\n'
    assert missing(elsewhere + rule("r", bootfile="x.0"), set()) == []
    assert missing(elsewhere + rule("r", bootfile="x.0", next_server="192.0.2.1"), set())


def test_hosts_and_boot_files_without_the_builtin_table_are_checked() -> None:
    text = V4 + '\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\nbootfile = "web1.efi"\n'
    assert [w for w in missing(text, set()) if w.startswith("host[0].bootfile: host 'web1' boots web1.efi")]
    table = V4 + '\n[boot]\nbuiltin = false\nfiles = { "11" = "arm64/grub.efi" }\n'
    assert [w for w in missing(table, set()) if w.startswith("boot.files.11: [boot.files] 11 boots arm64/grub.efi")]
    assert missing(table.replace("builtin = false", "builtin = true"), set()) == []  # check's programs table


def test_disabled_services_and_ignore_rules_are_not_checked() -> None:
    assert missing(V4 + "\n[tftp]\nenabled = false\n" + rule("r", bootfile="x.0"), set()) == []
    assert missing(V4 + "\n[http]\nenabled = false\n" + rule("r", bootfile="{http}/x"), set()) == []
    assert missing(V4 + rule("r", bootfile="x.0", ignore=True), set()) == []
