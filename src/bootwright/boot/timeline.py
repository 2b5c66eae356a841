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
itself. An EFI boot program followed by nothing at all asks whether Secure Boot
refused it. GRUB and pxelinux configs count as scripts. Event kinds are
:class:`~bootwright.model.EventKind` members, detail
keys those the services emit (see docs/hosts.md); unknown kinds still show, as
``kind key=value``.

Rule: which stage an event moves a boot to is decided in :func:`classify` only,
and when an attempt begins in :func:`starts_attempt`; :func:`attempts` reads a
history with them, :class:`Follower` a live stream (``/metrics``), so both
count the same attempts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bootwright.boot.policy import ENTRY_SCRIPT
from bootwright.model import Event, EventKind, RequestState
from bootwright.wire.syslog import Severity

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
    "proxy-offer": "proxy offer sent, boot file not fetched (did the client get an address from the link's DHCP"
                   " server? a server that sends PXEClient itself wins over any proxy: try bootwright probe dhcp)",
    "request": "request received, no acknowledgement sent",
    "other-server": "the client took another DHCP server's offer (a second DHCP server on this link?)",
    "ack": "address acknowledged, boot program not fetched",
    "ack-nofile": "address acknowledged, no boot file given (no rule or host gives this client one)",
    "ack-again": "boot program running (its DHCP succeeded), no script request",
    "bootprog": "boot program fetched, no script request",
    # An EFI program fetched and then silence (not even its own DHCP): the firmware did not run it. UEFI
    # Secure Boot refuses an image whose signature no key in db verifies (UEFI 2.x §32.5, "Access Denied").
    "bootprog-efi": "boot program fetched, nothing further — Secure Boot rejects unsigned images?",
    "entry": "entry script served, no request for the host's own script (boot/<mac>.ipxe)",
    "script": "script served, no kernel fetched (a menu waiting for a choice, or the script failed in iPXE)",
    "exit": "the script said exit: iPXE handed back to the firmware, which boots its next device (local disk)",
    "kernel": "kernel fetched, no initrd fetched",
    "initrd": "kernel and initrd fetched: the operating system is starting",
    "done": "boot files fetched: the operating system or program is starting",
}

# iPXE scripts, and the configs GRUB and pxelinux read in their place (boot/loaders.py).
_SCRIPT = re.compile(
    r"\.ipxe(-[^/]*)?$|/boot\.php$|(^|/)script[^/]*$|(^|/)grub\.cfg(-[^/]*)?$|(^|/)pxelinux\.cfg/", re.I
)
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


@dataclass(slots=True)
class Step:
    """One event as a sentence; ``stage`` when it moved the boot forward; ``problem`` when it went wrong.

    Not frozen: the live follower of ``/metrics`` builds one per event, and a frozen dataclass's
    ``__init__`` costs three times more (as :class:`~bootwright.model.Event`). Treat it as immutable.
    """

    at: float
    kind: str
    text: str
    stage: str | None = None
    problem: bool = False
    path: str | None = None


@dataclass(slots=True)
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


# Kinds whose stage, problem flag and path never depend on the detail (see classify).
_FIXED: dict[str, tuple[str | None, bool, str | None]] = {
    EventKind.DHCP4_DISCOVER: ("discover", False, None),
    EventKind.DHCP4_OFFER: ("offer", False, None),
    EventKind.DHCP4_ACK: ("ack", False, None),
    EventKind.DHCP4_PROXY_OFFER: ("offer", False, None),
    EventKind.DHCP4_PROXY_ACK: ("ack", False, None),
    EventKind.DHCP4_BOOTP: ("discover", False, None),
    EventKind.DHCP4_NAK: ("nak", True, None),
    EventKind.DHCP4_DECLINE: (None, True, None),  # RFC 2131 §4.3.3: an address conflict
    EventKind.DHCP4_RELEASE: (None, False, None),
    EventKind.DHCP4_INFORM: (None, False, None),
    EventKind.DHCP6_ADVERTISE: ("offer", False, None),
    EventKind.DHCP6_IGNORED: (None, False, None),  # an ``ignore = true`` rule: left to another server on purpose
    EventKind.HTTP_SCRIPT: ("script", False, None),
    EventKind.RA_SOLICITED: ("ra", False, None),
    EventKind.BMC_BOOTDEV: ("bmc", False, None),
    EventKind.BMC_ERROR: ("failed", True, None),
    EventKind.ONESHOT_FAILED: (None, True, None),
}
_DHCP6_ACK_MSGS = frozenset({"solicit", "request", "information-request"})  # a Reply to these binds or configures
# Syslog lines (net/syslog.py): who said it, by app; severities shown with the line, and those marked as problems.
_SYSLOG_APPS = {"ipxe": "iPXE syslog", "kernel": "kernel"}
_SYSLOG_SHOWN = frozenset(s.label for s in Severity if s <= Severity.WARNING)
_SYSLOG_PROBLEMS = frozenset(s.label for s in Severity if s <= Severity.ERR)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def classify(event: Event) -> tuple[str | None, bool, str | None]:
    """The stage an event moves a boot to (None: none), whether it went wrong, and the file path it names.

    The stage rules live here only: :func:`step` adds the sentence, and the live follower of
    ``/metrics`` (:class:`Follower`) needs nothing more, cheaply, once per event.
    """
    kind = event.kind
    fixed = _FIXED.get(kind)
    if fixed is not None:
        return fixed
    d = event.detail
    if kind == EventKind.DHCP4_REQUEST:
        state = d.get("state")
        if state == RequestState.SELECTING and d.get("server_id"):  # the client chose another server's offer
            return "other-server", True, None
        return ("request" if state in _REQUEST_STAGE_STATES else None), False, None
    if kind == EventKind.DHCP6_REPLY:
        return ("ack" if (d.get("msg") or "?") in _DHCP6_ACK_MSGS else None), False, None
    if kind in _FILE_DONE:
        return "file", False, _path(event)
    if kind in _FILE_FAILED:
        return "failed", True, _path(event)
    if kind == EventKind.HTTP_REQUEST:
        status = d.get("status")
        path = _path(event)
        if isinstance(status, int) and status >= 400:
            return "failed", True, path
        if status == 200 and not d.get("script") and path.rsplit("/", 1)[-1] == ENTRY_SCRIPT:
            return "entry", False, path
        if status == 200 and d.get("script_kind") == "exit":
            return "exit", False, path
        if status == 200 and (d.get("script") or classify_path(path) == "script"):
            return "script", False, path
        return None, False, path
    if kind == EventKind.BMC_POWER:
        return ("bmc" if d.get("action") in _BMC_BOOTING else None), False, None
    if kind == EventKind.SYSLOG_MESSAGE:  # what the machine said: shown, never a stage
        return None, d.get("severity") in _SYSLOG_PROBLEMS, None
    return None, False, None


def step(event: Event) -> Step:
    """The readable step of one event: its sentence and :func:`classify`'s stage (without context)."""
    stage, problem, path = classify(event)
    return Step(event.at, event.kind, _sentence(event, stage), stage, problem, path)


def _sentence(event: Event, stage: str | None) -> str:
    """What the event says, for people."""
    kind = event.kind
    d = event.detail
    if kind == EventKind.DHCP4_DISCOVER:
        return _with("DHCPv4 discover", event, ("relay", "via relay"), ("interface", "on"))
    if kind == EventKind.DHCP4_OFFER:
        return _with(f"DHCPv4 offer of {d.get('yiaddr') or d.get('address')}", event, ("bootfile", "boot file"))
    if kind == EventKind.DHCP4_REQUEST:
        state = d.get("state")
        text = "DHCPv4 request" + (f" for {d['requested']}" if d.get("requested") else "")
        text += f" ({state})" if state else ""
        if d.get("reason"):
            text += f", not answered: {d['reason']}"
        return text
    if kind == EventKind.DHCP4_PROXY_OFFER:  # PXE 2.1 §2.2.2: the address is another server's business
        return _with("proxy offer: address from another server, boot from bootwright", event,
                     ("bootfile", "boot file"))
    if kind == EventKind.DHCP4_PROXY_ACK:  # PXE 2.1 §2.2.3
        return _with(f"boot server ACK on port 4011 to {d.get('ciaddr') or '?'}", event, ("bootfile", "boot file"))
    if kind in (EventKind.DHCP4_ACK, EventKind.DHCP4_BOOTP):
        return _with(f"DHCPv4 ack of {d.get('yiaddr') or d.get('address')}", event, ("bootfile", "boot file"))
    if kind == EventKind.DHCP4_NAK:
        return f"DHCPv4 NAK: {d.get('reason') or 'refused'}"
    if kind in _DHCP4_OTHER:  # RFC 2131 §4.3.3-§4.3.5
        text = f"DHCPv4 {_DHCP4_OTHER[kind]}"
        text += f" of {d['address']}" if d.get("address") else (f" from {d['ciaddr']}" if d.get("ciaddr") else "")
        text = _with(text, event, ("bootfile", "boot file"))
        if d.get("reason"):
            text += f", not answered: {d['reason']}"
        return text
    if kind == EventKind.DHCP6_IGNORED:
        return f"DHCPv6 {d.get('msg') or '?'} not answered: ignored by rule {d.get('rule')!r}"
    if kind in (EventKind.DHCP6_ADVERTISE, EventKind.DHCP6_REPLY):
        text = f"DHCPv6 {kind.split('.')[1]} to {d.get('msg') or '?'}"
        return _with(text, event, ("address", "address"), ("bootfile", "boot file"))
    if kind == EventKind.TFTP_START:
        return f"TFTP read request for {_path(event)}" + _with("", event, ("blksize", "blksize"),
                                                               ("windowsize", "windowsize"))
    if kind in _FILE_DONE:  # ``source``: the iPXE package's file, the root had none (boot/programs.py)
        source = d.get("source")
        text = f"{_PROTOCOL[kind]} sent {_path(event)}{_size(event)}" + (f" from {source}" if source else "")
        if str(d.get("outcome") or "").startswith("unconfirmed"):
            text += " (its final ACK never came: the client moved on, RFC 1350 §6)"
        return text
    if kind in _FILE_FAILED:
        why = d.get("outcome") or d.get("error") or "failed"
        return f"{_PROTOCOL[kind]} transfer of {_path(event)} failed: {why}"
    if kind == EventKind.HTTP_REQUEST:
        path = _path(event)
        if stage == "entry":
            return f"iPXE entry script {path} served"
        if stage == "exit":
            return f"iPXE script {path} served ({d.get('script')}): exit to the firmware's next boot device"
        if stage == "script":
            return f"iPXE script {path} served" + (f" ({d['script']})" if d.get("script") else "")
        return f"HTTP {d.get('method') or 'GET'} {path} → {d.get('status')}"
    if kind == EventKind.HTTP_SCRIPT:
        return f"iPXE script {d.get('script') or _path(event)} served"
    if kind == EventKind.RA_SOLICITED:
        flags = str(d.get("flags") or "-")
        text = f"router solicitation from {d.get('source') or '?'} answered"
        if isinstance(d.get("delay"), int | float):
            text += f" after {d['delay']:.2f} s"
        return text + f": RA {_RA_FLAGS.get(flags, f'flags {flags}')}"
    if kind in (EventKind.RA_SENT, EventKind.RA_FINAL):
        what = "final router advertisement (lifetime 0)" if kind == EventKind.RA_FINAL else "router advertisement"
        return _with(f"{what} sent", event, ("interface", "on"), ("flags", "flags"))
    if kind in _BMC_KINDS:
        return _bmc_sentence(event)
    if kind == EventKind.SYSLOG_MESSAGE:
        return _syslog_sentence(d)
    if kind in _ONESHOT:
        text = f"one-shot boot of {d.get('target')}: {_ONESHOT[kind]}"
        return text + (f" ({d['reason']})" if d.get("reason") else "")
    extra = " ".join(f"{k}={v}" for k, v in d.items() if v is not None)
    return f"{kind} {extra}".strip()


def _syslog_sentence(d: dict[str, Any]) -> str:
    """``iPXE syslog: …``, ``kernel (err): …``, ``syslog sshd: …``: the line made one line, controls shown as ?."""
    app = d.get("app")
    who = (_SYSLOG_APPS.get(str(app).lower()) or f"syslog {app}") if app else "syslog"
    severity = d.get("severity")
    if severity in _SYSLOG_SHOWN:
        who += f" ({severity})"
    lines = (line.strip() for line in str(d.get("text") or "").splitlines())
    return f"{who}: " + _CONTROL.sub("?", " / ".join(line for line in lines if line))


def _bmc_sentence(event: Event) -> str:
    d = event.detail
    if event.kind == EventKind.BMC_BOOTDEV:
        text = f"BMC: next boot from {d.get('device') or 'the network'}" + (" (once)" if d.get("once") else "")
        return text + (f"; {d['note']}" if d.get("note") else "")
    if event.kind == EventKind.BMC_POWER:
        return f"BMC: power {d.get('action')}"
    return f"BMC {d.get('step') or 'step'} failed: {d.get('error')}"


def starts_boot(event: Event) -> bool:
    """A BMC step after which the machine boots afresh: the next boot device set, or power on/cycle/reset."""
    if event.kind == EventKind.BMC_BOOTDEV:
        return True
    return event.kind == EventKind.BMC_POWER and event.detail.get("action") in _BMC_BOOTING


class _Reader:
    """Follows one attempt's stages as steps arrive."""

    __slots__ = ("a", "after_script", "bmc_only", "bootprog_seen", "program", "stops")

    def __init__(self, attempt: Attempt, stops: bool = True) -> None:
        self.a = attempt
        self.stops = stops  # False: leave ``stop`` unwritten (the live follower needs stages only)
        self.bootprog_seen = False
        self.program = ""  # the last boot program fetched
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
        if self.stops:
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
            self.program = path
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
        if stage == "offer" and event.kind == EventKind.DHCP4_PROXY_OFFER:
            return STOP_POINTS["proxy-offer"]
        if stage == "bootprog" and self.program.lower().endswith(".efi"):
            return STOP_POINTS["bootprog-efi"]
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


def starts_attempt(current: Attempt | None, event: Event, s: Step, gap: float = ATTEMPT_GAP) -> bool:
    """Whether ``event`` (read as ``s``) begins a new attempt after ``current``: a quiet gap, a new boot
    after a complete one, or a BMC step that boots the machine afresh."""
    return current is None or event.at - current.last > gap or (
        current.complete and s.stage in _NEW_BOOT
        # After "exit" the firmware boots its next device: a router solicitation then comes from the iPXE
        # that is leaving or the local system starting, not from a new network boot (its DHCP starts one).
        and not (s.stage == "ra" and current.stage == "exit")
    ) or (starts_boot(event) and current.stage not in (None, "bmc"))


def attempts(events: Iterable[Event], gap: float = ATTEMPT_GAP) -> list[Attempt]:
    """Boot attempts of every MAC in ``events`` (oldest first within a MAC, MACs in order of first sight)."""
    by_mac: dict[str | None, list[Attempt]] = {}
    readers: dict[int, _Reader] = {}
    for event in sorted(events, key=lambda e: e.at):
        s = step(event)
        runs = by_mac.setdefault(event.mac, [])
        current = runs[-1] if runs else None
        if starts_attempt(current, event, s, gap):
            current = Attempt(event.mac)
            runs.append(current)
            readers[id(current)] = _Reader(current)
        assert current is not None
        readers[id(current)].feed(s, event)
    return [a for runs in by_mac.values() for a in runs]


class Follower:
    """One MAC's current attempt, fed one event at a time: :func:`attempts` for a live stream (``/metrics``).

    Stages only: steps carry no sentence and the attempt no stop point, and it keeps only its
    first and last step, so an event costs little and memory stays bounded however long an
    attempt runs (``started``, ``last``, ``stage``, ``complete`` and ``status`` still hold).
    """

    __slots__ = ("_reader", "attempt", "gap")

    def __init__(self, gap: float = ATTEMPT_GAP) -> None:
        self.gap = gap
        self.attempt: Attempt | None = None
        self._reader: _Reader | None = None

    def feed(self, event: Event) -> Attempt | None:
        """Take the next event (in time order); returns the attempt it ended by starting a new one."""
        stage, problem, path = classify(event)
        s = Step(event.at, event.kind, "", stage, problem, path)
        ended = None
        if self._reader is None or starts_attempt(self.attempt, event, s, self.gap):
            ended = self.attempt
            self.attempt = Attempt(event.mac)
            self._reader = _Reader(self.attempt, stops=False)
        self._reader.feed(s, event)
        steps = self._reader.a.steps
        if len(steps) > 2:
            del steps[1:-1]
        return ended


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
