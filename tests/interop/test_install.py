"""``pip install`` of a built wheel gives a working ``bootwright serve`` (issue 18, "Install").

The wheel is built from this checkout (``pip wheel --no-deps``: the native TFTP
pump is compiled when a C compiler is there, and optional), installed into a
fresh virtual environment with its dependencies from the package index, and
the installed ``bootwright`` — not this checkout — must check a config, print
the systemd unit, and serve HTTP on loopback with the shipped files (templates,
unit, the web UI's pages and static files) found inside the wheel. Skipped when the package index cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from netns import loopback_http_config

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], timeout: float = 600, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a fresh venv with bootwright installed from a wheel of this checkout."""
    work = tmp_path_factory.mktemp("install")
    # Build from a copy: a wheel build writes build/ and *.egg-info next to the sources.
    source = work / "src-copy"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                ".mypy_cache", ".ruff_cache", ".pytest_cache"))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work / "dist"),
                  str(source)])
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((work / "dist").glob("bootwright-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    pip = _run([str(venv / "bin" / "pip"), "install", "-q", str(wheels[0])])
    if pip.returncode != 0 and ("Could not find a version" in pip.stderr or "NewConnectionError" in pip.stderr
                                or "No matching distribution" in pip.stderr):
        pytest.skip(f"the package index cannot be reached for the dependencies: {pip.stderr.strip()[-300:]}")
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


def test_the_installed_command_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    bootwright = str(installed / "bootwright")
    version = _run([bootwright, "--version"])
    assert version.returncode == 0 and version.stdout.startswith("bootwright "), version
    where = _run([str(installed / "python"), "-c", "import bootwright; print(bootwright.__file__)"])
    assert str(REPO / "src") not in where.stdout and "site-packages" in where.stdout, where.stdout
    unit = _run([bootwright, "systemd-unit", "--config", str(tmp_path / "bootwright.toml")])
    assert unit.returncode == 0 and f"ExecStart={bootwright} serve" in unit.stdout, unit


def test_the_installed_server_serves(installed: Path, tmp_path: Path) -> None:
    config, port = loopback_http_config(tmp_path, '[targets.linux]\nkernel = "vmlinuz"\ninitrd = ["initrd.img"]\n')
    (tmp_path / "root" / "hello.txt").write_text("hello from the wheel\n")
    checked = _run([str(installed / "bootwright"), "check", "--config", str(config)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([str(installed / "bootwright"), "serve", "--config", str(config)], env=env,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert body == "hello from the wheel\n"
        # An iPXE script is rendered from the templates packaged in the wheel.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/boot.ipxe", timeout=5) as r:
            assert r.read().decode().startswith("#!ipxe")
        # The web UI's templates and static files are in the wheel too; "/" leads to it.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.url == f"http://127.0.0.1:{port}/ui/"
            page = r.read().decode()
            assert "Content-Security-Policy" in r.headers and "<title>Hosts · bootwright</title>" in page
        for static in ("app.js", "app.css"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/static/{static}", timeout=5) as r:
                assert r.status == 200 and len(r.read()) > 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
