"""Config validation: every error names the file, the key path and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootwright.config import ConfigError, load_config, parse_config

BASE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.10-192.0.2.99"]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "site.toml")
    return [str(p) for p in info.value.problems]


def test_minimal_config_is_valid() -> None:
    cfg = parse_config(BASE)
    assert str(cfg.subnet4[0].pools[0].start) == "192.0.2.10"


def test_pool_outside_subnet_names_the_path() -> None:
    assert problems(BASE.replace("192.0.2.10-", "192.0.3.10-")) == [
        "subnet4[0].pools[0]: 192.0.3.10 is outside 192.0.2.0/24"
    ]


def test_error_render_prefixes_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.replace("192.0.2.10-", "192.0.3.10-"), "site.toml")
    assert info.value.render() == "site.toml:4: subnet4[0].pools[0]: 192.0.3.10 is outside 192.0.2.0/24"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BASE.replace("192.0.2.10-192.0.2.99", "192.0.2.99-192.0.2.10"), "subnet4[0].pools[0]: the range starts"),
        (BASE.replace('"192.0.2.10-192.0.2.99"', '"192.0.2.10"'), "subnet4[0].pools[0]: '192.0.2.10' is not a range"),
        (BASE + "colour = 'blue'\n", "subnet4[0].colour: unknown key"),
        (BASE.replace("192.0.2.0/24", "192.0.2.0/33"), "subnet4[0].subnet:"),
        ('[dhcp4]\nlease_time = -1\n', "dhcp4.lease_time:"),
        ("[[subnet4]]\nsubnet = '192.0.2.0/24'\n[[subnet4]]\nsubnet = '192.0.2.128/25'\n", "subnet4[1].subnet: 192.0.2.128/25 overlaps"),
        (BASE + 'routers = ["198.51.100.1"]\n', "subnet4[0].routers[0]: 198.51.100.1 is outside 192.0.2.0/24"),
        (BASE.replace("192.0.2.10-", "192.0.2.0-"), "subnet4[0].pools[0]: includes the network or broadcast"),
        ("[[subnet6]]\nprefix = '2001:db8::/64'\npools = ['2001:db9::1-2001:db9::9']\n", "subnet6[0].pools[0]: 2001:db9::1 is outside 2001:db8::/64"),
        ("[[subnet6]]\nprefix = '2001:db8::/64'\nra = { max_interval = 100, min_interval = 90 }\n", "subnet6[0].ra.min_interval: 90.0 exceeds 0.75"),
        ("[[subnet6]]\nprefix = '2001:db8::/64'\nra = { max_interval = 100, router_lifetime = 50 }\n", "subnet6[0].ra.router_lifetime: 50 is below max_interval"),
        ("[[rule]]\nname = 'x'\nscript = 'nope'\n", "rule[0].script: no target or menu named 'nope'"),
        ("[[rule]]\nname = 'x'\n[[rule]]\nname = 'x'\n", "rule[1].name: rule name 'x' is used twice"),
        ("[[rule]]\nname = 'x'\nbootfile = '{srv}/a'\n", "rule[0].bootfile: unknown placeholder {srv}"),
        ("[[rule]]\nname = 'x'\nmatch = { arch = 'seven' }\n", "rule[0].match.arch"),
        ("[[rule]]\nname = 'x'\nipxe = { no-such-thing = 1 }\n", "rule[0].ipxe.no-such-thing: unknown iPXE option"),
        ("[dhcp4]\nipxe = { no-pxedhcp = 300 }\n", "dhcp4.ipxe.no-pxedhcp: no-pxedhcp takes an integer from 0 to 255"),
        ("[[host]]\nname = 'a'\nmac = 'zz:00:00:00:00:00'\n", "host[0].mac[0]: 'zz:00:00:00:00:00' is not a MAC address"),
        ("[[host]]\nname = 'a'\n", "host[0]: a host needs a 'mac' or a 'duid'"),
        (
            "[[host]]\nname = 'a'\nmac = '52:54:00:00:00:01'\n[[host]]\nname = 'b'\nmac = '52-54-00-00-00-01'\n",
            "host[1].mac: 52:54:00:00:00:01 is also the MAC of host[0]",
        ),
        (BASE + "[[host]]\nname = 'a'\nmac = '52:54:00:00:00:01'\nipv4 = '198.51.100.7'\n", "host[0].ipv4: 198.51.100.7 is outside every subnet4"),
        (
            BASE + "[[host]]\nname = 'a'\nmac = '52:54:00:00:00:01'\nipv4 = '192.0.2.7'\n"
            "[[host]]\nname = 'b'\nmac = '52:54:00:00:00:02'\nipv4 = '192.0.2.7'\n",
            "host[1].ipv4: 192.0.2.7 is also the address of host[0]",
        ),
        ("[[host]]\nname = 'a'\nmac = '52:54:00:00:00:01'\ntarget = 'rescue'\n", "host[0].target: no target or menu named 'rescue'"),
        ("[[host]]\nname = 'a'\nduid = 'xyz'\n", "host[0].duid: 'xyz' is not a DUID in hex"),
        ("[targets.t]\nkernel = 'k'\nchain = 'c'\n", "targets.t: sets kernel and chain; a target does one thing"),
        ("[targets.t]\nlabel = 'nothing'\n", "targets.t: does nothing"),
        ("[menus.m]\nitems = [{ target = 'x' }]\n", "menus.m.items[0].target: no target or menu named 'x'"),
        ("[targets.t]\nexit = true\n[menus.m]\nitems = [{ target = 't' }]\ndefault = 'u'\n", "menus.m.default: 'u' is not an item"),
        ("[menus.m]\nitems = [{ gap = '--', target = 'x' }]\n", "menus.m.items[0]: an item needs exactly one"),
        ("[http]\nscripts = { 'a.ipxe' = 'none' }\n", "http.scripts.a.ipxe: no target or menu named 'none'"),
        ("[boot]\nfiles = { x64 = 'a.efi' }\n", "boot.files.x64: keys are architecture codes"),
        ("[tftp]\nmax_blksize = 100000\n", "tftp.max_blksize:"),
        ("root = \n", "TOML syntax:"),
    ],
)
def test_bad_config(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_all_problems_are_reported_at_once() -> None:
    text = BASE.replace("192.0.2.10-", "192.0.3.10-") + "[[rule]]\nname = 'x'\nscript = 'nope'\n"
    assert len(problems(text)) == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert "cannot read the file" in info.value.render()
    assert "absent.toml" in info.value.render()


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not UTF-8" in info.value.render()


def test_single_values_stand_for_lists() -> None:
    cfg = parse_config("[[host]]\nname = 'a'\nmac = '52-54-00-AA-BB-CC'\ngroups = 'lab'\n")
    assert cfg.host[0].mac == ["52:54:00:aa:bb:cc"]
    assert cfg.host[0].groups == ["lab"]


def test_relative_paths_in_a_config_file_mean_next_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd the working directory is /: a relative root must not depend on it."""
    site = tmp_path / "etc"
    site.mkdir()
    (site / "site.toml").write_text(
        'root = "files"\nstate_dir = "../state"\n[tftp]\nroot = "/srv/tftp"\n[http]\nroot = "www"\n'
        '[api]\ntoken_file = "secret/token"\n'
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../etc/site.toml"))
    assert config.root == (site / "files").resolve()
    assert config.state_dir is not None and config.state_dir.resolve() == tmp_path / "state"
    assert config.tftp.root == Path("/srv/tftp")  # absolute: as written
    assert config.http.root == (site / "www").resolve()
    assert config.api.token_file == (site / "secret" / "token").resolve()


def test_the_syslog_receiver_is_off_by_default_and_bounded() -> None:
    cfg = parse_config("")
    assert (cfg.syslog.enabled, cfg.syslog.port, cfg.syslog.listen, cfg.syslog.max_message) == (False, 514, [], 2048)
    assert (cfg.syslog.rate, cfg.syslog.burst) == (20.0, 100)
    on = parse_config('[syslog]\nenabled = true\nlisten = ["192.0.2.1", "2001:db8::1"]\nport = 5514\n')
    assert [str(a) for a in on.syslog.listen] == ["192.0.2.1", "2001:db8::1"] and on.syslog.port == 5514
    with pytest.raises(ConfigError, match=r"syslog.max_message"):
        parse_config("[syslog]\nmax_message = 100\n")  # RFC 5424 §6.1: a receiver takes at least 480 octets
    with pytest.raises(ConfigError, match=r"syslog.rate"):
        parse_config("[syslog]\nrate = 0\n")
