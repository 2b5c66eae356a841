"""``/api/events/stream`` as the tail of the event log: ids, resume (Last-Event-ID, ?after=), skipped events, the end.

A raw aiohttp client reads the stream line by line and reconnects the way a
browser's ``EventSource`` does: the same URL, with ``Last-Event-ID`` set to the
last ``id:`` it saw (WHATWG HTML §9.2.4).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bootwright.model import Event, EventKind
from bootwright.runtime import Runtime
from bootwright.runtime.reload import HotReload
from bootwright.web.api.stream import EventStream
from tests import helpers

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
"""
MAC1 = "52:54:00:00:00:01"
OTHER = "52:54:00:00:00:99"


class Message:
    """One server-sent event block as a browser parses it: its fields, and comment lines."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.event = ""
        self.data = ""
        self.comments: list[str] = []

    def json(self) -> Any:
        return json.loads(self.data)


async def read_block(r: ClientResponse, timeout: float = 5) -> Message:
    """The next block up to a blank line (§9.2.6): fields and comments."""
    m = Message()
    while True:
        line = (await asyncio.wait_for(r.content.readline(), timeout)).decode()
        if not line:
            raise EOFError
        line = line.rstrip("\n")
        if not line:
            if m.id is not None or m.event or m.data or m.comments:
                return m
            continue
        if line.startswith(":"):
            m.comments.append(line[1:].strip())
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            m.id = value
        elif key == "event":
            m.event = value
        elif key == "data":
            m.data = value


async def steps(r: ClientResponse, count: int) -> list[Message]:
    """The next ``count`` ``step`` messages (heartbeats skipped)."""
    out: list[Message] = []
    while len(out) < count:
        m = await read_block(r)
        if m.event:
            out.append(m)
    return out


@asynccontextmanager
async def served(tmp_path: Path, **stream: Any) -> AsyncIterator[tuple[TestClient[Any, Any], Runtime, EventStream]]:
    """An EventStream over a runtime with a real state store and inventory (the log it reads)."""
    rt = helpers.make_runtime(tmp_path, SITE, with_store=True)
    reloader = HotReload(rt)
    reloader.start()
    app = web.Application()
    es = EventStream(rt, **stream)
    es.add_routes(app)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, rt, es
    finally:
        await client.close()
        await reloader.aclose()
        await rt.store.aclose()


def emit(rt: Runtime, n: int, mac: str = MAC1) -> None:
    rt.events.emit(EventKind.DHCP4_DISCOVER, mac=mac, host="web1" if mac == MAC1 else None, n=n)


def test_each_step_carries_its_log_id_and_a_reconnect_resumes_after_the_last_one(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path) as (client, rt, _):
            emit(rt, 0)  # before the stream: the past, not sent to a new stream
            url = f"/events/stream?host=web1&mac={MAC1}"
            r = await client.get(url)
            first = await read_block(r)
            assert first.comments == ["following events"] and first.id is not None and not first.event
            start = int(first.id)  # the newest id of the log: where a reconnect before any step resumes
            assert start >= 1
            emit(rt, 1)
            emit(rt, 2, OTHER)  # another machine's: not this stream's
            emit(rt, 3)
            got = await steps(r, 2)
            assert [m.json()["detail"]["n"] for m in got] == [1, 3]
            ids = [int(m.id or 0) for m in got]
            assert ids[0] > start and ids[1] > ids[0] and [m.json()["id"] for m in got] == ids
            r.close()  # the connection drops …
            for n in (4, 5, 6):  # … and the machine goes on booting meanwhile
                emit(rt, n)
            emit(rt, 7, OTHER)
            r = await client.get(url, headers={"Last-Event-ID": str(ids[-1])})  # what EventSource sends
            assert r.status == 200
            assert (await read_block(r)).comments == ["following events"]
            got = await steps(r, 3)
            assert [m.json()["detail"]["n"] for m in got] == [4, 5, 6]
            emit(rt, 8)  # and live again after the missed ones
            (live,) = await steps(r, 1)
            assert live.json()["detail"]["n"] == 8 and int(live.id or 0) > int(got[-1].id or 0)
            r.close()

    asyncio.run(main())


def test_after_resumes_too_and_last_event_id_wins_over_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path) as (client, rt, _):
            for n in range(4):
                emit(rt, n)
            rt.store.flush_events()
            rows = await rt.reloader.inventory.tables.aread_events((MAC1,), None, 0, 10)  # type: ignore[union-attr]
            ids = [i for i, _ in rows]
            r = await client.get(f"/events/stream?mac={MAC1}&after={ids[0]}")
            await read_block(r)
            assert [m.json()["detail"]["n"] for m in await steps(r, 3)] == [1, 2, 3]
            r.close()
            # A browser reconnecting to that same URL sends its own cursor: the header decides.
            r = await client.get(f"/events/stream?mac={MAC1}&after={ids[0]}", headers={"Last-Event-ID": str(ids[2])})
            await read_block(r)
            assert [m.json()["detail"]["n"] for m in await steps(r, 1)] == [3]
            r.close()

    asyncio.run(main())


def test_a_cursor_the_log_never_gave_starts_from_now(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path) as (client, rt, _):
            emit(rt, 0)
            r = await client.get(f"/events/stream?mac={MAC1}", headers={"Last-Event-ID": "999999"})  # another store's
            first = await read_block(r)
            assert first.id is not None and int(first.id) < 999999
            emit(rt, 1)
            assert [m.json()["detail"]["n"] for m in await steps(r, 1)] == [1]
            r.close()

    asyncio.run(main())


def test_a_bad_cursor_is_a_400_from_the_api(tmp_path: Path) -> None:
    from tests.unit.web.test_ui import ui  # the application as `bootwright serve` builds it

    async def main() -> None:
        async with ui(tmp_path) as u:
            for headers, query in (({"Last-Event-ID": "x1"}, ""), ({}, "&after=-1"), ({}, "&after=2e3")):
                r = await u.client.get(f"/api/events/stream?mac={MAC1}{query}", headers=headers)
                body = await r.json()
                assert r.status == 400 and "event id" in body["error"], (headers, query, body)
            r = await u.client.get(f"/api/events/stream?mac={MAC1}", headers={"Last-Event-ID": ""})  # a first connect
            assert r.status == 200
            r.close()

    asyncio.run(main())


def test_a_client_more_than_a_batch_behind_is_told_how_many_it_skipped(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path, batch=2, heartbeat=0.05) as (client, rt, _):
            r = await client.get("/events/stream")  # every event: the count is exact
            await read_block(r)
            for n in range(10):  # emitted in one go, before the stream reads the log
                emit(rt, n)
            m = await read_block(r)
            assert m.event == "dropped" and m.json() == {"dropped": 8} and m.id is None
            assert [x.json()["detail"]["n"] for x in await steps(r, 2)] == [8, 9]
            # Nothing new: heartbeats flow.
            while "heartbeat" not in (await read_block(r)).comments:
                pass
            r.close()

    asyncio.run(main())


def test_the_server_stopping_ends_the_stream_and_removes_its_listener(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path, heartbeat=5) as (client, rt, es):
            before = len(rt.events.listeners)
            r = await client.get("/events/stream")
            await read_block(r)
            assert len(rt.events.listeners) == before + 1 and len(es.clients) == 1
            await client.server.runner.shutdown()  # type: ignore[union-attr]
            rest = await asyncio.wait_for(r.content.read(), 5)
            assert b"event:" not in rest
            assert not es.clients and len(rt.events.listeners) == before

    asyncio.run(main())


def test_live_only_notices_are_not_streamed(tmp_path: Path) -> None:
    async def main() -> None:
        async with served(tmp_path, heartbeat=5) as (client, rt, _):
            r = await client.get("/events/stream")
            await read_block(r)
            for listener in list(rt.events.listeners):
                listener(Event(0.0, EventKind.HTTP_SCRIPT, MAC1, "web1", {"script": "rescue"}))
            rt.events.emit(EventKind.HTTP_REQUEST, mac=MAC1, host="web1", path="/boot.ipxe", status=200)
            (m,) = await steps(r, 1)
            assert m.json()["kind"] == "http.request"
            r.close()

    asyncio.run(main())
