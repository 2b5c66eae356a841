"""JSON errors and bodies shared by the API handlers.

Every error is ``{"error": "<what went wrong>", "problems": [{"path", "message"}, …]}``
with the matching status code; ``problems`` lists each field that was refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from bootwright.config import Problem
from bootwright.runtime import Runtime
from bootwright.runtime.reload import HotReload

T = TypeVar("T")


class ApiError(Exception):
    """An API request that cannot be served; becomes a JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.problems = problems or []
        self.headers = headers or {}
        super().__init__(message)

    def response(self) -> web.Response:
        """The JSON error response."""
        body = {"error": self.message, "problems": [{"path": p.path, "message": p.message} for p in self.problems]}
        return web.json_response(body, status=self.status, headers=self.headers)


async def read_json(request: web.Request, kind: type = dict) -> Any:
    """The request body as JSON of type ``kind``; 400 with the parser's message otherwise."""
    text = await request.text()
    if not text.strip():
        raise ApiError(400, "the request needs a JSON body")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, kind):
        raise ApiError(400, f"the body must be a JSON {'object' if kind is dict else kind.__name__}")
    return data


def reloader_of(runtime: Runtime) -> HotReload:
    """The running inventory and reloader; 503 before the server finished starting."""
    if runtime.reloader is None:
        raise ApiError(503, "the inventory is not loaded yet; try again in a moment")
    return runtime.reloader


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a store call that blocks (inventory methods) off the event loop."""
    return await asyncio.to_thread(fn, *args)


def ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, default=str))
