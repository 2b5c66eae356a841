"""A host's ``menu_default``: the item its iPXE menu preselects (seed 001's per-host ``set menu-default``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.boot.ipxe import render_script
from bootwright.boot.policy import ServerContext
from bootwright.boot.validation import InventoryHost, validate
from bootwright.cli.main import app
from bootwright.config import parse_config, parse_model
from bootwright.inventory.csvfmt import export_csv, read_csv
from bootwright.inventory.records import host_from_dict, host_to_dict
from bootwright.model import ClientInfo, Host

SITE = """
[targets.linux]
kernel = "vmlinuz"

[targets.rescue]
kernel = "rescue/vmlinuz"

[targets.local]
exit = true

[menus.menu]
default = "local"
timeout = 5000
items = [{ target = "linux" }, { target = "local" }, { target = "tools" }]

[menus.tools]
items = [{ target = "rescue" }]
"""
# Seed 001's menu.ipxe keeps the default in an iPXE variable per-host scripts may set first.
SEED001 = SITE.replace('default = "local"', 'default = "local"\nprelude = ["set menu-timeout 5000"]')
SEED001 = SEED001.replace('"set menu-timeout 5000"]', '"set menu-timeout 5000", "isset ${menu-default} || echo keep"]')
CLIENT = ClientInfo(family=4, mac="52:54:00:12:34:56")
CTX = ServerContext(address="192.0.2.1")


def script(text: str, host: Host | None) -> list[str]:
    return render_script(parse_config(text), "menu", CLIENT, CTX, host).splitlines()


def chooses(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("choose")]


def test_the_hosts_item_is_preselected_and_the_timeout_kept() -> None:
    host = Host("web1", ("52:54:00:12:34:56",), menu_default="linux")
    top, tools = chooses(script(SITE, host))
    assert top == "choose --default linux --timeout 5000 target && goto ${target} || goto menu"
    assert tools == "choose target && goto ${target} || goto menu"  # a submenu keeps its own default
    assert chooses(script(SITE, Host("web2", menu_default=None)))[0].startswith("choose --default local --timeout")


def test_an_item_the_menu_lacks_is_ignored_when_rendering() -> None:
    host = Host("web1", menu_default="rescue")  # only in the submenu: reported by validation
    assert chooses(script(SITE, host))[0].startswith("choose --default local ")


def test_a_prelude_naming_menu_default_makes_choose_use_the_variable() -> None:
    lines = script(SEED001, Host("web1", menu_default="linux"))
    # The host's item comes first, so the prelude's `isset … ||` and the menu keep it and a
    # per-host script chained later can still change it.
    assert lines[2] == "set menu-default linux"
    assert lines.index("set menu-default linux") < lines.index("set menu-timeout 5000")
    i = lines.index("choose --default ${menu-default} --timeout 5000 target && goto ${target} || goto menu")
    assert lines[i - 1] == "isset ${menu-default} || set menu-default local"
    plain = script(SEED001, None)
    assert "set menu-default linux" not in plain and "isset ${menu-default} || set menu-default local" in plain


def test_the_variable_always_has_a_fallback() -> None:
    """Without any default, iPXE's own (the first item) is set: ``--default`` never expands to nothing."""
    lines = script(SEED001.replace('default = "local"\n', ""), None)
    assert "isset ${menu-default} || set menu-default linux" in lines


def problems(extra_host: str) -> list[str]:
    text = SITE + extra_host
    return [str(p) for p in validate(parse_model(text, "site.toml"), text=text).errors]


@pytest.mark.parametrize(
    ("host", "needle"),
    [
        (
            'target = "menu"\nmenu_default = "rescue"',
            "'rescue' is not an item of menu 'menu' (items: linux, local, tools)",
        ),
        ('menu_default = "nope"', "'nope' is not an item of any menu"),
        ('target = "linux"\nmenu_default = "local"', "boots target 'linux', not a menu"),
    ],
)
def test_an_item_outside_the_hosts_menu_is_a_problem(host: str, needle: str) -> None:
    found = problems(f'\n[[host]]\nname = "web1"\nmac = "52:54:00:12:34:56"\n{host}\n')
    assert any("menu_default" in p and needle in p for p in found), found


def test_items_of_the_hosts_menu_pass() -> None:
    assert (
        problems('\n[[host]]\nname = "web1"\nmac = "52:54:00:12:34:56"\ntarget = "menu"\nmenu_default = "linux"\n')
        == []
    )
    assert problems('\n[[host]]\nname = "web1"\nmac = "52:54:00:12:34:56"\nmenu_default = "rescue"\n') == []


def test_inventory_hosts_are_checked_the_same_way() -> None:
    host = host_from_dict({"name": "web1", "mac": ["52:54:00:12:34:56"], "target": "menu", "menu_default": "nope"})
    report = validate(parse_config(SITE), [InventoryHost(host, "hosts.csv line 2")])
    assert any("menu_default" in str(p) and "'nope'" in str(p) for ps in report.skipped.values() for p in ps) or any(
        "menu_default" in str(p) for p in report.errors
    ), report


def test_record_and_csv_round_trip() -> None:
    host = host_from_dict({"name": "web1", "mac": ["52:54:00:12:34:56"], "menu_default": "linux"})
    assert host.menu_default == "linux" and host_to_dict(host)["menu_default"] == "linux"
    text = export_csv([host, Host("web2", ("52:54:00:12:34:57",))])
    assert text.splitlines()[0] == "name,mac,ipv4,ipv6,menu_default"  # only the columns some host uses
    assert text.splitlines()[1] == "web1,52:54:00:12:34:56,,,linux"
    parsed = read_csv(text)
    assert not parsed.problems and [h.host.menu_default for h in parsed.hosts] == ["linux", None]
    assert export_csv([Host("web2", ("52:54:00:12:34:57",))]).splitlines()[0] == "name,mac,ipv4,ipv6"


def test_hosts_add_and_set_menu_default(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE)

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, [*args, "--config", str(config), "--state-dir", str(tmp_path / "state")])
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run("hosts", "add", "web1", "--mac", "52:54:00:12:34:56", "--target", "menu",
                         "--menu-default", "linux")  # fmt: skip
    assert code == 0, err
    assert json.loads(run("hosts", "show", "web1", "--json")[1])["menu_default"] == "linux"
    code, _, err = run("hosts", "set", "web1", "--menu-default", "rescue")
    assert code == 2 and "'rescue' is not an item of menu 'menu'" in err
    code, _, err = run("hosts", "set", "web1", "--unset", "menu_default")
    assert code == 0 and "menu_default" not in json.loads(run("hosts", "show", "web1", "--json")[1])
