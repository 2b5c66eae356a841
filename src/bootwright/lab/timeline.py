"""Boot stages and the per-VM timeline.

A VM's boot is six stages; each is stamped the first time any source (the
server's events, the reference servers' logs, the serial console) shows it.
The tables here are the only place that knows how sources name things;
bootwright's own event kinds are :class:`~bootwright.model.EventKind` members.

In a proxy run (``--foreign-dhcp``) the DHCP stage is two servers' work: the
link's own server gives the address (:attr:`Timeline.address`, read from its
log) and bootwright the boot part — ``dhcp4.proxy_offer`` (PXE 2.1 §2.2.2) or
``dhcp4.proxy_ack`` (a boot server REQUEST on UDP 4011, §2.2.3) stamps the
stage, with the detail "address from another server".
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from bootwright.model import EventKind


class Stage(enum.IntEnum):
    """The steps of a network boot, in order."""

    OFFER = 0  # a DHCPv4 offer/ack or DHCPv6 advertise/reply reached the VM
    BOOTPROG = 1  # the boot program (.efi/.kpxe) was fetched over TFTP or HTTP
    SCRIPT = 2  # an iPXE script was fetched
    KERNEL = 3
    INITRD = 4
    MARKER = 5  # the initrd's init printed the marker on the serial console


LABELS = {
    Stage.OFFER: "DHCP offer",
    Stage.BOOTPROG: "boot program",
    Stage.SCRIPT: "script",
    Stage.KERNEL: "kernel",
    Stage.INITRD: "initrd",
    Stage.MARKER: "marker",
}
NOT_SEEN = {
    Stage.OFFER: "no DHCP offer seen",
    Stage.BOOTPROG: "no boot program fetched",
    Stage.SCRIPT: "no iPXE script fetched",
    Stage.KERNEL: "no kernel fetched",
    Stage.INITRD: "no initrd fetched",
    Stage.MARKER: "no marker on the serial console",
}

# bootwright event kind (:class:`~bootwright.model.EventKind`) → stage, or PATH: classify by the
# file the event names. The lab's reference HTTP server reports ``http.request`` too.
PATH = None
EVENT_STAGES: dict[str, Stage | None] = {
    EventKind.DHCP4_OFFER: Stage.OFFER,
    EventKind.DHCP4_ACK: Stage.OFFER,
    EventKind.DHCP4_PROXY_OFFER: Stage.OFFER,
    EventKind.DHCP4_PROXY_ACK: Stage.OFFER,
    EventKind.DHCP6_ADVERTISE: Stage.OFFER,
    EventKind.DHCP6_REPLY: Stage.OFFER,
    EventKind.TFTP_START: PATH,
    EventKind.TFTP_DONE: PATH,
    EventKind.HTTP_REQUEST: PATH,
    EventKind.HTTP_DOWNLOAD_COMPLETE: PATH,
    EventKind.HTTP_SCRIPT: PATH,
}

# A transfer's start names the file of a stage but does not stamp it: only its end, or the console, does.
# GRUB may start the kernel before its final TFTP ACK leaves the card; then the server's ``tftp.done``
# comes only after its retries (outcome "unconfirmed"), later than the console's proof.
BEGUN_EVENTS = frozenset({EventKind.TFTP_START})

# proxyDHCP answers: the boot part only; the address came from another server.
PROXY_EVENTS = frozenset({EventKind.DHCP4_PROXY_OFFER, EventKind.DHCP4_PROXY_ACK})
PROXY_DETAIL = "address from another server"
# The detail of a stage seen on the serial console only (the server's sighting, naming the file, replaces it).
SERIAL_DETAIL = "serial"

# File name → stage, first match wins (per-MAC scripts like script.ipxe-52:54:… count as scripts, and
# the configs GRUB and pxelinux read in their place: grub/grub.cfg, pxelinux.cfg/01-<mac>).
PATH_STAGES: tuple[tuple[re.Pattern[str], Stage], ...] = (
    (
        re.compile(r"\.ipxe(-[^/]*)?$|\.ipxe\?|/boot\.php|/script\b|(^|/)grub\.cfg|(^|/)pxelinux\.cfg/", re.I),
        Stage.SCRIPT,
    ),
    (re.compile(r"vmlinu[xz]|bzimage|(^|/)(linux|kernel)[^/]*$|rescue64$", re.I), Stage.KERNEL),
    (re.compile(r"initrd|initramfs|\.igz$|\.cpio(\.gz)?$", re.I), Stage.INITRD),
    (re.compile(r"\.(efi|kpxe|kkpxe|pxe|lkrn|0)$", re.I), Stage.BOOTPROG),
)


def classify_path(path: str) -> Stage | None:
    """The stage a fetched file stands for, or None for anything else."""
    clean = path.split("?", 1)[0]
    for pattern, stage in PATH_STAGES:
        if pattern.search(clean):
            return stage
    return None


@dataclass
class Timeline:
    """What one VM reached and when (seconds since its QEMU started)."""

    name: str
    title: str
    mac: str
    expects_bootprog: bool = True
    started: float | None = None
    seen: dict[Stage, float] = field(default_factory=dict)
    detail: dict[Stage, str] = field(default_factory=dict)
    begun: dict[Stage, str] = field(default_factory=dict)  # files the server began sending, by stage
    via: dict[Stage, int] = field(default_factory=dict)  # address family the server saw for the stage
    notes: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # the server's event kinds about this VM, this boot
    address: str | None = None  # proxy runs: "192.0.2.150 from dnsmasq", the foreign server's lease
    outcome: str | None = None  # set when the VM is done: "booted", "timed out after …", "QEMU exited …"
    finished: float | None = None

    def mark(self, stage: Stage, at: float, detail: str = "", family: int | None = None) -> bool:
        """Stamp ``stage`` at wall time ``at`` unless already seen; True when new.

        A later server-side sighting still records the family (the console
        may have shown the stage first). Anything dated before this boot
        started (a server line read late, e.g. of a request made between two
        boots of one VM) is not part of it.
        """
        if self.started is None or at < self.started:
            return False
        if family is not None:
            self.via.setdefault(stage, family)
        if stage in self.seen:
            # The console may show a stage before the server's line about it is read; the server
            # names what was fetched (the boot program's file), the console only that it happened.
            if detail and self.detail.get(stage) == SERIAL_DETAIL:
                self.detail[stage] = detail
            return False
        self.seen[stage] = max(0.0, at - self.started)
        if detail == SERIAL_DETAIL and stage in self.begun:
            detail = self.begun[stage]
        if detail:
            self.detail[stage] = detail
        return True

    def began(self, stage: Stage, at: float, name: str) -> None:
        """The server began sending ``name``, a file of ``stage``: it names the stage if the console proves it."""
        if self.started is None or at < self.started or not name:
            return
        self.begun.setdefault(stage, name)
        if self.detail.get(stage) == SERIAL_DETAIL:
            self.detail[stage] = name

    def saw(self, kind: str, at: float) -> None:
        """Remember that the server reported event ``kind`` about this VM (during this boot)."""
        if self.started is not None and at >= self.started and len(self.events) < 1000:
            self.events.append(kind)

    def leased(self, ip: str, server: str, at: float) -> None:
        """A foreign DHCP server acknowledged ``ip`` for this VM (during this boot)."""
        if self.started is not None and at >= self.started:
            self.address = f"{ip} from {server}"

    def note(self, text: str) -> None:
        """Remember a problem seen on the way (an HTTP 404, a TFTP error …), at most a few."""
        if text not in self.notes:
            self.notes.append(text)
            del self.notes[:-5]

    @property
    def stages(self) -> list[Stage]:
        """The stages this VM is expected to pass (BIOS VMs run iPXE from ROM: no boot program)."""
        return [s for s in Stage if s is not Stage.BOOTPROG or self.expects_bootprog]

    @property
    def ok(self) -> bool:
        """True once the marker was seen."""
        return Stage.MARKER in self.seen

    @property
    def boot_seconds(self) -> float | None:
        """Seconds from QEMU start to the marker."""
        return self.seen.get(Stage.MARKER)

    def stopped_at(self) -> str:
        """Where a failed boot stopped, for people: 'stopped after kernel (12.3 s): no initrd fetched'."""
        if self.ok:
            return "booted"
        missing = next((s for s in self.stages if s not in self.seen), Stage.MARKER)
        reached = [s for s in self.stages if s in self.seen]
        text = NOT_SEEN[missing]
        if reached:
            last = reached[-1]
            text = f"stopped after {LABELS[last]} ({self.seen[last]:.1f} s): {text}"
        if self.outcome:
            text += f"; {self.outcome}"
        if self.notes:
            text += f" [{'; '.join(self.notes[-2:])}]"
        return text
