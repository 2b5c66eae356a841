"""``GET /metrics``: the server's numbers in the Prometheus exposition format (``prometheus-client``).

Rule: every metric's name, labels and help text is in :data:`FAMILIES`, and
docs/metrics.md lists them. Nothing is counted here: :class:`RuntimeCollector`
reads, at scrape time, what the services registered in ``runtime.metrics``
(their engines' counters, lease tables, live transfers:
:class:`~bootwright.runtime.metrics.Reading`) and what
:class:`~bootwright.runtime.metrics.Metrics` tallied from the event stream.
Each server has its own ``CollectorRegistry``, never the process-wide default
one, so several runtimes in one process (the tests) never share a number.

Access is the API's for reads (:func:`~bootwright.web.api.auth.check_request`):
from ``[api] admin_networks``, no token needed; 403 from anywhere else, 404
with ``[api] enabled = false``. Scrapes are operator requests: their
``http.request`` events carry no MAC (``web/events.py``), so they never enter a
machine's boot timeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from aiohttp import web
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from bootwright import __version__
from bootwright.engine.dhcp6.server import DropReason
from bootwright.model import LeaseState
from bootwright.runtime import Runtime
from bootwright.runtime.metrics import STAGES, Buckets, Metrics, Reading
from bootwright.web.api.auth import check_request
from bootwright.web.api.common import ApiError
from bootwright.web.api.routes import API_PREFIX

__all__ = ["FAMILIES", "METRICS_PATH", "RuntimeCollector", "metrics_registry", "mount_metrics"]

log = logging.getLogger("bootwright.metrics")

METRICS_PATH: Final = "/metrics"
"""Where the metrics are served; like ``/api/``, an operator's path, never a machine's boot step."""

FAMILIES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    # name: (help, labels). Counters end in _total, histograms in _seconds; the rest are gauges.
    "bootwright_build_info": ("The running version (the value is always 1).", ("version",)),
    "bootwright_service_ready": ("1 for each service that is bound and answering.", ("service",)),
    "bootwright_events_total": ("Events emitted (logged, stored, followed), by kind.", ("kind",)),
    # DHCPv4
    "bootwright_dhcp4_datagrams_received_total": ("DHCPv4 datagrams received on port 67.", ()),
    "bootwright_dhcp4_requests_total": (
        "DHCPv4 requests handled (answered or deliberately not), by message type; datagrams dropped before "
        "that are in bootwright_dhcp4_dropped_total.", ("type",)),
    "bootwright_dhcp4_replies_total": ("DHCPv4 replies sent, by message type (bootreply: to BOOTP).", ("type",)),
    "bootwright_dhcp4_dropped_total": (
        "DHCPv4 datagrams not answered, by reason (unanswered: a valid request the server stays silent to, "
        "its event says why; other-server: a proxy link's request for the link's own DHCP server).", ("reason",)),
    "bootwright_dhcp4_pool_exhausted_total": (
        "DHCPv4 requests that found no free pool address (also counted as unanswered).", ()),
    "bootwright_dhcp4_errors_total": (
        "DHCPv4 replies that could not be sent (send), lease commits that failed (store: their replies are "
        "withheld).", ("kind",)),
    # DHCPv6
    "bootwright_dhcp6_datagrams_received_total": ("DHCPv6 datagrams received on port 547.", ()),
    "bootwright_dhcp6_requests_total": (
        "DHCPv6 client messages received, by type (other: not one a server answers).", ("type",)),
    "bootwright_dhcp6_replies_total": (
        "DHCPv6 replies sent, by the client message they answer (a Solicit gets an Advertise, or a Reply "
        "with Rapid Commit; the others a Reply).", ("to",)),
    "bootwright_dhcp6_dropped_total": (
        "DHCPv6 datagrams not answered, by reason (RFC 8415 section 16 rules).", ("reason",)),
    "bootwright_dhcp6_errors_total": (
        "DHCPv6 receive and send failures, and replies withheld because their leases could not be stored "
        "(store).", ("kind",)),
    # Pools and leases, both families
    "bootwright_dhcp_pool_addresses": ("Addresses in the subnet's dynamic pools.", ("family", "subnet")),
    "bootwright_dhcp_pool_used_addresses": (
        "Pool addresses held now: offered, leased or declined (quarantined), not expired.", ("family", "subnet")),
    "bootwright_dhcp_pool_free_addresses": (
        "Pool addresses a new client could be given now (neither held nor reserved for a host).",
        ("family", "subnet")),
    "bootwright_dhcp_leases": (
        "Live leases in the subnet (pool or fixed addresses), by state.", ("family", "subnet", "state")),
    # Router advertisements
    "bootwright_ra_solicitations_received_total": ("Router Solicitations received, by interface.", ("interface",)),
    "bootwright_ra_advertisements_sent_total": (
        "Router Advertisements sent, by interface and kind: periodic (unsolicited), answering solicitations "
        "(solicited: multicast; unicast), final (router lifetime 0 at shutdown).", ("interface", "kind")),
    "bootwright_ra_solicitations_dropped_total": (
        "Router Solicitations not answered, by interface and reason (invalid: RFC 4861 section 6.1.1; "
        "not-started: no link-local address yet).", ("interface", "reason")),
    "bootwright_ra_errors_total": ("ICMPv6 send and receive failures, by interface.", ("interface", "kind")),
    # TFTP
    "bootwright_tftp_transfers_total": (
        "TFTP requests by direction and how they ended: complete, timeout, client-error, server-error, or "
        "refused before a transfer started.", ("direction", "outcome")),
    "bootwright_tftp_file_bytes_total": (
        "File octets of completed TFTP transfers (read: sent to clients; write: uploaded).", ("direction",)),
    "bootwright_tftp_transfers_active": ("TFTP transfers running now.", ()),
    "bootwright_tftp_retransmits_total": ("TFTP datagrams sent again after a timeout.", ()),
    "bootwright_tftp_admission_refusals_total": (
        "TFTP requests refused by the limits (tftp rate, max_transfers, per_client), also while paused.", ()),
    "bootwright_tftp_dropped_total": (
        "TFTP datagrams ignored, by reason (unknown-tid: from a port that is not the transfer's).", ("reason",)),
    "bootwright_tftp_errors_total": ("TFTP send, receive and internal failures.", ("kind",)),
    # Syslog
    "bootwright_syslog_datagrams_received_total": ("Syslog datagrams received (syslog port).", ()),
    "bootwright_syslog_messages_total": (
        "Syslog lines reported as events, by the form they came in (rfc5424, rfc3164, netconsole).", ("format",)),
    "bootwright_syslog_dropped_total": (
        "Syslog datagrams dropped, by reason (oversized: over syslog.max_message; rate-limited: over the source's "
        "syslog.rate and burst; malformed: undecodable).", ("reason",)),
    "bootwright_syslog_errors_total": ("Syslog receive and internal failures.", ("kind",)),
    # HTTP
    "bootwright_http_requests_total": (
        "HTTP requests answered, by kind (file, script: a rendered boot script, api, metrics, ui) and status code.",
        ("kind", "status")),
    "bootwright_http_response_bytes_total": ("HTTP response body octets sent, by kind.", ("kind",)),
    "bootwright_http_downloads_total": (
        "HTTP file bodies sent whole (complete) or cut short (failed: the client went away or stalled).",
        ("outcome",)),
    "bootwright_http_connections_refused_total": (
        "HTTP connections answered 503 and closed: over http.max_connections.", ()),
    # Boot attempts
    "bootwright_boot_attempts_total": (
        "Boot attempts (as bootwright events groups them, begun by a DHCP discover or solicit or a BMC "
        "power-on) that ended: complete, failed (stopped at a failure), stalled (stopped otherwise).",
        ("outcome",)),
    "bootwright_boot_attempts_in_progress": ("Boot attempts neither complete nor ended yet.", ()),
    "bootwright_boot_stage_seconds": (
        "Seconds from a boot attempt's first DHCP step to reaching the stage (ack, bootprog: the boot "
        "program fetched, script, kernel, initrd).", ("stage",)),
    "bootwright_boot_duration_seconds": (
        "Seconds from a boot attempt's first DHCP step to its completion (initrd, EFI program or exit).", ()),
    # One-shot boots, configuration
    "bootwright_oneshots_active": (
        "One-shot boots waiting for their script (pending) or fetching their files (booting).", ("state",)),
    "bootwright_oneshots_finished_total": (
        "One-shot boots that ended: every file of the target fetched (done), or a download failed or timed "
        "out (failed).", ("outcome",)),
    "bootwright_config_reloads_total": (
        "Configuration reloads applied (success) or refused (failure: the previous configuration runs on).",
        ("result",)),
    "bootwright_config_last_reload_successful": (
        "1 when the last reload (or the start) applied the configuration, 0 when it was refused.", ()),
    "bootwright_config_last_reload_success_timestamp_seconds": (
        "When the configuration running now was applied (start or reload), in seconds since the epoch.", ()),
    # Hooks (net/hooks.py)
    "bootwright_hook_runs_total": (
        "Hook runs for matching events, by outcome: ok (exit status 0, a 2xx answer), failed, timeout (killed, "
        "or no answer in time), dropped (never run: the hook's max_pending runs were already queued).",
        ("outcome",)),
    "bootwright_hook_runs_pending": ("Hook runs queued or running now.", ()),
    # Dynamic DNS updates (net/ddns.py)
    "bootwright_ddns_updates_total": (
        "DNS changes (a name's A/AAAA/DHCID records, or an address's PTR) by outcome: ok, conflict (the name is "
        "another client's, RFC 4703), failed (refused, or given up after the retries), retried (attempts repeated "
        "after a timeout or SERVFAIL).", ("outcome",)),
    "bootwright_ddns_updates_pending": ("DNS changes waiting to be sent (or retried).", ()),
}  # fmt: skip

# Engine counter names (as the engines and services count them) → label values.
# DHCPv4: Dhcp4Engine.stats (engine/dhcp4/server.py) and the service's send/store errors (net/dhcp4.py).
_DHCP4_REPLIES = {
    "offer": ("offer",), "ack": ("ack", "inform"), "nak": ("nak",), "bootreply": ("bootp",),
    "proxy-offer": ("proxy_offer",), "proxy-ack": ("proxy_ack",),  # proxyDHCP (engine/dhcp4/proxy.py)
}  # fmt: skip
_DHCP4_DROPS = {
    "malformed": "undecodable",
    "invalid": "dropped",
    "rate-limited": "rate_limited",
    "unanswered": "unanswered",
    "internal-error": "errors",
    "other-server": "foreign",  # a proxy link's traffic for the link's own DHCP server
    "boot-server-invalid": "boot_server_dropped",  # port 4011: not a booting client's DHCPREQUEST
}
_DHCP4_ERRORS = {"send": "send_errors", "store": "store_errors"}
_DHCP4_TYPES = ("discover", "request", "decline", "release", "inform", "bootp")
# DHCPv6: Dhcp6Engine.counters (engine/dhcp6/server.py: rx.<type>, tx.<type>, dropped.<reason>) and the service's.
_DHCP6_TYPES = ("solicit", "request", "confirm", "renew", "rebind", "release", "decline", "information-request")
_DHCP6_ERRORS = {"send": "send_error", "store": "store_error", "receive": "recv_error"}
# RA: RouterAdvertiser.counters per interface (engine/ra.py) and the service's send/receive errors (net/ra.py).
_RA_SENT = {"unsolicited": "ra.unsolicited", "solicited": "ra.solicited", "unicast": "ra.unicast", "final": "ra.final"}
_RA_DROPS = {"invalid": "rs.invalid", "not-started": "rs.not-started"}
_RA_ERRORS = {"send": "ra.send-error", "receive": "rs.recv-error"}
# TFTP: TftpService.counters (net/tftp/service.py, net/tftp/transfer.py).
_TFTP_DROPS = {
    "malformed": "malformed",
    "not-a-request": "not_a_request",
    "repeated-request": "repeated_request",
    "unknown-tid": "stranger_tid",
    "ignored": "ignored",
    "duplicate-ack": "duplicate_ack",
}
_TFTP_ERRORS = {"send": "send_error", "receive": "recv_error", "internal": "internal_error"}
# Syslog: SyslogService.counters (net/syslog.py).
_SYSLOG_FORMATS = {"rfc5424": "rfc5424", "rfc3164": "rfc3164", "netconsole": "netconsole"}
_SYSLOG_DROPS = {"oversized": "oversized", "rate-limited": "rate_limited", "malformed": "malformed"}
_SYSLOG_ERRORS = {"receive": "recv_error", "internal": "internal_error"}
_LEASE_STATES = (LeaseState.OFFERED, LeaseState.BOUND, LeaseState.DECLINED)
_ONESHOT_ACTIVE = ("pending", "booting")


def _counter(name: str) -> CounterMetricFamily:
    doc, labels = FAMILIES[name]
    return CounterMetricFamily(name, doc, labels=labels)


def _gauge(name: str) -> GaugeMetricFamily:
    doc, labels = FAMILIES[name]
    return GaugeMetricFamily(name, doc, labels=labels)


def _histogram(name: str) -> HistogramMetricFamily:
    doc, labels = FAMILIES[name]
    return HistogramMetricFamily(name, doc, labels=labels)


def _by_label(family: CounterMetricFamily, counts: Mapping[str, int], names: Mapping[str, str], *labels: str) -> None:
    """One sample per label value in ``names`` (value → counter name), zero when never counted."""
    for value, key in names.items():
        family.add_metric([*labels, value], counts.get(key, 0))


def _observations(family: HistogramMetricFamily, labels: Sequence[str], b: Buckets) -> None:
    """Add a :class:`Buckets` as one histogram: cumulative counts per ``le`` bound, then ``+Inf``."""
    cumulative, buckets = 0, []
    for bound, n in zip((*b.bounds, None), b.counts, strict=True):
        cumulative += n
        buckets.append(("+Inf" if bound is None else repr(float(bound)), float(cumulative)))
    family.add_metric(labels, buckets, b.sum)


class RuntimeCollector(Collector):
    """Every ``bootwright_*`` metric of one runtime, read when scraped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """The metric families, built from the current numbers (called by the registry per scrape)."""
        now = time.time()
        runtime = self.runtime
        m = runtime.metrics
        m.boots.sweep(now)
        readings: dict[str, Reading] = {}
        for name, source in list(m.sources.items()):
            try:
                readings[name] = source(now)
            except Exception:  # one service's bug must not cost every other number
                log.exception("metrics: reading %s failed; its metrics are left out of this scrape", name)
        yield from self._general()
        yield from _dhcp4(readings.get("dhcp4"), m)
        yield from _dhcp6(readings.get("dhcp6"))
        yield from _pools(readings)
        yield from _ra(readings.get("ra"))
        yield from _tftp(readings.get("tftp"), m)
        yield from _http(readings.get("http"), m)
        yield from _syslog(readings.get("syslog"))
        yield from _boots(m)
        yield from self._oneshots(m)
        yield from _config(m)
        yield from _queued(readings.get("hooks"), "bootwright_hook_runs_total", "bootwright_hook_runs_pending",
                           ("ok", "failed", "timeout", "dropped"))
        yield from _queued(readings.get("ddns"), "bootwright_ddns_updates_total", "bootwright_ddns_updates_pending",
                           ("ok", "conflict", "failed", "retried"))

    def _general(self) -> Iterator[Metric]:
        runtime = self.runtime
        doc, _ = FAMILIES["bootwright_build_info"]
        info = InfoMetricFamily("bootwright_build", doc)  # exposed as bootwright_build_info (a gauge in text)
        info.add_metric([], {"version": __version__})
        ready = _gauge("bootwright_service_ready")
        for name in sorted(runtime.ready):
            ready.add_metric([name], 1)
        events = _counter("bootwright_events_total")
        for kind, n in sorted(runtime.events.counts.items()):
            events.add_metric([str(kind)], n)
        yield from (info, ready, events)

    def _oneshots(self, m: Metrics) -> Iterator[Metric]:
        counts = dict.fromkeys(_ONESHOT_ACTIVE, 0)
        reloader = self.runtime.reloader
        if reloader is not None:
            for shot in reloader.tracker.shots.values():
                if shot.state in counts:
                    counts[shot.state] += 1
        active = _gauge("bootwright_oneshots_active")
        for state, n in counts.items():
            active.add_metric([state], n)
        finished = _counter("bootwright_oneshots_finished_total")
        for outcome in ("done", "failed"):
            finished.add_metric([outcome], m.oneshots.get(outcome, 0))
        yield from (active, finished)


def _dhcp4(r: Reading | None, m: Metrics) -> Iterator[Metric]:
    received = _counter("bootwright_dhcp4_datagrams_received_total")
    requests = _counter("bootwright_dhcp4_requests_total")
    replies = _counter("bootwright_dhcp4_replies_total")
    dropped = _counter("bootwright_dhcp4_dropped_total")
    exhausted = _counter("bootwright_dhcp4_pool_exhausted_total")
    errors = _counter("bootwright_dhcp4_errors_total")
    types = dict(m.dhcp4_requests)
    if r is not None:
        c = r.counters
        received.add_metric([], c.get("received", 0))
        for value, keys in _DHCP4_REPLIES.items():
            replies.add_metric([value], sum(c.get(k, 0) for k in keys))
        _by_label(dropped, c, _DHCP4_DROPS)
        exhausted.add_metric([], c.get("exhausted", 0))
        _by_label(errors, c, _DHCP4_ERRORS)
        types = dict.fromkeys(_DHCP4_TYPES, 0) | types
    for mtype, n in sorted(types.items()):
        requests.add_metric([mtype], n)
    yield from (received, requests, replies, dropped, exhausted, errors)


def _dhcp6(r: Reading | None) -> Iterator[Metric]:
    received = _counter("bootwright_dhcp6_datagrams_received_total")
    requests = _counter("bootwright_dhcp6_requests_total")
    replies = _counter("bootwright_dhcp6_replies_total")
    dropped = _counter("bootwright_dhcp6_dropped_total")
    errors = _counter("bootwright_dhcp6_errors_total")
    if r is not None:
        c = r.counters
        received.add_metric([], c.get("received", 0))
        for t in (*_DHCP6_TYPES, "other"):
            requests.add_metric([t], c.get(f"rx.{t}", 0))
        for t in _DHCP6_TYPES:
            replies.add_metric([t], c.get(f"tx.{t}", 0))
        for reason in DropReason:
            dropped.add_metric([str(reason)], c.get(f"dropped.{reason}", 0))
        dropped.add_metric(["internal-error"], c.get("internal_error", 0))
        _by_label(errors, c, _DHCP6_ERRORS)
    yield from (received, requests, replies, dropped, errors)


def _pools(readings: Mapping[str, Reading]) -> Iterator[Metric]:
    size = _gauge("bootwright_dhcp_pool_addresses")
    used = _gauge("bootwright_dhcp_pool_used_addresses")
    free = _gauge("bootwright_dhcp_pool_free_addresses")
    leases = _gauge("bootwright_dhcp_leases")
    for name in ("dhcp4", "dhcp6"):
        r = readings.get(name)
        for pool in r.pools if r is not None else ():
            at = [str(pool.family), pool.subnet]
            size.add_metric(at, pool.size)
            used.add_metric(at, pool.used)
            free.add_metric(at, pool.free)
            for state in _LEASE_STATES:
                leases.add_metric([*at, str(state)], pool.leases.get(state, 0))
    yield from (size, used, free, leases)


def _ra(r: Reading | None) -> Iterator[Metric]:
    received = _counter("bootwright_ra_solicitations_received_total")
    sent = _counter("bootwright_ra_advertisements_sent_total")
    dropped = _counter("bootwright_ra_solicitations_dropped_total")
    errors = _counter("bootwright_ra_errors_total")
    for name, c in sorted(r.interfaces.items()) if r is not None else ():
        received.add_metric([name], c.get("rs.received", 0))
        _by_label(sent, c, _RA_SENT, name)
        _by_label(dropped, c, _RA_DROPS, name)
        _by_label(errors, c, _RA_ERRORS, name)
    yield from (received, sent, dropped, errors)


def _tftp(r: Reading | None, m: Metrics) -> Iterator[Metric]:
    transfers = _counter("bootwright_tftp_transfers_total")
    for (direction, outcome), n in sorted(m.tftp_transfers.items()):
        transfers.add_metric([direction, outcome], n)
    octets = _counter("bootwright_tftp_file_bytes_total")
    for direction, n in sorted(m.tftp_bytes.items()):
        octets.add_metric([direction], n)
    active = _gauge("bootwright_tftp_transfers_active")
    retransmits = _counter("bootwright_tftp_retransmits_total")
    refused = _counter("bootwright_tftp_admission_refusals_total")
    dropped = _counter("bootwright_tftp_dropped_total")
    errors = _counter("bootwright_tftp_errors_total")
    if r is not None:
        c = r.counters
        active.add_metric([], r.gauges.get("transfers", 0))
        retransmits.add_metric([], c.get("retransmit", 0))
        refused.add_metric([], c.get("refused", 0))
        _by_label(dropped, c, _TFTP_DROPS)
        _by_label(errors, c, _TFTP_ERRORS)
    yield from (transfers, octets, active, retransmits, refused, dropped, errors)


def _http(r: Reading | None, m: Metrics) -> Iterator[Metric]:
    requests = _counter("bootwright_http_requests_total")
    for (kind, status), n in sorted(m.http_requests.items()):
        requests.add_metric([kind, status], n)
    octets = _counter("bootwright_http_response_bytes_total")
    for kind, n in sorted(m.http_bytes.items()):
        octets.add_metric([kind], n)
    downloads = _counter("bootwright_http_downloads_total")
    for outcome in ("complete", "failed"):
        downloads.add_metric([outcome], m.http_downloads.get(outcome, 0))
    refused = _counter("bootwright_http_connections_refused_total")
    if r is not None:
        refused.add_metric([], r.counters.get("refused", 0))
    yield from (requests, octets, downloads, refused)


def _syslog(r: Reading | None) -> Iterator[Metric]:
    received = _counter("bootwright_syslog_datagrams_received_total")
    messages = _counter("bootwright_syslog_messages_total")
    dropped = _counter("bootwright_syslog_dropped_total")
    errors = _counter("bootwright_syslog_errors_total")
    if r is not None:
        c = r.counters
        received.add_metric([], c.get("received", 0))
        _by_label(messages, c, _SYSLOG_FORMATS)
        _by_label(dropped, c, _SYSLOG_DROPS)
        _by_label(errors, c, _SYSLOG_ERRORS)
    yield from (received, messages, dropped, errors)


def _boots(m: Metrics) -> Iterator[Metric]:
    b = m.boots
    attempts = _counter("bootwright_boot_attempts_total")
    for outcome, n in b.outcomes.items():
        attempts.add_metric([outcome], n)
    running = _gauge("bootwright_boot_attempts_in_progress")
    running.add_metric([], b.in_progress())
    stages = _histogram("bootwright_boot_stage_seconds")
    for stage in STAGES:
        _observations(stages, [stage], b.stages[stage])
    duration = _histogram("bootwright_boot_duration_seconds")
    _observations(duration, [], b.duration)
    yield from (attempts, running, stages, duration)


def _config(m: Metrics) -> Iterator[Metric]:
    reloads = _counter("bootwright_config_reloads_total")
    for result, n in m.reloads.items():
        reloads.add_metric([result], n)
    ok = _gauge("bootwright_config_last_reload_successful")
    ok.add_metric([], 1 if m.last_reload_ok else 0)
    at = _gauge("bootwright_config_last_reload_success_timestamp_seconds")
    at.add_metric([], m.last_reload_success)
    yield from (reloads, ok, at)


def _queued(r: Reading | None, total: str, pending_name: str, outcomes: Sequence[str]) -> Iterator[Metric]:
    """A queueing service's work by outcome (``total``) and its ``pending`` gauge: hooks, DNS updates.

    Samples only while the service runs (the configuration has hooks; ``[ddns] enabled``).
    """
    done = _counter(total)
    pending = _gauge(pending_name)
    if r is not None:
        for outcome in outcomes:
            done.add_metric([outcome], r.counters.get(outcome, 0))
        pending.add_metric([], r.gauges.get("pending", 0))
    yield from (done, pending)


def metrics_registry(runtime: Runtime) -> CollectorRegistry:
    """A registry of this runtime's metrics and the process's own (CPU, memory, file descriptors, GC)."""
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def mount_metrics(app: web.Application, runtime: Runtime) -> None:
    """Add ``GET /metrics`` to the HTTP service's application (``web/service.py`` ``APP_EXTENSIONS``)."""
    registry = metrics_registry(runtime)
    kinds = runtime.metrics.http_kinds
    for entry in ((API_PREFIX, "api"), (METRICS_PATH, "metrics")):
        if entry not in kinds:
            kinds.append(entry)

    async def metrics(request: web.Request) -> web.Response:
        try:
            if not runtime.config.api.enabled:
                raise ApiError(404, "metrics are served with the API, which is disabled ([api] enabled = false)")
            check_request(runtime, request)
        except ApiError as exc:
            return exc.response()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        try:
            body = encode(registry)
        except Exception:
            log.exception("metrics: the exposition failed")
            return ApiError(500, "internal error; see the server log").response()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get(METRICS_PATH, metrics)
