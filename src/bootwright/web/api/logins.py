"""Checking a login: the API token or an ``[[api.user]]``'s password, with failures rate-limited per source.

Rules:

- A password is checked with its own scrypt parameters (``wire/passhash.py``)
  in a worker thread, one check at a time (:data:`CHECKS_AT_ONCE`): a check
  costs ~0.1 s and 32 MiB, and the event loop serves DHCP.
- An unknown user name is checked against a dummy hash, so it takes as long
  as a wrong password and the answer does not tell which names exist.
- Failures are counted per source (an IPv4 address, an IPv6 /64: one
  client's usual share) in a token bucket of :data:`BURST` failures,
  refilled one per :data:`REFILL` seconds. A source with none left is
  refused (429, ``Retry-After``) before anything is checked. Failed
  logins and wrong bearer tokens share the bucket.
- The log names the source and the user name tried, never the password; it
  says when a source runs out, and says nothing of the refused attempts
  after that, so one source cannot fill the log.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from bootwright.config import ApiUser, Config
from bootwright.runtime.hostfacts import plain_address
from bootwright.wire.passhash import DUMMY, PasswordHash

log = logging.getLogger("bootwright.api")

BURST: Final = 10
"""Failed logins (or wrong bearer tokens) a source may make before it has to wait."""
REFILL: Final = 30.0
"""Seconds after which a source may fail once more (10 failures, then one per 30 s)."""
MAX_SOURCES: Final = 4096
"""Sources remembered at once; beyond, the ones that have recovered fully are forgotten first."""
CHECKS_AT_ONCE: Final = 1
"""Password checks that run at the same time (each holds a core and 32 MiB for ~0.1 s)."""


def source_of(remote: str | None) -> str:
    """The key failures are counted under: the IPv4 address, or the IPv6 address's /64."""
    try:
        addr = ipaddress.ip_address(plain_address(remote or ""))
    except ValueError:
        return remote or "?"
    if isinstance(addr, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class LoginGuard:
    """The per-source failure buckets and the password-check slot of one server."""

    def __init__(
        self,
        burst: int = BURST,
        refill: float = REFILL,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.burst = burst
        self.refill = refill
        self.clock = clock
        self.max_sources = max_sources
        self._buckets: dict[str, _Bucket] = {}
        self._slot: asyncio.Semaphore | None = None

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_sources:
                self._forget(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) / self.refill)
            bucket.at = now
        return bucket

    def _forget(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) / self.refill >= self.burst]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]

    def retry_after(self, remote: str | None) -> int:
        """0 when ``remote`` may try; else the whole seconds until it may fail once more."""
        now = self.clock()
        bucket = self._bucket(source_of(remote), now)
        if bucket.tokens >= 1:
            return 0
        return max(1, int((1 - bucket.tokens) * self.refill + 0.999))

    def failed(self, remote: str | None, what: str) -> None:
        """Count one failure of ``remote``; log it while the source still has tries left (``what``: no secrets)."""
        key = source_of(remote)
        bucket = self._bucket(key, self.clock())
        bucket.tokens = max(0.0, bucket.tokens - 1)
        if bucket.tokens >= 1:
            log.warning("%s from %s", what, remote)
        else:
            log.warning("%s from %s; further attempts from %s are refused for %.0f s", what, remote, key, self.refill)

    async def check_user(self, config: Config, name: str, password: str) -> ApiUser | None:
        """The ``[[api.user]]`` named ``name`` if ``password`` is its password, else None (same cost either way)."""
        user = next((u for u in config.api.user if hmac.compare_digest(u.name.encode(), name.encode())), None)
        hashed = PasswordHash.decode(user.password_hash) if user is not None else DUMMY
        if self._slot is None:
            self._slot = asyncio.Semaphore(CHECKS_AT_ONCE)
        async with self._slot:
            good = await asyncio.to_thread(hashed.verify, password)
        return user if good else None


LOGINS: Final = web.AppKey("bootwright_logins", LoginGuard)
"""Where the HTTP service's application keeps its :class:`LoginGuard` (set by ``mount_api``)."""


def guard_of(request: web.Request) -> LoginGuard:
    """The application's :class:`LoginGuard`, which ``mount_api`` adds."""
    guard = request.config_dict.get(LOGINS)
    if guard is None:
        raise RuntimeError("the application has no LoginGuard: mount_api adds it")
    return guard
