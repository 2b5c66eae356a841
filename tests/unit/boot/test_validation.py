"""The one validation: config errors with key path and line, warnings, stale inventory hosts skipped."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from bootwright.boot.ipxe import RenderError, render_text
from bootwright.boot.validation import InventoryHost, Report, validate
from bootwright.config import Config, ConfigError, parse_config, parse_model
from bootwright.model import Host

BASE = """
[[subnet4]]
subnet = "192.0.2.0/24"
server = "192.0.2.1"
routers = ["192.0.2.254"]
pools = ["192.0.2.100-192.0.2.199"]

[[subnet6]]
prefix = "2001:db8::/64"
pools = ["2001:db8::100-2001:db8::1ff"]

[targets.local]
exit = true

[targets.inst]
kernel = "inst/vmlinuz"
"""


def report(extra: str = "", base: str = BASE, inventory: list[InventoryHost] | None = None, **kw: object) -> Report:
    text = base + extra
    return validate(parse_model(text, "site.toml"), inventory, text=text, **kw)  # type: ignore[arg-type]


def errors(extra: str = "", base: str = BASE) -> list[str]:
    return [str(p) for p in report(extra, base).errors]


def warnings(extra: str = "", base: str = BASE) -> list[str]:
    return [str(p) for p in report(extra, base).warnings]


def test_the_examples_base_is_clean() -> None:
    r = report()
    assert r.ok and r.errors == () and r.warnings == () and r.skipped == {}


# --------------------------------------------------------------------------- option values


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ('"abc" = "y"', "'abc' is not an option code"),
        ('"999" = "1"', "option code 999 is outside 1..254"),
        ('"252" = "http://192.0.2.1/wpad.dat"', "option 252 (option-252): 'http://192.0.2.1/wpad.dat' is not hex"),
        ('"43" = "zz"', "option 43 (vendor-encapsulated-options): 'zz': write sub-options as name=hex"),
        ('"43" = "foo=01"', "unknown sub-option 'foo'"),
        ('"3" = "not-an-address"', "option 3 (routers)"),
        ('"53" = "1"', "option 53 (dhcp-message-type): the message type"),
        ('"54" = "192.0.2.1"', "use the subnet's 'server'"),
        ('"51" = "600"', "use 'lease_time'"),
        ('"0" = "00"', "pad"),
    ],
)
def test_option_values_the_engine_would_drop_are_errors(options: str, needle: str) -> None:
    text = BASE.replace('pools = ["192.0.2.100-192.0.2.199"]\n',
                        f'pools = ["192.0.2.100-192.0.2.199"]\noptions = {{ {options} }}\n')
    r = report(base=text)
    assert [p for p in r.errors if needle in p.message and p.path.startswith("subnet4[0].options.")], r.errors
    assert all(p.line == 7 for p in r.errors if p.path.startswith("subnet4[0].options."))
    with pytest.raises(ConfigError):  # explain and every other loader refuse it too
        parse_config(text, "site.toml")


@pytest.mark.parametrize(
    "options",
    ['"43" = "mtftp-ip=e0:00:01:01"', '"252" = "68:74:74:70"', '"66" = "tftp.example.com"', '"203" = "01:02"',
     '"3" = "192.0.2.254"'],
)
def test_option_values_the_engine_sends_pass(options: str) -> None:
    assert errors(f"\n[dhcp4]\noptions = {{ {options} }}\n") == []


def test_domain_names_that_cannot_be_encoded_are_errors() -> None:
    found = errors('\n[dhcp4]\ndomain_search = ["example.com", "a..b"]\n')
    assert any(e.startswith("dhcp4.domain_search[1]:") and "not a domain name" in e for e in found)


# --------------------------------------------------------------------------- hosts of the config file


def test_config_hosts_are_checked_as_the_server_checks_them() -> None:
    r = report('\n[[host]]\nname = "bad name!"\nmac = "52:54:00:00:00:01"\n'
               '\n[[host]]\nname = "net"\nmac = "52:54:00:00:00:02"\nipv4 = "192.0.2.0"\n'
               '\n[[host]]\nname = "bcast"\nmac = "52:54:00:00:00:03"\nipv4 = "192.0.2.255"\n')
    found = {p.path: (p.message, p.line) for p in r.errors}
    assert "not a usable host name" in found["host[0].name"][0] and found["host[0].name"][1] == 19
    assert "network or broadcast address of 192.0.2.0/24" in found["host[1].ipv4"][0]
    assert "network or broadcast address" in found["host[2].ipv4"][0]


def test_template_errors_name_the_target_and_key() -> None:
    r = report('\n[targets.math]\nkernel = "k"\ncmdline = "x={{ 7 // 0 }}"\n'
               '\n[targets.big]\nipxe = ["{% for i in range(10**9) %}x{% endfor %}"]\n')
    found = {p.path: p for p in r.errors}
    assert "division" in found["targets.math.cmdline"].message and found["targets.math.cmdline"].line == 20
    assert "range" in found["targets.big.ipxe[0]"].message.lower()
    with pytest.raises(RenderError, match=r"targets.x.kernel: template error"):
        render_text("{{ 1 // 0 }}", {}, "targets.x.kernel")


def test_every_kind_of_problem_is_reported_at_once() -> None:
    r = report('\n[targets.math]\nkernel = "{{ 1 // 0 }}"\n\n[dhcp4]\noptions = { "abc" = "y" }\n'
               '\n[[host]]\nname = "bad name!"\nmac = "52:54:00:00:00:01"\n')
    paths = {p.path for p in r.errors}
    assert {"targets.math.kernel", "dhcp4.options.abc", "host[0].name"} <= paths


def test_a_config_host_whose_target_cannot_render_for_it_is_an_error() -> None:
    found = errors('\n[targets.disk]\nkernel = "k"\ncmdline = "root={{ vars.disk }}"\n'
                   '\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\ntarget = "disk"\n', BASE)
    # the anonymous client fails too (no vars): the template itself is reported once
    assert any("targets.disk.cmdline" in e and "disk" in e for e in found)


# --------------------------------------------------------------------------- subnets, pools, RA, rules


def test_overlapping_subnet6_prefixes_and_pools_are_errors() -> None:
    found = errors('\n[[subnet6]]\nprefix = "2001:db8::/48"\n'
                   '\n[[subnet6]]\nprefix = "2001:db8:5::/64"\npools = ["2001:db8:5::10-2001:db8:5::20", '
                   '"2001:db8:5::18-2001:db8:5::30"]\n')
    assert any(e.startswith("subnet6[1].prefix: 2001:db8::/48 overlaps subnet6[0]") for e in found)
    assert "subnet6[2].pools[1]: overlaps subnet6[2].pools[0]" in found


def test_overlapping_subnet4_is_still_an_error() -> None:
    assert any("overlaps subnet4[0]" in e for e in errors('\n[[subnet4]]\nsubnet = "192.0.2.128/25"\n'))


def test_temporary_and_pd_pools_are_rejected_as_not_implemented() -> None:
    text = BASE.replace('pools = ["2001:db8::100-2001:db8::1ff"]\n', 'pools = ["2001:db8::100-2001:db8::1ff"]\n'
                        'temporary = true\npd_pools = [{ start = "2001:db8::", end = "2001:db8::", length = 64 }]\n')
    found = errors(base=text)
    assert any("subnet6[0].temporary: not implemented" in e and "IA_TA" in e for e in found)
    assert any("subnet6[0].pd_pools: not implemented" in e and "IA_PD" in e for e in found)


def test_pools_holding_our_own_or_the_router_address_warn() -> None:
    text = BASE.replace('routers = ["192.0.2.254"]', 'routers = ["192.0.2.150"]').replace(
        'server = "192.0.2.1"', 'server = "192.0.2.100"').replace(
        'prefix = "2001:db8::/64"', 'prefix = "2001:db8::/64"\nserver = "2001:db8::100"')
    found = warnings(base=text)
    assert any(w.startswith("subnet4[0].pools[0]: contains 192.0.2.100 (server)") for w in found)
    assert any(w.startswith("subnet4[0].pools[0]: contains 192.0.2.150 (routers[0])") for w in found)
    assert any(w.startswith("subnet6[0].pools[0]: contains 2001:db8::100 (server)") for w in found)
    assert report(base=text).ok


def test_proxy_subnet_settings_that_are_never_sent_warn() -> None:
    text = BASE.replace('pools = ["192.0.2.100-192.0.2.199"]', 'mode = "proxy"') + '[dhcp4]\nipxe = { no-pxedhcp = 1 }\n'
    r = report(base=text)
    assert r.ok
    found = [f"{p.path}: {p.message}" for p in r.warnings]
    assert any(w.startswith("subnet4[0].routers: not sent: on a proxy subnet") for w in found), found
    assert any(w.startswith("dhcp4.ipxe.no-pxedhcp: subnet4[0] is a proxy subnet") for w in found), found


def test_slaac_on_a_prefix_that_is_not_64_warns() -> None:
    text = BASE.replace('prefix = "2001:db8::/64"\npools = ["2001:db8::100-2001:db8::1ff"]',
                        'prefix = "2001:db8::/56"\n\n[subnet6.ra]\nmanaged = true')
    r = report(base=text)
    assert r.ok
    assert [p for p in r.warnings if p.path == "subnet6[0].ra.autonomous" and "RFC 4862" in p.message]
    assert not warnings(base=text.replace("managed = true", "managed = true\nautonomous = false"))


def test_rules_after_a_final_catch_all_warn() -> None:
    found = warnings('\n[[rule]]\nname = "v4"\nmatch.family = 4\nbootfile = "a"\n'
                     '\n[[rule]]\nname = "bios"\nmatch.arch = 0\nmatch.family = 4\nbootfile = "b"\n'
                     '\n[[rule]]\nname = "v6"\nmatch.family = 6\nbootfile = "c"\n')
    assert any(w.startswith("rule[1]: rule 'bios' can never match: rule 'v4' (rule[0], earlier, final) has no "
                            "conditions and answers every DHCPv4 client first") for w in found)
    assert not any(w.startswith("rule[2]: ") for w in found)  # another family: still reachable
    assert not warnings('\n[[rule]]\nname = "all"\nfinal = false\n\n[[rule]]\nname = "x"\nbootfile = "{tftp}/b"\n')


def test_host_addresses_inside_a_dynamic_pool_warn() -> None:
    r = report('\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\nipv4 = "192.0.2.150"\n')
    assert r.ok
    [w] = r.warnings
    assert w.path == "host[0].ipv4" and "inside the dynamic pool subnet4[0].pools[0]" in w.message and w.line


def test_state_dir_inside_root_is_an_error() -> None:
    found = errors('root = "/srv/boot"\nstate_dir = "/srv/boot/state"\n', "")
    assert any(e.startswith("state_dir: /srv/boot/state is inside root /srv/boot") for e in found)
    assert errors('root = "/srv/boot"\nstate_dir = "/var/lib/bootwright"\n', "") == []
    flags = report(base="", root=PurePosixPath("/srv/x"), state_dir=PurePosixPath("/srv/x"))
    assert [p for p in flags.errors if p.path == "state_dir" and "api token" in p.message.lower()]


# --------------------------------------------------------------------------- the inventory


def entries(config_text: str, *local: Host) -> tuple[Config, list[InventoryHost]]:
    config = parse_model(BASE + config_text)
    out = [InventoryHost(Host(h.name, macs=tuple(h.mac), target=h.target), "config file", True) for h in config.host]
    return config, out + [InventoryHost(h) for h in local]


def test_a_stored_host_that_no_longer_fits_is_skipped_with_a_warning() -> None:
    stale = Host("stale", macs=("52:54:00:00:00:09",), target="gone")
    config, inv = entries("", stale, Host("ok", macs=("52:54:00:00:00:08",), target="inst"))
    r = validate(config, inv)
    assert r.ok and set(r.skipped) == {"stale"}
    [w] = r.warnings
    assert w.path == "host 'stale' (added through CLI/API)"
    assert "skipped (not served)" in w.message and "no target or menu named 'gone'" in w.message
    assert [h.name for h in r.usable(e.host for e in inv)] == ["ok"]


def test_a_stored_host_whose_target_cannot_render_for_it_is_skipped() -> None:
    config, inv = entries('\n[targets.disk]\nkernel = "k"\ncmdline = "{% if host %}root={{ vars.disk }}{% endif %}"\n',
                          Host("nodisk", macs=("52:54:00:00:00:09",), target="disk"),
                          Host("disk", macs=("52:54:00:00:00:08",), target="disk", variables=(("disk", "sda"),)))
    r = validate(config, inv)
    assert r.ok and set(r.skipped) == {"nodisk"}
    assert "targets.disk.cmdline" in str(r.skipped["nodisk"][0])


def test_a_local_host_clashing_with_a_config_host_is_the_one_skipped() -> None:
    config, inv = entries('\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\n',
                          Host("copy", macs=("52:54:00:00:00:01",)))
    r = validate(config, inv)
    assert set(r.skipped) == {"copy"} and "is also the MAC of host 'web1' (config file)" in str(r.skipped["copy"][0])


def test_a_local_host_with_a_config_hosts_name_skips_the_config_host() -> None:
    config = parse_model(BASE + '\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\n')
    r = validate(config, [InventoryHost(Host("web1", macs=("52:54:00:00:00:07",)))])
    assert r.ok and not r.skipped
    assert [p for p in r.warnings if p.path == "host[0]" and "bootwright hosts remove web1" in p.message]


SEED000_LITERAL = """
[[subnet6]]
prefix = "2001:db8::/64"

[boot]
builtin = false

[[rule]]
name = "uefi-pxe"
match = { family = 6, arch = 7 }
bootfile = "tftp://[2001:db8::69]/ipxe.efi"

[[rule]]
name = "ipxe"
match = { family = 6, user_class = "iPXE" }
bootfile = "http://boot.ipxe.org/demo/boot.php"
"""


def test_the_seed_000_literal_translation_is_a_chain_load_loop() -> None:
    found = warnings(base=SEED000_LITERAL)
    assert any(w.startswith("rule[0]: rule 'uefi-pxe' gives the iPXE binary") and "forever" in w for w in found)
    # The iPXE rule first (as examples/seed000-ipv6-ipxe.toml does): no loop.
    i, j = SEED000_LITERAL.index("[[rule]]"), SEED000_LITERAL.index("[[rule]]\nname = \"ipxe\"")
    fixed = SEED000_LITERAL[:i] + SEED000_LITERAL[j:] + "\n" + SEED000_LITERAL[i:j]
    assert not [w for w in warnings(base=fixed) if "iPXE binary" in w]


@pytest.mark.parametrize(
    ("match", "loops"),
    [
        ('{ user_class = "iPXE" }', True),  # gives iPXE to iPXE itself
        ('{ user_class = "other" }', False),
        ("{ no_arch = true }", False),
        ('{ vendor_class = "HTTPClient" }', False),
        ('{ vendor_class = "PXEClient" }', True),
        ("{ arch = [0, 7] }", True),
    ],
)
def test_which_rules_can_reach_ipxe(match: str, loops: bool) -> None:
    text = f'[[subnet4]]\nsubnet = "192.0.2.0/24"\n\n[[rule]]\nname = "r"\nmatch = {match}\nbootfile = "undionly.kpxe"\n'
    assert bool([w for w in warnings(base=text) if "iPXE binary" in w]) is loops
