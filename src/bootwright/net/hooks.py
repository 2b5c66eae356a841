"""Lease and boot-stage hooks: run a command, or POST a URL, on matching events (docs/hooks.md).

Rule: nothing on a reply path waits for a hook. :meth:`HookService.observe` is
an :class:`~bootwright.runtime.events.EventSink` listener, called on the path
of the packet or request that caused the event: it finds the hooks of the
event's kind in a table filled once per kind (an event no hook takes costs one
dictionary look-up), and for a matching event appends a job to a bounded queue
and returns. The queue never waits: a hook with ``max_pending`` runs already
queued or running drops the new one, and counts it.

Jobs run in :data:`CONCURRENCY` lanes, one run at a time each. A machine's
events (by MAC, else host name) always take the same lane, so a hook sees one
machine's events in the order they happened — the ACK before the RELEASE, as
dnsmasq's single script process does — while different machines' run side by
side.

* A command (dnsmasq ``--dhcp-script``, Kea ``run_script``) is started with
  :func:`asyncio.create_subprocess_exec` — no shell — in a process group of its
  own, with the event as JSON on stdin and ``BOOTWRIGHT_*`` variables in its
  environment (:func:`command_environment`). Exit status 0 is success. After
  ``timeout`` seconds the whole group is killed (SIGKILL). The last
  :data:`OUTPUT_KEPT` octets of its output (stdout and stderr) go to the log.
* A URL gets the same JSON POSTed (aiohttp, redirects not followed); a 2xx
  answer is success, anything else, a connection error or ``timeout`` seconds
  without an answer is not.

Each run ends ``ok``, ``failed`` or ``timeout``, each refused job ``dropped``:
counted for ``/metrics`` (:meth:`HookService.reading`). Failures are logged
as warnings, at most one line per hook per :data:`LOG_EVERY` seconds (with how
many were left out); successes at debug level.

Hot reload: the hooks follow ``runtime.config`` — the table is rebuilt at the
first event after the config object changed; runs already queued finish as
the hook they were queued for. The service runs only when the configuration
has hooks: adding the first ``[[hook]]`` needs a restart (the reload says so).

Cost (measured on the packet path, ``observe``): ≈ 0.1 µs for an event no hook
takes, 1–2 µs to queue one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import signal
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from bootwright import __version__
from bootwright.boot.policy import BootPolicy
from bootwright.config import Config, Hook, event_patterns
from bootwright.model import Event
from bootwright.runtime import Runtime
from bootwright.runtime.metrics import Reading

__all__ = [
    "CONCURRENCY",
    "OUTCOMES",
    "HookService",
    "command_environment",
    "create_service",
    "event_document",
]

log = logging.getLogger("bootwright.hooks")

CONCURRENCY: Final = 4
"""Hook runs at once (lanes), over every hook."""
LOG_EVERY: Final = 60.0
"""Seconds between two warnings about the same hook."""
OUTPUT_KEPT: Final = 2000
"""Octets of a command's output (or a URL's answer) kept for the log line: the last ones."""
OUTPUT_GRACE: Final = 1.0
"""Seconds the output is still read after the command exited (a background child may hold the pipe)."""
KILL_WAIT: Final = 5.0
"""Seconds to wait for a killed command to be gone."""
OUTCOMES: Final = ("ok", "failed", "timeout", "dropped")
"""How a job ends: ``dropped`` was never run (the hook's ``max_pending`` was reached)."""
_ROUTES_MAX = 4096  # event kinds remembered in the table (kinds are an enum: a bound against strange callers)
# The service manager's variables are the server's own, never a hook's (sd_notify(3), sd_listen_fds(3)).
_ENV_WITHHELD = frozenset({"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                           "LISTEN_FDNAMES"})
# The event's client address: DHCPv4 reply (yiaddr), DHCPv6 reply and DHCPv4 release/decline (address),
# DHCPINFORM (ciaddr), TFTP/HTTP client (client). Not ``source``: the RA events' is the router's own.
_IP_KEYS = ("yiaddr", "address", "ciaddr", "client")
_ENV_NAME = re.compile(r"[^A-Z0-9_]")


def event_ip(event: Event) -> str | None:
    """The client address an event names (the first of :data:`_IP_KEYS` it has), or None."""
    detail = event.detail
    for key in _IP_KEYS:
        value = detail.get(key)
        if value:
            return str(value)
    return None


def event_document(event: Event) -> dict[str, Any]:
    """The JSON a hook gets (a command on stdin, a URL as the POST body): docs/hooks.md."""
    return {
        "event": str(event.kind),
        "at": event.at,
        "mac": event.mac,
        "host": event.host,
        "ip": event_ip(event),
        "detail": event.detail,
    }


def _env_text(value: object) -> str:
    """A value as an environment string: no NUL, nothing that cannot be encoded (values come from the network)."""
    text = f"{value:.6f}" if isinstance(value, float) else str(value)
    return text.replace("\0", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def command_environment(event: Event, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the server's environment, less the service manager's variables) and the event's variables.

    ``BOOTWRIGHT_EVENT``, ``_TIME`` (seconds since the epoch), ``_MAC``, ``_HOST``, ``_IP`` and
    ``BOOTWRIGHT_DETAIL_<KEY>`` per detail value; a variable whose value is unknown is unset
    (dnsmasq's ``DNSMASQ_*`` convention).
    """
    env = {k: v for k, v in base.items() if k not in _ENV_WITHHELD and not k.startswith("BOOTWRIGHT_DETAIL_")}
    own: dict[str, object] = {
        "BOOTWRIGHT_EVENT": str(event.kind),
        "BOOTWRIGHT_TIME": float(event.at),
        "BOOTWRIGHT_MAC": event.mac,
        "BOOTWRIGHT_HOST": event.host,
        "BOOTWRIGHT_IP": event_ip(event),
    }
    for key, detail in event.detail.items():
        own["BOOTWRIGHT_DETAIL_" + _ENV_NAME.sub("_", str(key).upper())] = detail
    for name, value in own.items():
        if value is None or value == "":
            env.pop(name, None)
        else:
            env[name] = _env_text(value)
    return env


def _describe(hook: Hook) -> str:
    """The hook for a log line: its program, or its URL without credentials, query or fragment."""
    if hook.command:
        return hook.command[0]
    parts = urlsplit(hook.url or "")
    return f"POST {parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _tail(data: bytes | bytearray) -> str:
    """The last :data:`OUTPUT_KEPT` octets as one line of text."""
    text = data[-OUTPUT_KEPT:].decode("utf-8", "replace")
    return " ".join(text.split())


class _Hook:
    """One ``[[hook]]`` as it runs: what it takes, its share of the queue, its log budget."""

    __slots__ = ("config", "exact", "groups", "hosts", "label", "logged_at", "pending", "prefixes", "unlogged")

    def __init__(self, index: int, config: Hook) -> None:
        self.config = config
        self.label = f"hook[{index}] ({_describe(config)})"
        self.exact, self.prefixes = event_patterns(config.events)
        self.hosts = frozenset(config.hosts)
        self.groups = frozenset(config.groups)
        self.pending = 0  # runs queued or running
        self.logged_at = -math.inf  # monotonic time of the last warning
        self.unlogged = 0  # failures since then, not logged

    def takes_kind(self, kind: str) -> bool:
        """Whether ``events`` names ``kind``, exactly or by a prefix (``config.event_patterns``)."""
        return kind in self.exact or kind.startswith(self.prefixes)

    def takes_host(self, event: Event, policy: BootPolicy) -> bool:
        """Whether the ``hosts``/``groups`` filter lets the event through (no filter: every event)."""
        if not self.hosts and not self.groups:
            return True
        name = event.host
        if name is None:
            return False
        if name in self.hosts:
            return True
        host = policy.hosts.by_name.get(name) if self.groups else None
        return host is not None and not self.groups.isdisjoint(host.groups)


class _Lane:
    """Jobs run one after the other; a machine's events always come to the same lane."""

    __slots__ = ("jobs", "wake")

    def __init__(self) -> None:
        self.jobs: deque[tuple[_Hook, Event]] = deque()
        self.wake = asyncio.Event()


class HookService:
    """Runs the configured hooks for the events they take (see the module docstring)."""

    name = "hooks"

    def __init__(self, runtime: Runtime, concurrency: int = CONCURRENCY) -> None:
        self.runtime = runtime
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.pending = 0  # jobs queued or running, every hook
        self.running = 0
        self.errors = 0  # events observe() failed on (logged once)
        self._lanes = [_Lane() for _ in range(concurrency)]
        self._config: Config | None = None
        self._hooks: list[_Hook] = []
        self._routes: dict[str, tuple[_Hook, ...]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._base_env: dict[str, str] = {}
        self.started = asyncio.Event()

    # ------------------------------------------------------------------ the packet path

    def observe(self, event: Event) -> None:
        """EventSink listener: queue the event for every hook that takes it; never waits, never raises."""
        try:
            if self.runtime.config is not self._config:
                self._rebuild()
            hooks = self._routes.get(event.kind)
            if hooks is None:
                hooks = self._route(event.kind)
            if hooks:
                self._enqueue(hooks, event)
        except Exception:  # a bug here must never cost a reply: emit() runs on the services' paths
            self.errors += 1
            if self.errors == 1:
                log.exception("hooks: event %s not handed to the hooks (further failures are counted only)",
                              event.kind)

    def _rebuild(self) -> None:
        config = self.runtime.config
        if self._config is None or config.hook != self._config.hook:
            self._hooks = [_Hook(i, h) for i, h in enumerate(config.hook)]
            self._routes = {}
        self._config = config

    def _route(self, kind: str) -> tuple[_Hook, ...]:
        hooks = tuple(h for h in self._hooks if h.takes_kind(kind))
        if len(self._routes) < _ROUTES_MAX:
            self._routes[kind] = hooks
        return hooks

    def _enqueue(self, hooks: tuple[_Hook, ...], event: Event) -> None:
        policy = self.runtime.policy
        lane = self._lanes[hash(event.mac or event.host) % len(self._lanes)]
        for hook in hooks:
            if not hook.takes_host(event, policy):
                continue
            if hook.pending >= hook.config.max_pending:
                self.counts["dropped"] += 1
                self._report(hook, event, "dropped", f"max_pending ({hook.config.max_pending}) runs are queued")
                continue
            hook.pending += 1
            self.pending += 1
            lane.jobs.append((hook, event))
            lane.wake.set()

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Start the lanes and listen to the events until cancelled; then kill what still runs."""
        runtime = self.runtime
        self._rebuild()
        self._base_env = dict(os.environ)
        workers = [asyncio.create_task(self._work(lane), name=f"hooks-{i}") for i, lane in enumerate(self._lanes)]
        runtime.events.listeners.append(self.observe)
        runtime.metrics.add_source(self.name, self.reading)
        try:
            commands = sum(1 for h in self._hooks if h.config.command)
            runtime.mark_ready(self.name, f"{len(self._hooks)} configured ({commands} running a command, "
                               f"{len(self._hooks) - commands} posting to a URL), {len(self._lanes)} runs at once")
            self.started.set()
            await asyncio.Future()  # serve until cancelled
        finally:
            with contextlib.suppress(ValueError):
                runtime.events.listeners.remove(self.observe)
            runtime.metrics.remove_source(self.name, self.reading)
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            left = sum(len(lane.jobs) for lane in self._lanes)
            if left:
                log.info("hooks: %d queued runs not started: stopping", left)
            if self._session is not None:
                await self._session.close()

    def reading(self, now: float) -> Reading:
        """Runs by outcome and runs pending, for ``/metrics``."""
        return Reading(counters=dict(self.counts), gauges={"pending": self.pending, "running": self.running})

    async def _work(self, lane: _Lane) -> None:
        jobs = lane.jobs
        while True:
            if not jobs:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            hook, event = jobs.popleft()
            self.running += 1
            try:
                outcome, note = await self._run(hook, event)
            except Exception as exc:  # a bug here must not end the lane
                log.exception("%s: %s not run", hook.label, event.kind)
                outcome, note = "failed", f"internal error: {exc}"
            finally:
                self.running -= 1
                hook.pending -= 1
                self.pending -= 1
            self.counts[outcome] += 1
            if outcome == "ok":
                log.debug("%s: %s mac=%s ok%s", hook.label, event.kind, event.mac, f": {note}" if note else "")
            else:
                self._report(hook, event, outcome, note)

    async def _run(self, hook: _Hook, event: Event) -> tuple[str, str]:
        body = json.dumps(event_document(event), default=str).encode()
        if hook.config.command:
            return await self._command(hook.config, event, body)
        return await self._post(hook.config, body)

    async def _command(self, hook: Hook, event: Event, body: bytes) -> tuple[str, str]:
        argv = hook.command or []
        # Its output goes to a pipe of our own, not an asyncio one: the run ends when the command exits,
        # whoever else (a background child) still holds the pipe.
        out_fd, in_fd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=in_fd, stderr=in_fd,
                env=command_environment(event, self._base_env),
                start_new_session=True,  # its own process group: killed whole on timeout
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            os.close(out_fd)
            return "failed", f"cannot run {argv[0]}: {getattr(exc, 'strerror', None) or exc}"
        finally:
            os.close(in_fd)
        assert proc.stdin is not None
        output = _Output(out_fd)
        code: int | None = None
        try:
            async with asyncio.timeout(hook.timeout):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it need not read its stdin
                    proc.stdin.write(body)
                    await proc.stdin.drain()
                proc.stdin.close()
                code = await proc.wait()
            await output.finished(OUTPUT_GRACE)
        except TimeoutError:
            pass
        finally:
            if proc.returncode is None:  # timed out, or cancelled (the server stops)
                _kill_group(proc.pid)
                proc.stdin.close()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KILL_WAIT):
                        await proc.wait()
            output.close()
        shown = f"; output: {output.text()}" if output.data else ""
        if code is None:
            return "timeout", f"killed after {hook.timeout:g} s{shown}"
        if code == 0:
            return "ok", output.text()
        status = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return "failed", f"{status}{shown}"

    async def _post(self, hook: Hook, body: bytes) -> tuple[str, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": f"bootwright/{__version__}"})
        headers = {"Content-Type": "application/json", **hook.headers}
        try:
            async with asyncio.timeout(hook.timeout):
                async with self._session.post(hook.url or "", data=body, headers=headers,
                                              allow_redirects=False) as response:
                    answer = await response.content.read(OUTPUT_KEPT)
        except TimeoutError:
            return "timeout", f"no answer in {hook.timeout:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return "failed", str(exc) or type(exc).__name__
        if 200 <= response.status < 300:
            return "ok", f"HTTP {response.status}"
        shown = _tail(answer)
        return "failed", f"HTTP {response.status} {response.reason or ''}".rstrip() + (f": {shown}" if shown else "")

    def _report(self, hook: _Hook, event: Event, outcome: str, note: str) -> None:
        """A failure as a warning: at most one line per hook per :data:`LOG_EVERY` seconds."""
        now = time.monotonic()
        if now - hook.logged_at < LOG_EVERY:
            hook.unlogged += 1
            return
        more = f" ({hook.unlogged} more not shown in the last {LOG_EVERY:.0f} s)" if hook.unlogged else ""
        hook.logged_at, hook.unlogged = now, 0
        who = f" mac={event.mac}" if event.mac else ""
        log.warning("%s: %s %s%s: %s%s", hook.label, outcome, event.kind, who, note, more)


class _Output:
    """A command's stdout and stderr, read in the loop from our end of its pipe; the last octets kept."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self.loop = asyncio.get_running_loop()
        self.eof: asyncio.Future[None] = self.loop.create_future()
        os.set_blocking(fd, False)
        self.loop.add_reader(fd, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.loop.remove_reader(self.fd)
            if not self.eof.done():
                self.eof.set_result(None)
            return
        self.data += chunk
        if len(self.data) > OUTPUT_KEPT:
            del self.data[:-OUTPUT_KEPT]

    async def finished(self, grace: float) -> None:
        """Until the end of the output, or ``grace`` seconds (a background child may keep the pipe open)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.eof), grace)

    def text(self) -> str:
        """What was kept, as one line of text."""
        return _tail(self.data)

    def close(self) -> None:
        """Stop reading and close our end of the pipe."""
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


def _kill_group(pid: int) -> None:
    """SIGKILL the process group a command leads (its children with it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def create_service(runtime: Runtime) -> HookService | None:
    """Service factory for ``app.SERVICE_FACTORIES``: ``None`` without ``[[hook]]`` entries."""
    if not runtime.config.hook:
        return None
    return HookService(runtime)
