"""The HTTP application end to end on loopback: files, ranges, scripts, access, events.

Requests go through aiohttp's test server (the same ``AppRunner`` options as
``bootwright serve``) over 127.0.0.1; traversal attempts use a raw socket so no
client library normalises the path first.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bootwright.boot.policy import BootPolicy
from bootwright.model import Event
from bootwright.runtime.core import Runtime
from bootwright.web.service import build_app, install_fast_path, runner_options
from tests import helpers

BASE = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[[subnet4]]
subnet = "192.0.2.0/24"

[http]
port = 8080
scripts = { "script.ipxe" = "menu" }
{extra_http}

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"
initrd = "{{ http }}/initrd.img"
cmdline = "console=ttyS0"

[targets.rescue]
kernel = "rescue/vmlinuz"
initrd = "rescue/initrd"

[targets.local]
exit = true

[menus.menu]
items = [{ target = "linux" }, { target = "rescue" }, { target = "local" }]
per_host_chain = ["http://${next-server}/script.ipxe-${netX/mac}"]

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
target = "rescue"

[[host]]
name = "plain"
mac = "52:54:00:00:00:02"
"""

KERNEL = bytes(range(256)) * 4096  # 1 MiB, every offset identifiable


class Neighbours:
    """Host facts with a fixed neighbour table (the kernel's would hold nothing for loopback)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def neighbour_mac(self, address: str, since: float | None = None) -> str | None:
        return self.table.get(address)


class Harness:
    """A runtime around a config and a root, collecting events."""

    def __init__(self, tmp_path: Path, extra_http: str = "", config: str | None = None) -> None:
        self.root = tmp_path / "root"
        (self.root / "rescue").mkdir(parents=True, exist_ok=True)
        (self.root / "vmlinuz").write_bytes(KERNEL)
        (self.root / "initrd.img").write_bytes(b"initrd")
        (self.root / "ipxe.efi").write_bytes(b"MZ" + b"\0" * 998)
        (self.root / "script.ipxe-52:54:00:00:00:09").write_text("#!ipxe\necho static per-host file\n")
        (self.root / "grub").mkdir()
        (self.root / "grub" / "grub.cfg-01-52-54-00-00-00-08").write_text("static grub\n")
        (tmp_path / "outside").write_text("secret")
        os.symlink(tmp_path / "outside", self.root / "escape")
        os.symlink("vmlinuz", self.root / "kernel-link")
        text = config if config is not None else BASE.replace("{extra_http}", extra_http)
        self.runtime = helpers.make_runtime(
            tmp_path, text, root=self.root, state_dir=tmp_path / "state", config_name="bootwright.toml"
        )
        self.events: list[Event] = helpers.recorded(self.runtime)
        self.runtime.host = Neighbours({"127.0.0.1": "52:54:00:00:00:02"})

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    async def settle(self, kind: str = "http.request", count: int = 1) -> list[Event]:
        """Events are emitted after the response is written: wait for them."""
        for _ in range(1000):  # up to 10 s on a loaded machine; usually one loop turn
            if len(self.kinds(kind)) >= count:
                break
            await asyncio.sleep(0.01)
        return self.kinds(kind)


@asynccontextmanager
async def serving(h: Harness, host: str = "127.0.0.1") -> AsyncIterator[TestClient[Any, Any]]:
    async with serving_app(h.runtime, h.root, host) as client:
        yield client


@asynccontextmanager
async def serving_app(runtime: Runtime, root: Path, host: str = "127.0.0.1") -> AsyncIterator[TestClient[Any, Any]]:
    """The HTTP app of ``runtime`` as ``serve`` runs it (the fast path included), with a client to it."""
    app, handler = build_app(runtime, root, 8080)
    server = TestServer(app, host=host)
    await server.start_server(**runner_options(runtime))
    assert server.runner is not None
    install_fast_path(server.runner, app, handler)
    client = TestClient(server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def run(h: Harness, body: Callable[[TestClient[Any, Any]], Awaitable[None]], host: str = "127.0.0.1") -> None:
    serve_app(h.runtime, h.root, body, host)


def serve_app(
    runtime: Runtime, root: Path, body: Callable[[TestClient[Any, Any]], Awaitable[None]], host: str = "127.0.0.1"
) -> None:
    """Run ``body`` against the HTTP app of ``runtime`` (:func:`serving_app`)."""

    async def main() -> None:
        async with serving_app(runtime, root, host) as client:
            await body(client)

    asyncio.run(main())


async def raw(port: int, request: bytes, host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def get(path: str, *extra: str) -> bytes:
    return ("\r\n".join([f"GET {path} HTTP/1.1", "Host: x", "Connection: close", *extra]) + "\r\n\r\n").encode()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


# --------------------------------------------------------------------------- static files


def test_get_whole_file_with_length_type_and_validators(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/vmlinuz")
        assert r.status == 200 and await r.read() == KERNEL
        assert r.headers["Content-Length"] == str(len(KERNEL))
        assert r.headers["Accept-Ranges"] == "bytes"
        assert r.headers["ETag"].startswith('"') and r.headers["Last-Modified"].endswith("GMT")
        assert r.headers["Content-Type"] == "application/octet-stream"
        r = await c.get("/ipxe.efi")
        assert r.headers["Content-Type"] == "application/efi"
        events = await h.settle("http.download_complete", 2)
        assert [(e.detail["path"], e.detail["bytes"], e.detail["outcome"]) for e in events] == [
            ("/vmlinuz", len(KERNEL), "ok"),
            ("/ipxe.efi", 1000, "ok"),
        ]

    run(h, body)


def test_head_then_get_like_edk2_http_boot(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.head("/ipxe.efi")
        assert r.status == 200 and r.headers["Content-Length"] == "1000" and await r.read() == b""
        r = await c.get("/ipxe.efi", headers={"Range": "bytes=0-1"})
        assert r.status == 206 and await r.read() == b"MZ"
        await h.settle("http.request", 2)
        assert not h.kinds("http.download_complete")  # HEAD and a part are not a complete download

    run(h, body)


def test_single_range_suffix_range_and_416(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/vmlinuz", headers={"Range": "bytes=1000-1099"})
        assert r.status == 206 and await r.read() == KERNEL[1000:1100]
        assert r.headers["Content-Range"] == f"bytes 1000-1099/{len(KERNEL)}"
        r = await c.get("/vmlinuz", headers={"Range": "bytes=-10"})
        assert await r.read() == KERNEL[-10:]
        r = await c.get("/vmlinuz", headers={"Range": f"bytes={len(KERNEL)}-"})
        assert r.status == 416 and r.headers["Content-Range"] == f"bytes */{len(KERNEL)}"
        r = await c.get("/vmlinuz", headers={"Range": "bytes=9-1"})  # invalid: ignored
        assert r.status == 200 and len(await r.read()) == len(KERNEL)

    run(h, body)


def test_multiple_ranges_are_multipart_byteranges(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/vmlinuz", headers={"Range": "bytes=0-9,500000-500009"})
        assert r.status == 206
        ctype = r.headers["Content-Type"]
        assert ctype.startswith("multipart/byteranges; boundary=")
        boundary = ctype.split("boundary=")[1].encode()
        data = await r.read()
        assert len(data) == int(r.headers["Content-Length"])
        parts = [p for p in data.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
        assert len(parts) == 2
        first = parts[0].split(b"\r\n\r\n", 1)
        assert b"Content-Range: bytes 0-9/" in first[0] and first[1].rstrip(b"\r\n") == KERNEL[:10]

    run(h, body)


def test_conditional_requests(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/initrd.img")
        etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
        r = await c.get("/initrd.img", headers={"If-None-Match": etag})
        assert r.status == 304 and await r.read() == b""
        r = await c.get("/initrd.img", headers={"If-Modified-Since": modified})
        assert r.status == 304
        r = await c.get("/initrd.img", headers={"If-Match": '"nope"'})
        assert r.status == 412
        r = await c.get("/initrd.img", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
        assert r.status == 200 and await r.read() == b"initrd"

    run(h, body)


def test_not_found_directories_and_methods(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        assert (await c.get("/missing")).status == 404
        r = await c.get("/grub/")
        assert r.status == 404 and "<html" not in (await r.text()).lower()  # no listing
        r = await c.get("/", allow_redirects=False)  # the bare root is the web UI's (web/ui/routes.py)
        assert r.status == 302 and r.headers["Location"] == "/ui/"
        r = await c.post("/vmlinuz")
        assert r.status == 405 and r.headers["Allow"] == "GET, HEAD"
        r = await c.get("/kernel-link", headers={"Range": "bytes=0-3"})
        assert r.status == 206 and await r.read() == KERNEL[:4]  # links inside the root work

    run(h, body)


@pytest.mark.parametrize(
    "target",
    [
        "/../outside",
        "/%2e%2e/outside",
        "/rescue/%2E%2E/%2e%2e/outside",
        "/rescue%2f..%2f..%2foutside",
        "/rescue\\..\\..\\outside",
        "/vmlinuz%00.png",
    ],
)
def test_traversal_is_refused_400(h: Harness, target: str) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        status, _, data = await raw(c.port or 0, get(target))
        assert status == 400 and b"secret" not in data

    run(h, body)


def test_absolute_path_and_escaping_symlink(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        status, _, _ = await raw(c.port or 0, get("//etc/passwd"))
        assert status == 404  # names <root>/etc/passwd
        status, _, data = await raw(c.port or 0, get("/escape"))
        assert status == 403 and b"secret" not in data

    run(h, body)


def test_oversized_header_is_refused_and_server_survives(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        status, _, _ = await raw(c.port or 0, get("/initrd.img", "X-Big: " + "a" * 20000))
        assert status in (400, 431)
        many = [f"X-H{i}: v" for i in range(300)]
        status, _, _ = await raw(c.port or 0, get("/initrd.img", *many))
        assert status in (400, 431)
        status, _, data = await raw(c.port or 0, get("/initrd.img"))
        assert status == 200 and data == b"initrd"

    run(h, body)


# --------------------------------------------------------------------------- boot documents


def test_entry_script_chains_to_per_host_url_with_our_port(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/boot.ipxe")
        text = await r.text()
        assert r.status == 200 and text.startswith("#!ipxe\n")
        assert r.headers["Cache-Control"] == "no-store"
        # 127.0.0.1 is in no subnet: the configured address, and the port really bound.
        assert f"http://192.0.2.1:{c.port}/boot/${{netX/mac:hexhyp}}.ipxe?platform=${{platform}}" in text

    run(h, body)


def test_per_host_script_known_host_and_hexhyp_or_colons(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        for path in ("/boot/52-54-00-00-00-01.ipxe?platform=efi&buildarch=x86_64", "/boot/52:54:00:00:00:01.ipxe"):
            r = await c.get(path)
            text = await r.text()
            assert r.status == 200 and "# bootwright: rescue for 52:54:00:00:00:01 (web1)" in text
            assert "kernel rescue/vmlinuz initrd=initrd" in text
        events = await h.settle("http.script", 2)
        assert events[0].mac == "52:54:00:00:00:01" and events[0].host == "web1"
        assert events[0].detail["script"] == "rescue" and events[0].detail["platform"] == "efi"
        requests = await h.settle("http.request", 2)
        assert requests[0].mac == "52:54:00:00:00:01" and requests[0].detail["status"] == 200
        assert requests[0].detail["script_kind"] == "kernel"  # what the script does, for the timeline

    run(h, body)


def test_unknown_mac_gets_the_default_not_an_error_page(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/boot/02-00-00-aa-bb-cc.ipxe?platform=pcbios&buildarch=i386")
        text = await r.text()
        assert r.status == 200 and "# bootwright: linux for 02:00:00:aa:bb:cc" in text
        assert f"kernel http://192.0.2.1:{c.port}/vmlinuz" in text
        r = await c.get("/boot/not-a-mac.ipxe")
        text = await r.text()
        assert r.status == 404 and text.startswith("#!ipxe\n") and "echo bootwright:" in text

    run(h, body)


def test_seed002_style_menu_and_per_mac_fallback(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/script.ipxe")
        text = await r.text()
        # The MAC came from the neighbour table (the harness's runtime.host): host "plain".
        assert r.status == 200 and "# bootwright: menu for 52:54:00:00:00:02 (plain)" in text
        assert "chain --autofree http://${next-server}/script.ipxe-${netX/mac} && goto menu || goto menu" in text
        r = await c.get("/script.ipxe-52:54:00:00:00:01")  # host with its own target
        assert r.status == 200 and "# bootwright: rescue for 52:54:00:00:00:01 (web1)" in await r.text()
        r = await c.get("/script.ipxe-52:54:00:00:00:02")  # host without one: 404 → the menu
        text = await r.text()
        assert r.status == 404 and text.startswith("#!ipxe\n")
        r = await c.get("/script.ipxe-52:54:00:00:00:03")  # nobody
        assert r.status == 404
        r = await c.get("/script.ipxe-52:54:00:00:00:09")  # a hand-written file wins
        assert r.status == 200 and await r.text() == "#!ipxe\necho static per-host file\n"

    run(h, body)


def test_grub_and_pxelinux_configs(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/grub/grub.cfg-01-52-54-00-00-00-01")
        text = await r.text()
        assert r.status == 200 and f"linux (http,192.0.2.1:{c.port})/rescue/vmlinuz" in text
        r = await c.get("/efi-a64/grub.cfg-02:00:00:00:00:05")
        assert r.status == 200 and f"linux (http,192.0.2.1:{c.port})/vmlinuz console=ttyS0" in await r.text()
        r = await c.get("/grub/grub.cfg-01-52-54-00-00-00-08")
        assert await r.text() == "static grub\n"  # a file wins
        r = await c.get("/pxelinux.cfg/01-52-54-00-00-00-01")
        assert r.status == 200 and "KERNEL rescue/vmlinuz" in await r.text()

    run(h, body)


def test_scripts_are_cached_per_policy_and_follow_a_reload(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/boot/52-54-00-00-00-01.ipxe")
        assert "rescue for" in await r.text()
        r = await c.get("/boot/52-54-00-00-00-01.ipxe")
        assert "rescue for" in await r.text()
        # A reload (or a one-shot) replaces runtime.policy; the next request follows it.
        cfg = h.runtime.config
        hosts = [h2 for h2 in h.runtime.policy.hosts.by_name.values()]
        from dataclasses import replace

        h.runtime.policy = BootPolicy(cfg, hosts=[replace(x, target="local") if x.name == "web1" else x for x in hosts])
        r = await c.get("/boot/52-54-00-00-00-01.ipxe")
        assert "# bootwright: local for" in await r.text()

    run(h, body)


def test_ipv6_requests_get_bracketed_urls(h: Harness) -> None:
    if not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/boot/52-54-00-00-00-02.ipxe")
        assert f"kernel http://[2001:db8::1]:{c.port}/vmlinuz" in await r.text()
        r = await c.get("/vmlinuz", headers={"Range": "bytes=0-3"})
        assert r.status == 206 and await r.read() == KERNEL[:4]

    run(h, body, host="::1")


def _has_ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- access control


def test_allow_list_refuses_others_with_403(tmp_path: Path) -> None:
    h = Harness(tmp_path, extra_http='allow = ["192.168.0.0/16"]')

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/vmlinuz")
        assert r.status == 403
        r = await c.get("/boot/52-54-00-00-00-01.ipxe")
        assert r.status == 403 and (await r.text()).startswith("#!ipxe\n")
        await h.settle("http.request", 2)
        assert [e.detail["status"] for e in h.kinds("http.request")] == [403, 403]

    run(h, body)


def test_allow_list_admits_listed_networks(tmp_path: Path) -> None:
    h = Harness(tmp_path, extra_http='allow = ["127.0.0.0/8", "192.168.0.0/16"]')

    async def body(c: TestClient[Any, Any]) -> None:
        assert (await c.get("/initrd.img")).status == 200

    run(h, body)


# --------------------------------------------------------------------------- events


def test_api_calls_are_logged_but_never_join_a_machines_timeline(h: Harness) -> None:
    """An operator's API call from a host in the neighbour table is not that machine's boot step."""

    async def body(c: TestClient[Any, Any]) -> None:
        assert (await c.get("/api/targets")).status == 200
        await (await c.get("/initrd.img")).read()
        requests = await h.settle("http.request", 2)
        api, boot = sorted(requests, key=lambda e: str(e.detail["path"]))
        assert api.detail["path"] == "/api/targets" and api.detail["status"] == 200
        assert api.mac is None and api.host is None
        assert boot.mac == "52:54:00:00:00:02"  # the same client, fetching a boot file

    run(h, body)


def test_file_events_carry_mac_from_the_neighbour_table_and_host(h: Harness) -> None:
    async def body(c: TestClient[Any, Any]) -> None:
        await (await c.get("/initrd.img")).read()
        request = (await h.settle("http.request"))[0]
        assert request.mac == "52:54:00:00:00:02" and request.host == "plain"
        assert request.detail["path"] == "/initrd.img" and request.detail["status"] == 200
        assert request.detail["bytes"] == 6 and request.detail["client"] == "127.0.0.1"
        assert isinstance(request.detail["duration"], float)
        done = (await h.settle("http.download_complete"))[0]
        assert done.mac == "52:54:00:00:00:02" and done.detail["bytes"] == 6

    run(h, body)


def test_download_cut_short_is_reported_failed(h: Harness) -> None:
    big = h.root / "big.img"
    with open(big, "wb") as f:
        f.truncate(256 * 1024 * 1024)  # sparse: larger than any socket buffer

    async def body(c: TestClient[Any, Any]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", c.port)
        writer.write(get("/big.img"))
        await reader.readexactly(4096)
        writer.transport.abort()  # the client goes away mid-body
        failed = await h.settle("http.download_failed")
        assert failed and failed[0].detail["path"] == "/big.img"
        assert 0 < int(failed[0].detail["bytes"] or 0) < 256 * 1024 * 1024
        assert not h.kinds("http.download_complete")

    run(h, body)


def test_extension_routes_still_go_through_the_application(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    from bootwright.web import service

    seen: list[str] = []

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        return await handler(request)

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": True})

    def extend(app: web.Application, runtime: Any) -> None:
        sub = web.Application(middlewares=[guard])
        sub.router.add_get("/hello", hello)
        app.add_subapp("/ext/", sub)

    monkeypatch.setattr(service, "APP_EXTENSIONS", [extend])

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/ext/hello")
        assert r.status == 200 and await r.json() == {"hello": True} and seen == ["/ext/hello"]
        r = await c.post("/ext/hello")  # the application's own 405, through its middleware
        assert r.status == 405 and len(seen) == 2
        r = await c.get("/extra")  # only the prefix and paths below it belong to the extension
        assert r.status == 404 and r.headers["Content-Type"] == "text/plain" and len(seen) == 2
        r = await c.get("/initrd.img")
        assert r.status == 200 and len(seen) == 2  # boot requests skip the middleware chain

    run(h, body)
