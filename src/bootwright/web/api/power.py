"""API handlers for power and unattended reprovisioning through hosts' BMCs (docs/api.md, docs/power.md).

``GET/POST /hosts/{name}/power`` read and change a host's power;
``POST /hosts/{name}/reprovision`` and ``POST /groups/{group}/reprovision``
set a one-shot boot, tell the BMC to boot the network once and power-cycle.
They answer once the BMC accepted every step; the boot itself is then followed
at ``/hosts/{name}/timeline`` (the BMC steps are its first lines). A BMC that
does not answer is 504, one that refuses (credentials included) 502.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aiohttp import web

from bootwright.bmc.base import (
    BmcError,
    BmcUnreachable,
    BmcUnsupported,
    NextBoot,
    PowerAction,
)
from bootwright.bmc.control import DEFAULT_CONCURRENCY, DEFAULT_GRACE, BmcControl, NoBmc, describe
from bootwright.inventory.service import InventoryError
from bootwright.model import Host
from bootwright.runtime import Runtime
from bootwright.web.api.common import ApiError, blocking, ok, read_json, reloader_of

_REPROVISION_KEYS = {"target", "once", "uefi", "http", "grace"}


def _bmc_error(exc: BmcError) -> ApiError:
    if isinstance(exc, NoBmc):
        return ApiError(409, str(exc))
    if isinstance(exc, BmcUnsupported):
        return ApiError(400, str(exc))
    if isinstance(exc, BmcUnreachable):
        return ApiError(504, str(exc))
    return ApiError(502, str(exc))  # refused: credentials (BmcAuthFailed) or the request itself


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a reprovision request; no body means every default."""
    if not (await request.read()).strip():
        return {}
    body: dict[str, Any] = await read_json(request)
    return body


class PowerHandlers:
    """``/hosts/{name}/power``, ``/hosts/{name}/reprovision``, ``/groups/{group}/reprovision``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.control = BmcControl(runtime.events)

    def add_routes(self, app: web.Application) -> None:
        """Register every route of this group."""
        app.router.add_get("/hosts/{name}/power", self.show_power)
        app.router.add_post("/hosts/{name}/power", self.set_power)
        app.router.add_post("/hosts/{name}/reprovision", self.reprovision_host)
        app.router.add_post("/groups/{group}/reprovision", self.reprovision_group)

    async def _host(self, name: str) -> Host:
        try:
            view = await blocking(reloader_of(self.runtime).inventory.view, name)
        except InventoryError as exc:
            raise ApiError(exc.status, exc.message, exc.problems) from None
        if view.host.bmc is None:
            raise _bmc_error(NoBmc(f"host {name} has no BMC: add one with PATCH /api/hosts/{name} "
                                   '{"bmc": {"driver": "ipmi", "address": …}} (docs/power.md)'))
        return view.host

    async def show_power(self, request: web.Request) -> web.Response:
        """``{"host", "bmc", "power": "on"|"off"}`` as the BMC reports it now."""
        host = await self._host(request.match_info["name"])
        try:
            state = await self.control.power_state(host)
        except BmcError as exc:
            raise _bmc_error(exc) from None
        assert host.bmc is not None
        return ok({"host": host.name, "bmc": describe(host.bmc), "power": str(state)})

    async def set_power(self, request: web.Request) -> web.Response:
        """``{"action": "on"|"off"|"soft"|"cycle"|"reset"}``; 200 once the BMC accepted it."""
        body = await read_json(request)
        action = body.get("action")
        actions = [a.value for a in PowerAction]
        if action not in actions or set(body) - {"action"}:
            raise ApiError(400, f'expected {{"action": one of {", ".join(actions)}}}')
        host = await self._host(request.match_info["name"])
        try:
            await self.control.power(host, PowerAction(action))
        except BmcError as exc:
            raise _bmc_error(exc) from None
        return ok({"host": host.name, "action": action, "accepted": True})

    def _options(self, body: dict[str, Any]) -> tuple[str | None, bool, NextBoot, float]:
        unknown = sorted(set(body) - _REPROVISION_KEYS)
        target, once = body.get("target"), body.get("once", True)
        uefi, http, grace = body.get("uefi"), body.get("http", False), body.get("grace", DEFAULT_GRACE)
        problems = [f"unknown keys: {', '.join(unknown)}"] if unknown else []
        if target is not None and (not isinstance(target, str) or not target):
            problems.append("target must be the name of a target or menu")
        if not isinstance(once, bool) or (uefi is not None and not isinstance(uefi, bool)) or not isinstance(http,
                                                                                                             bool):
            problems.append("once and http are true|false, uefi is true|false|null")
        if not isinstance(grace, int | float) or isinstance(grace, bool) or not math.isfinite(grace) or grace < 0:
            problems.append("grace is a number of seconds")
        if problems:
            raise ApiError(400, "; ".join(problems) + ' (expected {"target": T, "once": true, "uefi": true|false|'
                           'null, "http": false, "grace": 60})')
        if target is not None and not once and target not in self.runtime.config.script_names():
            raise ApiError(400, f"no target or menu named {target!r}")
        return target, once, NextBoot(uefi, http), float(grace)

    async def _reprovision(self, host: Host, target: str | None, once: bool, boot: NextBoot,
                           grace: float) -> dict[str, Any]:
        inventory = reloader_of(self.runtime).inventory
        result: dict[str, Any] = {"host": host.name}
        try:
            if target is not None:
                if once:
                    shot = await blocking(inventory.request_oneshot, host.name, target)
                    result["boot"] = shot.to_dict()
                else:
                    await blocking(inventory.update, host.name, {"target": target})
                await reloader_of(self.runtime).refresh()
            cycle = await self.control.reboot_to_network(host, boot, grace)
        except InventoryError as exc:
            raise ApiError(exc.status, exc.message, exc.problems) from None
        result.update({"power_was": str(cycle.found), "steps": list(cycle.steps), "note": cycle.note or None,
                       "timeline": f"/api/hosts/{host.name}/timeline"})
        return result

    async def reprovision_host(self, request: web.Request) -> web.Response:
        """Set the one-shot (``target``), the BMC's next boot and power-cycle; 200 once the BMC accepted all."""
        target, once, boot, grace = self._options(await _body(request))
        host = await self._host(request.match_info["name"])
        try:
            return ok(await self._reprovision(host, target, once, boot, grace))
        except BmcError as exc:
            raise _bmc_error(exc) from None

    async def reprovision_group(self, request: web.Request) -> web.Response:
        """The same for every host of a group, at most the BMC concurrency at once; one result per host."""
        target, once, boot, grace = self._options(await _body(request))
        group = request.match_info["group"]
        views = await blocking(reloader_of(self.runtime).inventory.views)
        hosts = [v.host for v in views if group in v.host.groups and not v.skipped]
        if not hosts:
            raise ApiError(404, f"no host is in group {group!r}")
        limit = asyncio.Semaphore(DEFAULT_CONCURRENCY)

        async def one(host: Host) -> dict[str, Any]:
            async with limit:
                try:
                    if host.bmc is None:
                        raise NoBmc(f"host {host.name} has no BMC")
                    return {"ok": True, **await self._reprovision(host, target, once, boot, grace)}
                except BmcError as exc:
                    return {"host": host.name, "ok": False, "error": str(exc)}
                except ApiError as exc:
                    return {"host": host.name, "ok": False, "error": exc.message}

        results = await asyncio.gather(*(one(h) for h in hosts))
        return ok({"group": group, "results": list(results), "ok": sum(r["ok"] for r in results)})
