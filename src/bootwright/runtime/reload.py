"""Hot reload: SIGHUP or a changed config file re-applies the configuration atomically.

:class:`HotReload` owns the running inventory (:class:`Inventory`) and the
one-shot tracker, and is the only writer of ``runtime.config`` and
``runtime.policy`` after start-up. A reload reads and validates the file
(config model, templates, the whole inventory against it) off the event
loop with the one validation (:func:`bootwright.boot.validation.validate`, as
``bootwright check`` runs it); only when it has no errors are both attributes
replaced, in one step with no ``await`` in between. Leases, transfers and the
event history live elsewhere and are untouched. A file that fails validation
is refused: its errors are logged and recorded as a ``config.reload_failed``
event, and the running configuration stays. Stored hosts that do not fit the
new file never refuse it: they are skipped (logged once, shown by ``hosts
list``) until repaired or removed.

Services must read ``runtime.policy`` (and ``runtime.policy.config``) per
request instead of keeping a copy; a socket-level setting (interfaces,
ports) needs a restart, and a reload that changes one says so in the log.

Host changes made by another process (``bootwright hosts …``) bump a counter
in the store; it is polled with the file, so those apply within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bootwright.boot.oneshot import STATE_EVENTS, OneShot, hosts_with_oneshots
from bootwright.boot.policy import BootPolicy
from bootwright.boot.validation import Report, validate
from bootwright.config import Config, ConfigError, read_config
from bootwright.inventory.service import Inventory, InventoryError, Snapshot
from bootwright.model import EventKind, Host
from bootwright.runtime import Runtime
from bootwright.runtime.oneshots import OneShotTracker

log = logging.getLogger("bootwright.reload")

# Settings a running service cannot change without rebinding sockets.
RESTART_KEYS = ("server.interfaces", "dhcp4.port", "dhcp4.proxy_port", "dhcp4.proxy_listen", "tftp.port",
                "http.port", "http.tls_port", "http.tls_cert", "http.tls_key", "syslog.enabled", "syslog.port",
                "syslog.listen", "nfs.enabled", "nfs.backend", "ddns", "root", "state_dir")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of one reload: applied or refused, and what to tell the operator."""

    ok: bool
    reason: str
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is edited or replaced: mtime, size, inode (None when missing)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def restart_needed(old: Config, new: Config) -> list[str]:
    """Keys whose change only takes effect after a restart of ``bootwright serve``."""
    out = []
    for key in RESTART_KEYS:
        a, b = old, new
        for part in key.split("."):
            a, b = getattr(a, part), getattr(b, part)
        if a != b:
            out.append(key)
    if [(s.subnet, s.interface) for s in old.subnet4] != [(s.subnet, s.interface) for s in new.subnet4]:
        out.append("subnet4 (subnets/interfaces)")
    elif [s.mode for s in old.subnet4] != [s.mode for s in new.subnet4]:  # proxy links get their sockets at start
        out.append("subnet4 mode (full/proxy)")
    if [(s.prefix, s.interface) for s in old.subnet6] != [(s.prefix, s.interface) for s in new.subnet6]:
        out.append("subnet6 (prefixes/interfaces)")
    if bool(old.hook) != bool(new.hook):  # the hook service runs only with hooks (net/hooks.py); changes apply live
        out.append("hook (the first added or the last removed)")
    return out


def validate_file(path: Path, root: Path | None = None, state_dir: Path | None = None) -> tuple[Config, Report]:
    """Read ``path`` and validate it as ``bootwright check`` does; raise ``ConfigError`` with every error.

    The inventory is validated with the config when it is loaded into the
    policy (:meth:`Inventory.snapshot`); its problems skip hosts, never the file.
    """
    loaded = read_config(path)
    report = validate(loaded.config, text=loaded.text, root=root, state_dir=state_dir)
    if report.errors:
        raise ConfigError(loaded.source, list(report.errors))
    return loaded.config, report


class HotReload:
    """Keeps ``runtime.config``/``runtime.policy`` in step with the file, the inventory and one-shots."""

    def __init__(self, runtime: Runtime, interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.interval = interval
        self.clock = clock
        self.inventory = Inventory(runtime.store.host_store(), runtime.config, clock)
        self.tracker = OneShotTracker(self.inventory.asave_oneshot, self._on_oneshot, clock)
        self.base_hosts: list[Host] = []
        self.generation = -1
        self.last_error: str | None = None
        self.report = Report()  # the validation of the running config with the inventory
        self._warned: frozenset[str] = frozenset()
        self.reloads = 0
        self._signature = file_signature(runtime.config_path)
        self._requested: str | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._signal_loop: asyncio.AbstractEventLoop | None = None
        runtime.reloader = self

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Load the config's hosts into the store and build the policy from the stored inventory.

        Stored hosts that do not fit the configuration (e.g. a host added
        through the API uses a target the file no longer defines) are skipped
        with a warning; everyone else is served.
        """
        self.inventory.sync_config(self.runtime.config)
        self._apply_snapshot(self.inventory.snapshot())
        if self.tracker.on_event not in self.runtime.events.listeners:
            self.runtime.events.listeners.append(self.tracker.on_event)
        with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.request_reload, "SIGHUP")
            self._signal_loop = loop

    def stop(self) -> None:
        """Stop listening to events and SIGHUP."""
        with contextlib.suppress(ValueError):
            self.runtime.events.listeners.remove(self.tracker.on_event)
        if self._signal_loop is not None:
            with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
                self._signal_loop.remove_signal_handler(signal.SIGHUP)
            self._signal_loop = None

    async def aclose(self) -> None:
        """:meth:`stop`, then wait for one-shot state changes to be stored."""
        self.stop()
        await self.tracker.drain()

    def request_reload(self, reason: str = "SIGHUP") -> None:
        """Ask the watcher to reload soon (signal handlers call this)."""
        self._requested = reason
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Watch the file, the store's change counter and one-shot timeouts until cancelled."""
        self._wake = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.poll()
            except Exception:  # the watcher must survive anything one round does
                log.exception("hot reload: watcher round failed")

    async def poll(self) -> None:
        """One watcher round: a requested or file-triggered reload, store changes, timeouts."""
        reason, self._requested = self._requested, None
        signature = file_signature(self.runtime.config_path)
        if reason is None and signature != self._signature:
            await asyncio.sleep(0.2)  # let an editor finish writing
            if file_signature(self.runtime.config_path) != signature:
                return
            reason = "config file changed"
        if reason is not None:
            self._signature = signature
            await self.reload(reason)
        else:
            generation = await self.inventory.tables.atransact(lambda tx: tx.generation())
            if generation != self.generation:
                await self.refresh()
        self.tracker.tick()

    # ------------------------------------------------------------------ reloading

    async def reload(self, reason: str = "requested") -> ReloadResult:
        """Re-read the config file and apply it if it is valid; otherwise keep the running one."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            path = self.runtime.config_path
            notifier = self.runtime.notifier
            if notifier is not None:
                notifier.reloading()  # systemctl reload waits for READY=1 again (Type=notify-reload)
            try:
                result = await self._reload(path, reason)
            finally:
                if notifier is not None:
                    notifier.ready(self.runtime.serving_status())
            status = self.runtime.status
            if status is not None:
                try:
                    status.set_reload(time.time(), result.ok, reason, result.errors[0] if result.errors else None)
                except OSError as exc:  # status.json is for `bootwright status`: never a reason to fail a reload
                    log.warning("cannot update %s: %s", status.path, exc)
            return result

    async def _reload(self, path: Path, reason: str) -> ReloadResult:
        """Validate and apply the config file (the lock held)."""
        try:
            # The paths in use were checked by serve at start; root/state_dir changes need a restart.
            config, _ = await asyncio.to_thread(validate_file, path)
            await asyncio.to_thread(self.inventory.sync_config, config)
            snapshot = await asyncio.to_thread(self.inventory.snapshot)
        except (ConfigError, InventoryError) as exc:
            errors = tuple(exc.render().splitlines())
            self.last_error = "\n".join(errors)
            for line in errors:
                log.error("reload refused (%s): %s", reason, line)
            log.error("reload refused: still running the previous configuration of %s", path)
            self.runtime.events.emit(
                EventKind.CONFIG_RELOAD_FAILED, reason=reason, error=errors[0] if errors else None
            )
            return ReloadResult(False, reason, errors)
        old = self.runtime.config
        self.runtime.config = config  # the swap: config and policy together, no await in between
        self._apply_snapshot(snapshot)
        self.reloads += 1
        self.last_error = None
        changed = restart_needed(old, config)
        warnings = tuple(f"{key} changed: restart bootwright serve to apply it" for key in changed)
        for warning in warnings:
            log.warning("%s", warning)
        warnings += tuple(p.located(str(path)) for p in snapshot.report.warnings)
        log.info("configuration reloaded from %s (%s)", path, reason)
        self.runtime.events.emit(EventKind.CONFIG_RELOADED, reason=reason, hosts=len(snapshot.hosts))
        return ReloadResult(True, reason, (), warnings)

    async def refresh(self) -> None:
        """Re-read hosts and one-shots from the store (after a change by the API or another process)."""
        snapshot = await asyncio.to_thread(self.inventory.snapshot)
        if snapshot.generation != self.generation:
            log.info("inventory changed: %d hosts, %d active one-shot boots", len(snapshot.hosts),
                     sum(1 for s in snapshot.oneshots if s.active))
        self._apply_snapshot(snapshot)

    def _apply_snapshot(self, snapshot: Snapshot) -> None:
        self.report = snapshot.report
        lines = frozenset(p.located(str(self.runtime.config_path)) for p in snapshot.report.warnings)
        for line in sorted(lines - self._warned):  # each warning once, not on every inventory change
            log.warning("%s", line)
        self._warned = lines
        self.base_hosts = snapshot.hosts
        self.generation = snapshot.generation
        self.tracker.reset(self.runtime.config, snapshot.hosts, snapshot.oneshots)
        self.apply()

    def apply(self) -> None:
        """Rebuild ``runtime.policy``: stored hosts, with active one-shot targets in place of their own."""
        hosts = hosts_with_oneshots(self.base_hosts, self.tracker.active_targets())
        self.runtime.policy = BootPolicy(self.runtime.config, hosts=hosts)

    def _on_oneshot(self, old: OneShot, new: OneShot) -> None:
        if old.state != new.state:
            host = next((h for h in self.base_hosts if h.name == new.host), None)
            mac = host.macs[0] if host is not None and host.macs else None
            self.runtime.events.emit(STATE_EVENTS[new.state], mac=mac, host=new.host, target=new.target,
                                     reason=new.reason)
        if old.active != new.active:
            self.apply()

