"""BMC operations for the event loop: worker threads, a concurrency limit, time limits, events.

Every operation opens its own session (pyghmi and sushy block), runs in a
bounded thread pool so no BMC can hold up DHCP or TFTP, and is abandoned
after ``timeout`` seconds with a :class:`~bootwright.bmc.base.BmcUnreachable`
naming the BMC (the library's own timeouts then end the thread). Each step
that happened — or failed — is an event keyed by the host's first MAC
(``bmc.bootdev``, ``bmc.power``, ``bmc.error``), so ``bootwright events HOST``
shows the button press before the DHCP discover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bootwright.bmc.base import BmcError, BmcUnreachable, Driver, NextBoot, PowerAction, PowerState
from bootwright.bmc.credentials import password_of
from bootwright.bmc.drivers import DRIVERS
from bootwright.model import Bmc, EventKind, Host
from bootwright.runtime.events import EventSink

log = logging.getLogger("bootwright.bmc")

T = TypeVar("T")

DEFAULT_CONCURRENCY = 8  # BMC sessions at once (per process)
DEFAULT_TIMEOUT = 60.0  # seconds one BMC operation may take, login included
DEFAULT_GRACE = 60.0  # seconds a soft power-off may take before the hard one
POWER_POLL = 2.0  # seconds between power-state reads while waiting for a soft power-off


def _in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """``fn()`` in a daemon thread of its own, as a future of the running loop.

    Not a thread pool: pool threads are joined when the interpreter exits, so a
    BMC that never answers would keep ``bootwright power`` from exiting after it
    reported the timeout. The semaphore in :class:`BmcControl` bounds how many run.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # handed to the awaiting coroutine, which decides
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="bmc", daemon=True).start()
    return future


class NoBmc(BmcError):
    """The host has no ``bmc`` in the inventory."""


def bmc_of(host: Host) -> Bmc:
    """The host's BMC; :class:`NoBmc` with what to do when it has none."""
    if host.bmc is None:
        raise NoBmc(f"host {host.name} has no BMC: add one with bootwright hosts set {host.name} --bmc "
                    "driver=ipmi,address=…,username=…,password-file=… (docs/power.md)")
    return host.bmc


def seconds(value: float) -> str:
    """``60 s``, ``0.3 s``: a duration for messages."""
    return f"{value:g} s"


def describe(bmc: Bmc) -> str:
    """``ipmi 10.0.0.5:623`` — the BMC as messages name it (never the password)."""
    return f"{bmc.driver} {bmc.address}" + (f":{bmc.port}" if bmc.port else "")


@dataclass(frozen=True, slots=True)
class PowerCycle:
    """What :meth:`BmcControl.reboot_to_network` did: the power state found and the steps taken."""

    found: PowerState
    steps: tuple[str, ...]
    note: str = ""


class BmcControl:
    """BMC operations for one process: at most ``concurrency`` sessions, each at most ``timeout`` seconds."""

    def __init__(
        self,
        events: EventSink,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.events = events
        self.timeout = timeout
        self.environ = environ
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._bmc_locks: dict[tuple[str, str, int | None], asyncio.Lock] = {}

    # ------------------------------------------------------------------ one step

    def _session(self, host: Host, fn: Callable[[Driver], T]) -> T:
        bmc = bmc_of(host)
        driver = DRIVERS[bmc.driver](bmc, password_of(bmc, host.name, self.environ))
        try:
            return fn(driver)
        finally:
            driver.close()

    async def _run(self, host: Host, what: str, fn: Callable[[Driver], T]) -> T:
        bmc = bmc_of(host)
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                # One operation per BMC at a time, queued here, before a slot is taken: callers of one slow
                # BMC wait for it without holding the slots other BMCs need.
                await self._bmc_locks.setdefault((bmc.driver, bmc.address, bmc.port), asyncio.Lock()).acquire()
        except TimeoutError:
            raise BmcUnreachable(f"host {host.name}: BMC {describe(bmc)} was busy with an earlier operation for "
                                 f"{seconds(self.timeout)}") from None
        lock = self._bmc_locks[(bmc.driver, bmc.address, bmc.port)]
        try:
            async with asyncio.timeout_at(deadline):
                await self._limit.acquire()
        except TimeoutError:
            lock.release()
            raise BmcUnreachable(f"host {host.name}: no free BMC session slot in {seconds(self.timeout)} "
                                 f"({describe(bmc)} not contacted)") from None
        # The slot and the BMC are held until the worker thread really ends, not only until the caller gave
        # up on it: a BMC that hangs past the timeout must not let more sessions start than there are slots.
        future = _in_daemon_thread(lambda: self._session(host, fn))

        def release(_: object) -> None:
            self._limit.release()
            lock.release()

        future.add_done_callback(release)
        try:
            async with asyncio.timeout_at(deadline):
                return await asyncio.shield(future)
        except TimeoutError:
            raise BmcUnreachable(f"host {host.name}: BMC {describe(bmc)} did not finish {what} in "
                                 f"{seconds(self.timeout)}") from None

    def _emit(self, kind: EventKind, host: Host, **detail: object) -> None:
        self.events.emit(kind, host.macs[0] if host.macs else None, host.name, **detail)
        flush = getattr(self.events.store, "flush_events", None)
        if flush is not None:
            flush()  # a CLI process may end right after: hand the event to the writer now

    async def _step(self, host: Host, step: str, fn: Callable[[Driver], T]) -> T:
        try:
            return await self._run(host, step, fn)
        except NoBmc:
            raise
        except BmcError as exc:
            self._emit(EventKind.BMC_ERROR, host, step=step, error=str(exc))
            if str(exc).startswith(f"host {host.name}:"):
                raise
            # Same class, the host named: a message read in a group run or a server log says whose BMC it is.
            raise type(exc)(f"host {host.name}: {exc}") from None

    # ------------------------------------------------------------------ operations

    async def power_state(self, host: Host) -> PowerState:
        """The host's power as its BMC reports it."""
        return await self._step(host, "get power", lambda d: d.power_state())

    async def power(self, host: Host, action: PowerAction) -> None:
        """Press the button (``bmc.power`` event once the BMC accepted it)."""
        await self._step(host, f"power {action}", lambda d: d.set_power(action))
        self._emit(EventKind.BMC_POWER, host, action=str(action))

    async def next_boot(self, host: Host, boot: NextBoot) -> str:
        """Make the host's next boot a network boot (``bmc.bootdev``); the note says what the BMC refused."""
        note = await self._step(host, f"boot device {boot.describe()}", lambda d: d.set_next_boot(boot))
        # A refused UEFI flag or mode was dropped: the device set is the one without it.
        device = (NextBoot(None, boot.http) if note else boot).describe()
        self._emit(EventKind.BMC_BOOTDEV, host, device=device, once=True, note=note or None)
        if note:
            log.info("host %s: %s", host.name, note)
        return note

    async def reboot_to_network(self, host: Host, boot: NextBoot, grace: float = DEFAULT_GRACE) -> PowerCycle:
        """Set the next boot to the network, then power-cycle the way an operator does by hand.

        On: soft power-off (the OS shuts down cleanly), up to ``grace``
        seconds for the power to go off, hard off if it did not, then on.
        Off: on. The sequence of seed 002's ipmitool commands, as one call.
        """
        note = await self.next_boot(host, boot)
        found = await self.power_state(host)
        steps: list[str] = []
        if found == PowerState.ON:
            await self.power(host, PowerAction.SOFT)
            steps.append("soft off")
            deadline = self.clock() + grace
            while await self.power_state(host) == PowerState.ON:
                if self.clock() >= deadline:
                    await self.power(host, PowerAction.OFF)
                    steps.append(f"hard off (still on after {seconds(grace)})")
                    break
                await asyncio.sleep(min(POWER_POLL, max(0.0, deadline - self.clock())))
        await self.power(host, PowerAction.ON)
        steps.append("on")
        return PowerCycle(found, tuple(steps), note)
