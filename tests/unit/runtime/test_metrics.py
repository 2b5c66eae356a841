"""The event tallies behind /metrics: boot attempts followed live, per-kind counts, bounded memory."""

from __future__ import annotations

import random

from bootwright.boot.timeline import ATTEMPT_GAP, Follower, attempts
from bootwright.engine.tftp.transfer import OutcomeKind
from bootwright.model import Event, EventKind
from bootwright.runtime import metrics as metrics_module
from bootwright.runtime.events import EventSink
from bootwright.runtime.metrics import BOOT_BUCKETS, BootTally, Buckets, Metrics

MAC = "52:54:00:00:00:01"
T0 = 1_700_000_000.0


def boot(mac: str = MAC, t0: float = T0) -> list[Event]:
    """A whole PXE → iPXE → kernel/initrd boot, as the services report it."""
    return [
        Event(t0, EventKind.DHCP4_OFFER, mac, None, {"yiaddr": "192.0.2.100", "bootfile": "ipxe.efi"}),
        Event(t0 + 1, EventKind.DHCP4_ACK, mac, None, {"yiaddr": "192.0.2.100", "bootfile": "ipxe.efi",
                                                       "state": "selecting"}),
        Event(t0 + 2, EventKind.TFTP_DONE, mac, None, {"file": "ipxe.efi", "size": 1000, "outcome": "complete"}),
        Event(t0 + 3, EventKind.DHCP4_OFFER, mac, None, {"yiaddr": "192.0.2.100", "bootfile": "http://x/boot.ipxe"}),
        Event(t0 + 4, EventKind.DHCP4_ACK, mac, None, {"yiaddr": "192.0.2.100", "state": "selecting"}),
        Event(t0 + 5, EventKind.HTTP_REQUEST, mac, None, {"path": "/boot/x.ipxe", "status": 200, "script": "linux"}),
        Event(t0 + 9, EventKind.HTTP_DOWNLOAD_COMPLETE, mac, None, {"path": "/vmlinuz", "bytes": 10}),
        Event(t0 + 12, EventKind.HTTP_DOWNLOAD_COMPLETE, mac, None, {"path": "/initrd.img", "bytes": 10}),
    ]  # fmt: skip


def counts(b: Buckets) -> tuple[int, float]:
    return b.count, b.sum


def test_a_complete_boot_is_counted_once_with_its_stage_times() -> None:
    tally = BootTally()
    for event in boot():
        tally.feed(event)
    assert tally.outcomes == {"complete": 1, "failed": 0, "stalled": 0}
    # Seconds from the first DHCP step (the offer at T0) to the first time each stage was reached.
    assert {s: counts(b) for s, b in tally.stages.items()} == {
        "ack": (1, 1.0), "bootprog": (1, 2.0), "script": (1, 5.0), "kernel": (1, 9.0), "initrd": (1, 12.0),
    }  # fmt: skip
    assert counts(tally.duration) == (1, 12.0)
    assert tally.in_progress() == 0
    tally.sweep(T0 + 12 + ATTEMPT_GAP + 1)
    assert tally.outcomes["complete"] == 1 and not tally.boots  # closed once, not counted again


def test_failed_and_stalled_attempts_are_counted_when_they_end() -> None:
    tally = BootTally()
    tally.feed(Event(T0, EventKind.DHCP4_OFFER, MAC, None, {"yiaddr": "192.0.2.100"}))
    tally.feed(Event(T0 + 1, EventKind.DHCP4_NAK, MAC, None, {"reason": "wrong network"}))
    other = "52:54:00:00:00:02"
    tally.feed(Event(T0, EventKind.DHCP4_DISCOVER, other, None, {"reason": "no free address"}))
    assert tally.in_progress() == 2 and tally.outcomes == {"complete": 0, "failed": 0, "stalled": 0}
    tally.sweep(T0 + 100)  # not quiet long enough
    assert tally.in_progress() == 2
    tally.sweep(T0 + 1 + ATTEMPT_GAP + 1)
    assert tally.outcomes == {"complete": 0, "failed": 1, "stalled": 1}
    assert tally.in_progress() == 0 and not tally.boots


def test_a_new_boot_ends_the_previous_attempt() -> None:
    tally = BootTally()
    tally.feed(Event(T0, EventKind.DHCP4_OFFER, MAC, None, {}))
    for event in boot(t0=T0 + 2 * ATTEMPT_GAP):  # the first one never got further
        tally.feed(event)
    assert tally.outcomes == {"complete": 1, "failed": 0, "stalled": 1}


def test_lease_renewals_and_lone_solicitations_are_not_boots() -> None:
    tally = BootTally()
    for i in range(5):  # a running machine renewing every half lease time
        tally.feed(Event(T0 + i * 2 * ATTEMPT_GAP, EventKind.DHCP4_ACK, MAC, None, {"state": "renewing"}))
    tally.feed(Event(T0, EventKind.RA_SOLICITED, "52:54:00:00:00:09", None, {"flags": "MO"}))
    assert not tally.boots  # not even followed: a running fleet's renewals cost a look-up
    tally.sweep(T0 + 100 * ATTEMPT_GAP)
    assert tally.outcomes == {"complete": 0, "failed": 0, "stalled": 0}
    assert all(b.count == 0 for b in tally.stages.values())


def test_a_bmc_power_on_without_dhcp_is_a_stalled_boot() -> None:
    tally = BootTally()
    tally.feed(Event(T0, EventKind.BMC_POWER, MAC, "web1", {"action": "on"}))
    assert tally.in_progress() == 1
    tally.sweep(T0 + ATTEMPT_GAP + 1)
    assert tally.outcomes["stalled"] == 1


def test_memory_is_bounded_by_mac_and_by_attempt_length() -> None:
    tally = BootTally(max_macs=3)
    for i in range(10):
        tally.feed(Event(T0 + i, EventKind.DHCP4_OFFER, f"52:54:00:00:01:{i:02x}", None, {}))
    assert len(tally.boots) == 3
    assert tally.outcomes["stalled"] == 7  # the least recently seen MACs were closed
    follower = Follower()
    for i in range(1000):  # an attempt that goes on and on (a machine fetching files)
        follower.feed(Event(T0 + i, EventKind.HTTP_REQUEST, MAC, None, {"path": f"/f{i}", "status": 200}))
    assert follower.attempt is not None and len(follower.attempt.steps) == 2
    assert (follower.attempt.started, follower.attempt.last) == (T0, T0 + 999)


def test_the_live_follower_agrees_with_the_timeline() -> None:
    """Fed one event at a time, the follower reaches the stage and verdict `bootwright events` prints."""
    rnd = random.Random(7)
    kinds = [EventKind.DHCP4_DISCOVER, EventKind.DHCP4_OFFER, EventKind.DHCP4_ACK, EventKind.DHCP4_NAK,
             EventKind.DHCP6_ADVERTISE, EventKind.RA_SOLICITED, EventKind.TFTP_DONE, EventKind.TFTP_FAILED,
             EventKind.HTTP_REQUEST, EventKind.HTTP_DOWNLOAD_COMPLETE, EventKind.BMC_POWER]  # fmt: skip
    details = [{}, {"path": "/vmlinuz", "status": 200}, {"path": "/initrd.img"}, {"file": "undionly.kpxe"},
               {"path": "/boot.ipxe", "status": 200}, {"path": "/x", "status": 404}, {"action": "on"},
               {"state": "selecting", "server_id": "192.0.2.9"}, {"path": "/b.ipxe", "status": 200, "script": "t"}]  # fmt: skip
    for _ in range(200):
        at = T0
        events = []
        for _ in range(rnd.randint(1, 25)):
            at += rnd.choice([0.5, 3.0, 400.0])
            events.append(Event(at, rnd.choice(kinds), MAC, None, dict(rnd.choice(details))))
        follower = Follower()
        ended = [a for e in events if (a := follower.feed(e)) is not None]
        assert follower.attempt is not None
        expected = attempts(events)
        assert len(ended) + 1 == len(expected)
        for live, full in zip([*ended, follower.attempt], expected, strict=True):
            assert (live.stage, live.complete, live.started, live.last) == (
                full.stage, full.complete, full.started, full.last)
            assert live.status(T0 + 1e9) == full.status(T0 + 1e9)


def test_buckets_are_upper_bounds() -> None:
    b = Buckets(BOOT_BUCKETS)
    for value in (0.0, 0.5, 0.51, 1800.0, 5000.0):
        b.observe(value)
    assert b.counts[0] == 2 and b.counts[1] == 1 and b.counts[-2] == 1 and b.counts[-1] == 1
    assert (b.count, b.sum) == (5, 0.0 + 0.5 + 0.51 + 1800.0 + 5000.0)


def test_tallies_by_kind() -> None:
    m = Metrics()
    m.http_kinds += [("/api/", "api"), ("/metrics", "metrics")]
    sink = EventSink()
    sink.listeners.append(m.observe)
    sink.emit(EventKind.DHCP4_OFFER, MAC)
    sink.emit(EventKind.DHCP4_ACK, MAC, bootp=True)
    sink.emit(EventKind.DHCP4_ACK, MAC, state="selecting")
    sink.emit(EventKind.DHCP4_NAK, MAC)
    sink.emit(EventKind.TFTP_DONE, MAC, file="a", size=100, outcome="complete")
    sink.emit(EventKind.TFTP_DONE, MAC, file="a", size=7, outcome="complete", write=True)
    sink.emit(EventKind.TFTP_FAILED, MAC, file="a", size=100, outcome="client error: disk full")
    sink.emit(EventKind.TFTP_FAILED, MAC, file="a", outcome="refused: file not found")
    for path, status, script in (("/vmlinuz", 200, None), ("/boot/1.ipxe", 200, "linux"), ("/api/hosts", 200, None),
                                 ("/api/hosts", 403, None), ("/metrics", 200, None), ("/metricsx", 404, None)):
        sink.emit(EventKind.HTTP_REQUEST, None, path=path, status=status, bytes=10, script=script)
    sink.emit(EventKind.HTTP_DOWNLOAD_FAILED, MAC, path="/vmlinuz", bytes=3)
    sink.emit(EventKind.ONESHOT_DONE, MAC, target="rescue")
    sink.emit(EventKind.CONFIG_RELOAD_FAILED, error="bad")
    assert m.dhcp4_requests == {"discover": 1, "bootp": 1, "request": 2}
    assert m.tftp_transfers == {("read", "complete"): 1, ("write", "complete"): 1, ("read", "client-error"): 1,
                                ("read", "refused"): 1}  # fmt: skip
    assert m.tftp_bytes == {"read": 100, "write": 7}
    assert m.http_requests == {("file", "200"): 1, ("script", "200"): 1, ("api", "200"): 1, ("api", "403"): 1,
                               ("metrics", "200"): 1, ("file", "404"): 1}  # fmt: skip
    assert m.http_bytes == {"file": 20, "script": 10, "api": 20, "metrics": 10}
    assert m.http_downloads == {"failed": 1} and m.oneshots == {"done": 1}
    assert m.reloads == {"success": 0, "failure": 1} and not m.last_reload_ok
    sink.emit(EventKind.CONFIG_RELOADED, reason="SIGHUP")
    assert m.reloads == {"success": 1, "failure": 1} and m.last_reload_ok


def test_every_tftp_outcome_has_a_label() -> None:
    """The TFTP outcome labels cover the engine's vocabulary (kept as strings: no engine import at start-up)."""
    assert {str(k) for k in OutcomeKind} | {"refused"} == set(metrics_module._TFTP_OUTCOMES)


def test_a_failure_in_the_tallies_never_reaches_the_emitter() -> None:
    m = Metrics()
    sink = EventSink()
    sink.listeners.append(m.observe)
    m.boots.feed = None  # type: ignore[assignment,method-assign]  # any bug in the tallies
    sink.emit(EventKind.DHCP4_OFFER, MAC)
    sink.emit(EventKind.DHCP4_OFFER, MAC)
    assert m.errors == 2 and sink.counts[EventKind.DHCP4_OFFER] == 2
