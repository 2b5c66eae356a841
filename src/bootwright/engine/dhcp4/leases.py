"""The DHCPv4 lease table: who holds which address, allocation from pools, expiry.

Pure and in memory; the transport persists what :class:`LeaseTable` reports
(:meth:`LeaseRecord.to_lease`) and loads the store back with :meth:`LeaseTable.load`.

States (:class:`~bootwright.model.LeaseState`):

- ``offered``: held for a client between OFFER and REQUEST (RFC 2131 §4.3.1
  "the server SHOULD... reserve the offered address"); in memory only.
- ``bound``: leased until ``expires`` (RFC 2131 §4.3.2).
- ``released`` / ``expired``: free for anyone, but remembered so the same
  client gets the same address back (RFC 2131 §4.3.1 "the client's previous address").
- ``declined``: quarantined until ``expires`` (RFC 2131 §4.3.3), then free.

Reserved addresses (static hosts) are never allocated to anyone but their host.
Allocation walks each pool round-robin; a pool whose whole lap found nothing is
flagged ``full`` until an address of it is freed, so exhaustion costs one lap,
not one per request.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final

from bootwright.engine.dhcp4.subnets import PoolRuntime, SubnetRuntime, find_subnet
from bootwright.model import Lease, LeaseState, PoolUsage

__all__ = ["LeaseRecord", "LeaseTable"]

log = logging.getLogger("bootwright.dhcp4")

# States that hold the address until ``expires`` (RFC 2131 §4.3.1 offers, §4.3.2 leases, §4.3.3 quarantine).
_ACTIVE: Final = frozenset((LeaseState.OFFERED, LeaseState.BOUND, LeaseState.DECLINED))


@dataclass(slots=True, eq=False)
class LeaseRecord:
    """One address's binding. Mutable; identity matters (``by_addr[a] is rec``)."""

    addr: int
    key: bytes  # client identifier (option 61) or htype + chaddr, RFC 2131 §4.2
    mac: str | None
    expires: float
    state: LeaseState
    hostname: str | None = None
    subnet: int = 0  # SubnetRuntime.index
    queued: float | None = None  # time under which the record sits in the expiry heap
    address: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        """Cache the dotted form (used for every store write and lookup)."""
        if not self.address:
            a = self.addr
            self.address = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"

    def to_lease(self) -> Lease:
        """The store row for this record."""
        return Lease(
            family=4,
            address=self.address,
            client_key=self.key,
            mac=self.mac,
            expires=self.expires,
            hostname=self.hostname,
            state=self.state,
        )


class LeaseTable:
    """Every binding of every subnet: by address, by (subnet, client key), expiry heap."""

    def __init__(
        self,
        subnets: Sequence[SubnetRuntime],
        reserved: Mapping[int, bytes],
        excluded: Iterable[int] = (),
    ) -> None:
        """``reserved``: address -> the MAC (6 octets) it is reserved for; ``excluded``: never lease."""
        self.subnets = list(subnets)
        self.by_addr: dict[int, LeaseRecord] = {}
        # per subnet: client key -> record (may be stale: check by_addr[rec.addr] is rec)
        self.bindings: list[dict[bytes, LeaseRecord]] = [{} for _ in self.subnets]
        self.reserved = dict(reserved)
        self.excluded = frozenset(excluded)
        self._heap: list[tuple[float, int]] = []

    # ------------------------------------------------------------------ lookups

    def binding(self, sub: SubnetRuntime, key: bytes) -> LeaseRecord | None:
        """The client's current record in ``sub`` (any state), if the address is still theirs."""
        rec = self.bindings[sub.index].get(key)
        if rec is None:
            return None
        if self.by_addr.get(rec.addr) is not rec:
            del self.bindings[sub.index][key]  # the address went to someone else
            return None
        return rec

    def is_free_for(self, addr: int, key: bytes, now: float) -> bool:
        """Whether ``addr`` may be given to client ``key`` now (reservations aside)."""
        rec = self.by_addr.get(addr)
        if rec is None or (rec.key == key and rec.state != LeaseState.DECLINED):
            return True
        return rec.state not in _ACTIVE or rec.expires <= now

    def owner_mac(self, addr: int, now: float) -> str | None:
        """The MAC of the client holding ``addr`` (offered or bound, not expired)."""
        rec = self.by_addr.get(addr)
        if rec is None or rec.state not in (LeaseState.OFFERED, LeaseState.BOUND) or rec.expires <= now:
            return None
        return rec.mac

    def allocatable(
        self, sub: SubnetRuntime, addr: int, bootp: bool, pools: Sequence[PoolRuntime] | None = None
    ) -> bool:
        """Whether ``addr`` is inside a pool of ``sub`` usable by this kind of client.

        ``pools``: the pools of ``sub`` this client may use (pool allow/deny); ``None``: all of them.
        """
        if addr in self.excluded or addr in self.reserved:
            return False
        pool = sub.pool_of(addr)
        if pool is None or (pools is not None and not any(p is pool for p in pools)):
            return False
        return pool.dynamic_bootp or not bootp

    # ------------------------------------------------------------------ allocation

    def next_free(
        self, sub: SubnetRuntime, key: bytes, now: float, bootp: bool, pools: Sequence[PoolRuntime] | None = None
    ) -> tuple[int | None, list[str]]:
        """A free address for ``key`` from ``pools`` (default: all of ``sub``'s), or ``None`` and the pools
        found exhausted."""
        exhausted: list[str] = []
        for pool in sub.pools if pools is None else pools:
            if bootp and not pool.dynamic_bootp:
                continue
            if pool.full:
                exhausted.append(pool.label())
                continue
            addr = self._walk(pool, key, now)
            if addr is not None:
                return addr, exhausted
            pool.full = True
            exhausted.append(pool.label())
        return None, exhausted

    def _walk(self, pool: PoolRuntime, key: bytes, now: float) -> int | None:
        by_addr, reserved, excluded = self.by_addr, self.reserved, self.excluded
        a, start, end = pool.cursor, pool.start, pool.end
        for _ in range(pool.size):
            nxt = a + 1 if a < end else start
            if a not in reserved and a not in excluded:
                rec = by_addr.get(a)
                if rec is None or rec.state not in _ACTIVE or rec.expires <= now:
                    pool.cursor = nxt
                    return a
            a = nxt
        return None

    def hold(
        self, sub: SubnetRuntime, addr: int, key: bytes, mac: str | None, until: float, hostname: str | None
    ) -> LeaseRecord:
        """Mark ``addr`` offered to ``key`` until ``until`` (not persisted)."""
        rec = self.by_addr.get(addr)
        mine = rec is not None and (rec.key == key or (mac is not None and rec.mac == mac))
        if rec is not None and mine and rec.state == LeaseState.BOUND:
            return rec  # the client's own lease (or its host's, under another client id): keep it as it is
        if rec is not None and rec.key == key and rec.state == LeaseState.OFFERED:
            rec.expires = until  # a repeated DISCOVER refreshes the hold
        else:
            rec = LeaseRecord(addr, key, mac, until, LeaseState.OFFERED, hostname, sub.index)
            self._install(sub, rec)
        self._schedule(rec)
        return rec

    def bind(
        self,
        sub: SubnetRuntime,
        addr: int,
        key: bytes,
        mac: str | None,
        expires: float,
        hostname: str | None,
    ) -> LeaseRecord:
        """Bind ``addr`` to ``key`` until ``expires``; returns the record to persist."""
        rec = self.by_addr.get(addr)
        if rec is None or rec.key != key:
            rec = LeaseRecord(addr, key, mac, expires, LeaseState.BOUND, hostname, sub.index)
            self._install(sub, rec)
        else:
            rec.state = LeaseState.BOUND
            rec.expires = expires
            rec.mac = mac
            rec.subnet = sub.index
            if hostname:
                rec.hostname = hostname
            self.bindings[sub.index][key] = rec
        self._schedule(rec)
        return rec

    def release(self, rec: LeaseRecord, now: float) -> LeaseRecord:
        """RFC 2131 §4.3.4: the address is free again; the client is remembered."""
        rec.state = LeaseState.RELEASED
        rec.expires = now
        self._freed(rec.addr)
        return rec

    def decline(self, rec: LeaseRecord, until: float) -> LeaseRecord:
        """RFC 2131 §4.3.3: quarantine the address until ``until``; the client loses it."""
        sub = self.subnets[rec.subnet]
        if self.bindings[sub.index].get(rec.key) is rec:
            del self.bindings[sub.index][rec.key]
        rec.state = LeaseState.DECLINED
        rec.expires = until
        self._schedule(rec)
        return rec

    def drop_offer(self, sub: SubnetRuntime, key: bytes) -> bool:
        """Forget an offer the client turned down (it chose another server, RFC 2131 §4.3.2)."""
        rec = self.binding(sub, key)
        if rec is None or rec.state != LeaseState.OFFERED:
            return False
        del self.by_addr[rec.addr]
        del self.bindings[sub.index][key]
        self._freed(rec.addr)
        return True

    def _install(self, sub: SubnetRuntime, rec: LeaseRecord) -> None:
        old = self.by_addr.get(rec.addr)
        if old is not None and old is not rec:
            old_sub = self.bindings[old.subnet]
            if old_sub.get(old.key) is old:
                del old_sub[old.key]
        self.by_addr[rec.addr] = rec
        self.bindings[sub.index][rec.key] = rec

    def _freed(self, addr: int) -> None:
        sub = find_subnet(self.subnets, addr)
        pool = sub.pool_of(addr) if sub is not None else None
        if pool is not None:
            pool.full = False

    def usage(self, now: float) -> list[PoolUsage]:
        """Per subnet: pool size, pool addresses held and free, live leases by state (``/metrics``).

        One pass over the records, read when metrics are scraped: nothing is counted per request.
        """
        held: list[dict[LeaseState, int]] = [{} for _ in self.subnets]
        used = [0] * len(self.subnets)
        subnets = self.subnets
        for rec in self.by_addr.values():
            if rec.state not in _ACTIVE or rec.expires <= now:
                continue
            i = rec.subnet
            states = held[i]
            states[rec.state] = states.get(rec.state, 0) + 1
            if subnets[i].pool_of(rec.addr) is not None:
                used[i] += 1
        blocked = [0] * len(self.subnets)  # reserved or our own, inside a pool, not held by anyone now
        for addr in self.excluded | self.reserved.keys():
            sub = find_subnet(subnets, addr)
            if sub is None or sub.pool_of(addr) is None:
                continue
            holder = self.by_addr.get(addr)
            if holder is None or holder.state not in _ACTIVE or holder.expires <= now:
                blocked[sub.index] += 1
        out: list[PoolUsage] = []
        for sub in subnets:
            size = sum(p.size for p in sub.pools)
            i = sub.index
            out.append(PoolUsage(4, sub.label, size, used[i], size - used[i] - blocked[i], held[i]))
        return out

    # ------------------------------------------------------------------ expiry

    def _schedule(self, rec: LeaseRecord) -> None:
        """Keep one heap entry per record, at or before its expiry."""
        if rec.queued is None or rec.expires < rec.queued:
            rec.queued = rec.expires
            heapq.heappush(self._heap, (rec.expires, rec.addr))

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has work (a record may have been renewed meanwhile)."""
        return self._heap[0][0] if self._heap else None

    def expire(self, now: float, limit: int = 10000) -> list[LeaseRecord]:
        """Reclaim records whose time is up; returns bound leases turned ``expired`` (to persist).

        Offers lapse silently; declined addresses leave quarantine and their
        record is removed (returned with state ``expired`` too, so the store
        forgets the quarantine).
        """
        heap, by_addr = self._heap, self.by_addr
        out: list[LeaseRecord] = []
        while heap and heap[0][0] <= now and len(out) < limit:
            t, addr = heapq.heappop(heap)
            rec = by_addr.get(addr)
            if rec is None or rec.queued != t:
                continue
            rec.queued = None
            if rec.state not in _ACTIVE:
                continue
            if rec.expires > now:  # renewed since it was queued
                self._schedule(rec)
                continue
            if rec.state == LeaseState.OFFERED:
                del by_addr[addr]
                binds = self.bindings[rec.subnet]
                if binds.get(rec.key) is rec:
                    del binds[rec.key]
            elif rec.state == LeaseState.DECLINED:
                del by_addr[addr]
                rec.state = LeaseState.EXPIRED
                out.append(rec)
            else:
                rec.state = LeaseState.EXPIRED
                out.append(rec)
            self._freed(addr)
        return out

    # ------------------------------------------------------------------ loading

    def load(self, leases: Iterable[Lease], now: float) -> list[str]:
        """Install stored leases; returns a warning per lease that cannot be used.

        A lease outside every subnet, or on an address now reserved for another
        host, is skipped (the reservation wins). Of two leases of one client in
        one subnet, the later-expiring one is the client's binding.
        """
        warnings: list[str] = []
        for lease in leases:
            addr = int(IPv4Address(lease.address))
            sub = find_subnet(self.subnets, addr)
            if sub is None:
                warnings.append(f"lease {lease.address} ({lease.mac or 'no MAC'}) is outside every subnet4; ignored")
                continue
            owner = self.reserved.get(addr)
            if owner is not None and (lease.mac is None or bytes.fromhex(lease.mac.replace(":", "")) != owner):
                warnings.append(
                    f"lease {lease.address} of {lease.mac or 'an unknown client'} is on an address reserved for "
                    f"{owner.hex(':')}; ignored"
                )
                continue
            state: LeaseState = lease.state if lease.state != LeaseState.OFFERED else LeaseState.EXPIRED
            rec = LeaseRecord(addr, lease.client_key, lease.mac, lease.expires, state, lease.hostname, sub.index)
            self.by_addr[addr] = rec
            binds = self.bindings[sub.index]
            prev = binds.get(rec.key)
            rank = (state == LeaseState.BOUND, rec.expires)
            newer = prev is None or (prev.state == LeaseState.BOUND, prev.expires) <= rank
            if state != LeaseState.DECLINED and newer:
                binds[rec.key] = rec
            if state in _ACTIVE:
                self._schedule(rec)
        return warnings
