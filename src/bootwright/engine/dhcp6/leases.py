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
from ipaddress import IPv6Address
from typing import Final

from bootwright.model import Lease, LeaseState

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

def ia_key(duid: bytes, iaid: int) -> bytes:
    """The binding key of an IA (RFC 8415 §12): DUID octets then the 4-octet IAID."""
    return duid + iaid.to_bytes(4)


def split_ia_key(key: bytes) -> tuple[bytes, int]:
    """Inverse of :func:`ia_key`: ``(duid, iaid)``."""
    return key[:-4], int.from_bytes(key[-4:])


class Binding:
    """One address bound (or offered, or declined) to an IA until ``expires``.

    The address is kept as an integer (``a``) with its RFC 5952 text; building
    :class:`IPv6Address` objects per datagram is a measurable cost on the hot path.
    """

    __slots__ = ("a", "expires", "hostname", "key", "mac", "state", "text")

    def __init__(self, a: int, key: bytes, mac: str | None, expires: float, state: LeaseState, hostname: str | None,
                 text: str) -> None:  # fmt: skip
        self.a = a
        self.key = key
        self.mac = mac
        self.expires = expires
        self.state: LeaseState = state
        self.hostname = hostname
        self.text = text

    @property
    def address(self) -> IPv6Address:
        """The address."""
        return IPv6Address(self.a)

    def lease(self) -> Lease:
        """The store record of this binding."""
        return Lease(6, self.text, self.key, self.mac, self.expires, self.hostname, self.state)

    def __repr__(self) -> str:
        return f"Binding({self.text}, {self.state}, expires {self.expires})"


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


def _text(packed: bytes) -> str:
    return str(IPv6Address(packed))


class LeaseTable6:
    """Every IA_NA binding of the server, by address (an integer) and by IA key."""

    def __init__(self, reserved: Iterable[IPv6Address] = (), address_text: Callable[[bytes], str] = _text) -> None:
        # Text of a 16-octet address. ``str(IPv6Address)`` costs ~10 µs; the I/O layer passes
        # ``socket.inet_ntop`` (same RFC 5952 text), which this pure module may not import.
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
            if lease.family != 6 or lease.expires <= now or lease.state not in (LeaseState.BOUND, LeaseState.DECLINED):
                continue
            a = int(IPv6Address(lease.address))
            self._put(Binding(a, lease.client_key, lease.mac, lease.expires, lease.state, lease.hostname,
                              self.address_text(a.to_bytes(16))))  # fmt: skip
            n += 1
        return n

    def find(self, key: bytes) -> Binding | None:
        """The binding of an IA, if it has one (offered or bound)."""
        return self.by_key.get(key)

    def holder(self, addr: IPv6Address | int) -> Binding | None:
        """Whoever holds ``addr`` now (bound, offered or declined), expired or not."""
        return self.by_addr.get(int(addr))

    def is_free(self, a: int, key: bytes, now: float) -> bool:
        """True when address ``a`` may go to the IA ``key``: unused, expired, or already this IA's."""
        b = self.by_addr.get(a)
        return b is None or b.expires <= now or (b.key == key and b.state != LeaseState.DECLINED)

    def _put(self, b: Binding) -> None:
        by_addr, by_key = self.by_addr, self.by_key
        old = by_addr.get(b.a)
        if old is not None and old is not b and by_key.get(old.key) is old:
            del by_key[old.key]  # an expired holder loses the address
        by_addr[b.a] = b
        if b.state == LeaseState.DECLINED:
            if by_key.get(b.key) is b:
                del by_key[b.key]
            return
        prev = by_key.get(b.key)
        if prev is not None and prev is not b and by_addr.get(prev.a) is prev:
            del by_addr[prev.a]  # the IA moved to another address
        by_key[b.key] = b

    def expired(self, now: float) -> list[Binding]:
        """Remove and return every binding whose lifetime ended (offers, leases, declines)."""
        gone = [b for b in self.by_addr.values() if b.expires <= now]
        for b in gone:
            if self.by_addr.get(b.a) is b:
                del self.by_addr[b.a]
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
    ) -> int | None:
        """Pick an address (as an integer) for IA ``key`` without recording it; ``None`` if full.

        Order: the host's reservation ``fixed``; the IA's current binding if still in the
        pools; an address the client asked for (RFC 8415 §18.3.1 lets the server use the
        IA Address hints); hashed candidates; an exhaustive scan of small pools.
        """
        if fixed is not None:
            # A reservation belongs to the host, not to one DUID: firmware and the iPXE it loads
            # use different DUIDs for one MAC and must both get it. Only a decline blocks it.
            f = int(fixed)
            b = self.by_addr.get(f)
            return None if b is not None and b.state == LeaseState.DECLINED and b.expires > now else f
        reserved = self.reserved
        current = self.by_key.get(key)
        if current is not None:
            a = current.a
            if a in pools and a not in reserved and self.is_free(a, key, now):
                return a
        for h in hints:
            a = int(h)
            if a in pools and a not in reserved and self.is_free(a, key, now):
                return a
        size = pools.size
        if size == 0:
            return None
        for probe in range(HASH_PROBES):
            a = pools.nth(_hash(key, probe) % size)
            if a not in reserved and self.is_free(a, key, now):
                return a
        if size <= SCAN_LIMIT:
            start = _hash(key, HASH_PROBES) % size
            for i in range(size):
                a = pools.nth((start + i) % size)
                if a not in reserved and self.is_free(a, key, now):
                    return a
        return None

    def offer(self, key: bytes, a: int, mac: str | None, now: float) -> Binding:
        """Set address ``a`` aside for IA ``key`` for :data:`OFFER_HOLD` seconds (not stored)."""
        b = self.by_key.get(key)
        if b is not None and b.a == a:
            if b.state == LeaseState.BOUND and b.expires > now:
                return b  # already bound: an Advertise does not shorten it
            text = b.text
        else:
            text = self.address_text(a.to_bytes(16))
        b = Binding(a, key, mac, now + OFFER_HOLD, LeaseState.OFFERED, None, text)
        self._put(b)
        return b

    def bind(self, key: bytes, a: int, mac: str | None, expires: float, hostname: str | None) -> Binding:
        """Bind address ``a`` to IA ``key`` until ``expires``; the caller stores ``.lease()``."""
        prev = self.by_key.get(key)
        text = prev.text if prev is not None and prev.a == a else self.address_text(a.to_bytes(16))
        b = Binding(a, key, mac, expires, LeaseState.BOUND, hostname, text)
        self._put(b)
        return b

    def release(self, key: bytes, addr: IPv6Address, now: float) -> Lease | None:
        """Release (RFC 8415 §18.3.7): free ``addr`` if IA ``key`` holds it; the record to store."""
        b = self.by_key.get(key)
        a = int(addr)
        if b is None or b.a != a:
            return None
        del self.by_key[key]
        if self.by_addr.get(a) is b:
            del self.by_addr[a]
        return Lease(6, b.text, key, b.mac, now, b.hostname, LeaseState.RELEASED)

    def decline(self, key: bytes, addr: IPv6Address, now: float) -> Lease | None:
        """Decline (RFC 8415 §18.3.8): keep ``addr`` out of use for :data:`DECLINE_PROBATION`."""
        b = self.by_key.get(key)
        if b is None or b.a != int(addr):
            return None
        d = Binding(b.a, key, b.mac, now + DECLINE_PROBATION, LeaseState.DECLINED, b.hostname, b.text)
        self._put(d)
        return d.lease()
