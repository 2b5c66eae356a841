"""DHCPv4 subnets as the engine sees them, and which one a request is answered in.

:class:`SubnetRuntime` is one ``[[subnet4]]`` compiled to integers (network,
mask, pools) with its scoped settings resolved (ISC dhcpd scoping: the
subnet's value, else ``[dhcp4]``'s). :func:`select_subnet` picks the subnet
for a request in the order of RFC 3527 §4 and RFC 3011 §3 (link selection,
then subnet selection, then ``giaddr``, RFC 2131 §4.3.1), falling back to the
client's own address and then to the link the request arrived on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final

from bootwright.config import Config, Subnet4

__all__ = [
    "DEFAULT_LEASE_TIME",
    "PoolRuntime",
    "SubnetRuntime",
    "compile_subnets",
    "find_subnet",
    "link_selection",
    "select_subnet",
]

DEFAULT_LEASE_TIME: Final = 43200  # ISC dhcpd default-lease-time (answer.DEFAULT_LEASE_TIME)
_LINK_SELECTION: Final = 5  # RFC 3527 §3: relay agent information sub-option 5


@dataclass(slots=True)
class PoolRuntime:
    """One address range of a subnet (inclusive), with its allocation cursor."""

    start: int
    end: int
    dynamic_bootp: bool  # ISC dhcpd ``range dynamic-bootp``: BOOTP clients may lease here
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
    warned_at: float = -1e18  # last "no address" warning (logged once per interval)

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
    from bootwright.boot.reply import server_context

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
                pools=[PoolRuntime(int(p.start), int(p.end), p.dynamic_bootp) for p in sub.pools],
                authoritative=bool(auth),
                lease_time=lease,
                max_lease_time=max(cap or lease, 1),
                server_id=IPv4Address(ctx.address) if ctx.address is not None else None,
                label=str(sub.subnet),
            )
        )
    return out


def find_subnet(subnets: Sequence[SubnetRuntime], addr: int) -> SubnetRuntime | None:
    """The subnet containing ``addr`` (config validation rules out overlaps)."""
    for sub in subnets:
        if (addr & sub.mask) == sub.network:
            return sub
    return None


def link_selection(relay_info: bytes) -> int | None:
    """The RFC 3527 link selection address inside option 82 octets, or ``None``.

    Sub-options are ``code, length, value`` with no PAD/END (RFC 3046 §2.0);
    malformed octets yield ``None`` (the option is then ignored).
    """
    i, n = 0, len(relay_info)
    while i + 2 <= n:
        code, length = relay_info[i], relay_info[i + 1]
        j = i + 2 + length
        if j > n:
            return None
        if code == _LINK_SELECTION:
            return int.from_bytes(relay_info[i + 2 : j], "big") if length == 4 else None
        i = j
    return None


def select_subnet(
    subnets: Sequence[SubnetRuntime],
    on_link: Sequence[SubnetRuntime],
    giaddr: int,
    ciaddr: int,
    relay_info: bytes | None,
    subnet_selection: bytes | None,
) -> SubnetRuntime | None:
    """The subnet a request is answered in, or ``None`` (stay silent).

    1. Option 82 link selection, only from a relay (``giaddr`` set; RFC 3527 §3).
    2. Option 118 subnet selection (RFC 3011 §3).
    3. ``giaddr``: the relay's link (RFC 2131 §4.3.1).
    4. ``ciaddr`` inside one of our subnets (a client renewing or informing from
       a routed network, as ISC dhcpd locates it).
    5. The first subnet of the receiving link (``on_link``).

    A selector that names an address outside every subnet ends the search
    with ``None``: the request is for a network we do not serve.
    """
    if giaddr and relay_info:
        link = link_selection(relay_info)
        if link is not None:
            return find_subnet(subnets, link)
    if subnet_selection is not None:
        if len(subnet_selection) != 4:
            return None
        return find_subnet(subnets, int.from_bytes(subnet_selection, "big"))
    if giaddr:
        return find_subnet(subnets, giaddr)
    if ciaddr:
        sub = find_subnet(subnets, ciaddr)
        if sub is not None:
            return sub
    return on_link[0] if on_link else None
