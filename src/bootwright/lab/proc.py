"""Bounded subprocess helpers shared by the lab.

Every command the lab runs goes through :func:`run` (short, synchronous, with a
timeout) or :class:`Managed` (a long-running process started in its own session
and stopped by pid, terminate first, kill after a grace period).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


class LabError(Exception):
    """A problem the user can act on; the message says what and what to do."""


def run(
    cmd: Sequence[str],
    *,
    timeout: float = 30.0,
    check: bool = True,
    cwd: Path | None = None,
    input_bytes: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a short command to completion, bounded by ``timeout`` seconds."""
    try:
        result = subprocess.run(
            list(cmd), cwd=cwd, input=input_bytes, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(cmd)} did not finish within {timeout:.0f} s") from None
    except FileNotFoundError:
        raise LabError(f"{cmd[0]} is not installed") from None
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        tail = detail[-1] if detail else f"exit code {result.returncode}"
        raise LabError(f"{' '.join(cmd)} failed: {tail}")
    return result


class Managed:
    """A long-running child process, started in its own session so Ctrl-C reaches only us."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process):
        self.name = name
        self.proc = proc

    @classmethod
    async def start(
        cls,
        name: str,
        cmd: Sequence[str],
        *,
        stdout: int | IO[Any] | None = asyncio.subprocess.DEVNULL,
        stderr: int | IO[Any] | None = asyncio.subprocess.PIPE,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Managed:
        """Start ``cmd``; stdin is always /dev/null."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise LabError(f"{cmd[0]} is not installed") from None
        return cls(name, proc)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    @property
    def running(self) -> bool:
        """True until the process has exited and been reaped."""
        return self.proc.returncode is None

    async def stop(self, grace: float = 3.0) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the exit code."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(self.proc.wait(), grace)
        return self.proc.returncode


def kill_pid(pid: int) -> None:
    """Best-effort SIGKILL of one pid (used for leftovers of our own namespaces)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
