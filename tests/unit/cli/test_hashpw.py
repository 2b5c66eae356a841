"""``bootwright hash-password``: a hash for ``[[api.user]]``, the password never echoed."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

from bootwright.cli.main import app
from bootwright.config import parse_config
from bootwright.wire.passhash import DEFAULT_N, PasswordHash

runner = CliRunner()


def test_stdin_gives_one_line_a_config_takes() -> None:
    result = runner.invoke(app, ["hash-password", "--stdin"], input="a long password\n")
    assert result.exit_code == 0, result.stderr
    line = result.stdout.strip()
    assert "\n" not in line and "a long password" not in result.stdout + result.stderr
    made = PasswordHash.decode(line)
    assert made.n == DEFAULT_N and made.verify("a long password") and not made.verify("a long password\n")
    cfg = parse_config(f'[[api.user]]\nname = "ops"\npassword_hash = "{line}"\n')
    assert cfg.api.user[0].password_hash == line
    again = runner.invoke(app, ["hash-password", "--stdin"], input="a long password\n").stdout.strip()
    assert again != line  # a new salt every time


def test_short_passwords_and_no_terminal_are_usage_errors() -> None:
    result = runner.invoke(app, ["hash-password", "--stdin"], input="short\n")
    assert result.exit_code == 2 and "at least 8" in result.stderr and not result.stdout
    result = runner.invoke(app, ["hash-password"], input="a long password\n")
    assert result.exit_code == 2 and "--stdin" in result.stderr and not result.stdout


def _at_a_terminal(answers: list[str]) -> tuple[int, str]:
    """Run the command at a pseudo-terminal, typing ``answers`` at its prompts; (exit code, what the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command line, at a terminal
        os.execv(sys.executable, [sys.executable, "-m", "bootwright.cli.main", "hash-password"])
    shown = b""
    typed = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            prompts = shown.count(b"Password: ") + shown.count(b"Again: ")
            while typed < min(prompts, len(answers)):  # one answer per prompt, once it is shown
                os.write(fd, answers[typed].encode() + b"\n")
                typed += 1
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_at_a_terminal_it_asks_twice_without_echo() -> None:
    code, shown = _at_a_terminal(["tty password 1", "tty password 1"])
    assert code == 0 and "Password:" in shown and "Again:" in shown, shown
    assert "tty password 1" not in shown  # getpass turns echo off
    line = shown.strip().splitlines()[-1].strip()
    assert PasswordHash.decode(line).verify("tty password 1")
    code, shown = _at_a_terminal(["tty password 1", "tty password 2"])
    assert code == 2 and "differ" in shown and "scrypt$" not in shown


def test_it_is_a_real_command() -> None:
    res = subprocess.run([sys.executable, "-m", "bootwright.cli.main", "hash-password", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "--stdin" in res.stdout
