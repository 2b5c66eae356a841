"""Every command speaks the same language: help on every option, one meaning per short flag, ``$BOOTWRIGHT_CONFIG``.

The app is walked as click sees it (``typer.main.get_command``), so a command
added later is held to the same rules without being named here. Typer carries
its own copy of click, so commands and parameters are told apart by what they
have (``commands``, ``param_type_name``), not by click's classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bootwright.cli.main import app

ROOT = typer.main.get_command(app)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

# (command, parameter) -> why it may lack what the rule asks. Keep each reason honest.
NO_CONFIG_ENV = {
    ("lab", "--config"): "the config the lab serves inside its own namespace, not the operator's "
                         "(default examples/quickstart.toml, or the BMC config for --firmware bmc); "
                         "$BOOTWRIGHT_CONFIG pointing at a production file would replace both",
}
NO_HELP: dict[tuple[str, str], str] = {}
# Commands that list things and so must offer --json.
LISTING = ["hosts list", "hosts show", "events", "status", "explain", "leases", "power", "probe dhcp"]


def commands(command: Any = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command below the root, by its full name (``hosts list``)."""
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def names(param: Any) -> list[str]:
    return [*param.opts, *param.secondary_opts]


def long_name(param: Any) -> str:
    return next((n for n in param.opts if n.startswith("--")), param.opts[0])


def is_option(param: Any) -> bool:
    return param.param_type_name == "option"


ALL = list(commands())


def test_the_walk_finds_every_group() -> None:
    found = {name for name, _ in ALL}
    assert {"leases", "events", "status", "explain", "hosts list", "hosts export", "check", "serve"} <= found


@pytest.mark.parametrize(("name", "command"), ALL, ids=[n for n, _ in ALL])
def test_every_command_option_and_argument_has_help(name: str, command: Any) -> None:
    assert (command.help or "").strip(), f"bootwright {name} has no help text (its docstring)"
    missing = []
    for param in command.params:
        key = (name, long_name(param) if is_option(param) else param.name.upper())
        if key in NO_HELP:
            continue
        if not (getattr(param, "help", None) or "").strip():
            missing.append(key[1])
    assert not missing, f"bootwright {name}: no help text for {', '.join(missing)}"


def test_config_everywhere_honours_bootwright_config() -> None:
    lacking = []
    for name, command in ALL:
        for param in command.params:
            if "--config" not in names(param) or (name, "--config") in NO_CONFIG_ENV:
                continue
            assert "-c" in param.opts, f"bootwright {name} --config has no -c"
            if param.envvar != "BOOTWRIGHT_CONFIG":
                lacking.append(name)
    assert not lacking, f"--config without envvar BOOTWRIGHT_CONFIG: {', '.join(lacking)}"


def test_a_short_flag_means_one_thing_everywhere() -> None:
    meaning: dict[str, dict[str, list[str]]] = {}
    for name, command in ALL:
        for param in command.params:
            if not is_option(param):
                continue
            for flag in names(param):
                if len(flag) == 2 and flag.startswith("-"):
                    meaning.setdefault(flag, {}).setdefault(long_name(param), []).append(name)
    conflicts = {flag: uses for flag, uses in meaning.items() if len(uses) > 1}
    assert not conflicts, f"short flags with more than one meaning: {conflicts}"
    assert set(meaning["-c"]) == {"--config"} and set(meaning["-f"]) == {"--follow"}


@pytest.mark.parametrize("name", LISTING)
def test_listing_commands_print_json(name: str) -> None:
    command = dict(ALL)[name]
    assert any("--json" in names(p) for p in command.params), f"bootwright {name} has no --json"


def test_bootwright_config_reaches_a_required_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``check`` (a command whose --config is required) runs on the environment variable alone."""
    monkeypatch.setenv("BOOTWRIGHT_CONFIG", str(EXAMPLES / "quickstart.toml"))
    result = CliRunner().invoke(app, ["check", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "quickstart.toml" in result.stdout
