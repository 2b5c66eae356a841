"""Turn what the lab can read into observations of boot stages.

Three kinds of source, all tolerant of lines they do not understand:

* event lines of ``bootwright serve --log-json`` (and of the reference HTTP
  server, which writes the same shape): a JSON object, possibly after a log
  prefix, with ``at``, ``event``, ``mac``, ``host`` and details;
* dnsmasq's ``--log-dhcp --log-facility=-`` lines (the reference stack);
* a VM's serial console (OVMF, iPXE when it prints there, Linux, the marker).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from bootwright.lab.timeline import (
    BEGUN_EVENTS,
    EVENT_STAGES,
    PROXY_DETAIL,
    PROXY_EVENTS,
    SERIAL_DETAIL,
    Stage,
    classify_path,
)

ADDRESS_KEYS = ("client", "peer", "remote", "src", "address", "addr", "ip", "yiaddr", "ciaddr", "ia_na", "lease")
PATH_KEYS = ("path", "file", "filename", "uri", "url", "target", "bootfile")
MAC_RE = re.compile(r"\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b", re.I)


@dataclass(frozen=True)
class Observation:
    """One thing seen: a stage reached (or a problem) by the client with this MAC or address."""

    at: float
    stage: Stage | None
    mac: str | None = None
    ip: str | None = None
    detail: str = ""
    note: str | None = None
    learned: tuple[tuple[str, str], ...] = ()  # (ip, mac) pairs this line proves
    kind: str | None = None  # the server's event kind (bootwright's --log-json lines)
    leased_by: str | None = None  # a foreign DHCP server that acknowledged ``ip`` for ``mac``
    begun: bool = False  # the server began sending the stage's file (timeline.BEGUN_EVENTS): names, never stamps


def clean_ip(value: Any) -> str | None:
    """An IP address from ``1.2.3.4``, ``1.2.3.4:5``, ``[2001:db8::5]:80``, ``2001:db8::5``; else None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0].split("/", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)  # a dual-stack socket's view of an IPv4 client
    return str(addr)


def parse_event_line(line: str, now: float, server_ips: frozenset[str] = frozenset()) -> Observation | None:
    """An observation from one ``--log-json`` event line, or None when the line is something else."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        obj = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return None
    kind: str = obj["event"]
    mac = obj.get("mac")
    mac = mac.lower() if isinstance(mac, str) and MAC_RE.fullmatch(mac) else None
    ips = [ip for k in ADDRESS_KEYS if (ip := clean_ip(obj.get(k))) and ip not in server_ips]
    ip = ips[0] if ips else None
    learned = tuple((i, mac) for i in ips) if mac else ()
    try:
        at = float(obj.get("at", now))
    except (TypeError, ValueError):
        at = now
    if kind not in EVENT_STAGES:
        return Observation(at, None, mac, ip, learned=learned, kind=kind) if learned or mac else None
    stage = EVENT_STAGES[kind]
    path = next((str(obj[k]) for k in PATH_KEYS if isinstance(obj.get(k), str)), "")
    if stage is None:
        stage = classify_path(path) if path else None
    status = obj.get("status")
    failed = (isinstance(status, int) and status >= 400) or bool(obj.get("error"))
    if failed:
        problem = obj.get("error") or f"status {status}"
        return Observation(at, None, mac, ip, note=f"{kind} {path}: {problem}".strip(), learned=learned, kind=kind)
    name = path.split("?", 1)[0].lstrip("/") if path else kind
    if kind in PROXY_EVENTS:
        detail = f"{kind} {name}, {PROXY_DETAIL}" if path else f"{kind}, {PROXY_DETAIL}"
    else:
        detail = f"{kind} {ip or ''}".strip() if stage is Stage.OFFER else name
    return Observation(at, stage, mac, ip, detail=detail, learned=learned, kind=kind, begun=kind in BEGUN_EVENTS)


class DnsmasqParser:
    """dnsmasq ``--log-dhcp`` lines → observations (remembers DHCPv6 transaction → MAC)."""

    _V4 = re.compile(r"DHCP(OFFER|ACK)\([^)]*\) (\S+) ([0-9a-f:]{17})", re.I)
    _V6_MAC = re.compile(r"(\d+) client MAC address: ([0-9a-f:]{17})", re.I)
    _V6 = re.compile(r"(\d+) DHCP(ADVERTISE|REPLY)\([^)]*\) (?:(\S+:\S*) )?(\S+)", re.I)
    _TFTP_SENT = re.compile(r"dnsmasq-tftp.*\bsent (\S+) to (\S+)")
    _TFTP_FAIL = re.compile(r"dnsmasq-tftp.*\b(?:file (\S+) not found(?: for (\S+))?|failed sending (\S+) to (\S+))")

    def __init__(self) -> None:
        self.xid_mac: dict[str, str] = {}

    def feed(self, line: str, now: float) -> Observation | None:
        """The observation one log line carries, if any."""
        if m := self._V4.search(line):
            ip, mac = m.group(2), m.group(3).lower()
            return Observation(now, Stage.OFFER, mac, ip, f"DHCP{m.group(1).upper()} {ip}", learned=((ip, mac),))
        if m := self._V6_MAC.search(line):
            self.xid_mac[m.group(1)] = m.group(2).lower()
            return None
        if m := self._V6.search(line):
            mac = self.xid_mac.get(m.group(1))
            ip = clean_ip(m.group(3) or "")
            learned = ((ip, mac),) if ip and mac else ()
            return Observation(
                now, Stage.OFFER, mac, ip, f"DHCP{m.group(2).upper()} {ip or ''}".strip(), learned=learned
            )
        if m := self._TFTP_SENT.search(line):
            path = m.group(1)
            return Observation(now, classify_path(path), None, clean_ip(m.group(2)), path.rsplit("/", 1)[-1])
        if m := self._TFTP_FAIL.search(line):
            path = m.group(1) or m.group(3)
            ip = clean_ip(m.group(2) or m.group(4) or "")
            return Observation(now, None, None, ip, note=f"tftp {path.rsplit('/', 1)[-1]}: not sent")
        return None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
# iPXE: "http://192.0.2.1/boot.ipxe... ok", "vmlinuz... 35%     98%     ok"
_IPXE_FETCH = re.compile(r"(\S+?)\.{3}(?:\s+\d+%)*\s*ok\b")
SERIAL_STAGES: tuple[tuple[re.Pattern[str], Stage], ...] = (
    (re.compile(r"Station IP(?:v6)? address is|^net\d+: [0-9a-f.:]+/\S+", re.I), Stage.OFFER),  # OVMF, iPXE
    (re.compile(r"NBP file downloaded successfully|Downloading\.\.\.\s*100%"), Stage.BOOTPROG),  # OVMF PXE, HTTP
    (re.compile(r"Linux version \d"), Stage.KERNEL),
    (re.compile(r"Trying to unpack rootfs image as initramfs|Unpacking initramfs"), Stage.INITRD),
)
# The firmware gave up: nothing more will happen on this VM. OVMF with Secure Boot has no shell to fall
# into ("No bootable option…"); GRUB without a config, or whose entries failed, waits at its prompt.
DEAD_ENDS = re.compile(
    r"UEFI Interactive Shell|No bootable device|Kernel panic - not syncing|No bootable option or device was found"
    r"|Minimal BASH-like line editing is supported|Failed to boot both default and fallback entries"
)
# OVMF refusing a boot option's image: Secure Boot found no key for its signature (UEFI 2.x §32.5).
REFUSED = re.compile(r'failed to (?:load|start) (Boot\w+ "[^"]*").*: (Access Denied|Security Violation)')
SERIAL_PROBLEMS = re.compile(
    r"(PXE-E\w+:.*|Could not retrieve .*|.*\(https?://ipxe\.org/[0-9a-f]+\)|Kernel panic.*|No bootable device.*)"
)


class SerialParser:
    """A VM's serial console → (stage, detail) and problem notes; keeps partial lines."""

    def __init__(self, marker: str):
        self.marker = marker
        self._partial = ""
        self.dead_end: str | None = None  # the console line showing the firmware gave up

    def feed(self, data: str) -> tuple[list[tuple[Stage, str]], list[str]]:
        """Parse newly read console text; returns stages reached and problem lines."""
        text = _ANSI.sub("", self._partial + data).replace("\r", "\n")
        lines = text.split("\n")
        self._partial = lines.pop()
        if len(self._partial) > 4096:
            self._partial = self._partial[-4096:]
        stages: list[tuple[Stage, str]] = []
        problems: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            if self.marker in line:
                stages.append((Stage.MARKER, SERIAL_DETAIL))
                continue
            if fetched := _IPXE_FETCH.search(line):
                stage = classify_path(fetched.group(1))
                if stage is not None:
                    stages.append((stage, fetched.group(1).rsplit("/", 1)[-1]))
                continue
            if self.dead_end is None and (dead := DEAD_ENDS.search(line)):
                self.dead_end = dead.group(0)
            for pattern, stage in SERIAL_STAGES:
                if pattern.search(line):
                    stages.append((stage, SERIAL_DETAIL))
                    break
            else:
                if m := REFUSED.search(line):
                    problems.append(f"{m.group(1)} refused: {m.group(2)}")
                elif m := SERIAL_PROBLEMS.search(line):
                    problems.append(m.group(1).strip()[:120])
        return stages, problems
