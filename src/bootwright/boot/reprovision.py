"""Following an unattended reprovisioning from the event history: done, failed, or why not yet (pure).

``bootwright boot HOST --target T --once --reboot --wait`` (and its API twin)
set a one-shot boot, tell the BMC to boot the network once and power-cycle
the machine; from then on the store's events and the one-shot's state say
how far the machine got. :func:`judge` reads them at one moment and gives a
:class:`Verdict`: finished or not, success or not, and a sentence for people —
"BMC accepted PXE once but no DHCP seen from MAC … in 120 s" when the
machine never asked, else the boot timeline's own stop point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bootwright.boot.oneshot import OneShot
from bootwright.boot.timeline import Attempt, attempts
from bootwright.model import Event, EventKind


@dataclass(frozen=True, slots=True)
class Verdict:
    """Where a reprovisioning stands: ``finished`` (done, failed or out of time) and ``ok`` (one-shot done)."""

    finished: bool
    ok: bool
    message: str
    attempt: Attempt | None = None


def _asked_network(events: list[Event]) -> bool:
    return any(e.kind not in (EventKind.BMC_BOOTDEV, EventKind.BMC_POWER, EventKind.BMC_ERROR)
               and e.kind.startswith(("dhcp4.", "dhcp6.", "ra.solicited", "tftp.", "http.")) for e in events)


def judge(
    events: Iterable[Event],
    oneshot: OneShot | None,
    macs: tuple[str, ...],
    started: float,
    pressed: float,
    now: float,
    wait: float,
    device: str = "PXE",
) -> Verdict:
    """The state of a reprovisioning started at ``started`` whose BMC steps ended at ``pressed``, as of ``now``.

    Times are epoch seconds. ``events`` are the host's (any of ``macs``);
    ``oneshot`` is its one-shot as stored now (one requested before
    ``started`` belongs to an earlier run and is ignored); ``wait`` the seconds
    allowed from ``pressed``.
    """
    since = [e for e in events if e.at >= started - 1e-6 and (e.mac in macs or not macs)]
    found = attempts(since)
    attempt = found[-1] if found else None
    if oneshot is not None and oneshot.requested >= started - 1e-6:
        if oneshot.state == "done":
            why = f" ({oneshot.reason})" if oneshot.reason else ""
            return Verdict(True, True, f"one-shot boot of {oneshot.target} done{why}", attempt)
        if oneshot.state == "failed":
            why = oneshot.reason or (attempt.stop if attempt else "no reason recorded")
            return Verdict(True, False, f"one-shot boot of {oneshot.target} failed: {why}", attempt)
    if now - pressed < wait:
        return Verdict(False, False, attempt.stop if attempt else "waiting for the machine", attempt)
    mac_text = " or ".join(macs) if macs else "its MAC"
    if not _asked_network(since):
        return Verdict(True, False, f"BMC accepted {device} once but no DHCP seen from MAC {mac_text} in "
                       f"{wait:g} s (is the NIC on a served link, does the firmware try the network?)", attempt)
    stop = attempt.stop if attempt else "no boot step seen"
    return Verdict(True, False, f"no finished boot in {wait:g} s; the boot stopped at: {stop}", attempt)
