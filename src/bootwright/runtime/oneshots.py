"""Follows active one-shot boots through the live event stream (an :class:`EventSink` listener).

The tracker keeps the active one-shots in memory keyed by the hosts' MACs,
so an event costs one dict lookup unless it belongs to a host with a pending
or booting one-shot. State changes are stored (compare-and-set on the request
time, so a newer request made meanwhile wins) and reported to ``on_change``,
which rebuilds the policy when a host stops or starts getting its one-shot
target.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bootwright.boot.oneshot import DEFAULT_TIMEOUT, FileSets, OneShot, advance, expire, files_resolver
from bootwright.config import Config
from bootwright.model import Event, Host

log = logging.getLogger("bootwright.oneshot")

Saver = Callable[[OneShot], Coroutine[Any, Any, bool]]
ChangeHandler = Callable[[OneShot, OneShot], None]

_RANK = {"pending": 0, "booting": 1, "done": 2, "failed": 2}


class OneShotTracker:
    """The in-memory state of every host's latest one-shot boot."""

    def __init__(
        self,
        save: Saver | None,
        on_change: ChangeHandler,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.save = save
        self.on_change = on_change
        self.clock = clock
        self.timeout = timeout
        self.shots: dict[str, OneShot] = {}
        self._by_mac: dict[str, str] = {}
        self._files: dict[str, Callable[..., FileSets]] = {}
        self._tasks: set[asyncio.Task[bool]] = set()

    def reset(self, config: Config, hosts: list[Host], shots: list[OneShot]) -> None:
        """Take the stored one-shots; keep a state this process reached that the store does not have yet."""
        by_name = {h.name: h for h in hosts}
        merged: dict[str, OneShot] = {}
        for shot in shots:
            mine = self.shots.get(shot.host)
            if mine is not None and mine.requested == shot.requested and _RANK[mine.state] > _RANK[shot.state]:
                shot = mine
            merged[shot.host] = shot
        self.shots = merged
        self._by_mac = {}
        self._files = {}
        for name, shot in merged.items():
            host = by_name.get(name)
            if shot.active and host is not None:
                self._by_mac.update({mac: name for mac in host.macs})
                self._files[name] = files_resolver(config, shot.target, host)

    def active_targets(self) -> dict[str, str]:
        """Host name → the target it gets now, for every pending or booting one-shot."""
        return {name: s.target for name, s in self.shots.items() if s.active and name in self._files}

    def on_event(self, event: Event) -> None:
        """EventSink listener: advance the one-shot of the event's host, if it has an active one."""
        name = self._by_mac.get(event.mac) if event.mac else None
        if name is None and event.host in self._files:
            name = event.host
        if name is None:
            return
        shot = self.shots[name]
        new = advance(shot, event, self._files[name], self.clock())
        if new != shot:
            self._update(shot, new)

    def tick(self) -> None:
        """Fail one-shots whose downloads did not complete in time (called about once a second)."""
        now = self.clock()
        for shot in list(self.shots.values()):
            new = expire(shot, now, self.timeout)
            if new != shot:
                self._update(shot, new)

    def _update(self, old: OneShot, new: OneShot) -> None:
        self.shots[new.host] = new
        if not new.active:
            self._by_mac = {m: n for m, n in self._by_mac.items() if n != new.host}
            self._files.pop(new.host, None)
        log.info("one-shot boot of %s (%s): %s → %s%s", new.host, new.target, old.state, new.state,
                 f" ({new.reason})" if new.reason else "")
        if self.save is not None:
            try:
                task = asyncio.get_running_loop().create_task(self.save(new))
            except RuntimeError:
                log.warning("one-shot state of %s not stored: no event loop", new.host)
            else:
                self._tasks.add(task)
                task.add_done_callback(self._saved)
        self.on_change(old, new)

    def _saved(self, task: asyncio.Task[bool]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("one-shot state could not be stored: %s", task.exception())

    async def drain(self) -> None:
        """Wait until every state change has been stored (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
