"""API handlers for targets and menus, leases, events, boot timelines, status and reload (docs/api.md)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bootwright import __version__
from bootwright.boot.timeline import STALL_AFTER, attempts
from bootwright.config import Config, Problem
from bootwright.runtime import Runtime
from bootwright.web.api.common import ApiError, blocking, ok, reloader_of

# Event ids grow without bound (SQLite INTEGER PRIMARY KEY, 64-bit): ?after= takes any of them.
_MAX_EVENT_ID = 2**63 - 1


def _int(request: web.Request, key: str, default: int, low: int = 0, high: int = 1_000_000) -> int:
    text = request.query.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"?{key}= must be an integer, not {text!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"?{key}= must be between {low} and {high}")
    return value


def targets_json(config: Config) -> list[dict[str, Any]]:
    """Every target and menu with its kind, label and (for menus) items."""
    out: list[dict[str, Any]] = []
    for name, target in sorted(config.targets.items()):
        out.append(
            {
                "name": name,
                "type": "target",
                "kind": target.kind(),
                "label": target.label,
                "platforms": sorted(target.variants),
            }
        )
    for name, menu in sorted(config.menus.items()):
        out.append(
            {
                "name": name,
                "type": "menu",
                "kind": "menu",
                "label": menu.title,
                "default": menu.default,
                "items": [i.target for i in menu.items if i.target],
            }
        )
    return out


class StateHandlers:
    """``/targets``, ``/leases``, ``/events``, ``/hosts/{name}/timeline``, ``/status``, ``/reload``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register every route of this group."""
        router.add_get("/targets", self.list_targets)
        router.add_get("/targets/{name}", self.show_target)
        router.add_get("/leases", self.list_leases)
        router.add_get("/events", self.list_events)
        router.add_get("/hosts/{name}/timeline", self.timeline)
        router.add_get("/status", self.status)
        router.add_post("/reload", self.reload)

    async def list_targets(self, request: web.Request) -> web.Response:
        """Targets and menus of the running configuration."""
        return ok({"targets": targets_json(self.runtime.config)})

    async def show_target(self, request: web.Request) -> web.Response:
        """One target or menu, with its full definition."""
        name = request.match_info["name"]
        config = self.runtime.config
        item = config.targets.get(name) or config.menus.get(name)
        if item is None:
            raise ApiError(404, f"no target or menu named {name!r}")
        summary = next(t for t in targets_json(config) if t["name"] == name)
        return ok({**summary, "definition": item.model_dump(mode="json", exclude_defaults=True)})

    async def list_leases(self, request: web.Request) -> web.Response:
        """Stored leases of ``?family=4`` (default) or ``6``."""
        family = _int(request, "family", 4, 4, 6)
        if family not in (4, 6):
            raise ApiError(400, "?family= must be 4 or 6")
        report = await blocking(self.runtime.store.load_leases, family)
        leases = [
            {
                "family": x.family,
                "address": x.address,
                "mac": x.mac,
                "client": x.client_key.hex(":"),
                "hostname": x.hostname,
                "expires": x.expires,
                "state": x.state,
            }
            for x in report.leases
        ]
        return ok({"leases": leases, "skipped": report.skipped})

    async def _events(self, macs: tuple[str, ...], host: str | None, after: int, limit: int) -> list[Any]:
        self.runtime.store.flush_events()
        tables = reloader_of(self.runtime).inventory.tables
        return await tables.aread_events(macs, host, after, limit)

    async def list_events(self, request: web.Request) -> web.Response:
        """Events, oldest first: ``?mac=``, ``?host=``, ``?after=<id>`` (to follow), ``?limit=``."""
        macs = tuple(m for m in request.query.getall("mac", []) if m)
        host = request.query.get("host")
        after = _int(request, "after", 0, 0, _MAX_EVENT_ID)
        rows = await self._events(macs, host, after, _int(request, "limit", 500, 1, 10000))
        events = [
            {"id": i, "at": e.at, "kind": e.kind, "mac": e.mac, "host": e.host, "detail": e.detail} for i, e in rows
        ]
        return ok({"events": events, "last_id": rows[-1][0] if rows else after})

    async def timeline(self, request: web.Request) -> web.Response:
        """A host's boot attempts with readable steps and the likely stop point."""
        name = request.match_info["name"]
        host = self.runtime.policy.hosts.by_name.get(name)
        if host is None:
            raise ApiError(404, f"no host named {name!r}")
        rows = await self._events(host.macs, name, 0, _int(request, "limit", 2000, 1, 20000))
        now = time.time()
        found = attempts(e for _, e in rows)
        return ok({"host": name, "attempts": [a.to_dict(now, STALL_AFTER) for a in found]})

    async def status(self, request: web.Request) -> web.Response:
        """What runs, and the validation of the running config with the inventory (as ``bootwright check``)."""
        runtime = self.runtime
        reloader = reloader_of(runtime)
        report = reloader.report
        source = str(runtime.config_path)

        def problems(found: tuple[Problem, ...]) -> list[dict[str, Any]]:
            return [{"path": p.path, "message": p.message, "line": p.line, "text": p.located(source)} for p in found]

        return ok({
            "version": __version__,
            "config": source,
            "started": runtime.status.status.started if runtime.status is not None else None,
            "services": dict(sorted(runtime.ready.items())),
            "reloads": reloader.reloads,
            "last_reload_error": reloader.last_error,
            "check": {
                "ok": report.ok,
                "errors": problems(report.errors),
                "warnings": problems(report.warnings),
                "skipped": {name: problems(found) for name, found in sorted(report.skipped.items())},
            },
        })

    async def reload(self, request: web.Request) -> web.Response:
        """Re-read the config file now; 400 with the errors when it is refused (the running one stays)."""
        result = await reloader_of(self.runtime).reload("API request")
        if not result.ok:
            raise ApiError(
                400,
                "the configuration was refused; the running one stays",
                [Problem("", line) for line in result.errors],
            )
        return ok({"reloaded": True, "warnings": list(result.warnings)})
