"""The HTTP service itself on loopback: binding both families, readiness, limits, slow clients."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bootwright.app import SERVICE_FACTORIES
from bootwright.model import Event
from bootwright.runtime import Runtime, ServiceError
from bootwright.web.service import HttpService, bind_sockets, create_service
from tests import helpers


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


LISTEN = '["127.0.0.1", "::1"]' if has_ipv6_loopback() else '["127.0.0.1"]'


def runtime(tmp_path: Path, http: str = "") -> tuple[Runtime, list[Event]]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (root / "file").write_bytes(b"0123456789")
    with open(root / "big.img", "wb") as f:
        f.truncate(512 * 1024 * 1024)  # sparse
    rt = helpers.make_runtime(
        tmp_path, f'[http]\nlisten = {LISTEN}\n{http}\n[boot]\ndefault = "t"\n[targets.t]\nexit = true\n', root=root
    )
    return rt, helpers.recorded(rt)


def serve(rt: Runtime, body: Callable[[HttpService], Awaitable[None]]) -> None:
    async def main() -> None:
        service = HttpService(rt, port=0)
        task = asyncio.create_task(service.run())
        try:
            await asyncio.wait_for(service.started.wait(), 5)
            await body(service)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


async def fetch(host: str, port: int, path: str = "/file") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_the_service_is_registered_and_can_be_disabled(tmp_path: Path) -> None:
    assert create_service in SERVICE_FACTORIES
    rt, _ = runtime(tmp_path)
    assert isinstance(create_service(rt), HttpService)
    off, _ = runtime(tmp_path, "enabled = false")
    assert create_service(off) is None


def test_binds_both_families_on_one_port_reports_ready_and_releases(tmp_path: Path) -> None:
    rt, _ = runtime(tmp_path)
    seen: dict[str, int] = {}

    async def body(service: HttpService) -> None:
        hosts = [a for a, _ in service.addresses]
        assert hosts == (["127.0.0.1", "::1"] if has_ipv6_loopback() else ["127.0.0.1"])
        assert len({p for _, p in service.addresses}) == 1 and service.port != 0
        assert "http" in rt.ready and str(service.port) in rt.ready["http"]
        for host in hosts:
            assert await fetch(host, service.port) == (200, b"0123456789")
        seen["port"] = service.port

    serve(rt, body)
    with socket.socket() as s:  # the port is free again after shutdown
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", seen["port"]))


def test_port_in_use_is_a_clear_service_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"cannot listen on 127\.0\.0\.1:{port}: .*in use"):
            bind_sockets(["127.0.0.1"], port)


def test_connections_over_the_limit_get_503(tmp_path: Path) -> None:
    rt, _ = runtime(tmp_path, "max_connections = 2")

    async def body(service: HttpService) -> None:
        held = [await asyncio.open_connection("127.0.0.1", service.port) for _ in range(2)]
        for reader, writer in held:  # a full keep-alive exchange: both are surely accepted
            writer.write(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"0123456789"), 10)
        status, data = await fetch("127.0.0.1", service.port)
        assert (status, data) == (503, b"busy\n")
        for _, writer in held:
            writer.close()
        for _ in range(100):  # the server notices the closes on its next loop turns
            status, _ = await fetch("127.0.0.1", service.port)
            if status == 200:
                break
            await asyncio.sleep(0.05)
        assert status == 200
        assert sum(site.refused for site in service.sites) >= 1

    serve(rt, body)


def test_slow_headers_and_idle_connections_are_closed(tmp_path: Path) -> None:
    rt, _ = runtime(tmp_path, "timeout = 0.5")

    async def body(service: HttpService) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        started = time.monotonic()
        for part in (b"GET /file HTTP/1.1\r\n", b"Host: x\r\n", b"X-Slow: 1\r\n"):  # never finishes
            writer.write(part)
            await asyncio.sleep(0.2)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        assert time.monotonic() - started < 5.0  # closed after ~0.5 s; generous for a loaded machine
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", service.port)
        assert await asyncio.wait_for(idle_reader.read(), 10) == b""
        writer.close()
        idle_writer.close()

    serve(rt, body)


def test_a_client_that_stops_reading_is_disconnected(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path, "timeout = 0.5")

    async def body(service: HttpService) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", service.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(b"GET /big.img HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readexactly(1024)
        writer.transport.pause_reading()  # stop reading: the server's chunk cannot finish
        for _ in range(200):
            if any(e.kind == "http.download_failed" for e in events):
                break
            await asyncio.sleep(0.05)
        failed = [e for e in events if e.kind == "http.download_failed"]
        assert failed and "stalled" in str(failed[0].detail["error"])
        writer.close()

    serve(rt, body)


MALFORMED = [
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
]


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_malformed_requests_are_never_an_error_with_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """Anyone can send these: the client gets 400, the log at most one debug line per source and minute."""
    rt, _ = runtime(tmp_path)

    async def body(service: HttpService) -> None:
        for _ in range(3):
            for payload in MALFORMED:
                reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
                writer.write(payload)
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                assert data.startswith(b"HTTP/1.0 400 ") or data.startswith(b"HTTP/1.1 400 "), data[:60]

    with caplog.at_level(level):
        serve(rt, body)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [(r.name, r.levelname, r.getMessage()) for r in loud]
    quiet = [r.getMessage() for r in caplog.records if "malformed HTTP request" in r.getMessage()]
    if level == logging.DEBUG:
        assert len(quiet) == 1, quiet  # nine refusals from one source within a minute: one line
        assert quiet[0].startswith("malformed HTTP request from 127.0.0.1: ") and "(answered 400)" in quiet[0]
    else:
        assert not quiet, quiet


def test_the_malformed_request_filter_counts_what_it_left_out() -> None:
    from aiohttp.http_exceptions import BadHttpMessage

    from bootwright.web.logfilter import MalformedRequests

    now = [100.0]
    shown_in = logging.getLogger("bootwright.test.malformed")
    shown_in.setLevel(logging.DEBUG)
    quiet = MalformedRequests(shown_in, every=60.0, clock=lambda: now[0])

    def record(source: str) -> logging.LogRecord:
        try:
            raise BadHttpMessage("Invalid header token")
        except BadHttpMessage:
            import sys

            return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
                                     (source,), sys.exc_info())

    first = record("192.0.2.7")
    assert quiet.filter(first) and first.levelno == logging.DEBUG and first.exc_info is None
    assert not quiet.filter(record("192.0.2.7")) and not quiet.filter(record("192.0.2.7"))
    assert quiet.filter(record("198.51.100.9"))  # another source has its own minute
    now[0] += 61
    later = record("192.0.2.7")
    assert quiet.filter(later) and "(2 more from it in the last 60 s not shown)" in later.getMessage()
    other = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "something else broke", (), None)
    assert quiet.filter(other) and other.levelno == logging.ERROR  # not a parser refusal: unchanged
    shown_in.setLevel(logging.INFO)
    assert not quiet.filter(record("203.0.113.1"))  # not at debug: nothing at all
