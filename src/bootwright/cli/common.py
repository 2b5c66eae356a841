"""What every command shares: the consoles, the usage exit code and loading a config for a command.

Options every command spells the same way live here: ``--config``/``-c``
(always also ``$BOOTWRIGHT_CONFIG``) and ``--state-dir``; ``-f`` means
``--follow`` wherever it exists (``tests/unit/cli/test_cli_consistency.py``
holds every command to this).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bootwright.config import Config, ConfigError, load_config
from bootwright.runtime.core import DEFAULT_STATE_DIR, resolve_paths

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

EXIT_USAGE = 2
"""Exit code of every user error (bad config, bad flag, malformed input)."""

CONFIG_ENV = "BOOTWRIGHT_CONFIG"
"""The environment variable every ``--config`` falls back to."""

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", envvar=CONFIG_ENV, help="The TOML configuration file.")
]
StateConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", envvar=CONFIG_ENV, help="The config file (for its state_dir).")
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option("--state-dir", help=f"State directory (default: the config's, else {DEFAULT_STATE_DIR})."),
]


def load_config_or_exit(config: Path) -> Config:
    """The validated config, or every problem printed to stderr and exit 2."""
    try:
        return load_config(config)
    except ConfigError as exc:
        for line in exc.render().splitlines():
            err.print(f"[red]error:[/red] {line}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def state_dir_of(config: Path | None, state_dir: Path | None) -> Path:
    """The state directory ``serve`` would use with the same flags: --state-dir, else the config's, else the default.

    The config is read only when it decides (no --state-dir given).
    """
    if state_dir is not None:
        return state_dir.resolve()
    if config is not None:
        return resolve_paths(load_config_or_exit(config), None, None)[1]
    return DEFAULT_STATE_DIR.resolve()


def require_store(path: Path, missing: str) -> None:
    """Exit 2 with ``missing`` when there is no state store at ``path``; exit 1 when it cannot be looked at."""
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        err.print(f"[red]error:[/red] {escape(missing)}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except PermissionError:
        err.print(f"[red]error:[/red] cannot read the state store {escape(str(path))}: permission denied "
                  "(run as the server's user)", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
