"""Which server runs from a state directory, since when, and what it serves: ``status.json``.

Rule: the running ``bootwright serve`` is found through its state directory,
never by process name (``pidof bootwright`` finds nothing: the process is a
Python interpreter running a script). ``serve`` writes ``status.json`` there
(0600, replaced atomically on every change: start, each service ready) and
removes it when it stops. ``bootwright status`` reads it; ``bootwright
reload`` sends the recorded pid SIGHUP, which hot reload answers
(runtime/reload.py). A file left by a server that was killed is recognised:
its pid is no longer a bootwright process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bootwright.store.files import FILE_MODE

__all__ = ["STATUS_FILE", "Status", "StatusError", "StatusFile", "is_running", "read_status", "request_reload"]

STATUS_FILE = "status.json"
"""The status file's name in the state directory."""


class StatusError(Exception):
    """No usable status: no server has run from this state directory, or its file is unreadable."""


@dataclass(slots=True)
class Status:
    """What a running server says about itself."""

    pid: int
    version: str
    config: str
    root: str
    state_dir: str
    started: float  # seconds since the epoch
    ready: dict[str, str] = field(default_factory=dict)  # service → what it listens on
    # The last reload: {"at", "ok", "reason", "error"} (runtime/reload.py); None before the first one.
    last_reload: dict[str, Any] | None = None


class StatusFile:
    """The status file of one running server; every change rewrites it whole."""

    def __init__(self, state_dir: Path, status: Status) -> None:
        self.path = state_dir / STATUS_FILE
        self.status = status

    def write(self) -> None:
        """Replace the file atomically (a reader never sees half of it)."""
        tmp = self.path.with_name(f".{STATUS_FILE}.{self.status.pid}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(self.status), out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, self.path)

    def set_ready(self, service: str, detail: str) -> None:
        """A service is bound and answering."""
        self.status.ready[service] = detail
        self.write()

    def set_reload(self, at: float, ok: bool, reason: str, error: str | None) -> None:
        """A reload was applied (``ok``) or refused (``error`` says why)."""
        self.status.last_reload = {"at": at, "ok": ok, "reason": reason, "error": error}
        self.write()

    def remove(self) -> None:
        """The server stops: the file goes, unless another server has written it since."""
        with contextlib.suppress(OSError, StatusError):
            if read_status(self.path.parent).pid == self.status.pid:
                self.path.unlink()


def read_status(state_dir: Path) -> Status:
    """The status of the server that runs (or ran) from ``state_dir``; :class:`StatusError` when none."""
    path = state_dir / STATUS_FILE
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatusError(f"no server has written {path}: none is running from this state directory") from None
    except (OSError, ValueError) as exc:
        raise StatusError(f"cannot read {path}: {exc}") from None
    try:
        return Status(
            pid=int(data["pid"]),
            version=str(data["version"]),
            config=str(data["config"]),
            root=str(data["root"]),
            state_dir=str(data["state_dir"]),
            started=float(data["started"]),
            ready={str(k): str(v) for k, v in dict(data.get("ready", {})).items()},
            last_reload=dict(data["last_reload"]) if isinstance(data.get("last_reload"), dict) else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StatusError(f"{path} is not a bootwright status file ({exc})") from None


def is_running(status: Status) -> bool:
    """True when the recorded pid is a live bootwright process (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{status.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"bootwright" in cmdline


def request_reload(status: Status) -> None:
    """Ask the server to reload its configuration and inventory (SIGHUP); :class:`StatusError` if it is gone."""
    if not is_running(status):
        raise StatusError(f"the server recorded as pid {status.pid} is not running (stopped or killed)")
    try:
        os.kill(status.pid, signal.SIGHUP)
    except ProcessLookupError:
        raise StatusError(f"the server recorded as pid {status.pid} is not running") from None
    except PermissionError:
        raise StatusError(f"not allowed to signal pid {status.pid}: run as the server's user or root") from None
