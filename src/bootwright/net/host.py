"""Which interfaces the IPv6 services run on, and what those interfaces carry (Linux).

Addresses come from ``/proc/net/if_inet6`` (one line per address: address, ifindex,
prefix length, scope, flags, name), MACs from ``/sys/class/net/NAME/address``.

The rule for both DHCPv6 and router advertisements is *only configured
interfaces*: those named in ``server.interfaces`` or a ``subnet6.interface``.
DHCPv6 alone falls back, when no interface is named at all, to interfaces that
carry an address inside a configured subnet6 (``ServerSection`` documents this);
router advertisements never do: sending RAs on a link nobody named would make
this process a rogue router there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Final

from bootwright.config import Config, Subnet6

__all__ = [
    "IFA_F_DADFAILED",
    "IFA_F_TENTATIVE",
    "LinkAddress",
    "interface_addresses",
    "link_local",
    "mac_address",
    "ra_links",
    "served_links",
]

IFA_F_TENTATIVE: Final = 0x40  # include/uapi/linux/if_addr.h: DAD not finished (RFC 4862 §5.4)
IFA_F_DADFAILED: Final = 0x08  # DAD found a duplicate
_SCOPE_LINK: Final = 0x20  # IPV6_ADDR_LINKLOCAL in /proc/net/if_inet6


@dataclass(frozen=True, slots=True)
class LinkAddress:
    """One IPv6 address of an interface."""

    address: IPv6Address
    prefixlen: int
    ifindex: int
    flags: int

    @property
    def usable(self) -> bool:
        """False while DAD runs (tentative) or after it failed: not a valid source yet."""
        return not self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)


def interface_addresses(path: str = "/proc/net/if_inet6") -> dict[str, list[LinkAddress]]:
    """Every IPv6 address by interface name (empty when IPv6 is off)."""
    out: dict[str, list[LinkAddress]] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 6:
            continue
        raw, ifindex, plen, _scope, flags, name = parts
        try:
            addr = IPv6Address(bytes.fromhex(raw))
            entry = LinkAddress(addr, int(plen, 16), int(ifindex, 16), int(flags, 16))
        except ValueError:
            continue
        out.setdefault(name, []).append(entry)
    return out


def link_local(name: str, addresses: Mapping[str, list[LinkAddress]] | None = None) -> LinkAddress | None:
    """The interface's usable link-local address (RFC 4861 §6.1.2: the RA source), if any."""
    table = interface_addresses() if addresses is None else addresses
    for a in table.get(name, ()):
        if a.address.is_link_local and a.usable:
            return a
    return None


def mac_address(name: str) -> bytes | None:
    """The interface's 6-octet MAC, or ``None`` (no such interface, or not Ethernet-like)."""
    try:
        text = Path("/sys/class/net", name, "address").read_text().strip()
    except OSError:
        return None
    try:
        raw = bytes.fromhex(text.replace(":", ""))
    except ValueError:
        return None
    return raw if len(raw) == 6 and any(raw) else None


def _named(config: Config) -> list[str]:
    names = list(config.server.interfaces)
    names += [s.interface for s in config.subnet6 if s.interface]
    return list(dict.fromkeys(names))


def _carries(subnet: Subnet6, addrs: Iterable[LinkAddress]) -> bool:
    return any(a.address in subnet.prefix for a in addrs)


def served_links(config: Config, addresses: Mapping[str, list[LinkAddress]]) -> dict[str, Subnet6 | None]:
    """DHCPv6 interfaces, each with the subnet6 of its directly attached clients.

    A subnet6 belongs to a link when it names the interface, else when the interface
    carries an address inside its prefix; a link with none still relays-in and answers
    Information-requests with the global options.
    """
    names = _named(config) or [
        name for name, addrs in addresses.items() if any(_carries(s, addrs) for s in config.subnet6)
    ]
    out: dict[str, Subnet6 | None] = {}
    for name in names:
        sub = next((s for s in config.subnet6 if s.interface == name), None)
        if sub is None:
            here = addresses.get(name, ())
            sub = next((s for s in config.subnet6 if s.interface is None and _carries(s, here)), None)
        out[name] = sub
    return out


def ra_links(config: Config, addresses: Mapping[str, list[LinkAddress]]) -> dict[str, list[Subnet6]]:
    """Router advertisement interfaces and the subnet6s advertised on each.

    A subnet6 with an enabled ``ra`` is advertised on its ``interface``; without one, on
    the ``server.interfaces`` that carry an address in its prefix (or on the only one).
    """
    out: dict[str, list[Subnet6]] = {}
    servers = list(config.server.interfaces)
    for sub in config.subnet6:
        if sub.ra is None or not sub.ra.enabled:
            continue
        if sub.interface:
            targets = [sub.interface]
        else:
            targets = [n for n in servers if _carries(sub, addresses.get(n, ()))]
            if not targets and len(servers) == 1:
                targets = servers
        for name in targets:
            out.setdefault(name, []).append(sub)
    return out
