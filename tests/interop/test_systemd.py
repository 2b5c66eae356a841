"""bootwright under a service manager: the shipped unit, sd_notify, journald and syslog output.

- ``bootwright systemd-unit`` prints a unit that ``systemd-analyze verify``
  accepts without a warning (also with ``--read-write`` for upload roots).
- ``bootwright serve`` under a stand-in service manager — what systemd gives a
  ``Type=notify`` service with ``WatchdogSec=``: ``NOTIFY_SOCKET`` (a datagram
  socket bound here) and ``WATCHDOG_USEC`` — sends ``READY=1`` with a STATUS
  once its services answer, ``RELOADING=1`` (with ``MONOTONIC_USEC``) then
  ``READY=1`` around a SIGHUP reload, ``WATCHDOG=1`` pings, and ``STOPPING=1``
  on SIGTERM, and exits 0. This machine's PID 1 is not systemd, so this is the
  documented equivalent of running it under ``systemctl start`` (docs/systemd.md).
- With ``JOURNAL_STREAM`` naming its stderr (as systemd sets it) and no journal
  socket, lines carry no time of their own; ``--log-json`` makes every line
  one JSON object; ``--log-target syslog`` sends RFC 3164 lines to a socket.

Everything listens on 127.0.0.1 or on Unix sockets in a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import loopback_http_config

pytestmark = pytest.mark.interop

BOOTWRIGHT = [sys.executable, "-m", "bootwright.cli"]
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed (Debian: systemd)")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config serving HTTP on a free loopback port only (nothing binds DHCP)."""
    return loopback_http_config(tmp_path)[0]


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """The stand-in service manager's notification socket."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    try:
        yield path, sock
    finally:
        sock.close()


def _serve(config: Path, stderr: Path, env: dict[str, str], *flags: str) -> subprocess.Popen[bytes]:
    with stderr.open("wb") as err:
        return subprocess.Popen([*BOOTWRIGHT, "serve", "--config", str(config), *flags], stderr=err,
                                stdin=subprocess.DEVNULL, env={**os.environ, **env})


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _until(what: str, check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@needs_analyze
@pytest.mark.parametrize("extra", [[], ["--read-write", "/srv/tftp"]])
def test_the_shipped_unit_passes_systemd_analyze_verify(tmp_path: Path, site: Path, extra: list[str]) -> None:
    unit = subprocess.run([*BOOTWRIGHT, "systemd-unit", "--config", str(site), *extra], capture_output=True,
                          text=True, check=True).stdout
    assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN" in unit
    assert "ProtectSystem=strict" in unit and "StateDirectory=bootwright" in unit
    assert f"serve --config {site}" in unit
    if extra:
        assert "\nReadWritePaths=/srv/tftp\n" in unit
    path = tmp_path / "bootwright.service"
    path.write_text(unit)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    # verify exits 0 on unknown keys too, with a warning: any output is a finding.
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), result


def test_serve_tells_the_service_manager_each_step(tmp_path: Path, site: Path,
                                                   manager: tuple[str, socket.socket]) -> None:
    path, sock = manager
    proc = _serve(site, tmp_path / "serve.log", {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}, "--log-json")
    got: list[dict[str, str]] = []

    def receive() -> bool:
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            return False
        got.append(dict(line.split("=", 1) for line in data.splitlines()))
        return True

    try:
        _until("READY=1", lambda: receive() and got[-1].get("READY") == "1")
        assert got[-1]["STATUS"].startswith("serving http: listening on 127.0.0.1:")
        proc.send_signal(signal.SIGHUP)
        _until("READY=1 after the reload", lambda: receive() and got[-1].get("READY") == "1" and any(
            "RELOADING" in g for g in got))
        reloading = next(g for g in got if "RELOADING" in g)
        assert int(reloading["MONOTONIC_USEC"]) > 0
        _until("two watchdog pings", lambda: receive() and sum("WATCHDOG" in g for g in got) >= 2, 5.0)
        proc.send_signal(signal.SIGTERM)
        _until("STOPPING=1", lambda: receive() and "STOPPING" in got[-1])
        # Wait, do not signal again: a second SIGTERM after the handlers are gone would kill it (as systemd,
        # which sends one SIGTERM and then only SIGKILL after TimeoutStopSec).
        assert proc.wait(15) == 0
    finally:
        _stop(proc)
    lines = (tmp_path / "serve.log").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # --log-json: every line is one JSON object
    messages = [p.get("msg", "") for p in parsed]
    assert any(m.startswith("bootwright ") and " ready: http: listening on " in m for m in messages), messages
    assert "bootwright stopping: SIGTERM received" in messages and messages[-1] == "bootwright stopped"
    assert any(p.get("event") == "config.reloaded" for p in parsed), parsed


def test_under_journald_lines_carry_no_time(tmp_path: Path, site: Path) -> None:
    log = tmp_path / "serve.log"
    log.touch()
    st = log.stat()
    # JOURNAL_STREAM names stderr (the file), as systemd does for a journal-connected stream; with no journal
    # socket on this machine bootwright writes to stderr, without the time journald adds itself.
    proc = _serve(site, log, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    try:
        _until("the ready line", lambda: " ready: " in log.read_text())
    finally:
        assert _stop(proc) == 0
    lines = log.read_text().splitlines()
    if Path("/run/systemd/journal/socket").exists():
        pytest.skip("a journal socket exists here: bootwright wrote to the journal instead")
    assert lines and all(line.startswith("bootwright") for line in lines), lines


def test_syslog_output(tmp_path: Path, site: Path) -> None:
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(0.2)
        proc = _serve(site, tmp_path / "serve.log", {}, "--log-target", "syslog", "--syslog-address", path)
        got: list[str] = []

        def receive() -> bool:
            try:
                got.append(sock.recv(65536).decode())
            except TimeoutError:
                return False
            return True

        try:
            _until("the ready line", lambda: receive() and " ready: " in got[-1])
        finally:
            assert _stop(proc) == 0
    # RFC 3164: <PRI> (daemon.info = 3*8+6 = 30), then the tag with the pid.
    assert all(line.startswith("<") for line in got), got
    ready = next(line for line in got if " ready: " in line)
    assert ready.startswith(f"<30>bootwright[{proc.pid}]: bootwright INFO "), ready


def test_a_bad_log_target_is_a_usage_error(site: Path) -> None:
    result = subprocess.run([*BOOTWRIGHT, "serve", "--config", str(site), "--log-target", "files"],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "COLUMNS": "300"})
    assert result.returncode == 2 and "is not one of auto, stderr, journal, syslog" in result.stderr
