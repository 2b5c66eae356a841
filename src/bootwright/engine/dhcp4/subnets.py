"""DHCPv4 subnets as the engine sees them: compiled to integers, with their pools' state.

:class:`SubnetRuntime` is one ``[[subnet4]]`` compiled to integers (network,
mask, pools) with its scoped settings resolved (ISC dhcpd scoping: the
subnet's value, else ``[dhcp4]``'s). Which subnet a request is answered in is
not decided here: :func:`bootwright.boot.subnets.select4` does that, on these
objects, for the engine and ``bootwright explain`` alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from bootwright.boot.policy import PoolAccess
from bootwright.boot.reply import DEFAULT_LEASE_TIME, server_context
from bootwright.boot.subnets import find4
from bootwright.config import Config, Subnet4

__all__ = [
    "PoolRuntime",
    "SubnetRuntime",
    "compile_subnets",
    "find_subnet",
]


@dataclass(slots=True)
class PoolRuntime:
    """One address range of a subnet (inclusive), with its allocation cursor."""

    start: int
    end: int
    dynamic_bootp: bool  # ISC dhcpd ``range dynamic-bootp``: BOOTP clients may lease here
    access: PoolAccess | None = None  # who may lease here (pool allow/deny); None: every client
    cursor: int = 0  # next address to try (round-robin, like Kea's iterative allocator)
    full: bool = False  # a whole lap found nothing; cleared when an address is freed

    def __post_init__(self) -> None:
        """Start the cursor at the first address."""
        self.cursor = self.start

    @property
    def size(self) -> int:
        """Number of addresses in the range."""
        return self.end - self.start + 1

    def label(self) -> str:
        """``198.51.0.10-198.51.99.254`` for log lines."""
        return f"{IPv4Address(self.start)}-{IPv4Address(self.end)}"


@dataclass(slots=True)
class SubnetRuntime:
    """One ``[[subnet4]]`` with scoped settings resolved and addresses as integers."""

    index: int
    config: Subnet4
    network: int
    mask: int
    pools: list[PoolRuntime]
    authoritative: bool  # NAK requests for foreign addresses (ISC ``authoritative``, RFC 2131 §4.3.2)
    lease_time: int  # option 51 default (RFC 2132 §9.2)
    max_lease_time: int  # cap on a client-requested lease time (RFC 2131 §4.3.1)
    server_id: IPv4Address | None  # option 54 from config; None: the receiving interface's address
    label: str = field(default="")
    proxy: bool = False  # ``mode = "proxy"``: boot answers only, addresses from another server (engine/dhcp4/proxy.py)
    warned_at: float = -1e18  # last "no address" warning (logged once per interval)
    restricted: bool = False  # a pool has allow/deny: the engine asks which pools a client may use

    @property
    def interface(self) -> str | None:
        """The ``interface`` the subnet names in the config (:class:`bootwright.boot.subnets.Subnet4Key`)."""
        return self.config.interface

    def __contains__(self, addr: int) -> bool:
        """Whether an address (as an integer) is inside this subnet."""
        return (addr & self.mask) == self.network

    def pool_of(self, addr: int) -> PoolRuntime | None:
        """The pool holding ``addr``, if any."""
        for pool in self.pools:
            if pool.start <= addr <= pool.end:
                return pool
        return None


def compile_subnets(config: Config) -> list[SubnetRuntime]:
    """Compile every ``[[subnet4]]`` of a validated config."""
    g = config.dhcp4
    out: list[SubnetRuntime] = []
    for i, sub in enumerate(config.subnet4):
        lease = sub.lease_time if sub.lease_time is not None else g.lease_time
        lease = lease or DEFAULT_LEASE_TIME
        cap = sub.max_lease_time if sub.max_lease_time is not None else g.max_lease_time
        auth = sub.authoritative if sub.authoritative is not None else g.authoritative
        ctx = server_context(config, 4, sub)
        out.append(
            SubnetRuntime(
                index=i,
                config=sub,
                network=int(sub.subnet.network_address),
                mask=int(sub.subnet.netmask),
                pools=[PoolRuntime(int(p.start), int(p.end), p.dynamic_bootp, PoolAccess.of(p)) for p in sub.pools],
                authoritative=bool(auth),
                lease_time=lease,
                max_lease_time=max(cap or lease, 1),
                server_id=IPv4Address(ctx.address) if ctx.address is not None else None,
                label=str(sub.subnet),
                proxy=sub.mode == "proxy",
                restricted=any(p.allow or p.deny for p in sub.pools),
            )
        )
    return out


def find_subnet(subnets: Sequence[SubnetRuntime], addr: int) -> SubnetRuntime | None:
    """The subnet containing ``addr`` (:func:`bootwright.boot.subnets.find4`)."""
    return find4(subnets, addr)
