"""Per-client flood control for the DHCPv4 engine: a token bucket per hardware address.

Each client (``chaddr``) may send ``rate`` requests per second on average,
with bursts up to ``max(rate, 4)``. Requests over the limit are dropped and
counted; a warning names the MAC once per ``interval`` seconds while it keeps
flooding. Pure: time is an argument.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

__all__ = ["LOG_INTERVAL", "MacRateLimiter"]

log = logging.getLogger("bootwright.dhcp4")

LOG_INTERVAL: Final = 10.0  # seconds between warnings about one flooding MAC
_IDLE: Final = 60.0  # buckets idle this long are forgotten by prune()
_PRUNE_EVERY: Final = 30.0  # seconds between scans of the buckets


@dataclass(slots=True)
class _Bucket:
    tokens: float
    last: float
    dropped: int = 0
    warned_at: float = -1e18


class MacRateLimiter:
    """Token buckets keyed by ``chaddr`` octets."""

    def __init__(self, rate: float, burst: float | None = None, interval: float = LOG_INTERVAL) -> None:
        """``rate`` requests per second per client; ``burst`` defaults to ``max(rate, 4)``."""
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 4.0)
        self.interval = interval
        self.buckets: dict[bytes, _Bucket] = {}
        self.dropped = 0
        self._pruned_at = -1e18

    def allow(self, chaddr: bytes, now: float) -> bool:
        """Take one token for ``chaddr``; ``False`` means drop the request."""
        b = self.buckets.get(chaddr)
        if b is None:
            self.buckets[chaddr] = _Bucket(self.burst - 1.0, now)
            return True
        tokens = b.tokens + (now - b.last) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        b.last = now
        if tokens >= 1.0:
            b.tokens = tokens - 1.0
            return True
        b.tokens = tokens
        b.dropped += 1
        self.dropped += 1
        if now - b.warned_at >= self.interval:
            log.warning(
                "dhcp4: client %s exceeds %g requests/s (dhcp4.per_mac_rate); dropped %d request(s) since %s",
                chaddr.hex(":") or "(no chaddr)",
                self.rate,
                b.dropped,
                "the last warning" if b.warned_at > -1e17 else "it started",
            )
            b.warned_at = now
            b.dropped = 0
        return False

    def prune(self, now: float) -> None:
        """Forget clients idle for a minute (bounded memory under a flood of MACs); scans every 30 s."""
        if now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        stale = [k for k, b in self.buckets.items() if now - b.last > _IDLE]
        for k in stale:
            del self.buckets[k]
