"""UI logins: the API token exchanged for a session cookie, and the CSRF token that guards its writes.

Rule: a session is worth the API token and no more. Only ``POST /ui/login``
with the token creates one; it ends after :data:`IDLE_TIMEOUT` seconds
without a request, at ``POST /ui/logout``, when the server stops (sessions
live in memory only) and when the token file changes (rotating the token
revokes every session: ``web/api/auth.py`` compares :attr:`Session.token_digest`
with the current token on each write).

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


def token_digest(token: str) -> bytes:
    """What a session remembers of the API token it was created with (never the token itself)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(slots=True)
class Session:
    """One login: its cookie value, its CSRF token, the token it was made with, when it was last used."""

    sid: str
    csrf: str
    token_digest: bytes
    seen: float


class Sessions:
    """The logged-in sessions of one server, in memory, with an idle expiry."""

    def __init__(self, idle: float = IDLE_TIMEOUT, limit: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self.limit = limit
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def create(self, token: str) -> Session:
        """A new session for a login with ``token`` (already checked): 256-bit random id and CSRF token."""
        now = self.clock()
        self._expire(now)
        while len(self._by_id) >= self.limit:
            oldest = min(self._by_id.values(), key=lambda s: s.seen)
            del self._by_id[oldest.sid]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), token_digest(token), now)
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
        """End a session (logout, or its token was rotated)."""
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
