"""BMC steps in a machine's timeline, and the ``--wait`` verdict of a reprovisioning (both pure)."""

from __future__ import annotations

import pytest

from bootwright.boot.oneshot import OneShot
from bootwright.boot.reprovision import judge
from bootwright.boot.timeline import STOP_POINTS, attempts, render, starts_boot, step
from bootwright.model import Event, EventKind

MAC = "52:54:00:12:34:56"
OTHER = "52:54:00:12:34:57"
T0 = 1_700_000_000.0


def ev(dt: float, kind: str, mac: str = MAC, host: str | None = "web1", **detail: object) -> Event:
    return Event(T0 + dt, kind, mac, host, dict(detail))  # type: ignore[arg-type]


# What BmcControl.reboot_to_network emits for a machine found on (details as control.py gives them).
PRESS = [
    ev(0.0, EventKind.BMC_BOOTDEV, device="PXE", once=True, note=None),
    ev(0.5, EventKind.BMC_POWER, action="soft"),
    ev(9.0, EventKind.BMC_POWER, action="on"),
]
# Then the machine's firmware, iPXE and the one-shot target's files.
BOOT = [
    ev(20.00, "dhcp4.discover", xid="1"),
    ev(20.01, "dhcp4.offer", yiaddr="192.0.2.100", bootfile="undionly.kpxe"),
    ev(21.00, "dhcp4.request", state="selecting", requested="192.0.2.100"),
    ev(21.01, "dhcp4.ack", yiaddr="192.0.2.100", bootfile="undionly.kpxe"),
    ev(21.30, "tftp.done", file="undionly.kpxe", size=70000, duration=0.2, outcome="complete"),
    ev(23.00, "dhcp4.discover", xid="2"),
    ev(23.01, "dhcp4.offer", yiaddr="192.0.2.100", bootfile="http://192.0.2.1/boot.ipxe"),
    ev(23.02, "dhcp4.request", state="selecting"),
    ev(23.03, "dhcp4.ack", yiaddr="192.0.2.100", bootfile="http://192.0.2.1/boot.ipxe"),
    ev(23.10, "http.request", method="GET", path="/boot.ipxe", status=200),
    ev(23.20, "http.request", method="GET", path="/boot/52-54-00-12-34-56.ipxe", status=200, script="rescue"),
    ev(23.50, "http.download_complete", path="/rescue/vmlinuz", bytes=8_000_000, duration=0.3),
    ev(24.00, "http.download_complete", path="/rescue/initrd.img", bytes=20_000_000, duration=0.5),
]


def stages(events: list[Event]) -> list[str | None]:
    """The stage after each event, in order (one attempt expected)."""
    out: list[str | None] = []
    for i in range(1, len(events) + 1):
        found = attempts(events[:i])
        out.append(found[-1].stage)
    return out


# --------------------------------------------------------------------------- steps


def test_bmc_steps_read_as_sentences() -> None:
    bootdev = step(ev(0, EventKind.BMC_BOOTDEV, device="UEFI PXE", once=True, note=None))
    assert (bootdev.text, bootdev.stage, bootdev.problem) == ("BMC: next boot from UEFI PXE (once)", "bmc", False)
    noted = step(ev(0, EventKind.BMC_BOOTDEV, device="UEFI HTTP", once=True, note="the BMC kept legacy mode"))
    assert noted.text == "BMC: next boot from UEFI HTTP (once); the BMC kept legacy mode"
    assert step(ev(0, EventKind.BMC_BOOTDEV)).text == "BMC: next boot from the network"
    for action, stage in (("on", "bmc"), ("cycle", "bmc"), ("reset", "bmc"), ("off", None), ("soft", None)):
        s = step(ev(0, EventKind.BMC_POWER, action=action))
        assert (s.text, s.stage, s.problem) == (f"BMC: power {action}", stage, False)
    error = step(ev(0, EventKind.BMC_ERROR, step="power on", error="host web1: BMC ipmi 10.0.0.5 did not answer"))
    assert (error.stage, error.problem) == ("failed", True)
    assert error.text == "BMC power on failed: host web1: BMC ipmi 10.0.0.5 did not answer"
    # As read back from the store the kind is a plain string: the same step.
    assert step(ev(0, "bmc.power", action="on")) == step(ev(0, EventKind.BMC_POWER, action="on"))


def test_which_bmc_steps_start_a_boot() -> None:
    assert starts_boot(ev(0, EventKind.BMC_BOOTDEV, device="PXE"))
    assert [starts_boot(ev(0, EventKind.BMC_POWER, action=a)) for a in ("on", "cycle", "reset", "off", "soft")] == [
        True, True, True, False, False]
    assert not starts_boot(ev(0, EventKind.BMC_ERROR, step="power on", error="x"))
    assert not starts_boot(ev(0, "dhcp4.discover"))


# --------------------------------------------------------------------------- attempts


def test_bmc_steps_before_dhcp_are_one_attempt_from_the_bootdev_step() -> None:
    events = PRESS + BOOT
    [a] = attempts(events)
    assert a.started == T0 and a.steps[0].kind == EventKind.BMC_BOOTDEV
    assert [s.kind for s in a.steps[:4]] == ["bmc.bootdev", "bmc.power", "bmc.power", "dhcp4.discover"]
    assert a.complete and a.stage == "initrd" and a.host == "web1"
    assert stages(events)[:8] == ["bmc", "bmc", "bmc", "discover", "offer", "request", "ack", "bootprog"]
    lines = render(a, T0 + 1000)
    assert lines[1].endswith("+   0.000s  BMC: next boot from PXE (once)")
    assert lines[3].endswith("+   9.000s  BMC: power on")
    assert lines[-1] == "   result: kernel and initrd fetched: the operating system is starting"


def test_a_machine_found_off_is_one_attempt_too() -> None:
    [a] = attempts([PRESS[0], PRESS[2], *BOOT[:2]])
    assert a.stage == "offer" and a.steps[0].kind == EventKind.BMC_BOOTDEV


def test_stop_points_of_the_bmc_steps() -> None:
    [only_bootdev] = attempts(PRESS[:1])
    assert only_bootdev.stop == STOP_POINTS["bmc-bootdev"]
    assert only_bootdev.stop.startswith("the BMC set the next boot to the network; the machine was not powered on")
    [soft] = attempts(PRESS[:2])  # a soft off does not move the stage: still waiting for the power-on
    assert soft.stop == STOP_POINTS["bmc-bootdev"]
    [powered] = attempts(PRESS)
    assert powered.stop == STOP_POINTS["bmc"]
    assert powered.stop.startswith("the BMC powered the machine on for a network boot; no DHCP message from it since")
    assert powered.status(PRESS[-1].at + 10) == "in progress"
    assert powered.status(PRESS[-1].at + 61) == "stalled"
    assert render(powered, PRESS[-1].at + 61)[-1].startswith(
        "   likely stop point (stalled): the BMC powered the machine on for a network boot")
    [reset] = attempts([ev(0, EventKind.BMC_POWER, action="reset")])
    assert reset.stage == "bmc" and reset.stop == STOP_POINTS["bmc"]
    # The stop point moves on with DHCP as before.
    [dhcp] = attempts([*PRESS, *BOOT[:2]])
    assert dhcp.stop.startswith("offer sent, no request")


def test_a_power_on_after_a_complete_attempt_starts_a_new_one() -> None:
    earlier = [Event(e.at - 100, e.kind, e.mac, e.host, e.detail) for e in BOOT]  # complete, 100 s before
    again = [ev(30.0, EventKind.BMC_POWER, action="on"), ev(45.0, "dhcp4.discover", xid="9")]
    first, second = attempts([*earlier, *again])
    assert first.complete and first.stage == "initrd" and len(first.steps) == len(BOOT)
    assert second.steps[0].kind == EventKind.BMC_POWER and second.stage == "discover"
    assert not second.complete


def test_a_bmc_step_in_the_middle_of_an_unfinished_attempt_starts_a_new_one() -> None:
    """A stalled boot (offer sent, nothing since) and then the BMC power-cycles it: that is a fresh boot."""
    stalled = BOOT[:2]
    first, second = attempts([*stalled, ev(40.0, EventKind.BMC_BOOTDEV, device="PXE", once=True),
                              ev(41.0, EventKind.BMC_POWER, action="cycle")])
    assert first.stage == "offer" and len(first.steps) == 2
    assert second.stage == "bmc" and [s.kind for s in second.steps] == ["bmc.bootdev", "bmc.power"]


def test_a_soft_or_hard_off_does_not_start_or_move_a_boot() -> None:
    [a] = attempts([*BOOT[:2], ev(30.0, EventKind.BMC_POWER, action="off")])
    assert a.stage == "offer" and a.steps[-1].text == "BMC: power off"


def test_a_bmc_error_gives_a_failed_attempt_with_the_error() -> None:
    error = "host web1: IPMI BMC 10.0.0.5:623 refused the password"
    events = [PRESS[0], ev(0.2, EventKind.BMC_ERROR, step="get power", error=error)]
    [a] = attempts(events)
    assert a.stage == "failed" and a.status(T0 + 1) == "failed" and not a.complete
    assert a.stop == f"BMC get power failed: {error}"
    assert a.to_dict(T0 + 1)["steps"][-1]["problem"] is True
    assert render(a, T0 + 1)[-1] == f"   likely stop point (failed): BMC get power failed: {error}"
    # The first step failing: the attempt is that failure alone.
    [alone] = attempts([ev(0, EventKind.BMC_ERROR, step="boot device PXE", error="unreachable")])
    assert alone.stage == "failed" and alone.stop == "BMC boot device PXE failed: unreachable"
    # A later successful power-on starts a new attempt after the failed one.
    failed, retried = attempts([*events, ev(60.0, EventKind.BMC_POWER, action="on")])
    assert failed.stage == "failed" and retried.stage == "bmc"


def test_a_bmc_error_in_the_middle_of_a_boot_does_not_move_it() -> None:
    [a] = attempts([*BOOT[:4], ev(22.0, EventKind.BMC_ERROR, step="get power", error="timeout")])
    assert a.stage == "ack" and a.steps[-1].problem


def test_bmc_steps_are_per_mac() -> None:
    a, b = attempts([*PRESS, ev(20.0, "dhcp4.discover", mac=OTHER)])
    assert (a.mac, a.stage) == (MAC, "bmc") and (b.mac, b.stage) == (OTHER, "discover")


# --------------------------------------------------------------------------- the --wait verdict

PRESSED = T0 + 9.0  # the power-on: the BMC steps ended
STARTED = T0 - 0.5  # the reprovisioning began (one-shot requested) just before the bootdev step


def shot(state: str, requested: float = STARTED, reason: str | None = None) -> OneShot:
    return OneShot("web1", "rescue", state, requested, requested + 30, reason=reason)  # type: ignore[arg-type]


def test_judge_done() -> None:
    v = judge([*PRESS, *BOOT], shot("done", reason="kernel and initrd fully downloaded"), (MAC,), STARTED, PRESSED,
              PRESSED + 30, 600)
    assert v.finished and v.ok
    assert v.message == "one-shot boot of rescue done (kernel and initrd fully downloaded)"
    assert v.attempt is not None and v.attempt.complete
    # Done without any event seen still reads well.
    bare = judge([], shot("done"), (MAC,), STARTED, PRESSED, PRESSED + 30, 600)
    assert bare.finished and bare.ok and bare.message == "one-shot boot of rescue done"


def test_judge_failed() -> None:
    failed_file = ev(23.6, "http.download_failed", path="/rescue/initrd.img", error="connection reset")
    events = [*PRESS, *BOOT[:11], failed_file]
    v = judge(events, shot("failed", reason="download of /rescue/initrd.img failed"), (MAC,), STARTED, PRESSED,
              PRESSED + 20, 600)
    assert v.finished and not v.ok
    assert v.message == "one-shot boot of rescue failed: download of /rescue/initrd.img failed"
    # Without a reason the timeline's stop point says it.
    v = judge(events, shot("failed"), (MAC,), STARTED, PRESSED, PRESSED + 20, 600)
    assert v.message == "one-shot boot of rescue failed: HTTP transfer of /rescue/initrd.img failed: connection reset"
    v = judge([], shot("failed"), (MAC,), STARTED, PRESSED, PRESSED + 20, 600)
    assert v.message == "one-shot boot of rescue failed: no reason recorded"


@pytest.mark.parametrize("state", ["pending", "booting"])
def test_judge_in_progress(state: str) -> None:
    v = judge([*PRESS, *BOOT[:2]], shot(state), (MAC,), STARTED, PRESSED, PRESSED + 15, 600)
    assert not v.finished and not v.ok
    assert v.message.startswith("offer sent, no request")
    v = judge(PRESS, shot(state), (MAC,), STARTED, PRESSED, PRESSED + 5, 600)
    assert not v.finished and v.message == STOP_POINTS["bmc"]
    v = judge([], None, (MAC,), STARTED, PRESSED, PRESSED + 5, 600)
    assert not v.finished and v.message == "waiting for the machine" and v.attempt is None


def test_judge_timeout_without_dhcp_names_the_mac_and_the_wait() -> None:
    v = judge(PRESS, shot("pending"), (MAC,), STARTED, PRESSED, PRESSED + 120, 120)
    assert v.finished and not v.ok
    assert v.message.startswith(f"BMC accepted PXE once but no DHCP seen from MAC {MAC} in 120 s")
    v = judge(PRESS, shot("pending"), (MAC, OTHER), STARTED, PRESSED, PRESSED + 300.4, 300, device="UEFI HTTP")
    assert v.message.startswith(f"BMC accepted UEFI HTTP once but no DHCP seen from MAC {MAC} or {OTHER} in 300 s")
    # Only the other MAC's or older events: still nothing from this machine since the start.
    noise = [ev(20.0, "dhcp4.discover", mac="52:54:00:99:99:99"), ev(-600.0, "dhcp4.discover")]
    v = judge([*PRESS, *noise], shot("pending"), (MAC,), STARTED, PRESSED, PRESSED + 120, 120)
    assert v.message.startswith("BMC accepted PXE once but no DHCP seen from MAC")


def test_judge_timeout_after_dhcp_names_the_stop_point() -> None:
    v = judge([*PRESS, *BOOT[:10]], shot("booting"), (MAC,), STARTED, PRESSED, PRESSED + 600, 600)
    assert v.finished and not v.ok
    assert v.message == "no finished boot in 600 s; the boot stopped at: " + STOP_POINTS["entry"]
    v = judge([*PRESS, *BOOT[:2]], shot("pending"), (MAC,), STARTED, PRESSED, PRESSED + 90, 60)
    assert v.message.startswith("no finished boot in 60 s; the boot stopped at: offer sent, no request")
    # A router solicitation counts as the machine asking the network.
    ra = ev(15.0, "ra.solicited", source="fe80::1", flags="-")
    v = judge([*PRESS, ra], shot("pending"), (MAC,), STARTED, PRESSED, PRESSED + 90, 60)
    assert v.message == "no finished boot in 60 s; the boot stopped at: " + STOP_POINTS["ra-no-mo"]


def test_an_old_one_shot_requested_before_the_start_is_ignored() -> None:
    old_done = shot("done", requested=STARTED - 3600)
    v = judge(PRESS, old_done, (MAC,), STARTED, PRESSED, PRESSED + 5, 600)
    assert not v.finished and not v.ok  # not "done": that one belongs to an earlier run
    v = judge(PRESS, old_done, (MAC,), STARTED, PRESSED, PRESSED + 600, 600)
    assert v.finished and not v.ok and v.message.startswith("BMC accepted PXE once but no DHCP seen")
    old_failed = shot("failed", requested=STARTED - 1, reason="old failure")
    v = judge(PRESS, old_failed, (MAC,), STARTED, PRESSED, PRESSED + 5, 600)
    assert not v.finished and "old failure" not in v.message


def test_judge_reads_only_events_since_the_start() -> None:
    """An earlier complete boot of the same machine is not this reprovisioning's attempt."""
    earlier = [Event(e.at - 3600, e.kind, e.mac, e.host, e.detail) for e in BOOT]
    v = judge([*earlier, *PRESS], shot("pending"), (MAC,), STARTED, PRESSED, PRESSED + 10, 600)
    assert not v.finished and v.attempt is not None and v.attempt.stage == "bmc"
    assert v.message == STOP_POINTS["bmc"]


def test_a_later_bmc_failure_names_the_latest_error() -> None:
    first = ev(0, EventKind.BMC_ERROR, step="power on", error="refused the password")
    retry = ev(60, EventKind.BMC_ERROR, step="power on", error="did not answer")
    latest = attempts([first, retry])[-1]
    assert latest.stop == "BMC power on failed: did not answer"
