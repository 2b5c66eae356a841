"""``bootwright systemd-unit``: the systemd unit shipped in the package, for this installation.

The unit (``bootwright/systemd/bootwright.service``) runs ``bootwright serve``
as ``Type=notify`` under a dynamic user with three capabilities, a read-only
file system but for its state directory, and ``ExecReload`` sending SIGHUP
(docs/systemd.md). This command fills in the path of this ``bootwright`` and
of the config file, and opens the served root for writing when uploads need it.
"""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CONFIG = Path("/etc/bootwright/bootwright.toml")
UNIT = "bootwright.service"


def unit_text(executable: str, config: Path, writable: list[Path] | None = None) -> str:
    """The shipped unit with the executable and config paths filled in (and ``ReadWritePaths`` when given)."""
    text = resources.files("bootwright.systemd").joinpath(UNIT).read_text(encoding="utf-8")
    text = text.replace("@BOOTWRIGHT@", executable).replace("@CONFIG@", str(config))
    if writable:
        text = text.replace("#ReadWritePaths=/srv/tftp", "ReadWritePaths=" + " ".join(str(p) for p in writable))
    return text


def this_executable() -> str:
    """The absolute path of the ``bootwright`` command running now (the one on PATH as a fallback)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "bootwright" and argv0.exists():
        return str(argv0.resolve())
    return shutil.which("bootwright") or str(Path(sys.executable).parent / "bootwright")


def systemd_unit(
    config: Annotated[Path, typer.Option("--config", "-c", envvar="BOOTWRIGHT_CONFIG",
                                         help="The config file the service runs (made absolute).")] = DEFAULT_CONFIG,
    executable: Annotated[str | None, typer.Option(
        "--exec", help="The bootwright program (default: this one).")] = None,
    read_write: Annotated[list[Path] | None, typer.Option(
        "--read-write", help="A path the service may write (the served root when uploads are on); repeatable.")] = None,
) -> None:
    """Print the systemd unit for this installation (redirect it to /etc/systemd/system/bootwright.service)."""
    writable = [p.resolve() for p in read_write or []]
    sys.stdout.write(unit_text(executable or this_executable(), config.resolve(), writable))


def register(app: typer.Typer) -> None:
    """Add ``systemd-unit`` to the main command."""
    app.command("systemd-unit")(systemd_unit)
