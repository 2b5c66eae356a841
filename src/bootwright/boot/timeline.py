"""A machine's boot, read from the event history: readable steps and where it stopped (pure).

Events are grouped per MAC into *attempts* (a new one starts after a quiet
gap, or with a router solicitation or a DHCP discover/solicit or offer once
the previous attempt completed). Each event becomes a :class:`Step` with a
sentence for people and, when it moves the boot forward, a stage::

    (bmc) → (ra) → dhcp (discover/solicit) → offer → request → ack → boot program → script → kernel → initrd

``bmc`` is a step at the machine's BMC (``bootwright boot --reboot``,
``bootwright power``): setting the next boot device or powering it on starts a
new attempt, so a boot reads from the button press to the initrd, and a
machine that never sent DHCP after it stops at "BMC powered it on, no DHCP".

``ra`` is a router solicitation answered (``ra.solicited``, keyed by the MAC
the RS carried): it counts as a stage only before any DHCP step, where a boot
that stops names it — "router solicitation answered, no DHCP message since".
Firmware that also runs IPv4 solicits routers beside its DHCPv4 exchange; there
the step is shown but does not move the stage.

The stage reached last names the likely stop point of a stalled boot —
"offer sent, no request", "boot program fetched, no script request",
"kernel fetched, no initrd fetched" — and a failed transfer or a NAK names
itself. Event kinds are :class:`~bootwright.model.EventKind` members, detail
keys those the services emit (see docs/hosts.md); unknown kinds still show, as
``kind key=value``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bootwright.boot.policy import ENTRY_SCRIPT
from bootwright.model import Event, EventKind, RequestState

ATTEMPT_GAP = 300.0  # seconds of silence that end an attempt
STALL_AFTER = 60.0  # seconds of silence after which an unfinished boot counts as stalled

# After a complete attempt these start the next one: a router solicitation, a DHCP discover or
# solicit — or the offer/advertise answering it (answered discovers are not events of their own).
_NEW_BOOT = frozenset({"ra", "discover", "offer"})
_BMC_KINDS = frozenset({EventKind.BMC_BOOTDEV, EventKind.BMC_POWER, EventKind.BMC_ERROR})
# BMC power actions that start a boot: after them the machine's firmware runs from the start.
_BMC_BOOTING = frozenset({"on", "cycle", "reset"})

STAGES = ("bmc", "ra", "discover", "offer", "request", "other-server", "ack", "nak", "bootprog", "entry", "script",
          "exit", "kernel", "initrd", "failed", "done")

STOP_POINTS = {
    "bmc-bootdev": "the BMC set the next boot to the network; the machine was not powered on or reset since",
    "bmc": "the BMC powered the machine on for a network boot; no DHCP message from it since (is its NIC on a"
           " served link, does its firmware boot the network, did the BMC keep the boot device?)",
    "ra": "router solicitation answered, no DHCP message since (for IPv6: no DHCPv6 Solicit arrived or was"
          " answered; is DHCPv6 on for this link? see the server log)",
    "ra-no-mo": "router solicitation answered by an RA without the M and O flags: IPv6 clients do not ask"
                " DHCPv6 for an address or a boot file (set subnet6.ra managed/other)",
    "discover": "discover received, no offer sent (no subnet or free address for this client? see the server log)",
    "offer": "offer sent, no request (another DHCP server answered first, or the offer did not reach the client)",
    "request": "request received, no acknowledgement sent",
    "other-server": "the client took another DHCP server's offer (a second DHCP server on this link?)",
    "ack": "address acknowledged, boot program not fetched",
    "ack-nofile": "address acknowledged, no boot file given (no rule or host gives this client one)",
    "ack-again": "boot program running (its DHCP succeeded), no script request",
    "bootprog": "boot program fetched, no script request",
    "entry": "entry script served, no request for the host's own script (boot/<mac>.ipxe)",
    "script": "script served, no kernel fetched (a menu waiting for a choice, or the script failed in iPXE)",
    "exit": "the script said exit: iPXE handed back to the firmware, which boots its next device (local disk)",
    "kernel": "kernel fetched, no initrd fetched",
    "initrd": "kernel and initrd fetched: the operating system is starting",
    "done": "boot files fetched: the operating system or program is starting",
}

_SCRIPT = re.compile(r"\.ipxe(-[^/]*)?$|/boot\.php$|(^|/)script[^/]*$", re.I)
_KERNEL = re.compile(r"vmlinu[xz]|bzimage|(^|/)(linux|kernel)[^/]*$|rescue64$", re.I)
_INITRD = re.compile(r"initrd|initramfs|initram|\.igz$|\.cpio(\.gz)?$", re.I)
_BOOTPROG = re.compile(r"\.(efi|kpxe|kkpxe|pxe|lkrn|0)$", re.I)
# RA flags as events show them (RFC 4861 §4.2 M and O) → what a client takes from them.
_RA_FLAGS = {
    "MO": "with M and O (address and boot options from DHCPv6)",
    "M": "with M (address from DHCPv6)",
    "O": "with O (boot options from DHCPv6, no address from it)",
    "-": "without M or O (no DHCPv6)",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One event as a sentence; ``stage`` when it moved the boot forward; ``problem`` when it went wrong."""

    at: float
    kind: str
    text: str
    stage: str | None = None
    problem: bool = False
    path: str | None = None


@dataclass
class Attempt:
    """One boot attempt of one MAC: its steps, the stage reached and the likely stop point."""

    mac: str | None
    host: str | None = None
    steps: list[Step] = field(default_factory=list)
    stage: str | None = None
    stop: str = "no boot step seen"
    complete: bool = False

    @property
    def started(self) -> float:
        """Time of the first step."""
        return self.steps[0].at if self.steps else 0.0

    @property
    def last(self) -> float:
        """Time of the last step."""
        return self.steps[-1].at if self.steps else 0.0

    def status(self, now: float, stall_after: float = STALL_AFTER) -> str:
        """``complete``, ``failed``, ``stalled`` or ``in progress`` as of ``now``."""
        if self.complete:
            return "complete"
        if self.stage in ("failed", "nak", "other-server"):
            return "failed"
        return "stalled" if now - self.last > stall_after else "in progress"

    def to_dict(self, now: float, stall_after: float = STALL_AFTER) -> dict[str, Any]:
        """JSON form for ``bootwright events --json`` and the API."""
        return {
            "mac": self.mac,
            "host": self.host,
            "started": self.started,
            "last": self.last,
            "stage": self.stage,
            "status": self.status(now, stall_after),
            "stop": self.stop,
            "steps": [{"at": s.at, "kind": s.kind, "text": s.text, "stage": s.stage, "problem": s.problem}
                      for s in self.steps],
        }


def _d(event: Event, key: str) -> Any:
    return event.detail.get(key)


def _path(event: Event) -> str:
    for key in ("path", "file", "url"):
        value = _d(event, key)
        if isinstance(value, str) and value:
            return value.split("?", 1)[0]
    return ""


def classify_path(path: str) -> str | None:
    """``script``, ``kernel``, ``initrd`` or ``bootprog`` for a fetched file's name; None when unknown."""
    for stage, pattern in (("script", _SCRIPT), ("kernel", _KERNEL), ("initrd", _INITRD), ("bootprog", _BOOTPROG)):
        if pattern.search(path):
            return stage
    return None


def _size(event: Event) -> str:
    size = _d(event, "bytes") if _d(event, "bytes") is not None else _d(event, "size")
    duration = _d(event, "duration")
    parts = []
    if isinstance(size, int | float):
        parts.append(f"{int(size):,} bytes")
    if isinstance(duration, int | float):
        parts.append(f"in {duration:.2f} s")
    return f" ({' '.join(parts)})" if parts else ""


def _with(text: str, event: Event, *keys: tuple[str, str]) -> str:
    for key, label in keys:
        value = _d(event, key)
        if value not in (None, ""):
            text += f", {label} {value}"
    return text


_FILE_DONE = frozenset({EventKind.TFTP_DONE, EventKind.HTTP_DOWNLOAD_COMPLETE})
_FILE_FAILED = frozenset({EventKind.TFTP_FAILED, EventKind.HTTP_DOWNLOAD_FAILED})
_PROTOCOL: dict[str, str] = {
    EventKind.TFTP_DONE: "TFTP", EventKind.TFTP_FAILED: "TFTP",
    EventKind.HTTP_DOWNLOAD_COMPLETE: "HTTP", EventKind.HTTP_DOWNLOAD_FAILED: "HTTP",
}  # fmt: skip
_ONESHOT: dict[str, str] = {
    EventKind.ONESHOT_PENDING: "pending", EventKind.ONESHOT_BOOTING: "booting",
    EventKind.ONESHOT_DONE: "done", EventKind.ONESHOT_FAILED: "failed",
}  # fmt: skip
_DHCP4_OTHER: dict[str, str] = {
    EventKind.DHCP4_DECLINE: "decline", EventKind.DHCP4_RELEASE: "release", EventKind.DHCP4_INFORM: "inform",
}  # fmt: skip
# REQUEST states that start an exchange (RFC 2131 §4.3.2): the others extend a lease already bound.
_REQUEST_STAGE_STATES = frozenset({None, RequestState.SELECTING, RequestState.INIT_REBOOT})


def step(event: Event) -> Step:
    """The readable step of one event (stage classification without context)."""
    kind = event.kind
    d = event.detail
    if kind == EventKind.DHCP4_DISCOVER:
        return Step(event.at, kind, _with("DHCPv4 discover", event, ("relay", "via relay"), ("interface", "on")),
                    "discover")
    if kind == EventKind.DHCP4_OFFER:
        text = _with(f"DHCPv4 offer of {d.get('yiaddr') or d.get('address')}", event, ("bootfile", "boot file"))
        return Step(event.at, kind, text, "offer")
    if kind == EventKind.DHCP4_REQUEST:
        state = d.get("state")
        text = "DHCPv4 request" + (f" for {d['requested']}" if d.get("requested") else "")
        text += f" ({state})" if state else ""
        if d.get("reason"):
            text += f", not answered: {d['reason']}"
        if state == RequestState.SELECTING and d.get("server_id"):  # the client chose another server's offer
            return Step(event.at, kind, text, "other-server", problem=True)
        return Step(event.at, kind, text, "request" if state in _REQUEST_STAGE_STATES else None)
    if kind in (EventKind.DHCP4_ACK, EventKind.DHCP4_BOOTP):
        text = _with(f"DHCPv4 ack of {d.get('yiaddr') or d.get('address')}", event, ("bootfile", "boot file"))
        return Step(event.at, kind, text, "ack" if kind == EventKind.DHCP4_ACK else "discover")
    if kind == EventKind.DHCP4_NAK:
        return Step(event.at, kind, f"DHCPv4 NAK: {d.get('reason') or 'refused'}", "nak", problem=True)
    if kind in _DHCP4_OTHER:  # RFC 2131 §4.3.3-§4.3.5: no stage; a DECLINE means an address conflict
        text = f"DHCPv4 {_DHCP4_OTHER[kind]}"
        text += f" of {d['address']}" if d.get("address") else (f" from {d['ciaddr']}" if d.get("ciaddr") else "")
        text = _with(text, event, ("bootfile", "boot file"))
        if d.get("reason"):
            text += f", not answered: {d['reason']}"
        return Step(event.at, kind, text, problem=kind == EventKind.DHCP4_DECLINE)
    if kind in (EventKind.DHCP6_ADVERTISE, EventKind.DHCP6_REPLY):
        msg = d.get("msg") or "?"
        text = f"DHCPv6 {kind.split('.')[1]} to {msg}"
        text = _with(text, event, ("address", "address"), ("bootfile", "boot file"))
        stage = "offer" if kind == EventKind.DHCP6_ADVERTISE else ("ack" if msg in ("solicit", "request",
                                                                                    "information-request") else None)
        return Step(event.at, kind, text, stage)
    if kind == EventKind.TFTP_START:
        return Step(event.at, kind, f"TFTP read request for {_path(event)}" + _with("", event, ("blksize", "blksize"),
                                                                                  ("windowsize", "windowsize")))
    if kind in _FILE_DONE:
        path = _path(event)
        return Step(event.at, kind, f"{_PROTOCOL[kind]} sent {path}{_size(event)}", "file", path=path)
    if kind in _FILE_FAILED:
        why = d.get("outcome") or d.get("error") or "failed"
        return Step(event.at, kind, f"{_PROTOCOL[kind]} transfer of {_path(event)} failed: {why}", "failed", True,
                    _path(event))
    if kind == EventKind.HTTP_REQUEST:
        status = d.get("status")
        path = _path(event)
        text = f"HTTP {d.get('method') or 'GET'} {path} → {status}"
        if isinstance(status, int) and status >= 400:
            return Step(event.at, kind, text, "failed", True, path)
        if status == 200 and not d.get("script") and path.rsplit("/", 1)[-1] == ENTRY_SCRIPT:
            return Step(event.at, kind, f"iPXE entry script {path} served", "entry", path=path)
        if status == 200 and d.get("script_kind") == "exit":
            return Step(event.at, kind, f"iPXE script {path} served ({d.get('script')}): exit to the firmware's"
                        " next boot device", "exit", path=path)
        if status == 200 and (d.get("script") or classify_path(path) == "script"):
            return Step(event.at, kind, f"iPXE script {path} served" + (f" ({d['script']})" if d.get("script") else ""),
                        "script", path=path)
        return Step(event.at, kind, text, path=path)
    if kind == EventKind.HTTP_SCRIPT:
        return Step(event.at, kind, f"iPXE script {d.get('script') or _path(event)} served", "script")
    if kind == EventKind.RA_SOLICITED:
        flags = str(d.get("flags") or "-")
        text = f"router solicitation from {d.get('source') or '?'} answered"
        if isinstance(d.get("delay"), int | float):
            text += f" after {d['delay']:.2f} s"
        text += f": RA {_RA_FLAGS.get(flags, f'flags {flags}')}"
        return Step(event.at, kind, text, "ra")
    if kind in (EventKind.RA_SENT, EventKind.RA_FINAL):
        what = "final router advertisement (lifetime 0)" if kind == EventKind.RA_FINAL else "router advertisement"
        return Step(event.at, kind, _with(f"{what} sent", event, ("interface", "on"), ("flags", "flags")))
    if kind in _BMC_KINDS:
        return _bmc_step(event)
    if kind in _ONESHOT:
        text = f"one-shot boot of {d.get('target')}: {_ONESHOT[kind]}"
        if d.get("reason"):
            text += f" ({d['reason']})"
        return Step(event.at, kind, text, problem=kind == EventKind.ONESHOT_FAILED)
    extra = " ".join(f"{k}={v}" for k, v in d.items() if v is not None)
    return Step(event.at, kind, f"{kind} {extra}".strip())


def _bmc_step(event: Event) -> Step:
    d = event.detail
    if event.kind == EventKind.BMC_BOOTDEV:
        text = f"BMC: next boot from {d.get('device') or 'the network'}" + (" (once)" if d.get("once") else "")
        if d.get("note"):
            text += f"; {d['note']}"
        return Step(event.at, event.kind, text, "bmc")
    if event.kind == EventKind.BMC_POWER:
        action = d.get("action")
        return Step(event.at, event.kind, f"BMC: power {action}", "bmc" if action in _BMC_BOOTING else None)
    return Step(event.at, event.kind, f"BMC {d.get('step') or 'step'} failed: {d.get('error')}", "failed", True)


def starts_boot(event: Event) -> bool:
    """A BMC step after which the machine boots afresh: the next boot device set, or power on/cycle/reset."""
    if event.kind == EventKind.BMC_BOOTDEV:
        return True
    return event.kind == EventKind.BMC_POWER and event.detail.get("action") in _BMC_BOOTING


class _Reader:
    """Follows one attempt's stages as steps arrive."""

    def __init__(self, attempt: Attempt) -> None:
        self.a = attempt
        self.bootprog_seen = False
        self.after_script = 0
        self.bmc_only = True  # every step so far was a BMC step: a BMC error may still say why it stopped

    def feed(self, s: Step, event: Event) -> None:
        a = self.a
        a.steps.append(s)
        bmc_only, self.bmc_only = self.bmc_only, self.bmc_only and event.kind in _BMC_KINDS
        if event.host and not a.host:
            a.host = event.host
        if a.complete or s.stage is None:
            return
        stage: str | None = s.stage
        if stage == "file":
            stage = self._file_stage(s.path or "")
        if stage is None or (stage == "ra" and a.stage not in (None, "ra", "bmc")):
            return  # an RA beside a DHCP exchange already under way does not move the boot
        if event.kind in _BMC_KINDS and not bmc_only:
            return  # a BMC step (or its failure) in the middle of a boot does not move it
        a.stage = stage
        if stage == "script":
            self.after_script = 0
        a.stop = self._stop(s, stage, event)
        if stage in ("initrd", "done", "exit"):
            a.complete = True

    def _file_stage(self, path: str) -> str | None:
        kind = classify_path(path)
        if self.a.stage in ("script", "kernel", "initrd"):
            self.after_script += 1
            if kind == "bootprog" and path.lower().endswith(".efi"):
                return "done"  # an EFI program chained from the script (EFI shell, a loader)
            if kind in ("kernel", "initrd"):
                return kind
            return "kernel" if self.after_script == 1 else "initrd"
        if kind == "script":
            return "script"
        if kind in ("bootprog", None):
            self.bootprog_seen = True
            return "bootprog"
        return kind

    def _stop(self, s: Step, stage: str, event: Event) -> str:
        if stage == "failed":
            return s.text
        if stage == "bmc":
            return STOP_POINTS["bmc-bootdev" if event.kind == EventKind.BMC_BOOTDEV else "bmc"]
        if stage == "ra":
            return STOP_POINTS["ra-no-mo" if event.detail.get("flags") == "-" else "ra"]
        if stage == "nak":
            return f"request refused (NAK): {event.detail.get('reason') or 'no reason given'}"
        if stage == "ack":
            if self.bootprog_seen:
                return STOP_POINTS["ack-again"]
            bootfile = event.detail.get("bootfile")
            if not isinstance(bootfile, str) or not bootfile:
                return STOP_POINTS["ack-nofile"]
            if classify_path(bootfile.split("?", 1)[0]) == "script":
                return f"address acknowledged, script {bootfile} not fetched"
            return f"{STOP_POINTS['ack']} ({bootfile})"
        return STOP_POINTS.get(stage, s.text)


def attempts(events: Iterable[Event], gap: float = ATTEMPT_GAP) -> list[Attempt]:
    """Boot attempts of every MAC in ``events`` (oldest first within a MAC, MACs in order of first sight)."""
    by_mac: dict[str | None, list[Attempt]] = {}
    readers: dict[int, _Reader] = {}
    for event in sorted(events, key=lambda e: e.at):
        s = step(event)
        runs = by_mac.setdefault(event.mac, [])
        current = runs[-1] if runs else None
        fresh = current is None or event.at - current.last > gap or (
            current.complete and s.stage in _NEW_BOOT
        ) or (starts_boot(event) and current.stage not in (None, "bmc"))
        if fresh:
            current = Attempt(event.mac)
            runs.append(current)
            readers[id(current)] = _Reader(current)
        assert current is not None
        readers[id(current)].feed(s, event)
    return [a for runs in by_mac.values() for a in runs]


def _clock(at: float) -> str:
    """An epoch time as local date and time (no clock is read: the module stays pure)."""
    return datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def render(attempt: Attempt, now: float, stall_after: float = STALL_AFTER) -> list[str]:
    """The attempt as lines for people: a header, one line per step, the verdict."""
    who = attempt.mac or "unknown MAC"
    if attempt.host:
        who = f"{attempt.host} ({who})"
    lines = [f"{who}: boot attempt at {_clock(attempt.started)}"]
    completed = {s.path for s in attempt.steps if s.kind == EventKind.HTTP_DOWNLOAD_COMPLETE}
    for s in attempt.steps:
        if s.kind == EventKind.HTTP_REQUEST and s.stage is None and s.path in completed:
            continue  # the download_complete line says it better
        mark = "!" if s.problem else " "
        lines.append(f" {mark} +{s.at - attempt.started:8.3f}s  {s.text}")
    status = attempt.status(now, stall_after)
    if status == "complete":
        lines.append(f"   result: {attempt.stop}")
    elif status == "in progress":
        lines.append(f"   in progress: {attempt.stop}")
    else:
        lines.append(f"   likely stop point ({status}): {attempt.stop}")
    return lines
