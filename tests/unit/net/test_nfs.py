"""The NFS service's pieces that need no NFS server: the backend choice, the factory, the checks before a start.

The service itself (NFS-Ganesha and rpcbind started, supervised, reloaded and
stopped) is tested against the real programs in ``tests/interop/test_nfs.py``.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bootwright import app
from bootwright.net import nfs
from bootwright.runtime import ServiceError
from tests.helpers import make_runtime

ENABLED = '[nfs]\nenabled = true\nexports = [{ path = "showmax" }]\n'


def test_the_factory_runs_the_service_only_when_enabled(tmp_path: Path) -> None:
    assert nfs.create_service in app.SERVICE_FACTORIES
    assert nfs.create_service(make_runtime(tmp_path, '[nfs]\nexports = [{ path = "showmax" }]\n')) is None
    service = nfs.create_service(make_runtime(tmp_path, ENABLED))
    assert service is not None and service.name == "nfs"


def test_backend_auto_takes_the_kernel_only_with_nfsd_and_exportfs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert nfs.choose_backend("ganesha") == "ganesha" and nfs.choose_backend("kernel") == "kernel"
    monkeypatch.setattr(nfs.os.path, "isdir", lambda path: path == "/proc/fs/nfsd")
    monkeypatch.setattr(nfs.shutil, "which", lambda name, path=None: f"/usr/sbin/{name}")
    assert nfs.choose_backend("auto") == "kernel"
    monkeypatch.setattr(nfs.shutil, "which", lambda name, path=None: None)
    assert nfs.choose_backend("auto") == "ganesha"  # nfsd but no exportfs
    monkeypatch.setattr(nfs.os.path, "isdir", lambda path: False)
    monkeypatch.setattr(nfs.shutil, "which", lambda name, path=None: f"/usr/sbin/{name}")
    assert nfs.choose_backend("auto") == "ganesha"  # exportfs but no nfsd (this machine kind)


def test_a_missing_program_names_its_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nfs.shutil, "which", lambda name, path=None: None)
    with pytest.raises(ServiceError, match=r"ganesha.nfsd not found: .*apt-get install nfs-ganesha nfs-ganesha-vfs"):
        nfs.program("ganesha.nfsd")


def test_answers_tells_a_listening_port_from_a_closed_one() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert nfs.answers(port)
    assert not nfs.answers(port)


def test_the_service_refuses_to_start_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = nfs.create_service(make_runtime(tmp_path, ENABLED))
    assert service is not None
    monkeypatch.setattr(nfs.os, "geteuid", lambda: 1000)
    with pytest.raises(ServiceError, match="serving NFS needs root"):
        asyncio.run(service.run())


def test_missing_export_directories_are_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "root" / "showmax").mkdir(parents=True)
    config = '[nfs]\nenabled = true\nexports = [{ path = "showmax" }, { path = "gone" }]\n'
    service = nfs.create_service(make_runtime(tmp_path, config, root=tmp_path / "root"))
    assert service is not None
    assert [e.path for e in service.current()] == ["showmax"]
    assert f"nfs.exports[1].path: {tmp_path}/root/gone is not a directory: not exported" in caplog.text


def test_ganesha_config_is_written_whole(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, ENABLED, root=tmp_path)
    (tmp_path / "showmax").mkdir()
    server = nfs.Ganesha(tmp_path / "nfs", "site.toml")
    (tmp_path / "nfs").mkdir()
    service = nfs.create_service(runtime)
    assert service is not None
    server.write(service.current())
    text = (tmp_path / "nfs" / "ganesha.conf").read_text()
    assert f'Path = "{tmp_path}/showmax";' in text and not (tmp_path / "nfs" / "ganesha.tmp").exists()
    assert (tmp_path / "nfs" / "recovery").is_dir()
