"""The REST API: an aiohttp sub-application mounted at ``/api/`` of the HTTP service.

``make_api_app(runtime)`` builds it; ``mount_api(app, runtime)`` adds it to
the HTTP service's application (``web/service.py`` ``APP_EXTENSIONS``).
Everything is JSON, described at ``/api/openapi.json`` and in docs/api.md.
Access rules are in :mod:`.auth` (login failures: :mod:`.logins`); every
error is a JSON body (see :mod:`.common`). Handlers read ``runtime.config`` and ``runtime.policy``
per request, so a hot reload applies to the API too.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bootwright.runtime import Runtime
from bootwright.web.api.auth import check_request, ensure_token, token_path
from bootwright.web.api.common import ApiError, ok
from bootwright.web.api.hosts import HostHandlers
from bootwright.web.api.logins import LOGINS, LoginGuard
from bootwright.web.api.power import PowerHandlers
from bootwright.web.api.state import StateHandlers
from bootwright.web.api.stream import EventStream
from bootwright.web.openapi import openapi_spec

log = logging.getLogger("bootwright.api")

API_PREFIX = "/api/"
"""Where the REST API is mounted; requests under it are an operator's, never a machine's boot step."""


def _guard(runtime: Runtime) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if not runtime.config.api.enabled:
                raise ApiError(404, "the API is disabled ([api] enabled = false)")
            check_request(runtime, request)
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except web.HTTPException as exc:  # unknown route (404), wrong method (405), body too large (413)
            if exc.status < 400:
                raise
            return ApiError(exc.status, exc.reason).response()
        except Exception:
            log.exception("API %s %s failed", request.method, request.path)
            return ApiError(500, "internal error; see the server log").response()

    return guard


def make_api_app(runtime: Runtime) -> web.Application:
    """The API sub-application; creates the token file (mode 0600) if it does not exist yet."""
    if runtime.config.api.enabled:
        try:
            ensure_token(token_path(runtime))
        except OSError as exc:
            log.error("API: cannot create the token file %s: %s (writes will fail)", token_path(runtime), exc)
    app = web.Application(middlewares=[_guard(runtime)])
    spec = openapi_spec()

    async def openapi(request: web.Request) -> web.Response:
        return ok(spec)

    app.router.add_get("/openapi.json", openapi)
    HostHandlers(runtime).add_routes(app.router)
    PowerHandlers(runtime).add_routes(app)
    StateHandlers(runtime).add_routes(app.router)
    EventStream(runtime).add_routes(app)
    return app


def mount_api(app: web.Application, runtime: Runtime) -> None:
    """Add the API under ``/api/`` to the HTTP service's application (and the login guard the UI shares)."""
    if LOGINS not in app:
        app[LOGINS] = LoginGuard()
    app.add_subapp(API_PREFIX, make_api_app(runtime))
