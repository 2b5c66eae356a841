"""Cross-field checks pydantic cannot express: ranges, references, duplicates, option values.

:func:`check_semantics` runs them all on a parsed :class:`~.model.Config`;
the helpers it exports (``option_problem``, ``pool_permits``, ``address_problem`` …)
are the one home of each rule for ``check``, ``explain``, the API and reload alike.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import PurePath

from bootwright.config.model import (
    _PLACEHOLDER,
    BOOTFILE_PLACEHOLDERS,
    HOST_NAME,
    HOST_NAME_RULE,
    ApiUser,
    Config,
    DdnsSection,
    Dhcp6Common,
    Hook,
    HttpSection,
    NfsSection,
    Pool4,
    Pool6,
    Problem,
    Subnet4,
    option6_problem,
    option_problem,
)
from bootwright.model import EventKind
from bootwright.wire.dhcp4_structs import encode_domain_list
from bootwright.wire.dhcp6 import NtpServer
from bootwright.wire.ipxe_options import IPXE_FEATURES, IPXE_OPTIONS_BY_NAME, ipxe_option_problem

# --------------------------------------------------------------------------- semantic checks


def check_semantics(config: Config) -> Iterator[Problem]:
    """Cross-field checks pydantic cannot express: ranges, references, duplicates."""
    yield from _check_subnets4(config)
    yield from _check_subnets6(config)
    yield from _check_options(config)
    yield from _check_domains(config)
    yield from _check_references(config)
    yield from check_match_values(config)
    yield from _check_hosts(config)
    yield from _check_http_tls(config.http)
    yield from _check_hooks(config.hook)
    yield from _check_api_users(config.api.user)
    yield from check_paths(config.root, config.state_dir, config)
    yield from _check_nfs(config.nfs)
    yield from _check_ddns(config.ddns)


def _check_options(config: Config) -> Iterator[Problem]:
    tables = [("dhcp4.options", config.dhcp4.options)]
    tables += [(f"subnet4[{i}].options", s.options) for i, s in enumerate(config.subnet4)]
    for where, options in tables:
        for key, text in (options or {}).items():
            problem = option_problem(key, text)
            if problem:
                yield Problem(f"{where}.{key}", problem)
    scopes6: list[tuple[str, Dhcp6Common]] = [("dhcp6", config.dhcp6)]
    scopes6 += [(f"subnet6[{i}]", s) for i, s in enumerate(config.subnet6)]
    for where, scope in scopes6:
        for key, text in (scope.options or {}).items():
            problem = option6_problem(key, text)
            if problem:
                yield Problem(f"{where}.options.{key}", problem)
        for j, server in enumerate(scope.ntp_servers or []):
            try:
                NtpServer.of([server])  # RFC 5908 §4: IPv6 addresses and names only
            except ValueError as exc:
                yield Problem(f"{where}.ntp_servers[{j}]", str(exc))


def _check_domains(config: Config) -> Iterator[Problem]:
    """Domain lists as options 119 (RFC 3397), 24 (RFC 3646) and the RA DNSSL (RFC 8106 §5.2)."""
    lists: list[tuple[str, list[str] | None]] = [("dhcp4.domain_search", config.dhcp4.domain_search),
                                                 ("dhcp6.domain_search", config.dhcp6.domain_search)]
    lists += [(f"subnet4[{i}].domain_search", s.domain_search) for i, s in enumerate(config.subnet4)]
    for i, sub in enumerate(config.subnet6):
        lists.append((f"subnet6[{i}].domain_search", sub.domain_search))
        if sub.ra is not None:
            lists.append((f"subnet6[{i}].ra.dnssl", sub.ra.dnssl))
    for where, names in lists:
        for j, name in enumerate(names or []):
            try:
                encode_domain_list([name], compress=False)
            except ValueError as exc:
                yield Problem(f"{where}[{j}]", f"{exc}: not a domain name (RFC 1035 §2.3.1)")


def check_paths(root: PurePath | None, state_dir: PurePath | None, config: Config | None = None) -> Iterator[Problem]:
    """``state_dir`` must not be inside a served root (it holds ``api-token`` and ``state.db``).

    Compared as written (pure): the CLI passes resolved paths. A root inside the state
    directory is refused too, so that neither can grow into the other.
    """
    if state_dir is None:
        return
    roots: list[tuple[str, PurePath | None]] = [("root", root)]
    if config is not None:
        roots += [("tftp.root", config.tftp.root), ("http.root", config.http.root)]
        roots += [(f"http.aliases.{p!r}", PurePath(d)) for p, d in config.http.aliases.items() if d.startswith("/")]
    for key, served in roots:
        if served is None:
            continue
        if state_dir == served or state_dir.is_relative_to(served):
            yield Problem("state_dir", f"{state_dir} is inside {key} {served}: TFTP/HTTP would publish state.db "
                          "and the API token; keep the state directory outside every served root")
        elif served.is_relative_to(state_dir):
            yield Problem(key, f"{served} is inside state_dir {state_dir}: keep the served files and the state "
                          "directory apart")


def _check_nfs(nfs: NfsSection) -> Iterator[Problem]:
    """Export paths stay under the root, once each; an enabled ``[nfs]`` exports something."""
    seen: dict[str, int] = {}
    for i, export in enumerate(nfs.exports):
        where = f"nfs.exports[{i}].path"
        parts = PurePath(export.path).parts
        if PurePath(export.path).is_absolute() or ".." in parts:
            yield Problem(where, f"{export.path!r} is not a directory under the root: write it relative to the "
                          'root, without ".." (e.g. "showmax" for <root>/showmax)')
        elif any(c in export.path for c in '"\n\\') or not export.path.isprintable():
            yield Problem(where, f"{export.path!r}: quotes, backslashes and control characters are not allowed")
        else:
            key = PurePath(export.path).as_posix()
            if key in seen:
                yield Problem(where, f"{export.path!r} is also nfs.exports[{seen[key]}]")
            seen.setdefault(key, i)
    if nfs.enabled and not nfs.exports:
        yield Problem("nfs.exports", 'NFS is enabled but exports nothing: add exports = [{ path = "…" }]')


def _check_subnets4(config: Config) -> Iterator[Problem]:
    nets: list[tuple[int, IPv4Network]] = []
    for i, sub in enumerate(config.subnet4):
        where = f"subnet4[{i}]"
        for j, other in nets:
            if sub.subnet.overlaps(other):
                yield Problem(f"{where}.subnet", f"{sub.subnet} overlaps subnet4[{j}] ({other})")
        nets.append((i, sub.subnet))
        for j, pool in enumerate(sub.pools):
            yield from _check_range(f"{where}.pools[{j}]", pool.start, pool.end, sub.subnet)
        yield from _overlapping_pools(where, [(j, p.start, p.end) for j, p in enumerate(sub.pools)])
        if sub.mode == "proxy":
            yield from _check_proxy4(where, sub)
        for key in ("server", "next_server"):
            addr = getattr(sub, key)
            if addr is not None and key == "server" and addr not in sub.subnet:
                yield Problem(f"{where}.{key}", f"{addr} is outside {sub.subnet}")
        for j, router in enumerate(sub.routers or []):
            if router not in sub.subnet:
                yield Problem(f"{where}.routers[{j}]", f"{router} is outside {sub.subnet}")


def _check_proxy4(where: str, sub: Subnet4) -> Iterator[Problem]:
    """A proxy subnet gives no addresses and no lease settings: another server on the link does."""
    if sub.pools:
        yield Problem(f"{where}.pools", "a proxy subnet hands out no addresses (the link's own DHCP server "
                      "does); remove the pools, or set mode = \"full\" to be the link's DHCP server")
    if sub.authoritative:
        yield Problem(f"{where}.authoritative", "a proxy never NAKs a client (the addresses are another "
                      "server's); remove authoritative")


def _overlapping_pools(
    where: str, pools: Sequence[tuple[int, IPv4Address | IPv6Address, IPv4Address | IPv6Address]]
) -> Iterator[Problem]:
    """Pools of one subnet (index, start, end) that share an address: ISC dhcpd and Kea refuse them."""
    for n, (j, start, end) in enumerate(pools):
        for k, other_start, other_end in pools[:n]:
            if int(start) <= int(other_end) and int(other_start) <= int(end):
                yield Problem(f"{where}.pools[{j}]", f"overlaps {where}.pools[{k}]")


def _check_range(
    where: str,
    start: IPv4Address | IPv6Address,
    end: IPv4Address | IPv6Address,
    net: IPv4Network | IPv6Network,
) -> Iterator[Problem]:
    for addr in (start, end):
        if addr not in net:
            yield Problem(where, f"{addr} is outside {net}")
            return
    if int(start) > int(end):
        yield Problem(where, f"the range starts ({start}) after it ends ({end})")
    elif (
        isinstance(net, IPv4Network)
        and net.prefixlen < 31
        and (start == net.network_address or end == net.broadcast_address)
    ):
        yield Problem(where, f"includes the network or broadcast address of {net}")


def _check_subnets6(config: Config) -> Iterator[Problem]:
    prefixes: list[tuple[int, IPv6Network]] = []
    for i, sub in enumerate(config.subnet6):
        where = f"subnet6[{i}]"
        # Kea refuses overlapping subnets ("subnet … overlaps with existing subnet"), as subnet4 does here.
        for j, other in prefixes:
            if sub.prefix.overlaps(other):
                yield Problem(f"{where}.prefix", f"{sub.prefix} overlaps subnet6[{j}] ({other})")
        prefixes.append((i, sub.prefix))
        usable: list[tuple[int, IPv6Address, IPv6Address]] = []
        for j, pool in enumerate(sub.pools):
            for addr in (pool.start, pool.end):
                if addr not in sub.prefix:
                    yield Problem(f"{where}.pools[{j}]", f"{addr} is outside {sub.prefix}")
                    break
            else:
                if int(pool.start) > int(pool.end):
                    yield Problem(f"{where}.pools[{j}]", f"the range starts ({pool.start}) after it ends")
                else:
                    usable.append((j, pool.start, pool.end))
        yield from _overlapping_pools(where, usable)
        # Accepted by the model (they are ISC dhcpd6 keywords) but the DHCPv6 engine answers IA_NA only.
        if sub.temporary:
            yield Problem(f"{where}.temporary", "not implemented: bootwright does not hand out temporary "
                          "addresses (IA_TA, RFC 8415 §21.5); remove the key")
        if sub.pd_pools:
            yield Problem(f"{where}.pd_pools", "not implemented: bootwright does not delegate prefixes "
                          "(IA_PD, RFC 8415 §21.21); remove the key")
        ra = sub.ra
        if ra is not None:
            # RFC 4861 §6.2.1: MinRtrAdvInterval ≥ 3 and ≤ 0.75 × MaxRtrAdvInterval,
            # AdvDefaultLifetime 0 or between MaxRtrAdvInterval and 9000.
            if ra.min_interval is not None and ra.min_interval > 0.75 * ra.max_interval:
                yield Problem(
                    f"{where}.ra.min_interval",
                    f"{ra.min_interval} exceeds 0.75 × max_interval ({0.75 * ra.max_interval:g}), RFC 4861 §6.2.1",
                )
            if ra.router_lifetime not in (None, 0) and ra.router_lifetime < ra.max_interval:
                yield Problem(
                    f"{where}.ra.router_lifetime",
                    f"{ra.router_lifetime} is below max_interval ({ra.max_interval:g}), RFC 4861 §6.2.1",
                )
            if ra.prefix_preferred_lifetime > ra.prefix_valid_lifetime:
                yield Problem(f"{where}.ra.prefix_preferred_lifetime", "exceeds prefix_valid_lifetime")
        if sub.server is not None and sub.server not in sub.prefix:
            yield Problem(f"{where}.server", f"{sub.server} is outside {sub.prefix}")


def check_placeholders(where: str, text: str | None) -> Iterator[Problem]:
    """Unknown ``{placeholders}`` in a boot file string (see :data:`BOOTFILE_PLACEHOLDERS`)."""
    if text is None:
        return
    for name in _PLACEHOLDER.findall(text):
        if name not in BOOTFILE_PLACEHOLDERS:
            allowed = ", ".join("{" + n + "}" for n in BOOTFILE_PLACEHOLDERS)
            yield Problem(where, f"unknown placeholder {{{name}}} (allowed: {allowed})")


def _check_references(config: Config) -> Iterator[Problem]:
    names = config.script_names()
    known = ", ".join(sorted(names)) or "none defined"
    overlap = set(config.targets) & set(config.menus)
    for name in sorted(overlap):
        yield Problem(f"menus.{name}", "a target has the same name; names must be unique")
    seen_rules: set[str] = set()
    for i, rule in enumerate(config.rule):
        where = f"rule[{i}]"
        if rule.name in seen_rules:
            yield Problem(f"{where}.name", f"rule name {rule.name!r} is used twice")
        seen_rules.add(rule.name)
        if rule.script is not None and rule.script not in names:
            yield Problem(f"{where}.script", f"no target or menu named {rule.script!r} ({known})")
        yield from check_placeholders(f"{where}.bootfile", rule.bootfile)
        yield from _check_ipxe_names(f"{where}.ipxe", rule.ipxe)
    yield from _check_ipxe_names("dhcp4.ipxe", config.dhcp4.ipxe or {})
    for i, sub in enumerate(config.subnet4):
        yield from _check_ipxe_names(f"subnet4[{i}].ipxe", sub.ipxe or {})
    for path, script in config.http.scripts.items():
        if script not in names:
            yield Problem(f"http.scripts.{path}", f"no target or menu named {script!r} ({known})")
    if config.boot.default is not None and config.boot.default not in names:
        yield Problem("boot.default", f"no target or menu named {config.boot.default!r} ({known})")
    for code in config.boot.files:
        if not code.isdigit() or int(code) > 0xFFFF:
            yield Problem(f"boot.files.{code}", "keys are architecture codes in decimal (0–65535)")
    for mname, menu in config.menus.items():
        items = [it.target for it in menu.items if it.target]
        for j, item in enumerate(menu.items):
            where = f"menus.{mname}.items[{j}]"
            if (item.target is None) == (item.gap is None):
                yield Problem(where, "an item needs exactly one of 'target' or 'gap'")
            elif item.target is not None and item.target not in names:
                yield Problem(f"{where}.target", f"no target or menu named {item.target!r} ({known})")
        if menu.default is not None and menu.default not in items:
            yield Problem(f"menus.{mname}.default", f"{menu.default!r} is not an item of this menu")
    for tname, target in config.targets.items():
        kinds = [k for k in ("kernel", "chain", "sanboot", "efi") if getattr(target, k)]
        kinds += [k for k in ("config", "shell", "exit") if getattr(target, k)]
        if len(kinds) > 1:
            yield Problem(f"targets.{tname}", f"sets {' and '.join(kinds)}; a target does one thing")
        if not kinds and not target.ipxe and not target.variants:
            yield Problem(
                f"targets.{tname}", "does nothing: set kernel, chain, sanboot, efi, config, shell, exit or ipxe"
            )
        if target.initrd and not (target.kernel or any(v.kernel for v in target.variants.values())):
            yield Problem(f"targets.{tname}.initrd", "an initrd needs a kernel")


def _check_ipxe_names(where: str, settings: dict[str, int | str]) -> Iterator[Problem]:
    for key, value in settings.items():
        problem = ipxe_option_problem(key, value)
        if problem:
            names = ", ".join(sorted(IPXE_OPTIONS_BY_NAME))
            yield Problem(f"{where}.{key}", f"{problem} (known names: {names})")


_HEX_OCTETS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+$")
_HEX_LIKE = re.compile(r"^[0-9A-Za-z]{1,2}(:[0-9A-Za-z]{1,2})+$")
POOL_MEMBERS = ("known", "unknown", "rule:NAME", "group:NAME")


def match_octets(text: str) -> bytes:
    """A ``circuit_id``/``remote_id``/``client_id`` value as octets: ``"01:52:54"`` (two or more
    colon-separated hex octets) as those bytes, any other text as its UTF-8 encoding."""
    if _HEX_OCTETS.match(text):
        return bytes.fromhex(text.replace(":", ""))
    return text.encode()


def check_match_values(config: Config) -> Iterator[Problem]:
    """Rule match values that would never match as meant, and pool permits naming nothing."""
    rules = {r.name for r in config.rule}
    for i, rule in enumerate(config.rule):
        m = rule.match
        for key in ("circuit_id", "remote_id", "client_id"):
            for j, text in enumerate(getattr(m, key) or ()):
                if not text:
                    yield Problem(f"rule[{i}].match.{key}[{j}]", 'empty: give the octets ("01:02:0a") or the text')
                elif _HEX_LIKE.match(text) and not _HEX_OCTETS.match(text):
                    yield Problem(
                        f"rule[{i}].match.{key}[{j}]",
                        f"{text!r} looks like hex octets but is not: write "
                        'two hex digits per octet ("01:52:54:00:12:34:56")',
                    )
        for j, name in enumerate(m.ipxe_feature or ()):
            if name not in IPXE_FEATURES:
                yield Problem(
                    f"rule[{i}].match.ipxe_feature[{j}]",
                    f"unknown iPXE feature {name!r} (known: {', '.join(sorted(IPXE_FEATURES))})",
                )
    for where, member in pool_permits(config):
        kind, _, name = member.partition(":")
        if member in ("known", "unknown") or (kind == "group" and name):
            continue
        if kind == "rule" and name:
            if name not in rules:
                yield Problem(where, f"no rule named {name!r} ({', '.join(sorted(rules)) or 'none defined'})")
            continue
        yield Problem(where, f"{member!r} is not a pool member: write one of {', '.join(POOL_MEMBERS)}")


def pool_permits(config: Config) -> Iterator[tuple[str, str]]:
    """Every pool ``allow``/``deny`` member with its key path (``subnet4[0].pools[1].allow[0]``)."""
    pools: list[tuple[str, Pool4 | Pool6]] = [
        (f"subnet4[{i}].pools[{j}]", p) for i, s in enumerate(config.subnet4) for j, p in enumerate(s.pools)
    ]
    pools += [(f"subnet6[{i}].pools[{j}]", p) for i, s in enumerate(config.subnet6) for j, p in enumerate(s.pools)]
    for where, pool in pools:
        for key in ("allow", "deny"):
            for k, member in enumerate(getattr(pool, key)):
                yield f"{where}.{key}[{k}]", member


def _check_hosts(config: Config) -> Iterator[Problem]:
    names = config.script_names()
    seen_names: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_addrs: dict[IPv4Address | IPv6Address, int] = {}  # an IPv4 address never equals an IPv6 one
    for i, host in enumerate(config.host):
        where = f"host[{i}]"
        if not HOST_NAME.match(host.name):
            yield Problem(f"{where}.name", f"{host.name!r} is {HOST_NAME_RULE}")
        if host.name in seen_names:
            yield Problem(f"{where}.name", f"{host.name!r} is also host[{seen_names[host.name]}]")
        seen_names.setdefault(host.name, i)
        for mac in host.mac:
            if mac in seen_macs and seen_macs[mac] != i:
                yield Problem(f"{where}.mac", f"{mac} is also the MAC of host[{seen_macs[mac]}]")
            seen_macs.setdefault(mac, i)
        for key, addr in (("ipv4", host.ipv4), ("ipv6", host.ipv6)):
            if addr is None:
                continue
            if addr in seen_addrs:
                yield Problem(f"{where}.{key}", f"{addr} is also the address of host[{seen_addrs[addr]}]")
            seen_addrs.setdefault(addr, i)
            problem = address_problem(config, addr)
            if problem:
                yield Problem(f"{where}.{key}", problem)
        if host.target is not None and host.target not in names:
            yield Problem(f"{where}.target", f"no target or menu named {host.target!r}")
        if not host.mac and host.duid is None:
            yield Problem(where, "a host needs a 'mac' or a 'duid' to be recognised")
        yield from check_placeholders(f"{where}.bootfile", host.bootfile)
        if (message := menu_default_problem(config, host.target, host.menu_default)) is not None:
            yield Problem(f"{where}.menu_default", message)


def menu_default_problem(config: Config, target: str | None, wanted: str | None) -> str | None:
    """Why a host's ``menu_default`` (``wanted``) would preselect nothing, or None.

    It must name an item of the menu the host boots: its ``target`` when that is a menu,
    otherwise (the rules choose) an item of some menu. Config hosts are checked here
    (``host[i].menu_default``), inventory hosts by ``boot/validation.host_problems``.
    """
    if wanted is None:
        return None
    if target is not None and target not in config.menus:
        if target not in config.targets:
            return None  # the unknown target is reported on its own
        return f"the host boots target {target!r}, not a menu: set 'target' to a menu or remove menu_default"
    names = [target] if target is not None else sorted(config.menus)
    if not names:
        return f"no menu is defined, so {wanted!r} preselects nothing"
    items = {i.target for n in names for i in config.menus[n].items if i.target}
    if wanted in items:
        return None
    where = f"menu {target!r}" if target is not None else "any menu"
    return f"{wanted!r} is not an item of {where} (items: {', '.join(sorted(items)) or 'none'})"


def _check_http_tls(http: HttpSection) -> Iterator[Problem]:
    """Both TLS files or neither, on a port of its own (the files themselves: ``web/tls.py``, at check and start)."""
    if (http.tls_cert is None) != (http.tls_key is None):
        have, need = ("tls_cert", "tls_key") if http.tls_key is None else ("tls_key", "tls_cert")
        yield Problem(f"http.{have}", f"TLS needs http.{need} too (the certificate and its private key)")
    elif http.tls_cert is not None and http.tls_port == http.port:
        yield Problem("http.tls_port", f"{http.tls_port} is also http.port: plain HTTP and HTTPS need a port each")


def _check_api_users(users: Sequence[ApiUser]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, user in enumerate(users):
        if user.name in seen:
            yield Problem(f"api.user[{i}].name", f"{user.name!r} is also api.user[{seen[user.name]}]: names are unique")
        seen.setdefault(user.name, i)


def event_patterns(entries: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A hook's ``events``: the exact kinds, and the prefixes of the entries ending in ``*`` ("" for "*").

    The one rule of what a hook's ``events`` entry matches (``net/hooks.py`` matches events by it).
    """
    exact = frozenset(e for e in entries if not e.endswith("*"))
    prefixes = tuple(dict.fromkeys(e[:-1] for e in entries if e.endswith("*")))
    return exact, prefixes


def _check_ddns(ddns: DdnsSection) -> Iterator[Problem]:
    """Zones and key names are DNS names; reverse zones are ``.arpa`` zones; one secret source with a key."""
    names = [("forward_zone", ddns.forward_zone), ("key_name", ddns.key_name)]
    names += [(f"reverse_zones[{i}]", z) for i, z in enumerate(ddns.reverse_zones)]
    for key, name in names:
        if name is None:
            continue
        try:
            encode_domain_list([name.rstrip(".")], compress=False)
        except ValueError as exc:
            yield Problem(f"ddns.{key}", f"{name!r}: {exc}: not a domain name (RFC 1035 §2.3.1)")
    for i, zone in enumerate(ddns.reverse_zones):
        if not zone.rstrip(".").lower().endswith((".in-addr.arpa", ".ip6.arpa")):
            yield Problem(f"ddns.reverse_zones[{i}]", f"{zone!r} is no reverse zone: give an in-addr.arpa or "
                          'ip6.arpa zone, e.g. "2.0.192.in-addr.arpa."')
    sources = [k for k in ("key_secret_file", "key_secret_env") if getattr(ddns, k) is not None]
    if ddns.key_name is not None and len(sources) != 1:
        yield Problem("ddns.key_name", "a TSIG key needs its secret from exactly one of key_secret_file (a file "
                      "holding it) or key_secret_env (an environment variable); never inline")
    if ddns.key_name is None and sources:
        yield Problem(f"ddns.{sources[0]}", "a secret without key_name: name the key as the DNS server knows it")
    if ddns.enabled and ddns.server is None:
        yield Problem("ddns.server", 'updates need the DNS server\'s address: server = "192.0.2.53"')
    if ddns.enabled and ddns.forward_zone is None:
        yield Problem("ddns.forward_zone", 'updates need the zone the names go in: forward_zone = "lab.example."')


def _check_hooks(hooks: Sequence[Hook]) -> Iterator[Problem]:
    kinds = [str(k) for k in EventKind]
    services = ", ".join(sorted({k.split(".", 1)[0] + ".*" for k in kinds}))
    for i, hook in enumerate(hooks):
        where = f"hook[{i}]"
        if not hook.events:
            yield Problem(f"{where}.events", "lists no event kind: name at least one (e.g. \"dhcp4.ack\")")
        for j, entry in enumerate(hook.events):
            if "*" in entry[:-1]:
                yield Problem(f"{where}.events[{j}]", f"{entry!r}: '*' may only end an entry (\"dhcp4.*\")")
            elif entry.endswith("*"):
                if not any(k.startswith(entry[:-1]) for k in kinds):
                    yield Problem(f"{where}.events[{j}]", f"{entry!r} matches no event kind (kinds are "
                                  f"<service>.<step>: {services}; docs/hooks.md lists them)")
            elif entry not in kinds:
                close = difflib.get_close_matches(entry, kinds, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                yield Problem(f"{where}.events[{j}]", f"unknown event kind {entry!r} ({hint}kinds are "
                              f"<service>.<step>: {services}; docs/hooks.md lists them)")
        if (hook.command is None) == (hook.url is None):
            yield Problem(where, "a hook needs exactly one of 'command' (a program and its arguments) or 'url'")
        if hook.command is not None and (not hook.command or not hook.command[0]):
            yield Problem(f"{where}.command", "names no program: [\"/usr/local/bin/on-lease\", \"arg\", …]")
        if hook.url is not None and not re.match(r"(?i)https?://[^/?#\s]+", hook.url):
            yield Problem(f"{where}.url", "not an http:// or https:// URL")
        if hook.headers and hook.url is None:
            yield Problem(f"{where}.headers", "request headers go with 'url' (a command gets none)")


def address_problem(config: Config, addr: IPv4Address | IPv6Address) -> str | None:
    """Why a host's fixed address cannot be handed out under ``config``, or None."""
    if isinstance(addr, IPv4Address):
        if not config.subnet4:
            return None
        sub = next((s.subnet for s in config.subnet4 if addr in s.subnet), None)
        if sub is None:
            return f"{addr} is outside every subnet4 ({', '.join(str(s.subnet) for s in config.subnet4)})"
        # RFC 950 / RFC 919: all-zeros and all-ones host parts (not on /31, RFC 3021, or /32).
        if sub.prefixlen < 31 and addr in (sub.network_address, sub.broadcast_address):
            return f"{addr} is the network or broadcast address of {sub}"
        return None
    if config.subnet6 and not any(addr in s.prefix for s in config.subnet6):
        return f"{addr} is outside every subnet6 ({', '.join(str(s.prefix) for s in config.subnet6)})"
    return None


def ip_text(addr: IPv4Address | IPv6Address | str) -> str:
    """An address as it appears inside a URL: IPv6 literals bracketed (RFC 3986 §3.2.2)."""
    parsed = ipaddress.ip_address(str(addr).strip("[]"))
    return f"[{parsed}]" if parsed.version == 6 else str(parsed)
