"""The name a DHCP client is known by, from what it sent (pure).

Rule: a client's own name is cleaned here and nowhere else — DHCPv4 option 12
(RFC 2132 §3.14) in ``engine/dhcp4``, the DHCPv6 Client FQDN option (RFC 4704
§4) in ``engine/dhcp6`` — so the lease table, the events, hooks and the DNS
updates (``inventory/ddns.py``) all see the same name. The text comes from the
network: only letters, digits, ``-``, ``_`` and ``.`` are kept (what a host
name or an inventory name may hold), so it is safe in a log line, a shell
variable and a zone; whether it is a DNS host name is DNS's question
(``inventory/zones.dns_host_name``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HOSTNAME_MAX", "client_name"]

HOSTNAME_MAX: Final = 63
"""Longest DHCPv4 host name kept: one DNS label (RFC 1035 §2.3.4), as option 12 names a host, not a domain."""


def client_name(text: str, limit: int = HOSTNAME_MAX) -> str | None:
    """``text`` with only letters, digits, ``-``, ``_`` and ``.`` kept, cut to ``limit``, outer dots removed.

    None when nothing is left (the client then has no name of its own).
    """
    clean = "".join(ch for ch in text if ch.isalnum() or ch in "-_.")[:limit].strip(".")
    return clean or None
