"""The serve log handler: batched per loop turn, same text as the formatter, order kept."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading

from bootwright.runtime.events import EventSink
from bootwright.runtime.logbuffer import JOURNAL_FORMAT, LOG_FORMAT, MAX_PENDING, LineBufferHandler


class CountingStream(io.StringIO):
    """A text stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def _logger(handler: logging.Handler, name: str = "bw-test") -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


def test_lines_of_one_loop_turn_are_one_write_in_order() -> None:
    stream = CountingStream()
    handler = LineBufferHandler(stream)
    log = _logger(handler)

    async def main() -> None:
        handler.attach(asyncio.get_running_loop())
        log.info("first")
        handler.event_line("bootwright.events", "dhcp4.ack mac=52:54:00:00:00:01")
        log.warning("third")
        assert stream.writes == 0  # nothing written inside the turn
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert stream.writes == 1
        handler.detach()

    asyncio.run(main())
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == [
        "INFO first",
        "INFO dhcp4.ack mac=52:54:00:00:00:01",
        "WARNING third",
    ]
    assert lines[1].split(" ")[2] == "bootwright.events"


def test_event_line_matches_the_formatter() -> None:
    stream = io.StringIO()
    handler = LineBufferHandler(stream)
    handler.event_line("bootwright.events", "tftp.done file=ipxe.efi")
    record = logging.LogRecord("bootwright.events", logging.INFO, __file__, 1, "tftp.done file=ipxe.efi", None, None)
    expected = logging.Formatter(LOG_FORMAT).format(record)
    got = stream.getvalue().rstrip("\n")
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.fullmatch(stamp + " bootwright.events INFO tftp.done file=ipxe.efi", got)
    assert got[23:] == expected[23:]  # everything after the timestamp is identical


def test_without_a_loop_and_from_other_threads_lines_are_written_at_once() -> None:
    stream = CountingStream()
    handler = LineBufferHandler(stream)
    log = _logger(handler, "bw-test-threads")
    log.info("no loop")
    assert stream.writes == 1

    async def main() -> None:
        handler.attach(asyncio.get_running_loop())
        worker = threading.Thread(target=log.error, args=("from a thread",))
        worker.start()
        worker.join(5)
        assert stream.writes == 2  # not held for the loop's turn
        handler.detach()

    asyncio.run(main())
    assert stream.getvalue().splitlines()[1].endswith("ERROR from a thread")


def test_a_long_burst_is_written_in_bounded_batches() -> None:
    stream = CountingStream()
    handler = LineBufferHandler(stream)

    async def main() -> None:
        handler.attach(asyncio.get_running_loop())
        for i in range(MAX_PENDING * 2 + 1):
            handler.event_line("bootwright.events", f"n={i}")
        assert stream.writes == 2
        handler.detach()  # writes the rest

    asyncio.run(main())
    assert stream.writes == 3
    assert len(stream.getvalue().splitlines()) == MAX_PENDING * 2 + 1


def test_a_broken_stream_never_raises() -> None:
    stream = io.StringIO()
    stream.close()
    handler = LineBufferHandler(stream)
    handler.event_line("bootwright.events", "lost")  # ValueError inside, swallowed


def test_event_sink_uses_the_line_writer_only_when_info_is_enabled() -> None:
    lines: list[tuple[str, str]] = []
    sink = EventSink(None, "text", line_writer=lambda name, text: lines.append((name, text)))
    events_log = logging.getLogger("bootwright.events")
    before = events_log.level
    try:
        events_log.setLevel(logging.INFO)
        sink.emit("http.request", "52:54:00:00:00:01", None, path="/boot.ipxe", status=200)
        events_log.setLevel(logging.WARNING)
        sink.emit("http.request", "52:54:00:00:00:01", None, path="/vmlinuz", status=200)
    finally:
        events_log.setLevel(before)
    assert lines == [("bootwright.events", "http.request mac=52:54:00:00:00:01 path=/boot.ipxe status=200")]


# --------------------------------------------------------------------------- --log-json and journald lines


def test_json_lines_for_records_and_events() -> None:
    stream = io.StringIO()
    handler = LineBufferHandler(stream, json_lines=True)
    logger = logging.getLogger("bootwright.test.jsonlines")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("pool %s is full", "lab")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
        handler.event_line("bootwright.events", '{"at": 1.5, "event": "dhcp4.offer", "mac": "52:54:00:12:34:56"}')
        handler.event_line("bootwright.events", "dhcp4.offer mac=52:54:00:12:34:56")  # a text event, wrapped
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["warning", "error", "info", "info"]
    assert lines[0]["msg"] == "pool lab is full" and lines[0]["logger"] == "bootwright.test.jsonlines"
    assert "ValueError: boom" in lines[1]["exc"]
    assert lines[2]["event"] == "dhcp4.offer" and lines[2]["at"] == 1.5 and lines[2]["ts"].startswith("20")
    assert lines[3]["msg"] == "dhcp4.offer mac=52:54:00:12:34:56"


def test_journald_lines_carry_no_time() -> None:
    stream = io.StringIO()
    handler = LineBufferHandler(stream, JOURNAL_FORMAT)
    handler.event_line("bootwright.events", "dhcp4.offer mac=52:54:00:12:34:56")
    assert stream.getvalue() == "bootwright.events INFO dhcp4.offer mac=52:54:00:12:34:56\n"
