"""What the services ask about this machine, and the one client IP → MAC resolution.

HTTP and TFTP requests carry no MAC, but events and the boot timeline are
keyed by MAC. :func:`resolve_mac` is the only place that answers "which MAC
has this client address", in this order:

1. the DHCP lease tables (``Runtime.mac_for_address``, chained by the DHCPv4
   and DHCPv6 services when they start): an address we handed out is known
   even when the client is behind a relay;
2. the kernel's neighbour table (ARP / NDP) of the server's namespace, through
   :class:`HostFacts` (:class:`bootwright.net.host.KernelHost`, filled in by
   ``app.py``; ``web/`` and ``net/`` are siblings, so both reach it through the
   :class:`~bootwright.runtime.Runtime`, never by importing each other).

A miss is ``None``; events then carry the client address only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

__all__ = ["HostFacts", "LeaseLookup", "MacResolver", "plain_address", "resolve_mac"]

LeaseLookup = Callable[[str], "str | None"]
"""Client address → MAC from the lease tables (``Runtime.mac_for_address``)."""

MacResolver = Callable[[str | None], "str | None"]
"""What a web component is given to find a client's MAC (``Runtime.client_mac``)."""


class HostFacts(Protocol):
    """Facts about this host the services need at request time (implemented in ``net/host.py``)."""

    def neighbour_mac(self, address: str, since: float | None = None) -> str | None:
        """The MAC the kernel's neighbour table holds for ``address`` (no zone), or ``None``.

        ``since``: when the caller started talking to ``address`` (monotonic
        clock), so a snapshot older than that talk may be refreshed.
        Never raises and never blocks for long: it is on the request path.
        """
        ...


def plain_address(address: str) -> str:
    """An address without IPv6 zone and with IPv4-mapped IPv6 unmapped (``::ffff:192.0.2.9``)."""
    text = address.split("%", 1)[0]
    if text.startswith("::ffff:") and "." in text:
        return text[7:]
    return text


def resolve_mac(
    address: str | None, leases: LeaseLookup | None, host: HostFacts | None, since: float | None = None
) -> str | None:
    """The MAC of client ``address``: the lease tables first, then the neighbour table (module docstring)."""
    if not address:
        return None
    address = plain_address(address)
    if leases is not None:
        with contextlib.suppress(Exception):  # a lease lookup problem must not fail a request
            mac = leases(address)
            if mac:
                return mac
    if host is None:
        return None
    return host.neighbour_mac(address, since)
