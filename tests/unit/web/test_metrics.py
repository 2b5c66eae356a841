"""GET /metrics on the real HTTP service (loopback): the exposition parses, numbers follow engines and events,
access is the API's."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import prometheus_client
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from bootwright import __version__
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.engine.ra import RouterAdvertiser, RsContext, ra_settings
from bootwright.model import Event, EventKind
from bootwright.net.dhcp4 import Dhcp4Service
from bootwright.net.dhcp6 import Dhcp6Service
from bootwright.net.ra import RaService
from bootwright.net.tftp.service import TftpService
from bootwright.runtime import Runtime
from bootwright.runtime.reload import HotReload
from bootwright.web.metrics import FAMILIES, metrics_registry
from bootwright.web.service import HttpService
from bootwright.wire.dhcp4 import Dhcp4Message
from bootwright.wire.dhcp4 import encode as encode4
from bootwright.wire.dhcp6 import ClientId, Dhcp6Message, DuidLL, IaNa, MessageType
from tests import helpers

SITE = """
[http]
listen = ["127.0.0.1"]

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.109"]

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::1ff"]
ra = { managed = true }

[boot]
default = "rescue"

[targets.rescue]
kernel = "vmlinuz"
initrd = "initrd.img"

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
ipv4 = "192.0.2.105"
"""
MAC = "52:54:00:00:00:01"
CLIENT = "52:54:00:00:00:02"  # the scraper's MAC in the neighbour table
SERVER4 = IPv4Address("192.0.2.1")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Neighbours:
    """Host facts with a fixed neighbour table: loopback requests get a MAC, as a client's would."""

    def neighbour_mac(self, address: str, since: float | None = None) -> str | None:
        return CLIENT if address == "127.0.0.1" else None


@dataclass
class Site:
    runtime: Runtime
    reloader: HotReload
    http: HttpService
    session: aiohttp.ClientSession
    events: list[Event]

    def url(self, path: str) -> str:
        host, port = self.http.addresses[0]
        return f"http://{host}:{port}{path}"

    async def get(self, path: str, **kw: Any) -> tuple[int, str, str]:
        async with self.session.get(self.url(path), **kw) as r:
            return r.status, r.headers.get("Content-Type", ""), await r.text()

    async def scrape(self) -> Samples:
        """GET /metrics, parsed by prometheus-client's own parser; then wait for the request's event."""
        before = len(self.events)
        status, ctype, text = await self.get("/metrics")
        assert status == 200, text
        assert ctype.startswith("text/plain") and "version=" in ctype
        for _ in range(500):  # the access logger emits after the response is written
            if len(self.events) > before:
                break
            await asyncio.sleep(0.01)
        out: Samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def emit(self, *outcomes: Any) -> None:
        """What a transport does with an engine's Outcome after sending: report its events."""
        for out in outcomes:
            for ev in out.events if out is not None else ():
                self.runtime.events.emit(ev.kind, mac=ev.mac, host=ev.host, **ev.detail)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@asynccontextmanager
async def site(tmp_path: Path, extra: str = "") -> AsyncIterator[Site]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(b"k" * 1000)
    (root / "initrd.img").write_bytes(b"i" * 500)
    rt = helpers.make_runtime(tmp_path, extra + SITE, root=root, state_dir=tmp_path / "state", with_store=True)
    rt.host = Neighbours()
    events = helpers.recorded(rt)
    reloader = HotReload(rt)
    reloader.start()
    http = HttpService(rt, port=0)
    task = asyncio.create_task(http.run())
    session = aiohttp.ClientSession()
    try:
        await asyncio.wait_for(http.started.wait(), 5)
        yield Site(rt, reloader, http, session, events)
    finally:
        await session.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await reloader.aclose()
        await rt.store.aclose()


def run(tmp_path: Path, body: Callable[[Site], Awaitable[None]], extra: str = "") -> None:
    async def main() -> None:
        async with site(tmp_path, extra) as s:
            await body(s)

    asyncio.run(main())


def dhcp4(mtype: int, mac: str = MAC, **options: bytes) -> bytes:
    opts = {53: bytes((mtype,)), **{int(k[1:]): v for k, v in options.items()}}
    return encode4(Dhcp4Message(op=1, xid=0x1234, chaddr=bytes.fromhex(mac.replace(":", "")), options=opts))


# ---------------------------------------------------------------- the exposition


def test_every_family_is_served_with_its_help_and_parses(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        status, ctype, text = await s.get("/metrics")
        assert status == 200 and ctype.startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        histograms = {"bootwright_boot_stage_seconds", "bootwright_boot_duration_seconds"}
        for name, (doc, _) in FAMILIES.items():
            family = families[name.removesuffix("_total")]  # the parser names a counter family without _total
            assert family.documentation == doc
            kind = "counter" if name.endswith("_total") else "histogram" if name in histograms else "gauge"
            assert family.type == kind, name
        assert {"process_cpu_seconds", "python_info"} <= set(families)
        samples = await s.scrape()
        assert value(samples, "bootwright_build_info", version=__version__) == 1
        assert value(samples, "bootwright_service_ready", service="http") == 1
        async with s.session.head(s.url("/metrics")) as r:
            assert r.status == 200
        # What Prometheus sends: OpenMetrics is served when asked for, and parses as such.
        accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        status, ctype, text = await s.get("/metrics", headers={"Accept": accept})
        assert status == 200 and ctype.startswith("application/openmetrics-text")
        names = {f.name for f in openmetrics_families(text)}
        assert {"bootwright_build", "bootwright_dhcp4_requests", "bootwright_boot_stage_seconds"} <= names

    run(tmp_path, body)


def test_a_failing_source_leaves_only_its_own_numbers_out(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        def broken(now: float) -> Any:
            raise RuntimeError("a bug")

        s.runtime.metrics.add_source("dhcp4", broken)
        got = await s.scrape()
        assert value(got, "bootwright_service_ready", service="http") == 1
        assert not any(name == "bootwright_dhcp_pool_addresses" for name, _ in got)

    run(tmp_path, body)


def test_each_server_has_its_own_registry(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = helpers.make_runtime(tmp_path / "a", SITE), helpers.make_runtime(tmp_path / "b", SITE)
    a.events.emit(EventKind.DHCP4_OFFER, MAC)
    ra, rb = metrics_registry(a), metrics_registry(b)
    assert ra.get_sample_value("bootwright_dhcp4_requests_total", {"type": "discover"}) == 1
    assert rb.get_sample_value("bootwright_dhcp4_requests_total", {"type": "discover"}) is None
    default = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("bootwright_") for name in default)


# ---------------------------------------------------------------- numbers that follow the engines


def test_dhcp4_requests_replies_drops_and_pools(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        rt = s.runtime
        service = Dhcp4Service(rt)
        engine = service.engine = Dhcp4Engine(rt.policy)
        rt.metrics.add_source("dhcp4", service.reading)
        rx = RxContext("srv0", (SERVER4,), 1500, broadcast=True)
        now = time.time()
        before = await s.scrape()
        at = {"family": "4", "subnet": "192.0.2.0/24"}
        assert value(before, "bootwright_dhcp_pool_addresses", **at) == 10
        assert value(before, "bootwright_dhcp_pool_free_addresses", **at) == 9  # .105 is web1's
        assert value(before, "bootwright_dhcp_pool_used_addresses", **at) == 0
        assert value(before, "bootwright_dhcp4_requests_total", type="discover") == 0

        client = "52:54:00:00:00:07"
        offer = engine.handle(dhcp4(1, client), rx, now)
        assert offer is not None and offer.replies
        s.emit(offer)
        mid = await s.scrape()
        assert value(mid, "bootwright_dhcp4_requests_total", type="discover") == 1
        assert value(mid, "bootwright_dhcp4_replies_total", type="offer") == 1
        assert value(mid, "bootwright_dhcp_pool_used_addresses", **at) == 1
        assert value(mid, "bootwright_dhcp_pool_free_addresses", **at) == 8
        assert value(mid, "bootwright_dhcp_leases", **at, state="offered") == 1
        assert value(mid, "bootwright_boot_attempts_in_progress") == 1

        offered = offer.events[0].detail["yiaddr"]
        assert isinstance(offered, str)
        ack = engine.handle(dhcp4(3, client, o54=SERVER4.packed, o50=IPv4Address(offered).packed), rx, now)
        assert ack is not None and ack.writes
        s.emit(ack)
        assert engine.handle(b"\x01\x02", rx, now) is None  # undecodable
        assert engine.handle(dhcp4(2, client), rx, now) is None  # an OFFER sent to a server
        after = await s.scrape()
        assert value(after, "bootwright_dhcp4_datagrams_received_total") == 4
        assert value(after, "bootwright_dhcp4_requests_total", type="request") == 1
        assert value(after, "bootwright_dhcp4_replies_total", type="ack") == 1
        assert value(after, "bootwright_dhcp4_dropped_total", reason="malformed") == 1
        assert value(after, "bootwright_dhcp4_dropped_total", reason="invalid") == 1
        assert value(after, "bootwright_dhcp_leases", **at, state="bound") == 1
        assert value(after, "bootwright_dhcp_leases", **at, state="offered") == 0
        assert value(after, "bootwright_dhcp_pool_used_addresses", **at) == 1
        assert value(after, "bootwright_boot_stage_seconds_count", stage="ack") == 1

    run(tmp_path, body)


def test_dhcp6_requests_replies_drops_and_pools(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        rt = s.runtime
        service = Dhcp6Service(rt)
        engine = service.engine = Dhcp6Engine(rt.policy, bytes.fromhex("000300010200000000fe"),
                                              {"eth0": rt.config.subnet6[0]}, (), time.time())  # fmt: skip
        rt.metrics.add_source("dhcp6", service.reading)
        src = IPv6Address("fe80::5054:ff:fe00:7")
        solicit = Dhcp6Message(MessageType.SOLICIT, 0x42, (ClientId(DuidLL(1, bytes.fromhex("525400000007"))),
                                                           IaNa(1)))  # fmt: skip
        s.emit(engine.handle(solicit.encode(), Received(src, "eth0", True), time.time()))
        assert engine.handle(b"\x01", Received(src, "eth0", True), time.time()) is None
        service.send_errors = 2
        got = await s.scrape()
        at = {"family": "6", "subnet": "2001:db8::/64"}
        assert value(got, "bootwright_dhcp6_datagrams_received_total") == 2
        assert value(got, "bootwright_dhcp6_requests_total", type="solicit") == 1
        assert value(got, "bootwright_dhcp6_replies_total", to="solicit") == 1
        assert value(got, "bootwright_dhcp6_dropped_total", reason="malformed") == 1
        assert value(got, "bootwright_dhcp6_dropped_total", reason="no-subnet") == 0
        assert value(got, "bootwright_dhcp6_errors_total", kind="send") == 2
        assert value(got, "bootwright_dhcp_pool_addresses", **at) == 256
        assert value(got, "bootwright_dhcp_pool_used_addresses", **at) == 1
        assert value(got, "bootwright_dhcp_pool_free_addresses", **at) == 255
        assert value(got, "bootwright_dhcp_leases", **at, state="offered") == 1

    run(tmp_path, body)


def test_router_advertisements_per_interface(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        rt = s.runtime
        service = RaService(rt)
        adv = RouterAdvertiser(ra_settings(rt.config, rt.config.subnet6), lambda: 0.5)
        service.links["eth0"] = SimpleNamespace(adv=adv)  # what reading() looks at
        rt.metrics.add_source("ra", service.reading)
        adv.handle(b"\x85\x00\x00\x00\x00\x00\x00\x00", RsContext(IPv6Address("fe80::7"), 64), 0.0)  # hop limit 64
        got = await s.scrape()
        assert value(got, "bootwright_ra_solicitations_received_total", interface="eth0") == 1
        assert value(got, "bootwright_ra_solicitations_dropped_total", interface="eth0", reason="invalid") == 1
        assert value(got, "bootwright_ra_advertisements_sent_total", interface="eth0", kind="unsolicited") == 0

    run(tmp_path, body)


def test_tftp_transfers_bytes_retransmits_and_errors(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        rt = s.runtime
        service = TftpService(rt)
        rt.metrics.add_source("tftp", service.reading)
        emit = rt.events.emit
        emit(EventKind.TFTP_DONE, MAC, file="ipxe.efi", size=1000, duration=0.1, outcome="complete")
        emit(EventKind.TFTP_FAILED, MAC, file="vmlinuz", size=5, outcome="timeout")
        emit(EventKind.TFTP_FAILED, MAC, file="nope", outcome="refused: file not found")
        for kind in ("retransmit", "retransmit", "malformed", "stranger_tid", "send_error", "refused"):
            service._count(kind)
        got = await s.scrape()
        assert value(got, "bootwright_tftp_transfers_total", direction="read", outcome="complete") == 1
        assert value(got, "bootwright_tftp_transfers_total", direction="read", outcome="timeout") == 1
        assert value(got, "bootwright_tftp_transfers_total", direction="read", outcome="refused") == 1
        assert value(got, "bootwright_tftp_file_bytes_total", direction="read") == 1000
        assert value(got, "bootwright_tftp_retransmits_total") == 2
        assert value(got, "bootwright_tftp_dropped_total", reason="malformed") == 1
        assert value(got, "bootwright_tftp_dropped_total", reason="unknown-tid") == 1
        assert value(got, "bootwright_tftp_errors_total", kind="send") == 1
        assert value(got, "bootwright_tftp_admission_refusals_total") == 1
        assert value(got, "bootwright_tftp_transfers_active") == 0

    run(tmp_path, body)


# ---------------------------------------------------------------- numbers that follow the events


def test_http_requests_by_kind_and_status_and_scrapes_stay_out_of_timelines(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        assert (await s.get("/vmlinuz"))[0] == 200
        assert (await s.get("/missing"))[0] == 404
        assert (await s.get("/api/hosts"))[0] == 200
        await s.scrape()
        got = await s.scrape()
        assert value(got, "bootwright_http_requests_total", kind="file", status="200") == 1
        assert value(got, "bootwright_http_requests_total", kind="file", status="404") == 1
        assert value(got, "bootwright_http_requests_total", kind="api", status="200") == 1
        assert value(got, "bootwright_http_requests_total", kind="metrics", status="200") == 1  # the first scrape
        assert value(got, "bootwright_http_response_bytes_total", kind="file") >= 1000
        assert value(got, "bootwright_http_downloads_total", outcome="complete") == 1
        assert value(got, "bootwright_http_connections_refused_total") == 0
        requests = [e for e in s.events if e.kind == EventKind.HTTP_REQUEST]
        by_path = {str(e.detail["path"]): e.mac for e in requests}
        assert by_path["/vmlinuz"] == CLIENT  # a machine's step
        assert by_path["/metrics"] is None and by_path["/api/hosts"] is None  # an operator's

    run(tmp_path, body)


def test_a_boot_seen_through_events_is_counted_with_stage_times(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        clock = [time.time() - 60]
        s.runtime.events.clock = lambda: clock[0]
        emit = s.runtime.events.emit

        def at(offset: float, kind: EventKind, **detail: Any) -> None:
            clock[0] = start + offset
            emit(kind, MAC, "web1", **detail)

        start = clock[0]
        at(0, EventKind.DHCP4_OFFER, yiaddr="192.0.2.105", bootfile="ipxe.efi")
        at(0.5, EventKind.DHCP4_ACK, yiaddr="192.0.2.105", bootfile="ipxe.efi", state="selecting")
        at(1.5, EventKind.TFTP_DONE, file="ipxe.efi", size=1000, outcome="complete")
        at(3, EventKind.HTTP_REQUEST, path="/boot/52-54-00-00-00-01.ipxe", status=200, script="rescue")
        at(7, EventKind.HTTP_DOWNLOAD_COMPLETE, path="/vmlinuz", bytes=1000)
        at(25, EventKind.HTTP_DOWNLOAD_COMPLETE, path="/initrd.img", bytes=500)
        got = await s.scrape()
        assert value(got, "bootwright_boot_attempts_total", outcome="complete") == 1
        assert value(got, "bootwright_boot_attempts_in_progress") == 0
        for stage, seconds, bucket in (("ack", 0.5, "0.5"), ("bootprog", 1.5, "2.0"), ("script", 3.0, "5.0"),
                                       ("kernel", 7.0, "10.0"), ("initrd", 25.0, "30.0")):  # fmt: skip
            assert value(got, "bootwright_boot_stage_seconds_sum", stage=stage) == seconds
            assert value(got, "bootwright_boot_stage_seconds_bucket", stage=stage, le=bucket) == 1
        assert value(got, "bootwright_boot_duration_seconds_count") == 1
        assert value(got, "bootwright_boot_duration_seconds_bucket", le="20.0") == 0
        assert value(got, "bootwright_boot_duration_seconds_bucket", le="+Inf") == 1

    run(tmp_path, body)


def test_oneshots_and_reloads(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        token = (s.runtime.state_dir / "api-token").read_text().strip()
        async with s.session.put(s.url("/api/hosts/web1/boot"), json={"target": "rescue", "once": True},
                                 headers={"Authorization": f"Bearer {token}"}) as r:  # fmt: skip
            assert r.status == 201, await r.text()
        await s.reloader.refresh()
        got = await s.scrape()
        assert value(got, "bootwright_oneshots_active", state="pending") == 1
        assert value(got, "bootwright_oneshots_finished_total", outcome="done") == 0
        assert value(got, "bootwright_config_last_reload_successful") == 1

        path = s.runtime.config_path
        good = path.read_text()
        path.write_text(good + "\n[[subnet4]]\nsubnet = 'not a network'\n")
        assert not (await s.reloader.reload("test")).ok
        got = await s.scrape()
        assert value(got, "bootwright_config_reloads_total", result="failure") == 1
        assert value(got, "bootwright_config_last_reload_successful") == 0
        path.write_text(good)
        assert (await s.reloader.reload("test")).ok
        got = await s.scrape()
        assert value(got, "bootwright_config_reloads_total", result="success") == 1
        assert value(got, "bootwright_config_last_reload_successful") == 1
        assert value(got, "bootwright_config_last_reload_success_timestamp_seconds") > time.time() - 60

    run(tmp_path, body)


# ---------------------------------------------------------------- access: the API's


def test_from_outside_the_admin_networks_it_is_403_like_the_api(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        for path in ("/metrics", "/api/hosts"):
            status, ctype, text = await s.get(path)
            assert status == 403 and ctype.startswith("application/json")
            assert "127.0.0.1 is not in api.admin_networks" in text

    run(tmp_path, body, extra='[api]\nadmin_networks = ["192.0.2.0/24", "2001:db8::/32"]\n')


def test_reads_need_no_token_from_admin_networks(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        status, _, _ = await s.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert status == 200  # as GET /api/hosts: reads do not look at the token

    run(tmp_path, body)


def test_with_the_api_disabled_it_is_404_like_the_api(tmp_path: Path) -> None:
    async def body(s: Site) -> None:
        for path in ("/metrics", "/api/hosts"):
            assert (await s.get(path))[0] == 404

    run(tmp_path, body, extra="[api]\nenabled = false\n")


def test_docs_list_every_metric() -> None:
    """docs/metrics.md names every family web/metrics.py serves, and no other bootwright_ name."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"`(bootwright_[a-z0-9_]+)`", text))
    assert documented == set(FAMILIES)
