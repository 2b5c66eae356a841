"""TLS for the API and UI: the server context of ``[http] tls_cert``/``tls_key`` (docs/api.md, "TLS").

Rule: the certificate and key are loaded here and nowhere else — by ``bootwright
check`` (:func:`tls_problems`) and by the HTTP service at start
(:func:`server_context`) — so a file ``check`` accepts is one ``serve`` loads,
and every refusal names the file and the key that points at it. Only ``ssl``
is imported: ``check`` does not load aiohttp.

The key must be unencrypted (a service cannot type a passphrase): an encrypted
one is refused at once, never prompted for on a terminal.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from bootwright.config import Config, HttpSection, Problem

__all__ = ["TlsError", "server_context", "tls_problems"]


class TlsError(Exception):
    """The TLS files cannot be used; ``problem`` names the key (``http.tls_cert``) and the file."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class _Encrypted(Exception):
    """The private key asks for a passphrase."""


def _passphrase() -> str:
    raise _Encrypted


def _read(key: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsError(Problem(f"http.{key}", f"cannot read {path}: {exc.strerror or exc}")) from None


def server_context(http: HttpSection) -> ssl.SSLContext | None:
    """The HTTPS context of ``http`` (None without ``tls_cert``); raise :class:`TlsError` naming the file."""
    cert, key = http.tls_cert, http.tls_key
    if cert is None or key is None:
        return None
    cert_text, key_text = _read("tls_cert", cert), _read("tls_key", key)
    if b"-----BEGIN CERTIFICATE-----" not in cert_text:
        raise TlsError(Problem("http.tls_cert", f"{cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"))
    if b"PRIVATE KEY-----" not in key_text:
        raise TlsError(Problem("http.tls_key", f"{key} holds no PEM private key (-----BEGIN PRIVATE KEY-----)"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key, password=_passphrase)
    except _Encrypted:
        raise TlsError(Problem("http.tls_key", f"{key} is encrypted: give an unencrypted key (openssl pkey -in "
                               f"{key.name} -out plain.pem)")) from None
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if reason == "KEY_VALUES_MISMATCH":
            raise TlsError(Problem("http.tls_key", f"{key} is not the private key of the certificate {cert}")) from None
        raise TlsError(Problem("http.tls_cert", f"cannot load {cert} with the key {key}: {reason}")) from None
    except OSError as exc:  # the file went away between the read and the load
        raise TlsError(Problem("http.tls_cert", f"cannot load {cert}: {exc.strerror or exc}")) from None
    return context


def tls_problems(config: Config) -> list[Problem]:
    """What ``bootwright check`` reports about the TLS files: nothing, or the one problem found first."""
    if not config.http.enabled:
        return []
    try:
        server_context(config.http)
    except TlsError as exc:
        return [exc.problem]
    return []
