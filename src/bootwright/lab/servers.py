"""The boot servers the lab runs inside its namespace.

:class:`BootwrightStack` runs ``bootwright serve --log-json``;
:class:`ReferenceStack` runs dnsmasq and :mod:`bootwright.lab.refhttp`. Both
feed every line of output to :mod:`bootwright.lab.sources` and hand the
observations to a callback, keep a log file, and report which of their
services actually answer (a socket bound on the service's port, or a
``<service> ready`` log line), so a run can tell "not implemented yet" apart
from "broken".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab.netns import ADDRESS4, ADDRESS6, Namespace
from bootwright.lab.proc import LabError, Managed, run
from bootwright.lab.reference import dnsmasq_config
from bootwright.lab.sources import DnsmasqParser, Observation, parse_event_line

Observer = Callable[[Observation], None]
SERVER_IPS = frozenset({ADDRESS4, ADDRESS6})
NO_SERVICE = "no service is enabled or implemented"


class ServeUnavailable(LabError):
    """``bootwright serve`` runs no service (yet) for what the lab needs."""


@dataclass(frozen=True)
class Service:
    """A protocol service and the socket that shows it is up."""

    name: str  # dhcp4, dhcp6, tftp, http (as in bootwright's "<name> ready" log line)
    title: str
    proto: str  # udp, tcp, or raw (then port is the IP protocol number: 58 for ICMPv6)
    port: int


class Stack:
    """Base: processes, their readers, the log file and the readiness check."""

    label = "stack"

    def __init__(self, ns: Namespace, work: Path, observe: Observer):
        self.ns = ns
        self.work = work
        self.observe = observe
        self.procs: list[Managed] = []
        self.readers: list[asyncio.Task[None]] = []
        self.tail: list[str] = []
        self.ready_lines: set[str] = set()
        self.ready_messages: dict[str, str] = {}  # service → its "<service> ready: …" line (what it bound, how)
        self.log = (work / f"{self.label}.log").open("a", buffering=1)
        self.services: list[Service] = []

    async def start(self) -> None:
        """Start the processes (subclasses)."""
        raise NotImplementedError

    def parse(self, source: str, line: str, now: float) -> Observation | None:
        """Turn one output line into an observation (subclasses)."""
        return parse_event_line(line, now, SERVER_IPS)

    async def _spawn(self, name: str, cmd: list[str]) -> Managed:
        proc = await Managed.start(
            name, [*self.ns.exec_prefix(), *cmd], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        self.procs.append(proc)
        assert proc.proc.stdout is not None
        self.readers.append(asyncio.create_task(self._read(name, proc.proc.stdout)))
        return proc

    async def _read(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\n")
            now = time.time()
            self.log.write(f"{now:.3f} {name}: {line}\n")
            self.tail = [*self.tail[-39:], line]
            if m := re.search(r"\b(\w+) ready\b", line):
                self.ready_lines.add(m.group(1).lower())
                self.ready_messages.setdefault(m.group(1).lower(), _message(line))
            obs = self.parse(name, line, now)
            if obs is not None:
                self.observe(obs)

    def listening(self) -> set[tuple[str, int]]:
        """(proto, port) of every listening socket in the namespace (raw: protocol number)."""
        found: set[tuple[str, int]] = set()
        for proto, flag in (("udp", "-lnu"), ("tcp", "-lnt"), ("raw", "-lnw")):
            out = run([*self.ns.exec_prefix(), "ss", "-H", flag], timeout=5, check=False).stdout.decode()
            for line in out.splitlines():
                fields = line.split()
                if len(fields) >= 4 and (port := fields[3].rsplit(":", 1)[-1]).isdigit():
                    found.add((proto, int(port)))
        return found

    async def wait_ready(self, timeout: float = 20.0) -> list[Service]:
        """Wait (bounded) until every service answers; returns the ones that never did.

        Raises :class:`LabError` (or :class:`ServeUnavailable`) if a process exits.
        """
        deadline = time.monotonic() + timeout
        missing = list(self.services)
        while True:
            for proc in self.procs:
                if not proc.running:
                    await asyncio.sleep(0.3)  # let the reader catch the last lines
                    self._died(proc)
            bound = self.listening()
            missing = [s for s in self.services if (s.proto, s.port) not in bound and s.name not in self.ready_lines]
            if not missing or time.monotonic() > deadline:
                return missing
            await asyncio.sleep(0.3)

    def _died(self, proc: Managed) -> None:
        tail = "\n  ".join(self.tail[-8:]) or "(no output)"
        raise LabError(f"{proc.name} exited with code {proc.proc.returncode}:\n  {tail}")

    def check_alive(self) -> None:
        """Raise if a server process has exited during the run."""
        for proc in self.procs:
            if not proc.running:
                self._died(proc)

    async def stop(self) -> None:
        """Stop every process (bounded), then the readers; close the log."""
        for proc in reversed(self.procs):
            await proc.stop()
        for task in self.readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.log.close()


class BootwrightStack(Stack):
    """``bootwright serve --config … --root … --state-dir … --log-json`` in the namespace."""

    label = "bootwright"

    def __init__(self, ns: Namespace, work: Path, observe: Observer, config: Path, root: Path, log_level: str = "info"):
        super().__init__(ns, work, observe)
        self.config = config
        self.root = root
        self.log_level = log_level
        self.services = services_of(config)

    async def start(self) -> None:
        """Start the server (readiness is :meth:`wait_ready`)."""
        state = self.work / "state"
        state.mkdir(mode=0o700, exist_ok=True)  # as bootwright creates its own: state.db and the API token
        cmd = [
            sys.executable, "-m", "bootwright.cli", "serve",
            "--config", str(self.config), "--root", str(self.root), "--state-dir", str(state), "--log-json",
            "--log-level", self.log_level,
        ]  # fmt: skip
        await self._spawn("bootwright serve", cmd)

    def _died(self, proc: Managed) -> None:
        if any(NO_SERVICE in line for line in self.tail):
            raise ServeUnavailable(f"bootwright serve reports: {NO_SERVICE} for this configuration")
        super()._died(proc)


class ReferenceStack(Stack):
    """dnsmasq (DHCPv4, DHCPv6, RA, TFTP) and the plain HTTP server, as the seeds would run them."""

    label = "reference"

    def __init__(self, ns: Namespace, work: Path, observe: Observer, root: Path):
        super().__init__(ns, work, observe)
        self.root = root
        self.dnsmasq = DnsmasqParser()
        self.services = [
            Service("dhcp4", "DHCPv4", "udp", 67),
            Service("dhcp6", "DHCPv6", "udp", 547),
            RA_SERVICE,
            Service("tftp", "TFTP", "udp", 69),
            Service("http", "HTTP", "tcp", 80),
        ]

    async def start(self) -> None:
        """Write dnsmasq's config, start dnsmasq and the HTTP server."""
        from bootwright.lab import tools

        conf = self.work / "dnsmasq.conf"
        conf.write_text(dnsmasq_config(self.root, self.work))
        await self._spawn("dnsmasq", [str(tools.find("dnsmasq")), f"--conf-file={conf}"])
        await self._spawn("http", [sys.executable, "-m", "bootwright.lab.refhttp", "--root", str(self.root)])

    def parse(self, source: str, line: str, now: float) -> Observation | None:
        """dnsmasq lines through its parser, the HTTP server's JSON lines as events."""
        if source == "dnsmasq":
            return self.dnsmasq.feed(line, now)
        return parse_event_line(line, now, SERVER_IPS)


def _message(line: str) -> str:
    """The ``msg`` of a JSON log line, else the line itself."""
    start = line.find("{")
    with contextlib.suppress(ValueError):
        obj = json.loads(line[start:]) if start >= 0 else None
        if isinstance(obj, dict) and isinstance(obj.get("msg"), str):
            return str(obj["msg"])
    return line


RA_SERVICE = Service("ra", "router advertisements", "raw", 58)


def services_of(config_path: Path) -> list[Service]:
    """The services a bootwright config enables, with the sockets that show them up."""
    from bootwright.config import load_config

    cfg = load_config(config_path)
    services: list[Service] = []
    if cfg.dhcp4.enabled and cfg.subnet4:
        if any(s.mode == "proxy" for s in cfg.subnet4):
            # Beside a foreign server, UDP 67 may be that server's socket (bootwright then receives
            # through a packet socket): the PXE boot server port is bootwright's alone (PXE 2.1 §2.2.3).
            services.append(Service("dhcp4", "DHCPv4 proxy", "udp", cfg.dhcp4.proxy_port))
        else:
            services.append(Service("dhcp4", "DHCPv4", "udp", cfg.dhcp4.port))
    if cfg.dhcp6.enabled and cfg.subnet6:
        services.append(Service("dhcp6", "DHCPv6", "udp", 547))
    if any(s.ra is not None and s.ra.enabled for s in cfg.subnet6):
        services.append(RA_SERVICE)
    if cfg.tftp.enabled:
        services.append(Service("tftp", "TFTP", "udp", cfg.tftp.port))
    if cfg.http.enabled:
        services.append(Service("http", "HTTP", "tcp", cfg.http.port))
    if cfg.nfs.enabled:
        services.append(Service("nfs", "NFS", "tcp", 2049))  # NFS-Ganesha or the kernel's nfsd (net/nfs.py)
    return services
