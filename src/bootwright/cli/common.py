"""What every command shares: the consoles, the usage exit code and loading a config for a command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bootwright.config import Config, ConfigError, load_config

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

EXIT_USAGE = 2

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")]
"""Exit code of every user error (bad config, bad flag, malformed input)."""


def load_config_or_exit(config: Path) -> Config:
    """The validated config, or every problem printed to stderr and exit 2."""
    try:
        return load_config(config)
    except ConfigError as exc:
        for line in exc.render().splitlines():
            err.print(f"[red]error:[/red] {line}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
