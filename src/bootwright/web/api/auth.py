"""Who may use the REST API: admin networks for everything, the bearer token for writes.

Every request must come from ``[api] admin_networks`` (403 otherwise). Requests
that change something (any method but GET/HEAD/OPTIONS) must also carry
``Authorization: Bearer <token>`` (RFC 6750 §2.1): none is 401 with a
``WWW-Authenticate`` challenge, a wrong one 403. The token lives in
``api-token`` in the state directory (or ``[api] token_file``), created with
mode 0600 on first start; it is re-read on every write, so replacing the
file rotates it without a restart.

A browser logged in to the web UI (``web/ui/session.py``) writes with its
session cookie instead: such a write, without an ``Authorization`` header,
must carry the session's CSRF token in ``X-CSRF-Token`` (403 otherwise); an
unknown or expired session is 401, and a session made with a token that has
been rotated since ends (401). A request with an ``Authorization`` header is
judged by the bearer rule alone.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from aiohttp import web

from bootwright.runtime import Runtime
from bootwright.store.files import FILE_MODE, private_dir, tighten
from bootwright.web.api.common import ApiError
from bootwright.web.ui.session import COOKIE, CSRF_HEADER, SESSIONS, session_of, token_digest

log = logging.getLogger("bootwright.api")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_path(runtime: Runtime) -> Path:
    """Where the bearer token lives: ``[api] token_file`` or ``api-token`` in the state directory."""
    return runtime.config.api.token_file or runtime.state_dir / "api-token"


def ensure_token(path: Path) -> str:
    """The API token, created (random, 256 bits, mode 0600) if the file does not exist yet.

    A token found readable by group or others is tightened to 0600 (a secret, as
    OpenSSH treats private keys); a missing directory is created 0700.
    """
    if not path.parent.is_dir():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path)
    else:
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fd, FILE_MODE)  # exact, whatever the umask
            fh.write(secrets.token_urlsafe(32) + "\n")
        log.info("API token created in %s (mode %04o)", path, FILE_MODE)
    return path.read_text(encoding="utf-8").strip()


def peer_allowed(runtime: Runtime, remote: str | None) -> bool:
    """True when the client address is inside one of the configured admin networks."""
    if not remote:
        return False
    try:
        addr = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == net.version and addr in net for net in runtime.config.api.admin_networks)


def check_request(runtime: Runtime, request: web.Request) -> None:
    """Raise :class:`ApiError` (403/401) unless this request may proceed."""
    if not peer_allowed(runtime, request.remote):
        raise ApiError(403, f"{request.remote} is not in api.admin_networks")
    if request.method in READ_METHODS:
        return
    header = request.headers.get("Authorization", "")
    if not header and COOKIE in request.cookies:
        _check_session(runtime, request)
        return
    scheme, _, given = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not given.strip():
        raise ApiError(
            401,
            "this request changes something: send 'Authorization: Bearer <token>' "
            f"(the token is in {token_path(runtime)})",
            headers={"WWW-Authenticate": 'Bearer realm="bootwright"'},
        )
    try:
        expected = ensure_token(token_path(runtime))
    except OSError as exc:
        raise ApiError(500, f"cannot read the API token file: {exc}") from None
    if not expected or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(403, "wrong bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _check_session(runtime: Runtime, request: web.Request) -> None:
    """A write with the UI's session cookie: a live session, its CSRF token, the token it logged in with."""
    session = session_of(request)
    if session is None:
        raise ApiError(401, "the UI session has ended or expired: log in again at /ui/login",
                       headers={"WWW-Authenticate": 'Bearer realm="bootwright"'})
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise ApiError(403, f"a write with the UI session cookie needs the session's {CSRF_HEADER} header")
    try:
        expected = ensure_token(token_path(runtime))
    except OSError as exc:
        raise ApiError(500, f"cannot read the API token file: {exc}") from None
    if not hmac.compare_digest(session.token_digest, token_digest(expected)):
        request.config_dict[SESSIONS].drop(session.sid)
        raise ApiError(401, "the API token was changed since this UI session logged in: log in again",
                       headers={"WWW-Authenticate": 'Bearer realm="bootwright"'})
