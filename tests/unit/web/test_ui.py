"""The web UI through the HTTP service's application on loopback: login, CSRF, pages, headers, the event stream."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bootwright.model import EventKind
from bootwright.runtime import Runtime
from bootwright.runtime.reload import HotReload
from bootwright.web.service import build_app, install_fast_path, runner_options
from bootwright.web.ui.routes import CSP
from bootwright.web.ui.session import COOKIE, Sessions
from tests import helpers

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[targets.local]
exit = true

[targets.rescue]
label = "Rescue <b>me</b>"
kernel = "rescue/vmlinuz"

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
target = "local"
groups = ["<img src=x onerror=alert(1)>"]
vars = { note = "<script>alert('vars')</script>" }
"""
MAC1 = "52:54:00:00:00:01"
Client = TestClient[Any, Any]


class Ui:
    """A started runtime served as ``bootwright serve`` serves it, with a logged-out client."""

    def __init__(self, client: Client, runtime: Runtime, token: str, root: Path) -> None:
        self.client = client
        self.runtime = runtime
        self.token = token
        self.root = root

    async def login(self) -> str:
        """Log in with the token; the session's CSRF token (from the page's meta tag)."""
        r = await self.client.post("/ui/login", data={"token": self.token, "next": "/ui/"}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/ui/", await r.text()
        page = await (await self.client.get("/ui/")).text()
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert found, page
        return found.group(1)


@asynccontextmanager
async def ui(tmp_path: Path, extra: str = "", tls: ssl.SSLContext | None = None) -> AsyncIterator[Ui]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    rt = helpers.make_runtime(tmp_path, extra + SITE, root=root, with_store=True)
    reloader = HotReload(rt)
    reloader.start()
    app, handler = build_app(rt, root, 0)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=tls, **runner_options(rt))
    assert server.runner is not None
    install_fast_path(server.runner, app, handler)
    client = TestClient(server)
    await client.start_server()
    try:
        token = tmp_path / "api-token"  # not created with the API off
        yield Ui(client, rt, token.read_text().strip() if token.exists() else "", root)
    finally:
        await client.close()
        await reloader.aclose()
        await rt.store.aclose()


def run(tmp_path: Path, body: Callable[[Ui], Awaitable[None]], extra: str = "") -> None:
    async def main() -> None:
        async with ui(tmp_path, extra) as u:
            await body(u)

    asyncio.run(main())


def cookie_header(r: ClientResponse) -> str:
    return "; ".join(v for k, v in r.headers.items() if k.lower() == "set-cookie")


# --------------------------------------------------------------------------- login and CSRF


def test_login_sets_a_strict_http_only_cookie_and_a_wrong_token_gets_none(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.post("/ui/login", data={"token": "wrong"}, allow_redirects=False)
        assert r.status == 401 and "not the API token" in await r.text()
        assert COOKIE not in cookie_header(r)
        r = await u.client.post("/ui/login", data={"token": u.token, "next": "/ui/events"}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/ui/events"
        cookie = cookie_header(r)
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "Path=/" in cookie and "Secure" not in cookie  # plain HTTP here; Secure over TLS
        assert u.token not in cookie  # the cookie is a random session id, never the token

    run(tmp_path, body)


def test_over_tls_the_cookie_is_secure(tmp_path: Path) -> None:
    from tests.unit.web.test_tls import make_cert  # the TLS tests' self-signed certificate for 127.0.0.1

    cert, key = make_cert(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async with ui(tmp_path, tls=server_side) as u:
            assert u.client.make_url("/").scheme == "https"
            r = await u.client.post("/ui/login", data={"token": u.token}, allow_redirects=False, ssl=client_side)
            cookie = cookie_header(r)
            assert r.status == 303 and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie

    asyncio.run(main())


def test_login_goes_on_to_ui_paths_only(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        for wanted in ("https://evil.example/", "//evil.example/ui/", "/api/hosts"):
            u.client.session.cookie_jar.clear()
            r = await u.client.post("/ui/login", data={"token": u.token, "next": wanted}, allow_redirects=False)
            assert r.status == 303 and r.headers["Location"] == "/ui/", wanted

    run(tmp_path, body)


def test_login_from_another_sites_page_is_refused(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.post("/ui/login", data={"token": u.token}, headers={"Origin": "https://evil.example"},
                                allow_redirects=False)
        assert r.status == 403 and COOKIE not in cookie_header(r)

    run(tmp_path, body)


def test_a_write_with_the_cookie_needs_the_csrf_token(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await u.login()
        host = {"name": "new1", "mac": ["52:54:00:00:00:0a"]}
        r = await u.client.post("/api/hosts", json=host)
        assert r.status == 403 and "X-CSRF-Token" in (await r.json())["error"]
        r = await u.client.post("/api/hosts", json=host, headers={"X-CSRF-Token": "x" + csrf})
        assert r.status == 403
        assert "new1" not in u.runtime.policy.hosts.by_name
        r = await u.client.post("/api/hosts", json=host, headers={"X-CSRF-Token": csrf})
        assert r.status == 201, await r.text()
        r = await u.client.put("/api/hosts/new1/boot", json={"target": "rescue"}, headers={"X-CSRF-Token": csrf})
        assert r.status == 201 and (await r.json())["boot"]["target"] == "rescue"
        # Reads never needed the session; the bearer rule is unchanged beside it.
        r = await u.client.get("/api/hosts/new1/boot")
        assert r.status == 200 and (await r.json())["boot"]["target"] == "rescue"
        u.client.session.cookie_jar.clear()
        r = await u.client.delete("/api/hosts/new1/boot", headers={"X-CSRF-Token": csrf})
        assert r.status == 401  # no cookie, no bearer token: the CSRF token alone is nothing
        r = await u.client.delete("/api/hosts/new1/boot", headers={"Authorization": f"Bearer {u.token}"})
        assert r.status == 204

    run(tmp_path, body)


def test_logout_ends_the_session(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await u.login()
        sid = next(c.value for c in u.client.session.cookie_jar if c.key == COOKIE)
        r = await u.client.post("/ui/logout", data={"csrf": "wrong"}, allow_redirects=False)
        assert r.status == 403
        r = await u.client.post("/ui/logout", data={"csrf": csrf}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/ui/"
        assert f"{COOKIE}=\"\"" in cookie_header(r) or f"{COOKIE}=;" in cookie_header(r)
        page = await (await u.client.get("/ui/")).text()
        assert "csrf-token" not in page and "Log in" in page
        # The old cookie, replayed, is worth nothing.
        r = await u.client.post("/api/reload", headers={"Cookie": f"{COOKIE}={sid}", "X-CSRF-Token": csrf})
        assert r.status == 401 and "log in again" in (await r.json())["error"]

    run(tmp_path, body)


def test_rotating_the_token_ends_every_session(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await u.login()
        (tmp_path / "api-token").write_text("a-new-token-value-for-the-api\n")
        r = await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf})
        assert r.status == 401 and "changed" in (await r.json())["error"]
        r = await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf})
        assert r.status == 401  # the session is gone

    run(tmp_path, body)


def test_sessions_expire_when_idle_and_are_bounded() -> None:
    now = [1000.0]
    sessions = Sessions(idle=60, limit=3, clock=lambda: now[0])
    first = sessions.create("token")
    assert sessions.get(first.sid) is first and first.csrf != first.sid
    now[0] += 59
    assert sessions.get(first.sid) is first  # used: its idle time starts again
    now[0] += 61
    assert sessions.get(first.sid) is None
    made = [sessions.create("token") for _ in range(4)]
    assert len(sessions) == 3 and sessions.get(made[0].sid) is None and sessions.get(made[-1].sid) is not None
    assert sessions.get("") is None and sessions.get(None) is None


# --------------------------------------------------------------------------- pages and headers


def test_pages_carry_the_content_security_policy(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        for path in ("/ui/", "/ui/hosts/web1", "/ui/leases", "/ui/events", "/ui/config", "/ui/login",
                     "/ui/static/app.js", "/ui/static/app.css", "/ui/nothing-here"):
            r = await u.client.get(path)
            assert r.status == (404 if path == "/ui/nothing-here" else 200), path
            assert r.headers["Content-Security-Policy"] == CSP, path
            assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        r = await u.client.get("/ui/static/app.js")
        assert "javascript" in r.headers["Content-Type"] and ".innerHTML" not in await r.text()
        page = await (await u.client.get("/ui/")).text()
        assert "<script>" not in page and 'src="/ui/static/app.js' in page  # no inline script at all
        r = await u.client.get("/ui", allow_redirects=False)
        assert r.status == 308 and r.headers["Location"] == "/ui/"

    run(tmp_path, body)


def test_hostile_names_and_values_are_escaped(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        page = await (await u.client.get("/ui/hosts/web1")).text()
        assert "&lt;script&gt;alert(&#39;vars&#39;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<script>alert" not in page and "<img src=x" not in page
        r = await u.client.get("/ui/hosts/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        text = await r.text()
        assert r.status in (400, 404) and "<script>alert" not in text
        r = await u.client.get("/ui/hosts/%3Cb%3Ebold%3C%2Fb%3E")
        text = await r.text()
        assert r.status == 404 and "&lt;b&gt;bold&lt;/b&gt;" in text and "<b>bold" not in text
        r = await u.client.get('/ui/login?next=/ui/"><script>alert(1)</script>')
        text = await r.text()
        assert r.status == 200 and "<script>alert" not in text

    run(tmp_path, body)


def test_logged_out_pages_are_read_only(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        page = await (await u.client.get("/ui/")).text()
        assert 'id="add-host"' not in page and "read only" in page
        page = await (await u.client.get("/ui/hosts/web1")).text()
        assert 'id="boot-once"' not in page and "/ui/login?next=/ui/hosts/web1" in page
        await u.login()
        page = await (await u.client.get("/ui/")).text()
        assert 'id="add-host"' in page and "Log out" in page
        page = await (await u.client.get("/ui/hosts/web1")).text()
        assert 'id="boot-once"' in page and 'data-action="cycle"' not in page  # no BMC: no power buttons

    run(tmp_path, body)


def test_power_buttons_only_for_a_host_with_a_bmc(tmp_path: Path) -> None:
    extra = """
[[host]]
name = "bmc1"
mac = "52:54:00:00:00:02"
bmc = { driver = "ipmi", address = "10.0.0.51", username = "admin", password = "secret" }
"""

    async def body(u: Ui) -> None:
        await u.login()
        page = await (await u.client.get("/ui/hosts/bmc1")).text()
        assert 'data-action="cycle"' in page and 'id="reprovision"' in page and "secret" not in page

    run(tmp_path, body, extra)


def test_pages_are_refused_outside_the_admin_networks(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        for path in ("/ui/", "/ui/static/app.js", "/api/events/stream"):
            r = await u.client.get(path)
            assert r.status == 403, path
        r = await u.client.post("/ui/login", data={"token": u.token}, allow_redirects=False)
        assert r.status == 403 and COOKIE not in cookie_header(r)

    run(tmp_path, body, '[api]\nadmin_networks = ["10.0.0.0/8"]\n')


def test_the_root_redirects_to_the_ui_unless_the_root_has_an_index(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.get("/", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/ui/"
        r = await u.client.get("/?x=1", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/ui/"
        (u.root / "index.html").write_text("<p>mine</p>")
        r = await u.client.get("/", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/index.html"
        r = await u.client.get("/index.html")
        assert await r.text() == "<p>mine</p>"  # served by the boot handler, as every file

    run(tmp_path, body)


def test_with_the_api_off_the_ui_is_off_and_the_root_is_the_boot_handlers(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.get("/", allow_redirects=False)
        assert r.status == 404 and r.headers["Content-Type"] == "text/plain"  # a directory, as before the UI
        r = await u.client.get("/ui/")
        assert r.status == 404 and r.headers["Content-Security-Policy"] == CSP

    run(tmp_path, body, "[api]\nenabled = false\n")


def test_ui_requests_never_join_a_machines_timeline(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        events = helpers.recorded(u.runtime)
        u.runtime.mac_for_address = lambda address, since=None: MAC1  # the operator works from web1 itself
        assert (await u.client.get("/ui/leases")).status == 200
        for _ in range(500):
            if any(e.kind == EventKind.HTTP_REQUEST for e in events):
                break
            await asyncio.sleep(0.01)
        request = next(e for e in events if e.kind == EventKind.HTTP_REQUEST)
        assert request.detail["path"] == "/ui/leases" and request.mac is None and request.host is None

    run(tmp_path, body)


def test_status_reports_the_check_of_the_running_config(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.get("/api/status")
        status = await r.json()
        assert r.status == 200 and status["check"]["ok"] is True and status["reloads"] == 0
        assert status["config"].endswith("site.toml") and status["last_reload_error"] is None
        u.runtime.config_path.write_text(SITE + "\n[[host]]\nname = 'web1'\n")  # a duplicate name
        r = await u.client.post("/api/reload", headers={"Authorization": f"Bearer {u.token}"})
        assert r.status == 400
        status = await (await u.client.get("/api/status")).json()
        assert status["last_reload_error"] and status["check"]["ok"] is True  # the running one stays

    run(tmp_path, body)


# --------------------------------------------------------------------------- the event stream


async def next_message(r: ClientResponse, timeout: float = 5) -> tuple[str, str]:
    """The next ``(event, data)`` of a server-sent event stream (comments are returned as ``(":", text)``)."""
    kind, data = "", ""
    while True:
        line = (await asyncio.wait_for(r.content.readline(), timeout)).decode()
        if not line:
            raise EOFError
        line = line.rstrip("\n")
        if line.startswith(":"):
            return ":", line[1:].strip()
        if not line:
            if kind or data:
                return kind, data
            continue
        key, _, value = line.partition(": ")
        if key == "event":
            kind = value
        elif key == "data":
            data = value


def test_the_stream_delivers_an_emitted_event_and_ends_cleanly(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        listeners = len(u.runtime.events.listeners)
        r = await u.client.get("/api/events/stream", params=[("host", "web1"), ("mac", MAC1.upper())])
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        assert await next_message(r) == (":", "following events")
        assert len(u.runtime.events.listeners) == listeners + 1
        u.runtime.events.emit(EventKind.DHCP4_OFFER, mac="52:54:00:00:00:99", yiaddr="192.0.2.150")  # not web1
        u.runtime.events.emit(EventKind.DHCP4_OFFER, mac=MAC1, host="web1", yiaddr="192.0.2.100")
        kind, data = await next_message(r)
        step = json.loads(data)
        assert kind == "step" and step["kind"] == "dhcp4.offer" and step["mac"] == MAC1
        assert step["text"] == "DHCPv4 offer of 192.0.2.100" and step["stage"] == "offer"
        r.close()  # the browser goes away
        for _ in range(500):
            if len(u.runtime.events.listeners) == listeners:
                break
            u.runtime.events.emit(EventKind.DHCP4_OFFER, mac=MAC1, host="web1", yiaddr="192.0.2.100")
            await asyncio.sleep(0.01)
        assert len(u.runtime.events.listeners) == listeners

    run(tmp_path, body)


def test_the_stream_refuses_a_bad_mac(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.get("/api/events/stream", params={"mac": "nope"})
        assert r.status == 400 and "MAC" in (await r.json())["error"]

    run(tmp_path, body)


# The stream's resume, skipped events, heartbeats and shutdown: tests/unit/web/test_stream.py.
