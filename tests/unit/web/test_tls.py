"""HTTPS for the API and UI (``[http] tls_cert``/``tls_key``, web/tls.py): served beside plain HTTP, checked by check."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import ssl
import urllib.error
import urllib.request
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from bootwright.cli.main import app
from bootwright.config import ConfigError, parse_config, read_config
from bootwright.runtime import ServiceError
from bootwright.runtime.reload import HotReload, restart_needed
from bootwright.web.service import HttpService
from bootwright.web.tls import TlsError, server_context, tls_problems
from tests import helpers

SITE = """
[targets.local]
exit = true

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
"""


def make_cert(directory: Path, name: str = "server", encrypt: bytes | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bootwright test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(encrypt) if encrypt else serialization.NoEncryption())
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return cert_path, key_path


def tls_config(cert: Path, key: Path, extra: str = "") -> str:
    return f'[http]\nlisten = ["127.0.0.1"]\ntls_cert = "{cert}"\ntls_key = "{key}"\n{extra}' + SITE


def test_the_api_is_served_over_https_and_plain_http_stays(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    (root / "file").write_bytes(b"data")
    big = bytes(range(256)) * 12289  # 3 MiB and some: several chunks, copied (no sendfile through TLS)
    (root / "big.img").write_bytes(big)
    rt = helpers.make_runtime(tmp_path, tls_config(cert, key), root=root, with_store=True)
    trusted = ssl.create_default_context(cafile=str(cert))

    def get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10, context=context) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    async def main() -> None:
        reloader = HotReload(rt)
        reloader.start()
        service = HttpService(rt, port=0, tls_port=0)
        task = asyncio.create_task(service.run())
        try:
            await asyncio.wait_for(service.started.wait(), 5)
            port, tls_port = service.addresses[0][1], service.tls_addresses[0][1]
            assert port != tls_port and "HTTPS on 127.0.0.1:" in rt.ready["http"]
            status, body = await asyncio.to_thread(get, f"https://127.0.0.1:{tls_port}/api/hosts", trusted)
            assert status == 200 and json.loads(body)["hosts"][0]["name"] == "web1"
            status, body = await asyncio.to_thread(get, f"https://localhost:{tls_port}/file", trusted)
            assert (status, body) == (200, b"data")  # the same application: files too
            status, body = await asyncio.to_thread(get, f"https://localhost:{tls_port}/big.img", trusted)
            assert status == 200 and body == big
            status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/api/hosts")
            assert status == 200 and json.loads(body)["hosts"][0]["name"] == "web1"
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                await asyncio.to_thread(get, f"https://127.0.0.1:{tls_port}/api/hosts", ssl.create_default_context())
            status, _ = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/file")
            assert status == 200
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await reloader.aclose()
            await rt.store.aclose()

    asyncio.run(main())


def test_without_tls_files_only_plain_http_listens(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    rt = helpers.make_runtime(tmp_path, '[http]\nlisten = ["127.0.0.1"]\n' + SITE, root=tmp_path / "root")

    async def main() -> None:
        service = HttpService(rt, port=0, tls_port=0)
        task = asyncio.create_task(service.run())
        try:
            await asyncio.wait_for(service.started.wait(), 5)
            assert service.tls_addresses == [] and len(service.sites) == 1 and "HTTPS" not in rt.ready["http"]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())


def test_a_bad_certificate_stops_the_service_with_the_check_message(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    rt = helpers.make_runtime(tmp_path, tls_config(tmp_path / "nope.crt", tmp_path / "nope.key"),
                              root=tmp_path / "root")

    async def main() -> None:
        with pytest.raises(ServiceError, match=r"HTTPS: http.tls_cert: cannot read .*nope.crt: No such file"):
            await HttpService(rt, port=0, tls_port=0).run()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing cert", r"http.tls_cert: cannot read {dir}/missing.crt: No such file or directory"),
        ("missing key", r"http.tls_key: cannot read {dir}/missing.key: No such file or directory"),
        ("not a cert", r"http.tls_cert: {dir}/server.key holds no PEM certificate"),
        ("not a key", r"http.tls_key: {dir}/server.crt holds no PEM private key"),
        ("other key", r"http.tls_key: {dir}/other.key is not the private key of the certificate {dir}/server.crt"),
        ("encrypted", r"http.tls_key: {dir}/locked.key is encrypted: give an unencrypted key"),
        ("unreadable", r"http.tls_key: cannot read {dir}/server.key: "),
    ],
)
def test_unusable_tls_files_are_named(tmp_path: Path, case: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = make_cert(tmp_path)
    _, other = make_cert(tmp_path, "other")
    locked_cert, locked = make_cert(tmp_path, "locked", encrypt=b"secret")
    chosen = {
        "missing cert": (tmp_path / "missing.crt", key),
        "missing key": (cert, tmp_path / "missing.key"),
        "not a cert": (key, key),
        "not a key": (cert, cert),
        "other key": (cert, other),
        "encrypted": (locked_cert, locked),  # never prompted for on the terminal
        "unreadable": (cert, key),
    }[case]
    if case == "unreadable":  # root reads any file: refuse the key as a permission would
        monkeypatch.setattr(Path, "read_bytes", _refuse_key(Path.read_bytes))
    http = parse_config(tls_config(*chosen)).http
    with pytest.raises(TlsError) as info:
        server_context(http)
    assert expected.format(dir=tmp_path) in str(info.value)


def _refuse_key(read: Any) -> Any:
    def read_bytes(self: Path) -> bytes:
        if self.suffix == ".key":
            raise PermissionError(13, "Permission denied")
        return read(self)  # type: ignore[no-any-return]

    return read_bytes


def test_tls_settings_are_checked_in_the_model() -> None:
    with pytest.raises(ConfigError, match=r"http\.tls_cert: TLS needs http\.tls_key too"):
        parse_config('[http]\ntls_cert = "/etc/ssl/a.crt"\n')
    with pytest.raises(ConfigError, match=r"http\.tls_key: TLS needs http\.tls_cert too"):
        parse_config('[http]\ntls_key = "/etc/ssl/a.key"\n')
    with pytest.raises(ConfigError, match=r"http\.tls_port: 8080 is also http\.port"):
        parse_config('[http]\nport = 8080\ntls_port = 8080\ntls_cert = "a.crt"\ntls_key = "a.key"\n')
    assert parse_config('[http]\ntls_cert = "a.crt"\ntls_key = "a.key"\n').http.tls_port == 443


def test_relative_tls_files_mean_next_to_the_config_and_changes_need_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[http]\ntls_cert = "tls/cert.pem"\ntls_key = "tls/key.pem"\n')
    http = read_config(path).config.http
    assert (http.tls_cert, http.tls_key) == (tmp_path / "tls/cert.pem", tmp_path / "tls/key.pem")
    assert restart_needed(parse_config(""), read_config(path).config) == ["http.tls_cert", "http.tls_key"]


def test_check_loads_the_tls_files(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    state = tmp_path / "state"
    good = tmp_path / "good.toml"
    good.write_text(tls_config(cert, key))
    result = CliRunner().invoke(app, ["check", "-c", str(good), "--state-dir", str(state)])
    assert result.exit_code == 0, result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(tls_config(cert, tmp_path / "gone.key"))
    result = CliRunner().invoke(app, ["check", "-c", str(bad), "--state-dir", str(state)])
    assert result.exit_code == 2
    assert f"{bad}:4: http.tls_key: cannot read {tmp_path}/gone.key: No such file or directory" in (
        result.stderr.replace("\n", ""))
    assert tls_problems(parse_config(tls_config(cert, tmp_path / "gone.key") + "")) != []
    assert tls_problems(parse_config(tls_config(cert, tmp_path / "gone.key").replace("[http]", "[http]\nenabled = false"))) == []
