"""MAC address of an HTTP client from its IP address: leases first, then neighbours.

A request for ``/vmlinuz`` carries no MAC, but the boot timeline is keyed by
MAC. :class:`MacLookup` answers from, in order:

1. a lease lookup the DHCP services may provide (``Runtime.mac_for_address``,
   a callable ``address -> mac | None``; used when present);
2. the kernel's neighbour table: ``/proc/net/arp`` for IPv4 (a cheap read,
   cached for :data:`TTL` seconds) and ``ip -6 neigh show`` for IPv6, run in
   the background at most once per :data:`TTL` so a request never waits on it.

The tables seen are those of the server's own network namespace. A miss is
``None``; events then carry the client address only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable

log = logging.getLogger("bootwright.http")

TTL = 2.0
ARP_PATH = "/proc/net/arp"
_ATF_COM = 0x2  # completed entry (linux/if_arp.h)


def parse_proc_arp(text: str) -> dict[str, str]:
    """``/proc/net/arp`` → {IPv4 address: MAC}, complete entries only."""
    out: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        try:
            flags = int(fields[2], 16)
        except ValueError:
            continue
        if flags & _ATF_COM and fields[3] != "00:00:00:00:00:00":
            out[fields[0]] = fields[3].lower()
    return out


def parse_ip_neigh(text: str) -> dict[str, str]:
    """``ip -6 neigh show`` output → {IPv6 address: MAC} for entries with a link-layer address."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if "lladdr" not in fields or not fields:
            continue
        i = fields.index("lladdr")
        if i + 1 < len(fields) and "FAILED" not in fields and "INCOMPLETE" not in fields:
            try:
                addr = str(ipaddress.ip_address(fields[0].split("%")[0]))
            except ValueError:
                continue
            out[addr] = fields[i + 1].lower()
    return out


def plain_address(address: str) -> str:
    """An address without IPv6 zone and with IPv4-mapped IPv6 unmapped (``::ffff:192.0.2.9``)."""
    text = address.split("%", 1)[0]
    if text.startswith("::ffff:") and "." in text:
        return text[7:]
    return text


class MacLookup:
    """Client address → MAC, from leases (if provided) and the neighbour tables."""

    def __init__(
        self,
        leases: Callable[[str], str | None] | None = None,
        arp_path: str = ARP_PATH,
        clock: Callable[[], float] = time.monotonic,
        ip6: bool = True,
    ) -> None:
        self._leases = leases
        self._arp_path = arp_path
        self._clock = clock
        self._v4: dict[str, str] = {}
        self._v4_at = float("-inf")
        self._v6: dict[str, str] = {}
        self._v6_at = float("-inf")
        self._v6_task: asyncio.Task[None] | None = None
        self._ip6 = ip6

    def __call__(self, address: str | None) -> str | None:
        """The MAC of ``address`` if known now; never blocks on I/O beyond a /proc read."""
        if not address:
            return None
        address = plain_address(address)
        if self._leases is not None:
            with contextlib.suppress(Exception):  # a lease lookup problem must not fail a request
                mac = self._leases(address)
                if mac:
                    return mac
        if ":" in address:
            return self._lookup6(address)
        return self._lookup4(address)

    def _lookup4(self, address: str) -> str | None:
        mac = self._v4.get(address)
        now = self._clock()
        if (mac is None and now - self._v4_at >= TTL) or now - self._v4_at >= 30 * TTL:
            self._v4_at = now
            try:
                with open(self._arp_path, encoding="ascii", errors="replace") as f:
                    self._v4 = parse_proc_arp(f.read())
            except OSError:
                self._v4 = {}
            mac = self._v4.get(address)
        return mac

    def _lookup6(self, address: str) -> str | None:
        mac = self._v6.get(address)
        now = self._clock()
        if self._ip6 and (mac is None or now - self._v6_at >= 30 * TTL) and now - self._v6_at >= TTL:
            self._v6_at = now
            if self._v6_task is None or self._v6_task.done():
                with contextlib.suppress(RuntimeError):  # no running loop (tests): skip
                    self._v6_task = asyncio.get_running_loop().create_task(self._refresh6())
        return mac

    async def _refresh6(self) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                "ip", "-6", "neigh", "show",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            log.debug("ip -6 neigh: %s", exc)
            self._ip6 = not isinstance(exc, FileNotFoundError)
            return
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 5)
            self._v6 = parse_ip_neigh(out.decode("ascii", "replace"))
        except TimeoutError:
            log.debug("ip -6 neigh took more than 5 s")
        finally:
            if proc.returncode is None:  # timed out or cancelled: reap it, leave nothing behind
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    await proc.wait()

    async def aclose(self) -> None:
        """Stop a running background refresh."""
        task = self._v6_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
