"""Client address → MAC from the kernel's neighbour table (ARP / NDP), over rtnetlink.

TFTP requests carry no MAC; the neighbour table has one for any client we
just talked to on a directly attached link.  :class:`NeighbourTable` dumps
the table (``RTM_GETNEIGH``, rtnetlink(7)) at most a few times per second and
answers from that snapshot, so a burst of transfers costs one dump.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Final

__all__ = ["NeighbourTable", "dump_neighbours"]

_NLMSG: Final = struct.Struct("=IHHII")  # struct nlmsghdr (netlink(7))
_NDMSG: Final = struct.Struct("=BBHiHBB")  # struct ndmsg (rtnetlink(7))
_RTA: Final = struct.Struct("=HH")  # struct rtattr
_RTM_NEWNEIGH: Final = 28
_RTM_GETNEIGH: Final = 30
_NLM_F_REQUEST: Final = 0x1
_NLM_F_DUMP: Final = 0x300
_NLMSG_ERROR: Final = 2
_NLMSG_DONE: Final = 3
_NDA_DST: Final = 1
_NDA_LLADDR: Final = 2
_NUD_INCOMPLETE: Final = 0x01
_NUD_FAILED: Final = 0x20


def _attributes(data: bytes, offset: int, end: int) -> Iterator[tuple[int, bytes]]:
    while offset + _RTA.size <= end:
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size:
            return
        yield kind, data[offset + _RTA.size : offset + length]
        offset += (length + 3) & ~3


def dump_neighbours(timeout: float = 0.5) -> dict[str, str]:
    """Every IPv4 and IPv6 neighbour with a link-layer address: ``{ip: "aa:bb:…"}``."""
    table: dict[str, str] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(timeout)
        body = _NDMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0)
        sock.send(_NLMSG.pack(_NLMSG.size + len(body), _RTM_GETNEIGH, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0) + body)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSG.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data, offset)
                if length < _NLMSG.size or kind in (_NLMSG_DONE, _NLMSG_ERROR):
                    return table
                if kind == _RTM_NEWNEIGH and length >= _NLMSG.size + _NDMSG.size:
                    family, _p1, _p2, _ifindex, state, _fl, _type = _NDMSG.unpack_from(data, offset + _NLMSG.size)
                    if not state & (_NUD_INCOMPLETE | _NUD_FAILED) and family in (socket.AF_INET, socket.AF_INET6):
                        attrs = dict(_attributes(data, offset + _NLMSG.size + _NDMSG.size, offset + length))
                        dst, lladdr = attrs.get(_NDA_DST), attrs.get(_NDA_LLADDR)
                        if dst and lladdr and len(lladdr) == 6 and any(lladdr):
                            table[socket.inet_ntop(family, dst)] = ":".join(f"{b:02x}" for b in lladdr)
                offset += (length + 3) & ~3


class NeighbourTable:
    """Cached MAC lookups; never raises (``None`` when unknown or unavailable)."""

    def __init__(
        self, min_interval: float = 0.25, max_age: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Dump the kernel table at most once per ``min_interval`` s; trust a snapshot ``max_age`` s."""
        self._table: dict[str, str] = {}
        self._dumped = float("-inf")
        self._min_interval = min_interval
        self._max_age = max_age
        self._clock = clock
        self._works = hasattr(socket, "AF_NETLINK") and os.name == "posix"

    def mac(self, ip: str, since: float | None = None) -> str | None:
        """The MAC of neighbour ``ip`` (no scope suffix), refreshing the snapshot on a miss.

        ``since``: when the caller started talking to ``ip`` (same clock).  A
        snapshot older than that cannot know a neighbour entry that talk
        created (an IPv6 client is resolved when the first reply goes out), so
        a miss then refreshes within ``min_interval`` too, though not more
        often than ten times per ``min_interval``: a burst of transfers that
        started together costs one dump, and clients that are never in the
        table (routed through a relay) cost a bounded number.
        """
        if not self._works:
            return None
        mac = self._table.get(ip)
        now = self._clock()
        age = now - self._dumped
        stale = since is not None and self._dumped < since and age >= self._min_interval / 10
        if (mac is not None and age < self._max_age) or (age < self._min_interval and not stale):
            return mac
        self._dumped = now
        with contextlib.suppress(OSError):
            self._table = dump_neighbours()
        return self._table.get(ip)
