"""The REST API through real HTTP clients: reads, token-guarded writes, JSON errors, OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bootwright.model import Lease
from bootwright.runtime import Runtime
from bootwright.runtime.reload import HotReload
from bootwright.web.api.auth import ensure_token
from bootwright.web.api.routes import make_api_app, mount_api
from bootwright.web.openapi import openapi_spec
from bootwright.web.service import HttpService
from tests import helpers

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[targets.local]
exit = true

[targets.rescue]
label = "Rescue"
kernel = "rescue/vmlinuz"
initrd = "rescue/initrd.img"

[menus.main]
items = [{ target = "rescue" }, { target = "local" }]

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
ipv4 = "192.0.2.11"
target = "local"
"""
MAC1 = "52:54:00:00:00:01"


@asynccontextmanager
async def api(tmp_path: Path, extra: str = "") -> AsyncIterator[tuple[TestClient[Any, Any], Runtime, str]]:
    """A started runtime with the API mounted at /api/ and a test client on loopback."""
    rt = helpers.make_runtime(tmp_path, extra + SITE, with_store=True)
    store = rt.store
    reloader = HotReload(rt)
    reloader.start()
    app = web.Application()
    mount_api(app, rt)
    client = TestClient(TestServer(app))
    await client.start_server()
    token_file = tmp_path / "api-token"
    token = token_file.read_text().strip() if token_file.exists() else ""
    try:
        yield client, rt, token
    finally:
        await client.close()
        await reloader.aclose()
        await store.aclose()


def run(tmp_path: Path, body: Callable[..., Awaitable[None]], extra: str = "") -> None:
    async def main() -> None:
        async with api(tmp_path, extra) as (client, rt, token):
            await body(client, rt, token)

    asyncio.run(main())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body["error"], str) and isinstance(body["problems"], list)
    return body  # type: ignore[no-any-return]


def test_token_file_is_created_private_and_kept(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        mode = stat.S_IMODE((tmp_path / "api-token").stat().st_mode)
        assert mode == 0o600 and len(token) >= 40
        make_api_app(rt)  # a second start keeps the token
        assert (tmp_path / "api-token").read_text().strip() == token

    run(tmp_path, body)


def test_token_in_a_new_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """``[api] token_file`` in a directory that does not exist yet: directory 0700, token 0600."""
    old = os.umask(0o022)
    try:
        token = ensure_token(tmp_path / "etc" / "api-token")
    finally:
        os.umask(old)
    assert len(token) >= 40
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "etc" / "api-token").stat().st_mode) == 0o600


def test_a_readable_token_is_tightened_and_kept(tmp_path: Path) -> None:
    """A token another user could read (an older version wrote it under the umask) becomes 0600, same value."""
    path = tmp_path / "api-token"
    path.write_text("s3cret-token-value\n")
    path.chmod(0o644)
    assert ensure_token(path) == "s3cret-token-value"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_hosts_and_one_shot_boots(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        r = await client.get("/api/hosts")
        hosts = (await r.json())["hosts"]
        assert [(h["name"], h["source"], h["boot"]) for h in hosts] == [("web1", "config", None)]
        new = {"name": "db1", "mac": ["52:54:00:00:00:02"], "ipv4": "192.0.2.12", "groups": ["db"]}
        r = await client.post("/api/hosts", json=new)
        body = await error_of(r, 401)
        assert "Authorization: Bearer" in body["error"] and r.headers["WWW-Authenticate"].startswith("Bearer")
        await error_of(await client.post("/api/hosts", json=new, headers=bearer("wrong")), 403)
        await error_of(await client.post("/api/hosts", json=new, headers={"Authorization": "Basic eDp5"}), 401)
        r = await client.post("/api/hosts", json=new, headers=bearer(token))
        assert r.status == 201 and (await r.json())["mac"] == ["52:54:00:00:00:02"]
        assert rt.policy.hosts.by_name["db1"].ipv4 == "192.0.2.12"  # applied at once
        await error_of(await client.post("/api/hosts", json=new, headers=bearer(token)), 409)
        r = await client.get("/api/hosts?group=db")
        assert [h["name"] for h in (await r.json())["hosts"]] == ["db1"]
        r = await client.patch("/api/hosts/web1", json={"target": "main"}, headers=bearer(token))
        assert (await r.json())["overrides"] == ["target"] and rt.policy.hosts.by_name["web1"].target == "main"
        r = await client.put("/api/hosts/web1/boot", json={"target": "rescue", "once": True}, headers=bearer(token))
        assert r.status == 201 and (await r.json())["boot"]["state"] == "pending"
        assert rt.policy.hosts.by_name["web1"].target == "rescue"
        r = await client.get("/api/hosts/web1/boot")
        assert (await r.json())["boot"]["target"] == "rescue"
        r = await client.get("/api/boots")
        assert [b["host"] for b in (await r.json())["boots"]] == ["web1"]
        r = await client.get("/api/hosts/web1")
        assert (await r.json())["boot"]["state"] == "pending"
        r = await client.delete("/api/hosts/web1/boot", headers=bearer(token))
        assert r.status == 204 and rt.policy.hosts.by_name["web1"].target == "main"
        await error_of(await client.delete("/api/hosts/web1/boot", headers=bearer(token)), 404)
        r = await client.put("/api/hosts/db1/boot", json={"target": "rescue", "once": False}, headers=bearer(token))
        assert (await r.json())["target"] == "rescue"
        await error_of(await client.delete("/api/hosts/web1", headers=bearer(token)), 409)
        r = await client.delete("/api/hosts/db1", headers=bearer(token))
        assert r.status == 204 and "db1" not in rt.policy.hosts.by_name
        await error_of(await client.get("/api/hosts/db1"), 404)

    run(tmp_path, body)


def test_bad_requests_get_json_errors(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        auth = {**bearer(token), "Content-Type": "application/json"}
        e = await error_of(await client.post("/api/hosts", data="{", headers=auth), 400)
        assert e["error"].startswith("the body is not JSON")
        await error_of(await client.post("/api/hosts", data="[1]", headers=auth), 400)
        await error_of(await client.post("/api/hosts", data="", headers=auth), 400)
        e = await error_of(await client.post("/api/hosts", json={"name": "x", "mac": MAC1, "ipv4": "198.51.100.1",
                                                                  "target": "nope"}, headers=auth), 400)
        messages = " | ".join(p["message"] for p in e["problems"])
        assert "is also the MAC of host 'web1'" in messages and "outside every subnet4" in messages
        assert "no target or menu named 'nope'" in messages
        e = await error_of(await client.patch("/api/hosts/web1", json={"colour": "red"}, headers=auth), 400)
        assert e["problems"][0]["path"] == "colour"
        await error_of(await client.put("/api/hosts/web1/boot", json={"target": 5}, headers=auth), 400)
        await error_of(await client.put("/api/hosts/web1/boot", json={"target": "nope"}, headers=auth), 400)
        await error_of(await client.put("/api/hosts/ghost/boot", json={"target": "rescue"}, headers=auth), 404)
        await error_of(await client.get("/api/nothing-here"), 404)
        await error_of(await client.post("/api/targets", headers=auth), 405)
        await error_of(await client.get("/api/leases?family=5"), 400)
        await error_of(await client.get("/api/events?limit=x"), 400)

    run(tmp_path, body)


def test_reads_only_from_admin_networks(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        e = await error_of(await client.get("/api/hosts"), 403)
        assert "127.0.0.1 is not in api.admin_networks" in e["error"]
        await error_of(await client.post("/api/hosts", json={}, headers=bearer(token)), 403)

    run(tmp_path, body, extra='[api]\nadmin_networks = ["192.0.2.0/24", "2001:db8::/32"]\n')


def test_disabled_api(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        assert token == ""  # no token file is made for a disabled API
        e = await error_of(await client.get("/api/hosts"), 404)
        assert "disabled" in e["error"]

    run(tmp_path, body, extra="[api]\nenabled = false\n")


def test_import_and_export(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        bad = "host a {\n  hardware ethernet 52:54:00:00:00:0a;\n  fixed-address 192.0.2.30\n}\n"
        e = await error_of(await client.post("/api/import?format=isc", data=bad, headers=bearer(token)), 400)
        assert e["problems"] == [{"path": "body: line 4", "message": "missing ';' before '}' (after '192.0.2.30')"}]
        dup = "a,52:54:00:00:00:0a,192.0.2.30\nb,52:54:00:00:00:01,192.0.2.31\n"
        e = await error_of(await client.post("/api/import", data=dup, headers=bearer(token)), 400)
        assert "host 'b' (body line 2) mac" in e["problems"][0]["path"]
        r = await client.get("/api/hosts")
        assert len((await r.json())["hosts"]) == 1  # nothing half-imported
        good = "host a {\n  hardware ethernet 52:54:00:00:00:0a;\n  fixed-address 192.0.2.30;\n}\n"
        r = await client.post("/api/import", data=good, headers=bearer(token))
        assert await r.json() == {"added": ["a"], "updated": [], "removed": [], "unchanged": [], "adopted": [],
                                  "dry_run": False, "sync": False}
        # a sync owns the hosts of its origin: b is added, then a later body without it removes it
        table = "b,52:54:00:00:00:0b,192.0.2.31\n"
        await error_of(await client.post("/api/import?sync=1", data=table, headers=bearer(token)), 400)  # no origin
        r = await client.post("/api/import?sync=1&origin=table", data=table, headers=bearer(token))
        assert (await r.json())["added"] == ["b"]
        r = await client.post("/api/import?sync=1&origin=table&format=csv", data="", headers=bearer(token))
        assert (await r.json())["removed"] == ["b"]
        r = await client.get("/api/export?format=dnsmasq")
        assert (await r.text()).splitlines() == ["dhcp-host=52:54:00:00:00:0a,192.0.2.30,a",
                                                 "dhcp-host=52:54:00:00:00:01,192.0.2.11,web1"]
        r = await client.get("/api/export?format=bind-forward&domain=example.org")  # no server address: no NS glue
        assert "?ns=" in (await error_of(r, 400))["error"]
        r = await client.get("/api/export?format=bind-forward&domain=example.org&ns=ns=192.0.2.1&ns=ns2.example.net")
        text = await r.text()
        assert "web1\tIN\tA\t192.0.2.11" in text and "ns\tIN\tA\t192.0.2.1" in text and "NS\tns2.example.net." in text
        await error_of(await client.get("/api/export?format=bind-forward"), 400)  # no domain anywhere
        await error_of(await client.get("/api/export?format=nope"), 400)

    run(tmp_path, body)


def test_targets_leases_events_and_timeline(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        r = await client.get("/api/targets")
        kinds = {t["name"]: t["kind"] for t in (await r.json())["targets"]}
        assert kinds == {"local": "exit", "rescue": "kernel", "main": "menu"}
        r = await client.get("/api/targets/rescue")
        assert (await r.json())["definition"]["initrd"] == ["rescue/initrd.img"]
        await rt.store.put_leases([Lease(4, "192.0.2.11", b"\x01" + bytes(6), MAC1, 2e9, "web1")])
        r = await client.get("/api/leases")
        assert (await r.json())["leases"][0]["address"] == "192.0.2.11"
        rt.events.emit("dhcp4.discover", mac=MAC1, host="web1", xid="1")
        rt.events.emit("dhcp4.offer", mac=MAC1, host="web1", yiaddr="192.0.2.11", bootfile="undionly.kpxe")
        rt.events.emit("dhcp4.discover", mac="52:54:00:00:00:99")
        r = await client.get(f"/api/events?mac={MAC1}")
        data = await r.json()
        assert [e["kind"] for e in data["events"]] == ["dhcp4.discover", "dhcp4.offer"]
        r = await client.get(f"/api/events?after={data['last_id']}")
        assert [e["mac"] for e in (await r.json())["events"]] == ["52:54:00:00:00:99"]
        r = await client.get("/api/events?after=1000001")  # ids pass a million on a busy server
        assert r.status == 200 and (await r.json()) == {"events": [], "last_id": 1000001}
        r = await client.get("/api/hosts/web1/timeline")
        [attempt] = (await r.json())["attempts"]
        assert attempt["stop"].startswith("offer sent, no request") and attempt["status"] == "in progress"

    run(tmp_path, body)


def test_reload_endpoint(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        rt.config_path.write_text(SITE + "[[host]]\nname = 'x'\nmac = '52:54:00:00:00:01'\n")
        e = await error_of(await client.post("/api/reload", headers=bearer(token)), 400)
        assert any("is also the MAC" in p["message"] for p in e["problems"])
        rt.config_path.write_text(SITE.replace('target = "local"', 'target = "rescue"'))
        r = await client.post("/api/reload", headers=bearer(token))
        assert (await r.json())["reloaded"] and rt.policy.hosts.by_name["web1"].target == "rescue"

    run(tmp_path, body)


def test_openapi_describes_every_route(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rt: Runtime, token: str) -> None:
        r = await client.get("/api/openapi.json")
        spec = await r.json()
        assert spec == json.loads(json.dumps(openapi_spec()))
        sub = make_api_app(rt)
        routes = {(route.resource.canonical, route.method.lower()) for route in sub.router.routes()  # type: ignore[union-attr]
                  if route.method != "HEAD"}
        described = {(path.removeprefix("/api"), method) for path, ops in spec["paths"].items() for method in ops
                     if method != "parameters"}
        assert routes == described
        for ops in spec["paths"].values():
            for method, op in ops.items():
                if method in ("post", "put", "patch", "delete"):
                    assert op["security"] == [{"bearer": []}] and "401" in op["responses"]

    run(tmp_path, body)


def test_through_the_http_service_on_loopback(tmp_path: Path) -> None:
    """The API as mounted in the HTTP service, on a loopback socket, used with the standard library's client."""
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "file").write_bytes(b"data")

    async def main() -> None:
        async with api(tmp_path, extra=f'root = "{tmp_path / "root"}"\n[http]\nlisten = ["127.0.0.1"]\n') as (
                _, rt, token):
            rt.root = tmp_path / "root"
            service = HttpService(rt, port=0)
            task = asyncio.create_task(service.run())
            await asyncio.wait_for(service.started.wait(), 5)
            port = service.addresses[0][1]
            try:
                def call(method: str, path: str, data: dict[str, Any] | None = None,
                         headers: dict[str, str] | None = None) -> tuple[int, Any]:
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}{path}", method=method,
                        data=json.dumps(data).encode() if data is not None else None,
                        headers={"Content-Type": "application/json", **(headers or {})})
                    try:
                        with urllib.request.urlopen(request, timeout=10) as response:
                            return response.status, json.loads(response.read() or b"null")
                    except urllib.error.HTTPError as exc:
                        return exc.code, json.loads(exc.read())

                status, data = await asyncio.to_thread(call, "GET", "/api/hosts")
                assert status == 200 and data["hosts"][0]["name"] == "web1"
                status, data = await asyncio.to_thread(call, "PUT", "/api/hosts/web1/boot", {"target": "rescue"})
                assert status == 401 and "Bearer" in data["error"]
                status, data = await asyncio.to_thread(call, "PUT", "/api/hosts/web1/boot", {"target": "rescue"},
                                                       bearer(token))
                assert status == 201 and data["boot"]["state"] == "pending"
                assert rt.policy.hosts.by_name["web1"].target == "rescue"

                def fetch_file() -> bytes:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/file", timeout=10) as response:
                        return response.read()  # type: ignore[no-any-return]

                assert await asyncio.to_thread(fetch_file) == b"data"  # boot files are still served next to the API
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(main())
