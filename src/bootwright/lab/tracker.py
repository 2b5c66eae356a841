"""Route observations from the servers to the VM they concern.

Server-side observations name a MAC, an address, or both. Addresses are
resolved through what earlier lines proved (a DHCP offer names address and
MAC) and, failing that, through the namespace's neighbour table; lines that
cannot be placed yet wait a little and are retried.
"""

from __future__ import annotations

import ipaddress
import time

from bootwright.lab.netns import Namespace
from bootwright.lab.sources import Observation
from bootwright.lab.timeline import Timeline

PENDING_SECONDS = 30.0


def family_of(ip: str | None) -> int | None:
    """4 or 6 for an address (IPv4-mapped IPv6 counts as 4), None without one."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return 4
    return addr.version


class Tracker:
    """The VMs' timelines, keyed by MAC, and the address → MAC knowledge."""

    def __init__(self, timelines: list[Timeline], ns: Namespace):
        self.by_mac = {t.mac.lower(): t for t in timelines}
        self.ns = ns
        self.ip_mac: dict[str, str] = {}
        self.pending: list[Observation] = []

    def follow(self, timeline: Timeline) -> None:
        """Send the observations of ``timeline``'s MAC to it from now on (a VM's next boot)."""
        self.by_mac[timeline.mac.lower()] = timeline

    def observe(self, obs: Observation) -> None:
        """Apply one observation now, or keep it until its address can be placed."""
        for learned_ip, learned_mac in obs.learned:
            self.ip_mac[learned_ip] = learned_mac.lower()
        if obs.mac and (obs.kind or obs.leased_by):
            self._record(obs.mac, obs)
        if obs.stage is None and obs.note is None:
            return
        mac: str | None = obs.mac or (self.ip_mac.get(obs.ip) if obs.ip else None)
        if mac is None:
            if obs.ip:
                self.pending.append(obs)
            return
        self._apply(mac, obs)

    def _record(self, mac: str, obs: Observation) -> None:
        """The server's event kind, or a foreign server's lease, on the VM's timeline."""
        timeline = self.by_mac.get(mac.lower())
        if timeline is None:
            return
        if obs.kind:
            timeline.saw(obs.kind, obs.at)
        if obs.leased_by and obs.ip:
            timeline.leased(obs.ip, obs.leased_by, obs.at)

    def _apply(self, mac: str, obs: Observation) -> None:
        timeline = self.by_mac.get(mac.lower())
        if timeline is None:
            return
        if obs.stage is not None and obs.begun:
            timeline.began(obs.stage, obs.at, obs.detail)
        elif obs.stage is not None:
            timeline.mark(obs.stage, obs.at, obs.detail, family_of(obs.ip))
        if obs.note:
            timeline.note(obs.note)

    def retry_pending(self) -> None:
        """Place waiting observations using the neighbour table; drop the stale ones."""
        if not self.pending:
            return
        for ip, mac in self.ns.neighbours().items():
            self.ip_mac.setdefault(ip, mac)
        now = time.time()
        waiting: list[Observation] = []
        for obs in self.pending:
            known = self.ip_mac.get(obs.ip or "")
            if known is not None:
                self._apply(known, obs)
            elif now - obs.at < PENDING_SECONDS:
                waiting.append(obs)
        self.pending = waiting
