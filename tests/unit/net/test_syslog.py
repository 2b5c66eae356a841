"""The syslog receiver on loopback: events keyed by MAC, the rate limit, garbage, both families, metrics."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bootwright.app import SERVICE_FACTORIES
from bootwright.boot.timeline import attempts, render
from bootwright.model import Event, EventKind
from bootwright.net.syslog import MAX_SOURCES, SourceLimiter, SyslogService, bind_udp, create_service
from bootwright.runtime import Runtime, ServiceError
from bootwright.web.metrics import metrics_registry
from tests import helpers

MAC = "52:54:00:12:34:56"
HOST_CONFIG = f"""
[syslog]
enabled = true
listen = ["127.0.0.1"]
{{extra}}

[[host]]
name = "web1"
mac = "{MAC}"
"""


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def runtime(tmp_path: Path, extra: str = "", leases: dict[str, str] | None = None) -> tuple[Runtime, list[Event]]:
    """A runtime whose lease table knows 127.0.0.1 as the host web1's MAC (what the DHCP services chain in)."""
    rt = helpers.make_runtime(tmp_path, HOST_CONFIG.format(extra=extra))
    known = {"127.0.0.1": MAC} if leases is None else leases
    rt.mac_for_address = known.get
    return rt, helpers.recorded(rt)


def serve(rt: Runtime, body: Callable[[SyslogService], Awaitable[None]]) -> None:
    async def main() -> None:
        service = SyslogService(rt, port=0)
        task = asyncio.create_task(service.run())
        try:
            for _ in range(500):
                if "syslog" in rt.ready or task.done():
                    break
                await asyncio.sleep(0.01)
            if task.done():
                task.result()
            await body(service)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


def send(port: int, *datagrams: bytes, host: str = "127.0.0.1") -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        for datagram in datagrams:
            s.sendto(datagram, (host, port))


async def settle(service: SyslogService, datagrams: int) -> None:
    """Wait until the service has read ``datagrams`` datagrams (or 5 s pass)."""
    for _ in range(500):
        if service.counters["received"] >= datagrams:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"received {service.counters['received']} of {datagrams} datagrams")


def syslog_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == EventKind.SYSLOG_MESSAGE]


# ---------------------------------------------------------------- lines become events of the machine


def test_ipxe_rfc3164_rfc5424_and_netconsole_lines_join_the_machines_timeline(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path)

    async def body(service: SyslogService) -> None:
        send(
            service.port,
            b"<6>ipxe: http://192.0.2.1/boot.ipxe... ok",
            b"<3>web1 ipxe: Could not boot: No such file or directory (http://ipxe.org/2d12608e)",
            b"<13>1 2026-12-03T08:50:01Z web1 installer 42 - - \xef\xbb\xbfpartitioning /dev/vda",
            b"[    1.234567] e1000: eth0 NIC Link is Up\n",
            b"4,7,1234567,-;EXT4-fs (vda1): mounted filesystem\n SUBSYSTEM=block\n",
        )
        await settle(service, 5)
        assert (service.counters["rfc3164"], service.counters["rfc5424"], service.counters["netconsole"]) == (2, 1, 2)

    serve(rt, body)
    got = syslog_events(events)
    assert [(e.mac, e.host) for e in got] == [(MAC, "web1")] * 5
    assert [e.detail for e in got] == [
        {"source": "127.0.0.1", "severity": "info", "facility": "kern", "app": "ipxe",
         "text": "http://192.0.2.1/boot.ipxe... ok"},
        {"source": "127.0.0.1", "severity": "err", "facility": "kern", "app": "ipxe",
         "text": "Could not boot: No such file or directory (http://ipxe.org/2d12608e)"},
        {"source": "127.0.0.1", "severity": "notice", "facility": "user", "app": "installer",
         "text": "partitioning /dev/vda"},
        {"source": "127.0.0.1", "severity": None, "facility": "kern", "app": "kernel",
         "text": "e1000: eth0 NIC Link is Up"},
        {"source": "127.0.0.1", "severity": "warning", "facility": "kern", "app": "kernel",
         "text": "EXT4-fs (vda1): mounted filesystem"},
    ]  # fmt: skip
    [attempt] = attempts(got)
    lines = render(attempt, got[-1].at)
    assert "iPXE syslog: http://192.0.2.1/boot.ipxe... ok" in lines[1]
    assert lines[2].startswith(" ! ") and "iPXE syslog (err): Could not boot" in lines[2]
    assert "syslog installer: partitioning /dev/vda" in lines[3]
    assert "kernel: e1000: eth0 NIC Link is Up" in lines[4]
    assert "kernel (warning): EXT4-fs (vda1): mounted filesystem" in lines[5]
    assert "syslog" not in rt.metrics.sources  # the metrics source leaves with the service


def test_a_source_without_a_lease_or_neighbour_entry_is_reported_by_address(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path, leases={})

    async def body(service: SyslogService) -> None:
        send(service.port, b"<6>ipxe: hello")
        await settle(service, 1)

    serve(rt, body)
    [event] = syslog_events(events)
    assert (event.mac, event.host, event.detail["source"], event.detail["text"]) == (None, None, "127.0.0.1", "hello")


def test_a_known_mac_without_a_host_entry_has_no_host_name(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path, leases={"127.0.0.1": "52:54:00:00:00:99"})

    async def body(service: SyslogService) -> None:
        send(service.port, b"<6>ipxe: hello")
        await settle(service, 1)

    serve(rt, body)
    [event] = syslog_events(events)
    assert (event.mac, event.host) == ("52:54:00:00:00:99", None)


# ---------------------------------------------------------------- what is dropped, and how quietly


def test_garbage_and_oversized_datagrams_are_counted_and_logged_at_debug_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rt, events = runtime(tmp_path, "max_message = 480")

    async def body(service: SyslogService) -> None:
        send(service.port, b"\x00\xff\x13binary", b"<999>x", b"<13>" + b"x" * 600, b"<13>" + b"y" * 476, b"")
        await settle(service, 5)
        assert {k: v for k, v in service.counters.items() if v} == {
            "received": 5, "malformed": 3, "oversized": 1, "rfc3164": 1,
        }  # fmt: skip

    with caplog.at_level(logging.DEBUG, "bootwright.syslog"):
        serve(rt, body)
    [event] = syslog_events(events)
    assert event.detail["text"] == "y" * 476
    noisy = [r for r in caplog.records if r.name == "bootwright.syslog" and r.levelno > logging.INFO]
    assert noisy == []
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("undecodable datagram dropped: no <PRI> and not UTF-8 text" in m for m in debug)
    assert any("over 480 octets dropped" in m for m in debug)


def test_a_flooding_source_is_rate_limited_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt, events = runtime(tmp_path, "rate = 0.001\nburst = 5")

    async def body(service: SyslogService) -> None:
        send(service.port, *(b"<6>ipxe: line %d" % i for i in range(40)))
        await settle(service, 40)
        assert service.counters["rate_limited"] == 35

    with caplog.at_level(logging.DEBUG, "bootwright.syslog"):
        serve(rt, body)
    assert [e.detail["text"] for e in syslog_events(events)] == [f"line {i}" for i in range(5)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "127.0.0.1 sends more than 0.001 lines/s (bursts of 5" in warnings[0]
    assert "1 line(s) over the limit dropped since the start, from every source" in warnings[0]


def test_the_limiter_refills_and_forgets_the_least_recently_heard_source() -> None:
    limiter = SourceLimiter(rate=2.0, burst=3, max_sources=2)
    assert [limiter.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("a", 0.5)  # one token back after half a second at 2/s
    assert not limiter.allow("a", 0.5)
    assert limiter.allow("b", 0.5) and limiter.allow("c", 0.5)  # "a" is forgotten: the table holds two
    assert list(limiter.buckets) == ["b", "c"] and MAX_SOURCES >= 1000
    assert [limiter.allow("a", 0.5) for _ in range(4)] == [True, True, True, False]  # a fresh bucket


def test_a_reload_changes_the_limits_at_once(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path, "rate = 0.001\nburst = 1")

    async def body(service: SyslogService) -> None:
        send(service.port, b"<6>ipxe: one", b"<6>ipxe: two")
        await settle(service, 2)
        new = helpers.make_runtime(tmp_path, HOST_CONFIG.format(extra="rate = 1000\nburst = 50"),
                                   config_name="new.toml")  # fmt: skip
        rt.policy = new.policy
        await asyncio.sleep(0.01)  # 10 lines' worth of tokens at the new rate
        send(service.port, b"<6>ipxe: three")
        await settle(service, 3)
        assert (service.limiter.rate, service.limiter.burst) == (1000, 50)

    serve(rt, body)
    assert [e.detail["text"] for e in syslog_events(events)] == ["one", "three"]


# ---------------------------------------------------------------- sockets, factory, metrics


def test_it_is_off_by_default_and_listed_in_the_services(tmp_path: Path) -> None:
    assert create_service(helpers.make_runtime(tmp_path, "")) is None
    rt, _ = runtime(tmp_path)
    assert isinstance(create_service(rt), SyslogService)
    assert create_service in SERVICE_FACTORIES


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_by_default_it_listens_on_both_families(tmp_path: Path) -> None:
    rt, events = runtime(tmp_path, leases={"127.0.0.1": MAC, "::1": "52:54:00:00:00:66"})
    rt.config = rt.config.model_copy(update={"syslog": rt.config.syslog.model_copy(update={"listen": []})})

    async def body(service: SyslogService) -> None:
        assert [b.rsplit(":", 1)[0] for b in service.bound] == ["0.0.0.0", "[::]"]
        send(service.port, b"<6>ipxe: v4")
        send(service.port, b"<6>ipxe: v6", host="::1")
        await settle(service, 2)

    serve(rt, body)
    assert {(e.detail["source"], e.mac) for e in syslog_events(events)} == {
        ("127.0.0.1", MAC), ("::1", "52:54:00:00:00:66"),
    }  # fmt: skip
    assert "syslog" in rt.ready and "0.0.0.0:" in rt.ready["syslog"]


def test_a_port_in_use_names_the_address_and_what_to_do() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"syslog: cannot listen on 127.0.0.1:{port}: .*another syslog daemon"):
            bind_udp(["127.0.0.1"], port)


def test_the_counters_are_served_as_metrics(tmp_path: Path) -> None:
    rt, _ = runtime(tmp_path, "rate = 0.001\nburst = 1")
    scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    async def body(service: SyslogService) -> None:
        send(service.port, b"<6>ipxe: a", b"<6>ipxe: b", b"\x00garbage")
        await settle(service, 3)
        text = generate_latest(metrics_registry(rt)).decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("bootwright_syslog"):
                    scraped[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    serve(rt, body)
    assert scraped[("bootwright_syslog_datagrams_received_total", ())] == 3
    assert scraped[("bootwright_syslog_messages_total", (("format", "rfc3164"),))] == 1
    assert scraped[("bootwright_syslog_dropped_total", (("reason", "rate-limited"),))] == 2  # the garbage too:
    assert scraped[("bootwright_syslog_dropped_total", (("reason", "malformed"),))] == 0  # the limit comes first
    assert scraped[("bootwright_syslog_errors_total", (("kind", "receive"),))] == 0
