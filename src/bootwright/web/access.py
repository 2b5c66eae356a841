"""Which client addresses may use the HTTP service (``http.allow``, Apache ``Require ip``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network

from bootwright.runtime.hostfacts import plain_address


class AllowList:
    """Client networks allowed to fetch anything; an empty list allows everyone."""

    def __init__(self, networks: Iterable[IPv4Network | IPv6Network]) -> None:
        self.networks = tuple(networks)
        self._seen: dict[str, bool] = {}

    @property
    def open(self) -> bool:
        """True when no restriction is configured."""
        return not self.networks

    def allows(self, address: str | None) -> bool:
        """Whether a client at ``address`` (IPv4-mapped IPv6 counts as IPv4) may fetch."""
        if not self.networks:
            return True
        if address is None:
            return False  # not a TCP peer we can check (e.g. a UNIX socket): refuse
        known = self._seen.get(address)
        if known is not None:
            return known
        try:
            addr = ipaddress.ip_address(plain_address(address))
        except ValueError:
            verdict = False
        else:
            verdict = any(addr.version == net.version and addr in net for net in self.networks)
        if len(self._seen) > 4096:
            self._seen.clear()
        self._seen[address] = verdict
        return verdict
