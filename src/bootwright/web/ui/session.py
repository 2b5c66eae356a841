"""UI logins: the API token or a configured user's password exchanged for a session cookie, and the
CSRF token that guards its writes.

Rule: a session is worth the credential it was made with and no more. Only
``POST /ui/login`` creates one — with the API token (the admin role) or with
an ``[[api.user]]``'s name and password (that user's role). It ends after
:data:`IDLE_TIMEOUT` seconds without a request, at ``POST /ui/logout``, when
the server stops (sessions live in memory only) and when its credential
changes: ``web/api/auth.py`` compares :attr:`Session.credential` with the
current token, or with the user's current ``password_hash``, on every request
that relies on the session, so rotating the token, changing a user's password
or removing the user (and reloading) ends those sessions.

The cookie (:data:`COOKIE`) carries a random session id only: ``HttpOnly``
(scripts cannot read it), ``SameSite=Strict`` (no other site's page sends
it), ``Secure`` when the login came over TLS, ``Path=/`` (the API needs it
too). A write made with the cookie must also carry the session's own random
CSRF token in :data:`CSRF_HEADER` (the synchronizer token pattern): the page
gets it in ``<meta name="csrf-token">``; another site can neither read it
nor set the header.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

COOKIE: Final = "bootwright_session"
CSRF_HEADER: Final = "X-CSRF-Token"
IDLE_TIMEOUT: Final = 3600.0
"""Seconds without a request after which a session is gone (log in again)."""
MAX_SESSIONS: Final = 1000
"""Sessions kept at once; a login beyond drops the one idle longest."""


def credential_digest(secret: str) -> bytes:
    """What a session remembers of its credential (the API token, or the user's password hash), never itself."""
    return hashlib.sha256(secret.encode()).digest()


@dataclass(slots=True)
class Session:
    """One login: its cookie value, its CSRF token, who logged in with what, when it was last used."""

    sid: str
    csrf: str
    credential: bytes  # credential_digest of the token, or of the user's password_hash
    seen: float
    user: str | None = None  # an [[api.user]]'s name; None: logged in with the API token


class Sessions:
    """The logged-in sessions of one server, in memory, with an idle expiry."""

    def __init__(
        self, idle: float = IDLE_TIMEOUT, limit: int = MAX_SESSIONS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle = idle
        self.limit = limit
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def create(self, secret: str, user: str | None = None) -> Session:
        """A new session for a login (already checked) with the token, or as ``user`` (``secret``: its hash).

        Its id and CSRF token are 256-bit random.
        """
        now = self.clock()
        self._expire(now)
        while len(self._by_id) >= self.limit:
            oldest = min(self._by_id.values(), key=lambda s: s.seen)
            del self._by_id[oldest.sid]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), credential_digest(secret), now, user)
        self._by_id[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle time restarts), or None: unknown, ended or expired."""
        if not sid:
            return None
        session = self._by_id.get(sid)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle:
            del self._by_id[sid]
            return None
        session.seen = now
        return session

    def drop(self, sid: str | None) -> None:
        """End a session (logout, or its credential changed)."""
        if sid:
            self._by_id.pop(sid, None)

    def _expire(self, now: float) -> None:
        for sid in [s.sid for s in self._by_id.values() if now - s.seen > self.idle]:
            del self._by_id[sid]


SESSIONS: Final = web.AppKey("bootwright_ui_sessions", Sessions)
"""Where the HTTP service's application keeps its :class:`Sessions` (set by ``mount_ui``)."""


def session_of(request: web.Request) -> Session | None:
    """The session named by the request's cookie; None without the UI, a cookie or a live session."""
    sessions = request.config_dict.get(SESSIONS)
    if sessions is None:
        return None
    return sessions.get(request.cookies.get(COOKIE))


def set_cookie(response: web.StreamResponse, session: Session, secure: bool) -> None:
    """Give the browser the session cookie (no ``Max-Age``: it ends with the browser, or idle on the server)."""
    response.set_cookie(COOKIE, session.sid, path="/", httponly=True, samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    """Tell the browser to forget the session cookie."""
    response.del_cookie(COOKIE, path="/")
