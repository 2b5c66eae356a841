"""What ``/metrics`` reports, kept without the exposition library (``web/metrics.py`` renders it).

Rule: a packet pays for metrics with one listener call on the event it already
emits, and nothing else. What a service already counts — the engines'
``stats``/``counters``, lease tables, live transfers — is read when metrics are
scraped, through the source the service registered (:meth:`Metrics.add_source`;
``web/`` never imports ``net/``). Only what exists nowhere else is tallied from
the event stream (:meth:`Metrics.observe`, an :class:`~bootwright.runtime.events.EventSink`
listener): DHCPv4 requests by message type, TFTP transfers by outcome, HTTP
requests by kind and status, finished one-shot boots, reloads, boot attempts.

Boot attempts are :mod:`bootwright.boot.timeline`'s, the ones ``bootwright
events`` prints, followed per MAC as events arrive
(:class:`~bootwright.boot.timeline.Follower`). Only attempts that begin like a
boot count — a DHCP discover or solicit (or the offer answering it), or a BMC
power-on — not lease renewals or a lone router solicitation; a MAC is followed
from its first such step on, so the steady traffic of running machines costs a
dictionary look-up. At most :data:`MAX_MACS` MACs are followed at once (the
least recently seen one is closed first), and an attempt quiet for
:data:`~bootwright.boot.timeline.ATTEMPT_GAP` seconds is closed at the next
scrape: memory stays bounded.

Cost, measured (``Metrics.observe``): 0.1–0.6 µs for an event of no boot, 2–3 µs
for one of a booting MAC: about 6 µs per DHCPv4 exchange of a new client, some
3 % of the ≈ 200 µs of CPU an exchange costs at saturation (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import math
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bootwright.boot.timeline import ATTEMPT_GAP, Attempt, Follower, classify
from bootwright.boot.timeline import STAGES as TIMELINE_STAGES
from bootwright.model import Event, EventKind, PoolUsage

__all__ = [
    "BOOT_BUCKETS",
    "MAX_MACS",
    "STAGES",
    "BootTally",
    "Buckets",
    "MetricSource",
    "Metrics",
    "Reading",
]

log = logging.getLogger("bootwright.metrics")


@dataclass(frozen=True, slots=True)
class Reading:
    """One service's numbers at scrape time: its counters as its engine names them, gauges, pools."""

    counters: Mapping[str, int] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    pools: Sequence[PoolUsage] = ()
    # Counters kept per interface (the RA service: one engine per link), by interface name.
    interfaces: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


MetricSource = Callable[[float], Reading]
"""``now`` (wall clock) → the service's :class:`Reading`; called in the event loop when ``/metrics`` is read."""


class Buckets:
    """A histogram's state: observations per bucket (not cumulative; the last is +Inf), their sum and count."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count one observation in the first bucket whose upper bound is ≥ ``value``."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1


BOOT_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Upper bounds (seconds) of the boot stage histograms: a PXE boot takes seconds to minutes."""
MAX_MACS = 10000
"""MACs whose current attempt is followed at once (a flood of new MACs closes the oldest first)."""
STAGES = ("ack", "bootprog", "script", "kernel", "initrd")
"""Timeline stages whose time since the boot's first DHCP step is observed (``bootwright_boot_stage_seconds``)."""
_DHCP_START = frozenset({"discover", "offer"})  # the boot's DHCP exchange begins: the clock starts
_BOOT_START = frozenset({"bmc", "discover", "offer"})  # an attempt with one of these is a boot
_FAILED_OUTCOMES = ("failed", "stalled")


class _Boot(Follower):
    """One MAC: its follower and what was counted of its current attempt (one object per MAC)."""

    __slots__ = ("counted", "finished", "observed", "seen", "t0")

    def __init__(self, gap: float) -> None:
        super().__init__(gap)
        self.restart()

    def restart(self) -> None:
        """A new attempt: nothing of it counted yet."""
        self.counted = False  # the attempt began like a boot
        self.finished = False  # its outcome was counted (complete)
        self.t0: float | None = None  # its first DHCP step
        self.seen: str | None = None  # the stage last looked at
        self.observed = 0  # stages measured in this attempt (bits of _BIT)


_BIT = {stage: 1 << i for i, stage in enumerate(TIMELINE_STAGES)}


class BootTally:
    """Boot attempts by outcome, and how long each stage took to reach (see the module docstring)."""

    def __init__(self, max_macs: int = MAX_MACS, gap: float = ATTEMPT_GAP) -> None:
        self.max_macs = max_macs
        self.gap = gap
        self.boots: OrderedDict[str, _Boot] = OrderedDict()  # least recently seen first
        self.outcomes: dict[str, int] = {"complete": 0, "failed": 0, "stalled": 0}
        self.stages = {stage: Buckets(BOOT_BUCKETS) for stage in STAGES}
        self.duration = Buckets(BOOT_BUCKETS)

    def feed(self, event: Event) -> None:
        """Take one event of a MAC (in time order)."""
        mac = event.mac
        assert mac is not None
        boots = self.boots
        b = boots.get(mac)
        if b is None:
            if classify(event)[0] not in _BOOT_START:
                return  # nothing to follow: a lease renewal, a file fetched by a running machine
            if len(boots) >= self.max_macs:
                _, oldest = boots.popitem(last=False)
                self._close(oldest, oldest.attempt)
            b = boots[mac] = _Boot(self.gap)
        else:
            boots.move_to_end(mac)
        ended = b.feed(event)
        if ended is not None:
            self._close(b, ended)
            b.restart()
        attempt = b.attempt
        assert attempt is not None
        stage = attempt.stage
        if stage != b.seen and stage is not None:  # the stage moved
            b.seen = stage
            if stage in _BOOT_START:
                b.counted = True
            if stage in _DHCP_START:
                if b.t0 is None:
                    b.t0 = event.at
            elif b.t0 is not None and stage in self.stages:
                bit = _BIT[stage]
                if not b.observed & bit:  # first reached since the boot's first DHCP step
                    b.observed |= bit
                    self.stages[stage].observe(max(0.0, event.at - b.t0))
        if attempt.complete and b.counted and not b.finished:
            b.finished = True
            self.outcomes["complete"] += 1
            if b.t0 is not None:
                self.duration.observe(max(0.0, event.at - b.t0))

    def _close(self, b: _Boot, attempt: Attempt | None) -> None:
        """An attempt ended unfinished: count it as failed (it stopped at a failure) or stalled."""
        if attempt is None or not b.counted or b.finished:
            return
        outcome = attempt.status(math.inf)
        self.outcomes[outcome if outcome in _FAILED_OUTCOMES else "stalled"] += 1

    def sweep(self, now: float) -> None:
        """Close the attempts quiet for longer than the gap (called at scrape time)."""
        boots = self.boots
        while boots:
            mac, b = next(iter(boots.items()))
            attempt = b.attempt
            if attempt is not None and now - attempt.last <= self.gap:
                break
            del boots[mac]
            self._close(b, attempt)

    def in_progress(self) -> int:
        """Attempts that began like a boot and have not completed or ended yet."""
        return sum(1 for b in self.boots.values() if b.counted and not b.finished)


# What an event says, tallied by label values. TFTP outcomes: the values of
# engine.tftp.transfer.OutcomeKind (not imported: every command would load the TFTP engine)
# and the service's "refused: …", as label values without spaces.
_TFTP_OUTCOMES = {
    "complete": "complete",
    "unconfirmed": "unconfirmed",
    "timeout": "timeout",
    "client error": "client-error",
    "server error": "server-error",
    "refused": "refused",
}
# DHCPv4: each request the engine handles reports one event, by its reply's kind or its own (model.EventKind).
_DHCP4_TYPE: dict[str, str] = {
    EventKind.DHCP4_DISCOVER: "discover",
    EventKind.DHCP4_OFFER: "discover",
    EventKind.DHCP4_REQUEST: "request",
    EventKind.DHCP4_NAK: "request",
    EventKind.DHCP4_DECLINE: "decline",
    EventKind.DHCP4_RELEASE: "release",
    EventKind.DHCP4_INFORM: "inform",
    EventKind.DHCP4_BOOTP: "bootp",
    EventKind.DHCP4_PROXY_OFFER: "discover",
    EventKind.DHCP4_PROXY_ACK: "request",
}


class Metrics:
    """Everything ``/metrics`` reads: the services' sources and the event tallies (one per :class:`Runtime`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.sources: dict[str, MetricSource] = {}
        # Request paths that are not boot steps, and their kind for bootwright_http_requests_total:
        # ("/api/", "api") — a path ending in "/" is a prefix, any other is exact. Set by web/.
        self.http_kinds: list[tuple[str, str]] = []
        self.dhcp4_requests: dict[str, int] = {}
        self.tftp_transfers: dict[tuple[str, str], int] = {}  # (direction, outcome)
        self.tftp_bytes: dict[str, int] = {}  # direction → file octets of completed transfers
        self.http_requests: dict[tuple[str, str], int] = {}  # (kind, status)
        self.http_bytes: dict[str, int] = {}  # kind → body octets sent
        self.http_downloads: dict[str, int] = {}  # complete / failed
        self.oneshots: dict[str, int] = {}  # done / failed
        self.reloads: dict[str, int] = {"success": 0, "failure": 0}
        self.last_reload_ok = True  # the configuration the server started with was valid
        self.last_reload_success = clock()
        self.boots = BootTally()
        self.errors = 0  # events observe() failed on (logged once)
        self._on: dict[str, Callable[[Event], None]] = {
            **dict.fromkeys(_DHCP4_TYPE, self._dhcp4),
            EventKind.DHCP4_ACK: self._dhcp4,
            EventKind.TFTP_DONE: self._tftp,
            EventKind.TFTP_FAILED: self._tftp,
            EventKind.HTTP_REQUEST: self._http,
            EventKind.HTTP_DOWNLOAD_COMPLETE: self._download,
            EventKind.HTTP_DOWNLOAD_FAILED: self._download,
            EventKind.ONESHOT_DONE: self._oneshot,
            EventKind.ONESHOT_FAILED: self._oneshot,
            EventKind.CONFIG_RELOADED: self._reload,
            EventKind.CONFIG_RELOAD_FAILED: self._reload,
        }

    def add_source(self, name: str, source: MetricSource) -> None:
        """A service offers its numbers under ``name`` (its service name), read at every scrape."""
        self.sources[name] = source

    def remove_source(self, name: str, source: MetricSource) -> None:
        """The service stops (only its own registration is removed)."""
        if self.sources.get(name) == source:
            del self.sources[name]

    def observe(self, event: Event) -> None:
        """EventSink listener: tally what the event says, follow its MAC's boot. Never raises."""
        try:
            handler = self._on.get(event.kind)
            if handler is not None:
                handler(event)
            if event.mac is not None and event.kind != EventKind.HTTP_SCRIPT:  # a copy of http.request, not stored
                self.boots.feed(event)
        except Exception:  # a bug here must never cost a reply: emit() runs on the services' paths
            self.errors += 1
            if self.errors == 1:
                log.exception("metrics: event %s not counted (further failures are counted only)", event.kind)

    def _dhcp4(self, event: Event) -> None:
        kind = event.kind
        if kind == EventKind.DHCP4_ACK:
            mtype = "bootp" if event.detail.get("bootp") else "request"
        else:
            mtype = _DHCP4_TYPE[kind]
        self.dhcp4_requests[mtype] = self.dhcp4_requests.get(mtype, 0) + 1

    def _tftp(self, event: Event) -> None:
        d = event.detail
        direction = "write" if d.get("write") else "read"
        outcome = _TFTP_OUTCOMES.get(str(d.get("outcome") or "").split(":", 1)[0].strip(), "other")
        key = (direction, outcome)
        self.tftp_transfers[key] = self.tftp_transfers.get(key, 0) + 1
        size = d.get("size")
        if outcome in ("complete", "unconfirmed") and isinstance(size, int):
            self.tftp_bytes[direction] = self.tftp_bytes.get(direction, 0) + size

    def http_kind(self, path: str, script: object) -> str:
        """``api``/``metrics`` (:attr:`http_kinds`), ``script`` (a rendered boot script) or ``file``."""
        for where, kind in self.http_kinds:
            if path.startswith(where) if where.endswith("/") else path == where:
                return kind
        return "script" if script else "file"

    def _http(self, event: Event) -> None:
        d = event.detail
        kind = self.http_kind(str(d.get("path") or ""), d.get("script"))
        key = (kind, str(d.get("status")))
        self.http_requests[key] = self.http_requests.get(key, 0) + 1
        sent = d.get("bytes")
        if isinstance(sent, int):
            self.http_bytes[kind] = self.http_bytes.get(kind, 0) + sent

    def _download(self, event: Event) -> None:
        outcome = "complete" if event.kind == EventKind.HTTP_DOWNLOAD_COMPLETE else "failed"
        self.http_downloads[outcome] = self.http_downloads.get(outcome, 0) + 1

    def _oneshot(self, event: Event) -> None:
        outcome = "done" if event.kind == EventKind.ONESHOT_DONE else "failed"
        self.oneshots[outcome] = self.oneshots.get(outcome, 0) + 1

    def _reload(self, event: Event) -> None:
        ok = event.kind == EventKind.CONFIG_RELOADED
        self.reloads["success" if ok else "failure"] += 1
        self.last_reload_ok = ok
        if ok:
            self.last_reload_success = event.at
