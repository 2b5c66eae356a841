"""The web UI's pages, login and static files under ``/ui/`` (docs/ui.md).

Rule: the pages hold no logic of their own. Each is a template rendered on
the server with what it needs to start (the host's record on its page, the
session's CSRF token), and ``static/app.js`` fills it through the REST API —
reads, writes (with the session cookie and ``X-CSRF-Token``, see
``session.py``) and the live event stream — so the UI can do nothing the API
does not allow. Access is the API's (``web/api/auth.py``): pages are served
to ``[api] admin_networks`` only (403 elsewhere, 404 with ``[api] enabled =
false``); outside ``anonymous_read_networks`` they need a login (the login
page and the static files do not); changes need a login with the admin role —
the API token, or an ``[[api.user]]`` with ``role = "admin"``.

Every UI response carries a Content-Security-Policy that allows this
origin's script and style only (no inline script, no other site), and
``frame-ancestors 'none'``. Templates are autoescaped; the script writes data
with ``textContent`` only.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bootwright import __version__
from bootwright.inventory.service import InventoryError
from bootwright.runtime import Runtime
from bootwright.web.api.auth import (
    ADMIN,
    ANONYMOUS,
    Caller,
    anonymous_read,
    ensure_token,
    peer_allowed,
    session_caller,
    token_path,
)
from bootwright.web.api.common import blocking
from bootwright.web.api.logins import guard_of
from bootwright.web.handlers import BOOT_HANDLER
from bootwright.web.ui.session import SESSIONS, Session, Sessions, clear_cookie, session_of, set_cookie

log = logging.getLogger("bootwright.ui")

UI_PREFIX: Final = "/ui/"
"""Where the UI is mounted; like ``/api/``, an operator's path, never a machine's boot step."""
INDEX_FILES: Final = ("index.html", "index.htm")
"""Files in the HTTP root that keep ``GET /`` for the operator's own page instead of the UI."""

_HERE = Path(__file__).resolve().parent
STATIC_DIR: Final = _HERE / "static"
TEMPLATE_DIR: Final = _HERE / "templates"

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_MAX_SECRET: Final = 4096  # characters of a password or token looked at; a longer one is wrong anyway
_PUBLIC = ("/ui/login", "/ui/logout", "/ui/static/")  # served before a login: the form and its style
_TABS = (
    ("hosts", "Hosts", "/ui/"),
    ("leases", "Leases", "/ui/leases"),
    ("events", "Events", "/ui/events"),
    ("config", "Config", "/ui/config"),
)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # every template is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class UiPages:
    """Renders the pages; checks access for everything under ``/ui/``."""

    def __init__(self, runtime: Runtime, sessions: Sessions) -> None:
        self.runtime = runtime
        self.sessions = sessions
        self.env = _environment()

    # ------------------------------------------------------------------ plumbing

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The pages, login and logout, and the static files (relative to ``/ui``)."""
        router.add_get("/", self.hosts)
        router.add_get("/hosts/{name}", self.host)
        router.add_get("/leases", self.simple("leases", "Leases"))
        router.add_get("/events", self.simple("events", "Events"))
        router.add_get("/config", self.simple("config", "Config"))
        router.add_get("/login", self.login_form)
        router.add_post("/login", self.login)
        router.add_post("/logout", self.logout)
        router.add_static("/static", STATIC_DIR, append_version=False)

    def middleware(self) -> Middleware:
        """Access (the API's rule for reads), HTML error pages, security headers on every response."""

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                if not self.runtime.config.api.enabled:
                    response: web.StreamResponse = self.error(
                        request, 404, "The web UI is off with the API ([api] enabled = false)."
                    )
                elif not peer_allowed(self.runtime, request.remote):
                    response = self.error(request, 403, f"{request.remote} is not in api.admin_networks.")
                elif request.path == UI_PREFIX.rstrip("/"):
                    response = redirect(UI_PREFIX, 308)
                else:
                    if self.caller(request)[1] is None and not request.path.startswith(_PUBLIC):
                        # Outside anonymous_read_networks a page needs a login first (docs/ui.md).
                        response = redirect("/ui/login?next=" + quote(request.path_qs, safe=""))
                    else:
                        response = await handler(request)
            except web.HTTPException as exc:  # from aiohttp: unknown page (404), wrong method (405), …
                response = self.error(request, exc.status, exc.reason)
            except Exception:
                log.exception("UI %s %s failed", request.method, request.path)
                response = self.error(request, 500, "Internal error; see the server log.")
            response.headers.update(SECURITY_HEADERS)
            if "Cache-Control" not in response.headers:
                response.headers["Cache-Control"] = "no-store"
            return response

        return guard

    def caller(self, request: web.Request) -> tuple[Session | None, Caller | None]:
        """The request's live session (if its credential still holds) and who the page is for."""
        session = session_of(request)
        if session is not None:
            caller = session_caller(self.runtime, session)
            if caller is not None:
                return session, caller
            self.sessions.drop(session.sid)  # the token rotated, or the user's password changed
        return None, (ANONYMOUS if anonymous_read(self.runtime, request.remote) else None)

    def render(self, request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
        """A page from ``templates/``, with the session, what it may change, and the tabs."""
        if "session" in context:  # an error page or a failed login: shown as to nobody
            session, caller = context.pop("session"), None
        else:
            session, caller = self.caller(request)
        context["session"] = session
        context["can_write"] = session is not None and caller is not None and caller.role == ADMIN
        context["who"] = caller.user if caller is not None else None
        context.setdefault("page", "")
        text = self.env.get_template(name).render(version=__version__, tabs=_TABS, **context)
        return web.Response(text=text, status=status, content_type="text/html")

    def error(self, request: web.Request, status: int, message: str) -> web.Response:
        """An error page (no session shown: the request may not have been allowed to see one)."""
        return self.render(request, "error.html", status, title=f"{status}", message=message, session=None)

    def simple(self, page: str, title: str) -> Handler:
        """A page whose content comes from the API alone."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return self.render(request, f"{page}.html", page=page, title=title)

        return handler

    # ------------------------------------------------------------------ pages

    async def hosts(self, request: web.Request) -> web.StreamResponse:
        """The host list with its search box and the add form."""
        return self.render(request, "hosts.html", page="hosts", title="Hosts")

    async def host(self, request: web.Request) -> web.StreamResponse:
        """One host: its record, its controls and its live boot timeline."""
        name = request.match_info["name"]
        reloader = self.runtime.reloader
        if reloader is None:
            return self.error(request, 503, "The inventory is not loaded yet; try again in a moment.")
        try:
            view = await blocking(reloader.inventory.view, name)
        except InventoryError as exc:
            return self.error(request, exc.status, exc.message)
        return self.render(request, "host.html", page="hosts", title=name, host=view.to_dict())

    # ------------------------------------------------------------------ login

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        """The login form (a logged-in browser goes on to the hosts)."""
        if self.caller(request)[0] is not None:
            return redirect(UI_PREFIX)
        return self.render(request, "login.html", title="Log in", error=None, user="", next=_local_next(request.query))

    async def login(self, request: web.Request) -> web.StreamResponse:
        """``password`` (or ``token``), and ``user`` for an ``[[api.user]]``: the API token without a user.

        A session cookie and on to ``next`` (a UI path); 401 for a wrong one, 429 when the source
        has failed too often (``web/api/logins.py``). Nothing logged carries the password.
        """
        if not _same_origin(request):
            return self.error(request, 403, "The login form was sent from another site's page.")
        form = await request.post()
        name = str(form.get("user", "")).strip()
        given = str(form.get("password") or form.get("token") or "")[:_MAX_SECRET]
        goto = _local_next(form)
        guard = guard_of(request)
        wait = guard.retry_after(request.remote)
        if wait:
            refused = self.failed_login(
                request, 429, goto, name, f"Too many failed logins from {request.remote}: try again in {wait} s."
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        if name:
            user = await guard.check_user(self.runtime.config, name, given)
            if user is None:
                guard.failed(request.remote, f"UI: failed login as {name[:64]!r}")
                return self.failed_login(request, 401, goto, name, "Wrong user name or password.")
            session = self.sessions.create(user.password_hash, user.name)
            log.info("UI: login as %s (role %s) from %s", user.name, user.role, request.remote)
        else:
            try:
                expected = ensure_token(token_path(self.runtime))
            except OSError as exc:
                return self.error(request, 500, f"Cannot read the API token file: {exc}")
            if not given.strip() or not hmac.compare_digest(given.strip().encode(), expected.encode()):
                guard.failed(request.remote, "UI: failed login with a wrong API token")
                return self.failed_login(
                    request,
                    401,
                    goto,
                    name,
                    f"That is not the API token (it is in {token_path(self.runtime)}); "
                    "to log in as a user, give the user name too.",
                )
            session = self.sessions.create(expected)
            log.info("UI: login with the API token from %s", request.remote)
        response = redirect(goto)
        set_cookie(response, session, secure=request.secure)
        return response

    def failed_login(self, request: web.Request, status: int, goto: str, name: str, error: str) -> web.Response:
        """The login form again, with what went wrong (and the user name, never the password)."""
        response = self.render(
            request, "login.html", status, title="Log in", next=goto, session=None, user=name, error=error
        )
        if status == 401:  # RFC 9110 §15.5.2: a 401 names a scheme; the API takes the token as a bearer one
            response.headers["WWW-Authenticate"] = 'Bearer realm="bootwright"'
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """End the session (the form carries its CSRF token), forget the cookie, back to the hosts."""
        if not _same_origin(request):
            return self.error(request, 403, "The logout form was sent from another site's page.")
        form = await request.post()
        session: Session | None = session_of(request)
        if session is not None:
            if not hmac.compare_digest(str(form.get("csrf", "")).encode(), session.csrf.encode()):
                return self.error(request, 403, "The logout form did not carry this session's CSRF token.")
            self.sessions.drop(session.sid)
        response = redirect(UI_PREFIX)
        clear_cookie(response)
        return response


def _local_next(values: Any) -> str:
    """Where to go after login: a path under ``/ui/`` only (never another site)."""
    wanted = str(values.get("next", "") or "")
    if wanted.startswith(UI_PREFIX) and not wanted.startswith("//") and "\\" not in wanted:
        return quote(wanted, safe="/?=&%-._~")
    return UI_PREFIX


def _same_origin(request: web.Request) -> bool:
    """False for a form posted from another site's page (browsers send ``Origin`` with every POST)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect as a plain response (headers can be added; aiohttp wants its exceptions raised)."""
    return web.Response(status=status, headers={"Location": location})


def root_handler(runtime: Runtime) -> Handler:
    """``GET /``: to the operator's ``index.html`` when the HTTP root has one, else to the UI.

    With the UI off (``[api] enabled = false``) the boot handler answers, as for any other path.
    """

    async def root(request: web.Request) -> web.StreamResponse:
        handler = request.config_dict.get(BOOT_HANDLER)
        if handler is not None:
            if not runtime.config.api.enabled:
                return await handler.handle(request)
            for name in INDEX_FILES:
                if (Path(handler.root) / name).is_file():
                    return redirect(f"/{name}", 302)
        return redirect(UI_PREFIX, 302)

    return root


def make_ui_app(runtime: Runtime, sessions: Sessions) -> web.Application:
    """The UI sub-application (mounted at ``/ui/``)."""
    pages = UiPages(runtime, sessions)
    app = web.Application(middlewares=[pages.middleware()])
    pages.add_routes(app.router)
    return app


def mount_ui(app: web.Application, runtime: Runtime) -> None:
    """Add the UI under ``/ui/`` and ``GET /`` to the HTTP service's application (``APP_EXTENSIONS``)."""
    sessions = Sessions()
    app[SESSIONS] = sessions
    app.add_subapp(UI_PREFIX, make_ui_app(runtime, sessions))
    app.router.add_get("/", root_handler(runtime))
    kinds = runtime.metrics.http_kinds
    if (UI_PREFIX, "ui") not in kinds:
        kinds.append((UI_PREFIX, "ui"))
