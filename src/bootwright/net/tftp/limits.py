"""Admission control for new TFTP transfers, xinetd style (pure; time is an argument).

Three limits, checked in this order for every request (RRQ or WRQ):

1. ``rate`` new transfers per second (xinetd ``cps`` first field): a token
   bucket holding ``max(1, rate)`` tokens, refilled at ``rate`` per second.
   A request finding it empty disables the service for ``rate_pause``
   seconds (xinetd ``cps`` second field); requests during the pause are
   refused without touching the bucket.
2. ``max_transfers`` running transfers in total (xinetd ``instances``).
3. ``per_client`` running transfers per client address (xinetd ``per_source``).

A refusal is a sentence naming the reason, sent to the client in a TFTP
ERROR (code 0, RFC 1350 "not defined, see error message").
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Admission"]


@dataclass
class Admission:
    """Counts running transfers per client and in total; rations new ones."""

    per_client: int
    max_transfers: int
    rate: float
    rate_pause: float
    running: int = 0
    """Transfers admitted and not yet finished."""
    by_client: dict[str, int] = field(default_factory=dict)
    """Running transfers per client address."""
    refused: dict[str, int] = field(default_factory=dict)
    """Refusals by reason (``rate``, ``paused``, ``total``, ``per_client``)."""
    last: str = ""
    """The reason of the latest refusal (one of the keys above)."""
    _tokens: float = field(default=-1.0, repr=False)
    _stamp: float | None = field(default=None, repr=False)
    _paused_until: float = field(default=float("-inf"), repr=False)

    def check(self, client: str, now: float) -> str | None:
        """Why a new transfer from ``client`` is refused now, or ``None`` to admit it.

        An admitted request must be followed by :meth:`started` (and later
        :meth:`finished`); the token it used is already spent.
        """
        if now < self._paused_until:
            return self._refuse("paused", f"Too many new transfers; paused for {self._paused_until - now:.1f} s")
        cap = max(1.0, self.rate)
        if self._stamp is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1.0:
            self._paused_until = now + self.rate_pause
            return self._refuse(
                "rate", f"More than {self.rate:g} new transfers per second; paused for {self.rate_pause:g} s"
            )
        self._tokens -= 1.0
        if self.running >= self.max_transfers:
            return self._refuse("total", f"Server busy: {self.max_transfers} transfers running")
        if self.by_client.get(client, 0) >= self.per_client:
            return self._refuse("per_client", f"Too many transfers from {client} (limit {self.per_client})")
        return None

    def started(self, client: str) -> None:
        """Count a transfer that :meth:`check` admitted."""
        self.running += 1
        self.by_client[client] = self.by_client.get(client, 0) + 1

    def finished(self, client: str) -> None:
        """Release what :meth:`started` counted."""
        self.running -= 1
        left = self.by_client.get(client, 0) - 1
        if left > 0:
            self.by_client[client] = left
        else:
            self.by_client.pop(client, None)

    def _refuse(self, kind: str, message: str) -> str:
        self.last = kind
        self.refused[kind] = self.refused.get(kind, 0) + 1
        return message
