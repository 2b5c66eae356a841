"""``bootwright status`` and ``reload`` find a real ``serve`` process through its state directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from bootwright.cli.main import app

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_status_and_reload_follow_a_running_server(tmp_path: Path) -> None:
    root, state = tmp_path / "root", tmp_path / "state"
    root.mkdir()
    config = tmp_path / "site.toml"
    config.write_text(
        f'root = "root"\nstate_dir = "state"\n[tftp]\nenabled = false\n'
        f'[http]\nport = {free_port()}\nlisten = ["127.0.0.1"]\n[boot]\ndefault = "t"\n[targets.t]\nexit = true\n'
    )
    # From another working directory: the config's relative paths mean "next to the file".
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "bootwright.cli", "serve", "--config", str(config)],
        cwd="/", stderr=log.open("w"),
    )
    try:
        status_file = state / "status.json"
        assert wait_for(lambda: status_file.exists() and "http" in json.loads(status_file.read_text())["ready"])
        assert status_file.stat().st_mode & 0o777 == 0o600

        result = runner.invoke(app, ["status", "--config", str(config), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["running"] is True and data["pid"] == server.pid
        assert data["state_dir"] == str(state.resolve()) and "127.0.0.1" in data["ready"]["http"]

        result = runner.invoke(app, ["reload", "--state-dir", str(state)])
        assert result.exit_code == 0 and f"reload applied by pid {server.pid}" in result.stdout, result.output
        assert wait_for(lambda: "config.reloaded reason=SIGHUP" in log.read_text())
        data = json.loads(runner.invoke(app, ["status", "--config", str(config), "--json"]).stdout)
        assert data["last_reload"]["ok"] is True and data["last_reload"]["reason"] == "SIGHUP"
        assert data["counts"] == {"hosts": 0, "one_shot_boots": 0, "leases_v4": 0, "leases_v6": 0}

        good = config.read_text()
        config.write_text(good.replace('default = "t"', 'default = "nowhere"'))
        result = runner.invoke(app, ["reload", "--state-dir", str(state)])
        assert result.exit_code == 1 and "REFUSED" in result.stderr and "nowhere" in result.stderr, result.output
        shown = runner.invoke(app, ["status", "--state-dir", str(state)])  # the config itself is broken now
        assert "REFUSED at" in shown.stdout, shown.output
        last = json.loads(runner.invoke(app, ["status", "--state-dir", str(state), "--json"]).stdout)["last_reload"]
        assert last["ok"] is False and "nowhere" in last["error"], last
        config.write_text(good)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert not (state / "status.json").exists()  # removed on a clean stop
    result = runner.invoke(app, ["status", "--state-dir", str(state)])
    assert result.exit_code == 1 and "none is running" in result.stderr


def test_a_status_file_left_by_a_killed_server_reads_as_not_running(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "status.json").write_text(json.dumps({
        "pid": dead.pid, "version": "0", "config": "c.toml", "root": "/srv", "state_dir": str(tmp_path),
        "started": 0.0, "ready": {},
    }))  # fmt: skip
    result = runner.invoke(app, ["status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1 and "not running" in result.stdout
    result = runner.invoke(app, ["reload", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1 and "not running" in result.stderr
    assert os.path.exists(tmp_path / "status.json")  # reading never deletes
