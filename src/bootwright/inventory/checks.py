"""Checks of a whole inventory against a configuration (pure).

The same rules as the config file's own ``[[host]]`` checks, applied to every
host wherever it came from (config file, CLI, API, import): unique names,
MACs, DUIDs and addresses; fixed addresses inside a configured subnet; boot
targets that exist. Each problem names the host and, when known, where the
host was defined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address

from bootwright.config import Config, Problem, _check_placeholders
from bootwright.model import Host

# A host name is used in DNS zones, /etc/hosts and dhcpd host blocks (RFC 1123 §2.1, plus '_').
_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$")


def _where(name: str, origin: Mapping[str, str]) -> str:
    src = origin.get(name)
    return f"host {name!r}" + (f" ({src})" if src else "")


def check_inventory(config: Config, hosts: Iterable[Host], origin: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem of ``hosts`` under ``config``; ``origin`` says where each name was defined."""
    origin = origin or {}
    problems: list[Problem] = []
    names: dict[str, Host] = {}
    macs: dict[str, str] = {}
    duids: dict[bytes, str] = {}
    addresses: dict[str, str] = {}
    scripts = config.script_names()
    for host in hosts:
        where = _where(host.name, origin)

        def add(key: str, message: str, where: str = where) -> None:
            problems.append(Problem(f"{where} {key}" if key else where, message))

        if not _NAME.match(host.name):
            add("name", "not a usable host name (letters, digits, '-', '_' and '.'; no spaces)")
        if host.name in names:
            add("name", "the name is used twice")
        names.setdefault(host.name, host)
        if not host.macs and host.duid is None:
            add("", "a host needs a 'mac' or a 'duid' to be recognised")
        for mac in host.macs:
            other = macs.setdefault(mac, host.name)
            if other != host.name:
                add("mac", f"{mac} is also the MAC of {_where(other, origin)}")
        if host.duid is not None:
            other = duids.setdefault(host.duid, host.name)
            if other != host.name:
                add("duid", f"{host.duid.hex(':')} is also the DUID of {_where(other, origin)}")
        for key in ("ipv4", "ipv6"):
            text = getattr(host, key)
            if text is None:
                continue
            addr = ip_address(text)
            other = addresses.setdefault(str(addr), host.name)
            if other != host.name:
                add(key, f"{addr} is also the address of {_where(other, origin)}")
            message = _subnet_problem(config, addr)
            if message:
                add(key, message)
        if host.target is not None and host.target not in scripts:
            known = ", ".join(sorted(scripts)) or "none defined"
            add("target", f"no target or menu named {host.target!r} ({known})")
        for p in _check_placeholders("bootfile", host.bootfile):
            add(p.path, p.message)
    return problems


def _subnet_problem(config: Config, addr: IPv4Address | IPv6Address) -> str | None:
    """Why a fixed address cannot be handed out in this config, or None."""
    if isinstance(addr, IPv4Address):
        if not config.subnet4:
            return None
        sub = next((s.subnet for s in config.subnet4 if addr in s.subnet), None)
        if sub is None:
            return f"{addr} is outside every subnet4 ({', '.join(str(s.subnet) for s in config.subnet4)})"
        if sub.prefixlen < 31 and addr in (sub.network_address, sub.broadcast_address):
            return f"{addr} is the network or broadcast address of {sub}"
        return None
    if config.subnet6 and not any(addr in s.prefix for s in config.subnet6):
        return f"{addr} is outside every subnet6 ({', '.join(str(s.prefix) for s in config.subnet6)})"
    return None
