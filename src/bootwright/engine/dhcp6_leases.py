"""DHCPv6 IA_NA bindings: pools, reservations, allocation, renew, release, decline.

Pure and in memory; the DHCPv6 engine turns every change into a
:class:`~bootwright.model.Lease` that the I/O layer makes durable before the
Reply leaves (RFC 8415 §18.3.2: the server records the binding, then replies).

A binding is keyed by the IA (RFC 8415 §12): the client's DUID followed by the
4-octet IAID, which is also the store's ``client_key``. Addresses are picked
from a hash of that key, so a client that lost its lease (or a server that
lost its state) gets the same address again, as ISC dhcpd6 does; collisions
probe further hashes, and pools small enough are scanned exhaustively.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Final, Literal

from bootwright.model import Lease

__all__ = [
    "DECLINE_PROBATION",
    "HASH_PROBES",
    "OFFER_HOLD",
    "SCAN_LIMIT",
    "Binding",
    "LeaseTable6",
    "PoolSet",
    "ia_key",
    "split_ia_key",
]

OFFER_HOLD: Final = 30.0
"""Seconds an advertised address stays set aside for its client (RFC 8415 §18.3.1 lets the
server not commit on Advertise; holding it briefly keeps two clients from being offered one)."""
DECLINE_PROBATION: Final = 86400.0
"""Seconds a declined address (RFC 8415 §18.3.8) is kept out of use; Kea's decline-probation-period."""
HASH_PROBES: Final = 32
"""Hashed candidates tried before falling back to a scan."""
SCAN_LIMIT: Final = 65536
"""Pools with at most this many addresses are scanned exhaustively when hashing finds none free."""

State = Literal["offered", "bound", "declined"]


def ia_key(duid: bytes, iaid: int) -> bytes:
    """The binding key of an IA (RFC 8415 §12): DUID octets then the 4-octet IAID."""
    return duid + iaid.to_bytes(4)


def split_ia_key(key: bytes) -> tuple[bytes, int]:
    """Inverse of :func:`ia_key`: ``(duid, iaid)``."""
    return key[:-4], int.from_bytes(key[-4:])


@dataclass(slots=True)
class Binding:
    """One address bound (or offered, or declined) to an IA until ``expires``."""

    address: IPv6Address
    key: bytes
    mac: str | None
    expires: float
    state: State = "bound"
    hostname: str | None = None
    _text: str | None = None

    @property
    def text(self) -> str:
        """The address as text, formatted once (``str(IPv6Address)`` is slow on a hot path)."""
        if self._text is None:
            self._text = str(self.address)
        return self._text

    def lease(self) -> Lease:
        """The store record of this binding."""
        return Lease(6, self.text, self.key, self.mac, self.expires, self.hostname, self.state)


class PoolSet:
    """Address ranges of one subnet as integer intervals, indexable as one sequence."""

    __slots__ = ("_hi", "_lo", "ranges", "size")

    def __init__(self, ranges: Iterable[tuple[IPv6Address, IPv6Address]]) -> None:
        self.ranges = tuple((int(a), int(b)) for a, b in ranges if int(a) <= int(b))
        self.size = sum(hi - lo + 1 for lo, hi in self.ranges)
        self._lo, self._hi = self.ranges[0] if len(self.ranges) == 1 else (1, 0)

    def __contains__(self, addr: int) -> bool:
        if self._lo <= addr <= self._hi:  # the common single-range pool
            return True
        return len(self.ranges) > 1 and any(lo <= addr <= hi for lo, hi in self.ranges)

    def nth(self, i: int) -> int:
        """The ``i``-th address (0-based, ``i < size``) across the ranges in order."""
        for lo, hi in self.ranges:
            n = hi - lo + 1
            if i < n:
                return lo + i
            i -= n
        raise IndexError(i)


def _hash(key: bytes, probe: int) -> int:
    return int.from_bytes(hashlib.blake2b(key + probe.to_bytes(2), digest_size=8).digest())


class LeaseTable6:
    """Every IA_NA binding of the server, by address and by IA key."""

    def __init__(self, reserved: Iterable[IPv6Address] = (), address_text: Callable[[IPv6Address], str] = str) -> None:
        # ``str(IPv6Address)`` costs ~10 µs; the I/O layer may pass a faster formatter giving the
        # same RFC 5952 text (``socket.inet_ntop``, which this pure module may not import).
        self.address_text = address_text
        self.by_addr: dict[int, Binding] = {}
        self.by_key: dict[bytes, Binding] = {}
        # Host reservations (host.ipv6) never leave the pool to anyone else.
        self.reserved: frozenset[int] = frozenset(int(a) for a in reserved)

    def __len__(self) -> int:
        return len(self.by_addr)

    # ------------------------------------------------------------------ state

    def load(self, leases: Iterable[Lease], now: float) -> int:
        """Rebuild the table from stored leases; expired and released ones are left out."""
        n = 0
        for lease in leases:
            if lease.family != 6 or lease.expires <= now or lease.state not in ("bound", "declined"):
                continue
            addr = IPv6Address(lease.address)
            self._put(Binding(addr, lease.client_key, lease.mac, lease.expires, lease.state, lease.hostname))
            n += 1
        return n

    def find(self, key: bytes) -> Binding | None:
        """The binding of an IA, if it has one (offered or bound)."""
        return self.by_key.get(key)

    def holder(self, addr: IPv6Address) -> Binding | None:
        """Whoever holds ``addr`` now (bound, offered or declined), expired or not."""
        return self.by_addr.get(int(addr))

    def is_free(self, addr: int, key: bytes, now: float) -> bool:
        """True when ``addr`` may go to the IA ``key``: unused, expired, or already this IA's."""
        b = self.by_addr.get(addr)
        return b is None or b.expires <= now or (b.key == key and b.state != "declined")

    def _put(self, b: Binding) -> None:
        a = int(b.address)
        old = self.by_addr.get(a)
        if old is not None and old is not b and self.by_key.get(old.key) is old:
            del self.by_key[old.key]  # an expired holder loses the address
        self.by_addr[a] = b
        if b.state == "declined":
            if self.by_key.get(b.key) is b:
                del self.by_key[b.key]
            return
        prev = self.by_key.get(b.key)
        if prev is not None and prev is not b and self.by_addr.get(int(prev.address)) is prev:
            del self.by_addr[int(prev.address)]  # the IA moved to another address
        self.by_key[b.key] = b

    def expired(self, now: float) -> list[Binding]:
        """Remove and return every binding whose lifetime ended (offers, leases, declines)."""
        gone = [b for b in self.by_addr.values() if b.expires <= now]
        for b in gone:
            a = int(b.address)
            if self.by_addr.get(a) is b:
                del self.by_addr[a]
            if self.by_key.get(b.key) is b:
                del self.by_key[b.key]
        return gone

    # ------------------------------------------------------------------ allocation

    def allocate(
        self,
        key: bytes,
        pools: PoolSet,
        now: float,
        hints: Sequence[IPv6Address] = (),
        fixed: IPv6Address | None = None,
    ) -> IPv6Address | None:
        """Pick an address for IA ``key`` without recording it; ``None`` if the pools are full.

        Order: the host's reservation ``fixed``; the IA's current binding if still in the
        pools; an address the client asked for (RFC 8415 §18.3.1 lets the server use the
        IA Address hints); hashed candidates; an exhaustive scan of small pools.
        """
        if fixed is not None:
            # A reservation belongs to the host, not to one DUID: firmware and the iPXE it loads
            # use different DUIDs for one MAC and must both get it. Only a decline blocks it.
            b = self.by_addr.get(int(fixed))
            return None if b is not None and b.state == "declined" and b.expires > now else fixed
        current = self.by_key.get(key)
        if current is not None:
            a = int(current.address)
            if a in pools and a not in self.reserved and self.is_free(a, key, now):
                return current.address
        for h in hints:
            a = int(h)
            if a in pools and a not in self.reserved and self.is_free(a, key, now):
                return h
        if pools.size == 0:
            return None
        for probe in range(HASH_PROBES):
            a = pools.nth(_hash(key, probe) % pools.size)
            if a not in self.reserved and self.is_free(a, key, now):
                return IPv6Address(a)
        if pools.size <= SCAN_LIMIT:
            start = _hash(key, HASH_PROBES) % pools.size
            for i in range(pools.size):
                a = pools.nth((start + i) % pools.size)
                if a not in self.reserved and self.is_free(a, key, now):
                    return IPv6Address(a)
        return None

    def offer(self, key: bytes, addr: IPv6Address, mac: str | None, now: float) -> Binding:
        """Set ``addr`` aside for IA ``key`` for :data:`OFFER_HOLD` seconds (not stored)."""
        b = self.by_key.get(key)
        if b is not None and b.address == addr and b.state == "bound" and b.expires > now:
            return b  # already bound: an Advertise does not shorten it
        text = b._text if b is not None and b.address == addr else None
        b = Binding(addr, key, mac, now + OFFER_HOLD, "offered", None, text or self.address_text(addr))
        self._put(b)
        return b

    def bind(self, key: bytes, addr: IPv6Address, mac: str | None, expires: float, hostname: str | None) -> Binding:
        """Bind ``addr`` to IA ``key`` until ``expires``; the caller stores ``.lease()``."""
        prev = self.by_key.get(key)
        text = prev._text if prev is not None and prev.address == addr else None
        b = Binding(addr, key, mac, expires, "bound", hostname, text or self.address_text(addr))
        self._put(b)
        return b

    def release(self, key: bytes, addr: IPv6Address, now: float) -> Lease | None:
        """Release (RFC 8415 §18.3.7): free ``addr`` if IA ``key`` holds it; the record to store."""
        b = self.by_key.get(key)
        if b is None or b.address != addr:
            return None
        del self.by_key[key]
        if self.by_addr.get(int(addr)) is b:
            del self.by_addr[int(addr)]
        return Lease(6, b.text, key, b.mac, now, b.hostname, "released")

    def decline(self, key: bytes, addr: IPv6Address, now: float) -> Lease | None:
        """Decline (RFC 8415 §18.3.8): keep ``addr`` out of use for :data:`DECLINE_PROBATION`."""
        b = self.by_key.get(key)
        if b is None or b.address != addr:
            return None
        d = Binding(addr, key, b.mac, now + DECLINE_PROBATION, "declined", b.hostname, b._text)
        self._put(d)
        return d.lease()
