"""The systemd notification protocol (sd_notify(3)): READY, RELOADING, STOPPING, WATCHDOG, STATUS.

Under ``Type=notify`` systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name``
for the abstract namespace) and, with ``WatchdogSec=``, ``WATCHDOG_USEC`` and
``WATCHDOG_PID``. Each notification is one datagram of ``KEY=value`` lines.
Without ``NOTIFY_SOCKET`` every call is a no-op, so ``bootwright serve`` runs
the same by hand, in a container or under systemd. A failed send is logged
once and never stops the server.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("bootwright.systemd")


class SdNotify:
    """The notification socket of the service manager, if there is one."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ, pid: int | None = None) -> SdNotify:
        """From ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``/``WATCHDOG_PID`` (the watchdog only when meant for us)."""
        address = environ.get("NOTIFY_SOCKET") or None
        watchdog: int | None = None
        text = environ.get("WATCHDOG_USEC", "")
        wanted_pid = environ.get("WATCHDOG_PID", "")
        if text.isdigit() and int(text) > 0 and (not wanted_pid or wanted_pid == str(pid or os.getpid())):
            watchdog = int(text)
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        """Whether a service manager listens."""
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings: half the manager's timeout, as sd_watchdog_enabled(3) advises."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def send(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines (``ready=1`` becomes ``READY=1``); whether the datagram went out."""
        if self.address is None:
            return False
        text = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(text.encode(), target)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify the service manager at %s: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> bool:
        """Startup or a reload finished."""
        return self.send(ready=1, status=status)

    def reloading(self) -> bool:
        """A reload starts (systemd.service(5) ``Type=notify-reload`` wants the monotonic time with it)."""
        return self.send(reloading=1, monotonic_usec=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000,
                         status="reloading the configuration")

    def stopping(self) -> bool:
        """Shutdown starts."""
        return self.send(stopping=1, status="stopping")

    def watchdog(self) -> bool:
        """Still alive (the event loop turned)."""
        return self.send(watchdog=1)

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
