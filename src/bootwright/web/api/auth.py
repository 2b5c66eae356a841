"""Who may use the REST API, the web UI and ``/metrics``: networks first, then credentials and roles.

Rules, in the order they are applied (docs/api.md, docs/ui.md):

1. A client outside ``[api] admin_networks`` gets 403, whatever it carries.
2. A read (GET/HEAD/OPTIONS) from ``[api] anonymous_read_networks`` (and
   inside ``admin_networks``) needs nothing; credentials it carries are not
   looked at.
3. Every other request needs credentials, each with a role:

   - ``Authorization: Bearer <token>`` (RFC 6750 §2.1): the API token, the
     admin role. None is 401 with a ``WWW-Authenticate`` challenge, a wrong
     one 403. The token lives in ``api-token`` in the state directory (or
     ``[api] token_file``), created with mode 0600 on first start and re-read
     on every check, so replacing the file rotates it without a restart.
   - the web UI's session cookie (``web/ui/session.py``), when there is no
     ``Authorization`` header: the role of the login — admin for the token,
     the user's ``role`` for an ``[[api.user]]``. An unknown or expired
     session is 401, and so is one whose credential changed since it logged
     in (the token rotated, the user's password changed or the user removed).
     A write with the cookie must carry the session's CSRF token in
     ``X-CSRF-Token`` (403 otherwise).

4. A write (any other method) needs the admin role: a ``read`` user's is 403.

Wrong bearer tokens count against the source's login failures
(``web/api/logins.py``): once it has none left it gets 429 before its token
is looked at.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Final

from aiohttp import web

from bootwright.runtime import Runtime
from bootwright.runtime.hostfacts import plain_address
from bootwright.store.files import FILE_MODE, private_dir, tighten
from bootwright.web.api.common import ApiError
from bootwright.web.api.logins import guard_of
from bootwright.web.ui.session import COOKIE, CSRF_HEADER, SESSIONS, Session, credential_digest, session_of

log = logging.getLogger("bootwright.api")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIN: Final = "admin"
READ: Final = "read"
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="bootwright"'}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request was allowed as: its role, how it showed it, and the user's name for a user's login."""

    role: str  # ADMIN or READ
    how: str  # "network" (an anonymous read), "token" (bearer) or "session" (the UI's cookie)
    user: str | None = None


ANONYMOUS: Final = Caller(READ, "network")


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


def current_token(runtime: Runtime) -> str:
    """The token as the file holds it now; 500 (an :class:`ApiError`) when it cannot be read."""
    try:
        return ensure_token(token_path(runtime))
    except OSError as exc:
        raise ApiError(500, f"cannot read the API token file: {exc}") from None


def _inside(networks: Iterable[IPv4Network | IPv6Network], remote: str | None) -> bool:
    if not remote:
        return False  # not a TCP peer we can check (a UNIX socket): refuse
    try:
        addr = ipaddress.ip_address(plain_address(remote))
    except ValueError:
        return False
    return any(addr.version == net.version and addr in net for net in networks)


def peer_allowed(runtime: Runtime, remote: str | None) -> bool:
    """True when the client address is inside one of the configured admin networks."""
    return _inside(runtime.config.api.admin_networks, remote)


def anonymous_read(runtime: Runtime, remote: str | None) -> bool:
    """True when a client at ``remote`` reads without credentials: in both admin and anonymous-read networks."""
    api = runtime.config.api
    return _inside(api.admin_networks, remote) and _inside(api.anonymous_read_networks, remote)


def session_caller(runtime: Runtime, session: Session) -> Caller | None:
    """What a live session is worth now: its role, or None when its credential changed since it logged in."""
    if session.user is None:
        try:
            token = ensure_token(token_path(runtime))
        except OSError:
            return None
        return Caller(ADMIN, "session") if hmac.compare_digest(session.credential, credential_digest(token)) else None
    for user in runtime.config.api.user:
        if user.name == session.user:
            if hmac.compare_digest(session.credential, credential_digest(user.password_hash)):
                return Caller(user.role, "session", user.name)
            return None
    return None


def check_request(runtime: Runtime, request: web.Request) -> Caller:
    """Who this request may proceed as; :class:`ApiError` (403/401/429) when it may not."""
    remote = request.remote
    if not peer_allowed(runtime, remote):
        raise ApiError(403, f"{remote} is not in api.admin_networks")
    reading = request.method in READ_METHODS
    if reading and anonymous_read(runtime, remote):
        return ANONYMOUS
    header = request.headers.get("Authorization", "")
    if header:
        caller = _bearer(runtime, request, header)
    elif COOKIE in request.cookies:
        caller = _session(runtime, request, reading)
    elif reading:
        raise ApiError(
            401,
            f"reading needs credentials from {remote} (not in api.anonymous_read_networks): send "
            f"'Authorization: Bearer <token>' (the token is in {token_path(runtime)}) or log in at /ui/login",
            headers=_CHALLENGE,
        )
    else:
        raise ApiError(
            401,
            "this request changes something: send 'Authorization: Bearer <token>' "
            f"(the token is in {token_path(runtime)})",
            headers=_CHALLENGE,
        )
    if not reading and caller.role != ADMIN:
        raise ApiError(
            403,
            f"user {caller.user!r} has the read role: it may read but not change anything "
            '(that needs an [[api.user]] with role = "admin", or the API token)',
        )
    return caller


def _bearer(runtime: Runtime, request: web.Request, header: str) -> Caller:
    """``Authorization: Bearer <the API token>``: the admin role."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "the Authorization header must be 'Bearer <token>' (RFC 6750 §2.1)", headers=_CHALLENGE)
    guard = guard_of(request)
    wait = guard.retry_after(request.remote)
    if wait:
        raise ApiError(
            429,
            f"too many failed logins from {request.remote}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    expected = current_token(runtime)
    if not expected or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        guard.failed(request.remote, "API: wrong bearer token")
        raise ApiError(403, "wrong bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return Caller(ADMIN, "token")


def _session(runtime: Runtime, request: web.Request, reading: bool) -> Caller:
    """The UI's session cookie: a live session whose credential still holds, and its CSRF token on writes."""
    session = session_of(request)
    if session is None:
        raise ApiError(401, "the UI session has ended or expired: log in again at /ui/login", headers=_CHALLENGE)
    if not reading:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), session.csrf.encode()):
            raise ApiError(403, f"a write with the UI session cookie needs the session's {CSRF_HEADER} header")
    caller = session_caller(runtime, session)
    if caller is None:
        request.config_dict[SESSIONS].drop(session.sid)
        what = "API token" if session.user is None else f"password of user {session.user!r} (or the user)"
        raise ApiError(401, f"the {what} was changed since this UI session logged in: log in again", headers=_CHALLENGE)
    return caller
