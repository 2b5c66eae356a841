"""One validation of a configuration together with the host inventory (pure).

Rule: every decision "can this configuration and these hosts be served" is
made here. ``bootwright check``, ``serve`` (start), hot reload, ``hosts
add/set/import`` and the REST API all call :func:`validate` (or, for one
changed host, :func:`host_problems`), so "check passes" means "serve starts
and reload accepts it". ``config.check_semantics`` holds the model's own
cross-field errors; this module adds templates, warnings and the inventory.

Errors stop the configuration (the file is wrong). A host of the inventory
that does not fit the configuration (its target was removed, its address
left every subnet, a config-file host took its MAC) is *skipped*: reported as
a warning naming the host, where it came from and why, and left out of the
boot policy; the server serves everyone else. Config-file hosts are part of
the file: their problems are errors, with the ``host[i]`` key path.

Warnings follow what the peers do with the same configuration: radvd warns
about ``AdvAutonomousFlag`` on a prefix that is not /64, ISC dhcpd logs a
warning for a fixed address inside a dynamic range, Kea accepts both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import PurePath

from bootwright.boot.ipxe import host_template_problems, template_problems
from bootwright.boot.lints import covers, family_mismatches, http_boot_without_echo, shadowed_rules
from bootwright.boot.nfs import nfs_root_problems
from bootwright.boot.policy import hosts_from_config
from bootwright.config import (
    HOST_NAME,
    HOST_NAME_RULE,
    Config,
    Problem,
    Rule,
    address_problem,
    check_paths,
    check_placeholders,
    check_semantics,
    menu_default_problem,
    pool_permits,
    with_lines,
)
from bootwright.model import Host

__all__ = ["LOCAL_ORIGIN", "InventoryHost", "Report", "host_problems", "validate"]

LOCAL_ORIGIN = "added through CLI/API"
"""How a host of the inventory that is not in the config file is named in warnings."""

# SLAAC forms an address from the prefix and a 64-bit interface identifier (RFC 4862 §5.5.3 d,
# RFC 4291 §2.5.1); radvd warns "AdvAutonomousFlag … prefix length is not 64".
SLAAC_PREFIX_LENGTH = 64


@dataclass(frozen=True, slots=True)
class InventoryHost:
    """A host of the inventory as the store would serve it, and where it came from."""

    host: Host
    origin: str = ""  # "config file", "config file, changed through CLI/API: target", "hosts.csv line 3"; "" local
    from_config: bool = False  # a ``[[host]]`` of the config file (maybe with CLI/API overrides)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything wrong with a configuration and its inventory: errors, warnings, skipped hosts."""

    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    # Inventory hosts left out of the policy, by name, with what is wrong with each.
    skipped: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing stops the configuration (warnings and skipped hosts do not)."""
        return not self.errors

    def usable(self, hosts: Iterable[Host]) -> list[Host]:
        """``hosts`` without the skipped ones: what the boot policy gets."""
        return [h for h in hosts if h.name not in self.skipped]


def validate(
    config: Config,
    inventory: Sequence[InventoryHost] | None = None,
    *,
    text: str | None = None,
    root: PurePath | None = None,
    state_dir: PurePath | None = None,
    rendered: MutableMapping[Host, tuple[Problem, ...]] | None = None,
) -> Report:
    """Validate ``config`` with ``inventory`` (None: the config file's own hosts only); every problem at once.

    ``text`` (the TOML source) adds line numbers; ``root``/``state_dir`` are the
    paths the server will really use (command-line flags); ``rendered`` caches
    per-host template results between calls with the same ``config``.
    """
    errors = list(check_semantics(config))
    if root is not None or state_dir is not None:
        known = {str(p) for p in errors}
        errors += [p for p in check_paths(root, state_dir, config) if str(p) not in known]
    templates = template_problems(config)
    errors += templates
    config_hosts = hosts_from_config(config)
    entries = list(inventory) if inventory is not None else [
        InventoryHost(h, "config file", True) for h in config_hosts
    ]
    by_name = {h.name: h for h in config_hosts}
    pure = [e for e in entries if e.from_config and by_name.get(e.host.name) == e.host]
    pure_names = {e.host.name for e in pure}
    if not templates:
        for host in (e.host for e in pure):
            errors += host_template_problems(config, host)
    warnings = list(config_warnings(config))
    # Targets whose nfsroot= this server does not export (boot/nfs.py); paths need the root serve uses.
    warnings += nfs_root_problems(config, root if root is not None else config.root)
    index = {h.name: i for i, h in enumerate(config.host)}
    local_names = {e.host.name for e in entries if not e.from_config}
    for name in sorted(set(by_name) & local_names):
        warnings.append(Problem(f"host[{index[name]}]", f"host {name!r} of the config file is skipped: a host of "
                                f"that name was {LOCAL_ORIGIN}; remove one (bootwright hosts remove {name})"))
    others = [e for e in entries if e.host.name not in pure_names]
    problems = host_problems(config, pure + others, render=not templates, rendered=rendered)
    skipped = {name: tuple(found) for name, found in problems.items() if name not in pure_names and found}
    origin = {e.host.name: e.origin for e in entries}
    for name, found in skipped.items():
        who = f"host {name!r} ({origin.get(name) or LOCAL_ORIGIN})"
        reasons = "; ".join(_reason(p, name) for p in found)
        warnings.append(Problem(who, f"skipped (not served) until fixed: {reasons} "
                                f"(bootwright hosts set {name} … or bootwright hosts remove {name})"))
    warnings += _in_pool_warnings(config, entries, index, pure_names)
    warnings += pool_group_warnings(config, [e.host for e in entries])
    return Report(tuple(with_lines(errors, text)), tuple(with_lines(warnings, text)), skipped)


def _reason(problem: Problem, name: str) -> str:
    """A problem of host ``name`` without the repeated ``host 'name' (origin)`` prefix."""
    path = problem.path
    prefix = f"host {name!r}"
    if path.startswith(prefix):
        path = path[len(prefix):]
        if path.startswith(" ("):
            path = path[path.find(")") + 1:]
        path = path.strip()
    return f"{path}: {problem.message}" if path else problem.message


def _where(name: str, origin: Mapping[str, str]) -> str:
    src = origin.get(name)
    return f"host {name!r}" + (f" ({src})" if src else "")


def host_problems(
    config: Config,
    entries: Sequence[InventoryHost],
    *,
    render: bool = True,
    only: Collection[str] | None = None,
    rendered: MutableMapping[Host, tuple[Problem, ...]] | None = None,
) -> dict[str, list[Problem]]:
    """Problems of each host of ``entries`` under ``config``, by name; a clash is the later host's.

    Unique names, MACs, DUIDs and addresses; fixed addresses inside a subnet;
    targets that exist; boot file placeholders; and (``render``) every script
    rendered for the host. ``only`` limits the per-host checks to those names
    (a change: the hosts it touches); clashes are still found against all.
    """
    origin = {e.host.name: e.origin for e in entries}
    scripts = config.script_names()
    out: dict[str, list[Problem]] = {}
    names: set[str] = set()
    macs: dict[str, str] = {}
    duids: dict[bytes, str] = {}
    addresses: dict[str, str] = {}
    for entry in entries:
        host = entry.host
        where = _where(host.name, origin)
        found = out.setdefault(host.name, [])

        def add(key: str, message: str, where: str = where, found: list[Problem] = found) -> None:
            found.append(Problem(f"{where} {key}" if key else where, message))

        if host.name in names:
            add("name", "the name is used twice")
        names.add(host.name)
        for mac in host.macs:
            other = macs.setdefault(mac, host.name)
            if other != host.name:
                add("mac", f"{mac} is also the MAC of {_where(other, origin)}")
        if host.duid is not None:
            other = duids.setdefault(host.duid, host.name)
            if other != host.name:
                add("duid", f"{host.duid.hex(':')} is also the DUID of {_where(other, origin)}")
        for key in ("ipv4", "ipv6"):
            value = getattr(host, key)
            if value is None:
                continue
            addr = ip_address(value)
            other = addresses.setdefault(str(addr), host.name)
            if other != host.name:
                add(key, f"{addr} is also the address of {_where(other, origin)}")
            elif only is None or host.name in only:
                message = address_problem(config, addr)
                if message:
                    add(key, message)
        if only is not None and host.name not in only:
            continue
        if not HOST_NAME.match(host.name):
            add("name", HOST_NAME_RULE)
        if not host.macs and host.duid is None:
            add("", "a host needs a 'mac' or a 'duid' to be recognised")
        if host.target is not None and host.target not in scripts:
            known = ", ".join(sorted(scripts)) or "none defined"
            add("target", f"no target or menu named {host.target!r} ({known})")
        for p in check_placeholders("bootfile", host.bootfile):
            add(p.path, p.message)
        if (message := menu_default_problem(config, host.target, host.menu_default)) is not None:
            add("menu_default", message)
        if render and not found:
            cached = rendered.get(host) if rendered is not None else None
            if cached is None:
                cached = tuple(host_template_problems(config, host))
                if rendered is not None:
                    rendered[host] = cached
            for p in cached:
                add("target", f"{p.path}: {p.message}")
    return out


# --------------------------------------------------------------------------- warnings


def config_warnings(config: Config) -> Iterator[Problem]:
    """What the peers accept with a warning: pools over our own addresses, SLAAC off /64, rules that misfire."""
    yield from _pool_address_warnings(config)
    yield from _proxy_warnings(config)
    for i, sub in enumerate(config.subnet6):
        ra = sub.ra
        if ra is not None and ra.enabled and ra.autonomous and sub.prefix.prefixlen != SLAAC_PREFIX_LENGTH:
            yield Problem(f"subnet6[{i}].ra.autonomous",
                          f"SLAAC needs a /64 (RFC 4862 §5.5.3, 64-bit interface identifiers); hosts ignore the "
                          f"A flag on {sub.prefix}: set autonomous = false or use a /64 (radvd warns the same)")
    # Rules the earlier ones shadow, URLs of the other family, HTTP boot offers without the echo (boot/lints.py).
    yield from shadowed_rules(config)
    yield from chain_load_loops(config)
    yield from family_mismatches(config)
    yield from http_boot_without_echo(config)


# Subnet4 settings a proxy reply never carries (engine/dhcp4/proxy.py PROXY_OPTIONS): the link's own server's job.
_PROXY_UNSENT = ("routers", "dns", "domain_name", "domain_search", "ntp_servers", "lease_time", "max_lease_time")


def _proxy_warnings(config: Config) -> Iterator[Problem]:
    """Settings of a proxy subnet that never reach a client: say so rather than ignore them silently."""
    for i, sub in enumerate(config.subnet4):
        if sub.mode != "proxy":
            continue
        for key in _PROXY_UNSENT:
            if getattr(sub, key) is not None:
                yield Problem(f"subnet4[{i}].{key}", "not sent: on a proxy subnet the link's own DHCP server gives "
                              "addresses and network settings, bootwright only the boot part (docs/proxy.md)")
        if config.dhcp4.ipxe and "no-pxedhcp" in config.dhcp4.ipxe:
            yield Problem("dhcp4.ipxe.no-pxedhcp", f"subnet4[{i}] is a proxy subnet: iPXE must wait for proxy "
                          "offers there (bootwright leaves no-pxedhcp out of its proxy replies)")


def _pool_address_warnings(config: Config) -> Iterator[Problem]:
    """A pool holding our own or the router's address: never leased (the engines exclude them), say so."""
    for i, sub4 in enumerate(config.subnet4):
        own4: list[tuple[str, IPv4Address | None]] = [("server", sub4.server), ("server.address4",
                                                      config.server.address4)]
        own4 += [(f"routers[{j}]", r) for j, r in enumerate(sub4.routers or config.dhcp4.routers or [])]
        for j, pool in enumerate(sub4.pools):
            for key, addr in own4:
                if addr is not None and pool.start <= addr <= pool.end:
                    yield Problem(f"subnet4[{i}].pools[{j}]", f"contains {addr} ({key}); it is never leased: "
                                  "shrink the pool so it does not include it")
    for i, sub6 in enumerate(config.subnet6):
        own6: list[tuple[str, IPv6Address | None]] = [("server", sub6.server), ("server.address6",
                                                      config.server.address6)]
        for j, pool6 in enumerate(sub6.pools):
            for key, addr6 in own6:
                if addr6 is not None and pool6.start <= addr6 <= pool6.end:
                    yield Problem(f"subnet6[{i}].pools[{j}]", f"contains {addr6} ({key}); shrink the pool so it "
                                  "does not include our own address")


# An iPXE build by file name (Debian's /usr/lib/ipxe names, ipxe.org's bin/ names): ipxe.efi, undionly.kpxe,
# snponly.efi, ipxe-arm64.efi, 1af41000.rom is not matched (a ROM is flashed, not chain-loaded).
_IPXE_BINARY = re.compile(r"(^|/)(undionly|undi|snponly|snp|ipxe[-\w.]*)\.(efi|kpxe|kkpxe|pxe|lkrn|usb)$", re.I)
_IPXE_CLASSES = ("iPXE", "gPXE")
_IPXE_VENDOR = "PXEClient:Arch:00007:UNDI:003010"  # what today's iPXE sends in option 60 (iPXE dhcp.c)


def is_ipxe_binary(bootfile: str | None, known: Iterable[str] = ()) -> bool:
    """Whether a boot file is an iPXE build (by name, or one of ``known``: the architecture table's files)."""
    if not bootfile:
        return False
    path = bootfile.split("?", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1]
    return bool(_IPXE_BINARY.search(path)) or name in set(known)


def _reaches_ipxe(rule: Rule) -> bool:
    """Whether a rule's conditions can hold for a request from iPXE itself.

    Today's iPXE sends its architecture (DHCPv4 option 93, DHCPv6 option 61) and
    ``PXEClient:…`` (option 60) together with user class ``iPXE``, so only a
    user class condition without iPXE, a vendor class no iPXE sends, or
    ``no_arch`` keeps it out.
    """
    m = rule.match
    if m.user_class is not None and not any(u in _IPXE_CLASSES for u in m.user_class):
        return False
    if m.vendor_class is not None and not any(_IPXE_VENDOR.startswith(p) for p in m.vendor_class):
        return False
    return not m.no_arch


def _takes_ipxe_of(other: Rule, rule: Rule) -> bool:
    """Whether ``other`` matches every iPXE request ``rule`` matches: user class iPXE, and its other
    conditions hold for every client of ``rule`` (:func:`~bootwright.boot.lints.covers`; seed 002's
    dhcpd.conf puts both inside one subnet, which is as good as none)."""
    m = other.match
    if m.user_class is None or not any(u in _IPXE_CLASSES for u in m.user_class):
        return False
    return covers(m.model_copy(update={"user_class": None}), rule.match.model_copy(update={"user_class": None}))


def _catches_ipxe_first(earlier: Rule, rule: Rule) -> bool:
    """A final rule before ``rule`` that answers every iPXE request ``rule`` could get."""
    return earlier.final and _takes_ipxe_of(earlier, rule)


def _overrides_for_ipxe(later: Rule, rule: Rule) -> bool:
    """A later rule that sets the boot file of every iPXE request the non-final ``rule`` matches."""
    return later.bootfile is not None and _takes_ipxe_of(later, rule)


def chain_load_loops(config: Config) -> Iterator[Problem]:
    """Rules that hand an iPXE binary to a client that may already be iPXE: the classic chain-load loop.

    iPXE loads the binary, which asks DHCP again, gets the same answer and
    loads itself again, forever — unless a final rule for user class
    ``iPXE`` comes first and gives it a script instead.
    """
    known = list(config.boot.files.values())
    for i, rule in enumerate(config.rule):
        if not is_ipxe_binary(rule.bootfile, known) or not _reaches_ipxe(rule):
            continue
        if any(_catches_ipxe_first(earlier, rule) for earlier in config.rule[:i]):
            continue
        if not rule.final and any(_overrides_for_ipxe(later, rule) for later in config.rule[i + 1 :]):
            continue  # a class-like rule whose boot file a later iPXE rule replaces (Kea's classes, dhcpd's)
        yield Problem(f"rule[{i}]", f"rule {rule.name!r} gives the iPXE binary {rule.bootfile} to clients that may "
                      "already be iPXE (today's iPXE sends its architecture and PXEClient as well as user class "
                      "iPXE): iPXE would load itself again, forever. Put a final rule with "
                      'match.user_class = ["iPXE"] before it')


def pool_group_warnings(config: Config, hosts: Iterable[Host]) -> Iterator[Problem]:
    """A pool ``allow``/``deny`` naming a group no host is in: a warning, not an error, because groups
    exist through the inventory's hosts and a group may be empty for a while (its hosts not added yet)."""
    groups = {g for h in hosts for g in h.groups}
    for where, member in pool_permits(config):
        kind, _, name = member.partition(":")
        if kind == "group" and name and name not in groups:
            yield Problem(where, f"no host is in group {name!r} (yet): this permit matches no client")


def _in_pool_warnings(
    config: Config, entries: Sequence[InventoryHost], index: Mapping[str, int], pure: Collection[str]
) -> Iterator[Problem]:
    """Fixed addresses inside a dynamic pool (ISC dhcpd warns; the engines keep them for their host)."""
    for entry in entries:
        host = entry.host
        for key in ("ipv4", "ipv6"):
            value = getattr(host, key)
            if value is None:
                continue
            addr = ip_address(value)
            pool = _pool_of(config, addr)
            if pool is None:
                continue
            where = f"host[{index[host.name]}].{key}" if host.name in pure else \
                f"{_where(host.name, {host.name: entry.origin or LOCAL_ORIGIN})} {key}"
            yield Problem(where, f"{addr} of host {host.name!r} is inside the dynamic pool {pool}; it is kept for "
                          "this host, but a fixed address outside the pools is clearer (ISC dhcpd warns too)")


def _pool_of(config: Config, addr: IPv4Address | IPv6Address) -> str | None:
    if isinstance(addr, IPv4Address):
        for i, sub4 in enumerate(config.subnet4):
            for j, pool in enumerate(sub4.pools):
                if pool.start <= addr <= pool.end:
                    return f"subnet4[{i}].pools[{j}] ({pool.start}-{pool.end})"
        return None
    for i, sub6 in enumerate(config.subnet6):
        for j, pool6 in enumerate(sub6.pools):
            if pool6.start <= addr <= pool6.end:
                return f"subnet6[{i}].pools[{j}] ({pool6.start}-{pool6.end})"
    return None
