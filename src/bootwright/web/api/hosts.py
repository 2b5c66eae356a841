"""API handlers for hosts, one-shot boots, import and export (docs/api.md)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aiohttp import web

from bootwright.inventory.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    IMPORT_KEYS,
    default_domain,
    export_hosts,
    guess_format,
    read_hosts,
    zone_nameservers,
)
from bootwright.inventory.service import InventoryError
from bootwright.inventory.zones import ZoneError
from bootwright.runtime import Runtime
from bootwright.web.api.common import ApiError, blocking, ok, read_json, reloader_of


def _inventory_error(exc: InventoryError) -> ApiError:
    return ApiError(exc.status, exc.message, exc.problems)


class HostHandlers:
    """``/hosts``, ``/hosts/{name}``, ``/hosts/{name}/boot``, ``/boots``, ``/import``, ``/export``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register every route of this group."""
        router.add_get("/hosts", self.list_hosts)
        router.add_post("/hosts", self.add_host)
        router.add_get("/hosts/{name}", self.show_host)
        router.add_patch("/hosts/{name}", self.change_host)
        router.add_delete("/hosts/{name}", self.remove_host)
        router.add_get("/hosts/{name}/boot", self.show_boot)
        router.add_put("/hosts/{name}/boot", self.set_boot)
        router.add_delete("/hosts/{name}/boot", self.cancel_boot)
        router.add_get("/boots", self.list_boots)
        router.add_post("/import", self.import_hosts)
        router.add_get("/export", self.export)

    async def _write(self, fn: Any, *args: Any) -> Any:
        """Run an inventory change, then apply the new inventory to the running policy."""
        reloader = reloader_of(self.runtime)
        try:
            result = await blocking(fn, *args)
        except InventoryError as exc:
            raise _inventory_error(exc) from None
        await reloader.refresh()
        return result

    async def list_hosts(self, request: web.Request) -> web.Response:
        """Every host; ``?group=G`` keeps the members of a group."""
        views = await blocking(reloader_of(self.runtime).inventory.views)
        group = request.query.get("group")
        hosts = [v.to_dict() for v in views if group is None or group in v.host.groups]
        return ok({"hosts": hosts})

    async def add_host(self, request: web.Request) -> web.Response:
        """Add a host (config key names); 409 when the name exists."""
        body = await read_json(request)
        view = await self._write(reloader_of(self.runtime).inventory.add, body)
        return ok(view.to_dict(), status=201)

    async def show_host(self, request: web.Request) -> web.Response:
        """One host with its origin and one-shot boot."""
        try:
            view = await blocking(reloader_of(self.runtime).inventory.view, request.match_info["name"])
        except InventoryError as exc:
            raise _inventory_error(exc) from None
        return ok(view.to_dict())

    async def change_host(self, request: web.Request) -> web.Response:
        """Change some keys of a host; ``null`` removes a key."""
        body = await read_json(request)
        view = await self._write(reloader_of(self.runtime).inventory.update, request.match_info["name"], body)
        return ok(view.to_dict())

    async def remove_host(self, request: web.Request) -> web.Response:
        """Remove a host added through the CLI or API."""
        await self._write(reloader_of(self.runtime).inventory.remove, request.match_info["name"])
        return web.Response(status=204)

    async def show_boot(self, request: web.Request) -> web.Response:
        """The host's latest one-shot boot (``null`` when none)."""
        name = request.match_info["name"]
        reloader = reloader_of(self.runtime)
        live = reloader.tracker.shots.get(name)
        if live is None:
            try:
                view = await blocking(reloader.inventory.view, name)
            except InventoryError as exc:
                raise _inventory_error(exc) from None
            live = view.oneshot
        return ok({"boot": live.to_dict() if live else None})

    async def set_boot(self, request: web.Request) -> web.Response:
        """``{"target": T, "once": true}``: serve T once; ``"once": false``: make T the host's target."""
        name = request.match_info["name"]
        body = await read_json(request)
        target = body.get("target")
        once = body.get("once", True)
        unknown = sorted(set(body) - {"target", "once"})
        if not isinstance(target, str) or not target or not isinstance(once, bool) or unknown:
            raise ApiError(
                400,
                'expected {"target": "<target or menu>", "once": true|false}'
                + (f"; unknown keys: {', '.join(unknown)}" if unknown else ""),
            )
        inventory = reloader_of(self.runtime).inventory
        if once:
            shot = await self._write(inventory.request_oneshot, name, target)
            return ok({"boot": shot.to_dict()}, status=201)
        if target not in self.runtime.config.script_names():
            raise ApiError(400, f"no target or menu named {target!r}")
        view = await self._write(inventory.update, name, {"target": target})
        return ok(view.to_dict())

    async def cancel_boot(self, request: web.Request) -> web.Response:
        """Forget the host's one-shot boot; it gets its own target again at once."""
        name = request.match_info["name"]
        found = await self._write(reloader_of(self.runtime).inventory.cancel_oneshot, name)
        if not found:
            raise ApiError(404, f"host {name!r} has no one-shot boot")
        return web.Response(status=204)

    async def list_boots(self, request: web.Request) -> web.Response:
        """Every host's latest one-shot boot, as the running server sees it."""
        shots = reloader_of(self.runtime).tracker.shots
        return ok({"boots": [s.to_dict() for _, s in sorted(shots.items())]})

    async def import_hosts(self, request: web.Request) -> web.Response:
        """Import a file sent as the body: ``?format=isc|csv|dnsmasq`` (guessed if absent), ``?dry_run=1``.

        ``?origin=NAME`` names where the hosts come from (default ``body``);
        ``?sync=1`` makes the body the source of truth for the hosts of that
        origin (added, updated, removed; others never touched) and needs
        ``origin``. Every problem of the body is in one 400 answer.
        """
        text = await request.text()
        fmt = request.query.get("format") or guess_format(None, text)
        if fmt not in IMPORT_FORMATS:
            raise ApiError(400, f"unknown import format {fmt!r} (known: {', '.join(IMPORT_FORMATS)})")
        yes = ("1", "true", "yes")
        dry, sync = request.query.get("dry_run") in yes, request.query.get("sync") in yes
        origin = request.query.get("origin")
        if sync and not origin:
            raise ApiError(400, "?sync=1 needs ?origin=NAME: the name of the source whose hosts it owns")
        parsed = read_hosts(fmt, text)
        job = partial(
            reloader_of(self.runtime).inventory.import_hosts,
            parsed.hosts,
            origin or "body",
            dry,
            sync=sync,
            origin=origin or "body",
            keys=parsed.keys or IMPORT_KEYS[fmt],
            file_problems=parsed.problems,
        )
        report = await self._write(job)
        return ok({**report.to_dict(), "dry_run": dry, "sync": sync})

    async def export(self, request: web.Request) -> web.Response:
        """The inventory as text: ``?format=`` one of isc, isc6, dnsmasq, csv, bind-forward, bind-reverse, hosts.

        BIND zones take ``?domain=``, ``?network=`` and ``?ns=NAME[=ADDRESS,…]`` (repeatable), as the CLI.
        """
        fmt = request.query.get("format", "")
        if fmt not in EXPORT_FORMATS:
            raise ApiError(400, f"give ?format= one of {', '.join(EXPORT_FORMATS)}")
        hosts = await blocking(reloader_of(self.runtime).inventory.hosts)
        domain = request.query.get("domain") or default_domain(self.runtime.config)
        try:
            servers = zone_nameservers(self.runtime.config, hosts, domain, request.query.getall("ns", []))
            network = request.query.get("network")
            text = export_hosts(
                fmt, hosts, domain=domain, network=network, serial=int(time.time()), nameservers=servers
            )
        except ZoneError as exc:
            raise ApiError(400, str(exc)) from None
        return web.Response(text=text, content_type="text/plain")
