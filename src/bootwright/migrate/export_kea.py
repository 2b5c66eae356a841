"""The config and inventory as Kea configuration: kea-dhcp4 and kea-dhcp6 JSON (pure).

Rule: the boot decision comes from :mod:`.program` as client classes whose
``test`` expressions make the result order-independent. Kea assigns every
class whose test holds and, for a field or option set by several, uses the
first class in the list; bootwright lets a later rule's value replace an
earlier one's and stops at the first final rule. So the classes are listed
from the last rule to the first, each testing its own condition *and* that no
earlier final rule matched; the built-in architecture table follows (lowest
priority: bootwright keeps what a non-final rule set over the table), each of
its entries also testing that no final rule and no earlier entry matched.
One subnet (or several with the same server address and rules): the classes
are global. Otherwise each subnet gets its own classes, ``only-if-required``
and listed in the subnet's ``require-client-classes``.

A pool's ``allow``/``deny`` becomes one class per pool (Kea's pool
``client-class`` names one class); an ``ignore`` rule becomes Kea's ``DROP``
class. Options by code travel as hex (``csv-format: false``), the octets
bootwright's own encoder makes. Kea cannot be a proxyDHCP server: a proxy
subnet is left out with a note.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, summarize_address_range
from typing import Any

from bootwright.boot.policy import resolve_ipxe_settings
from bootwright.boot.reply import dhcp6_lifetimes
from bootwright.config import Config, Dhcp6Common, Pool4, Pool6, Subnet4, Subnet6
from bootwright.migrate.exported import Exported
from bootwright.migrate.program import (
    PXE_VENDOR,
    Atom,
    Program,
    Step,
    client_ids,
    dhcp6_settings,
    host_boot,
    host_boot6,
    member_atoms,
    ntp_addresses,
    program,
    servers_by_family,
)
from bootwright.model import Host, IpxeSetting
from bootwright.wire.dhcp4_codecs import parse_octets
from bootwright.wire.dhcp4_options import encode_option, parse_config_value
from bootwright.wire.ipxe_options import IPXE_OPTIONS_BY_CODE, encode_ipxe_value

TRUE = "'bw' == 'bw'"  # Kea has no boolean literal; a class without a test is never assigned by itself
# program.dhcp6_settings keys → Kea's option names (Kea ARM, "DHCPv6 Option Definitions").
_V6_NAMES = {
    "dns": "dns-servers",
    "domain_search": "domain-search",
    "preference": "preference",
    "info_refresh_time": "information-refresh-time",
}
_IPXE_TYPES = {"int8": "int8", "uint8": "uint8", "string": "string", "hex": "binary"}


def _lit(raw: bytes) -> str:
    """Octets as a Kea expression literal: 'text' when printable (no quote), else 0x hex."""
    if raw and all(0x20 <= b < 0x7F for b in raw) and b"'" not in raw:
        return f"'{raw.decode()}'"
    return "0x" + raw.hex() if raw else "''"


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


class _Writer:
    """Shared state of one export: the notes, the iPXE options it needed, the programs and their classes."""

    def __init__(self, result: Exported, family: int) -> None:
        self.result = result
        self.family = family
        self.ipxe_codes: set[int] = set()
        self.progs: list[Program] = []
        self.shared = True  # every subnet shares one decision: the classes are global
        self.client_classes: list[dict[str, Any]] = []
        self.drops: list[str] = []  # the tests of ignore rules, for the DROP class

    def atom(self, atom: Atom, path: str) -> str | None:
        """One condition as a Kea expression; ``None`` when it never holds in this format."""
        v = atom.values
        six = self.family == 6
        arch = 61 if six else 93
        if atom.kind == "arch":
            return _or([f"substring(option[{arch}].hex,0,2) == 0x{int(a):04x}" for a in v])  # type: ignore[call-overload]
        if atom.kind == "has_arch":
            return f"option[{arch}].exists" if v[0] else f"not option[{arch}].exists"
        if atom.kind == "vendor":
            # v6: enterprise number (4 octets) and the first vendor-class-data length (2) before the text
            start, opt = (6, 16) if six else (0, 60)
            return _or(
                [f"substring(option[{opt}].hex,{start},{len(str(p).encode())}) == {_lit(str(p).encode())}" for p in v]
            )
        if atom.kind == "user_class":
            if six:  # RFC 8415 §21.15: 2-octet length, then the first entry
                return _or(
                    [
                        f"substring(option[15].hex,0,{len(str(u).encode()) + 2}) == 0x"
                        f"{(len(str(u).encode()).to_bytes(2, 'big') + str(u).encode()).hex()}"
                        for u in v
                    ]
                )
            return _or([f"option[77].hex == {_lit(str(u).encode())}" for u in v])
        if atom.kind in ("mac_prefix", "client"):
            parts = []
            for kind, text in client_ids(atom):
                octets = bytes.fromhex(str(text).replace(":", ""))
                if kind == "duid":
                    parts.append(f"option[1].hex == 0x{octets.hex()}")
                elif not six:
                    parts.append(f"substring(pkt4.mac,0,{len(octets)}) == 0x{octets.hex()}")
                else:
                    self.result.note(
                        f"{path}.match",
                        "Kea sees no MAC in DHCPv6 here: matched on the last octets of "
                        "the DUID (DUID-LL/LLT carry the MAC there; other DUIDs do not match)",
                    )
                    if len(octets) < 6:
                        return None
                    parts.append(f"substring(option[1].hex,-6,6) == 0x{octets.hex()}")
            return _or(parts)
        if atom.kind == "known":
            return "member('KNOWN')" if v[0] else "member('UNKNOWN')"
        if atom.kind == "circuit_id":
            field = "relay6[0].option[18].hex" if six else "relay4[1].hex"
            return _or([f"{field} == {_lit(b)}" for b in v])  # type: ignore[arg-type]
        if atom.kind == "remote_id":
            if six:  # RFC 4649: the enterprise number (4 octets) first
                return _or([f"substring(relay6[0].option[37].hex,4,{len(b)}) == {_lit(b)}" for b in v])  # type: ignore[arg-type]
            return _or([f"relay4[2].hex == {_lit(b)}" for b in v])  # type: ignore[arg-type]
        if atom.kind == "client_id":
            opt = 1 if six else 61
            return _or([f"option[{opt}].hex == {_lit(b)}" for b in v])  # type: ignore[arg-type]
        if atom.kind == "ipxe_feature":  # DHCPv4 only: program.rule_atoms leaves these rules out of DHCPv6
            parts = []
            for code in v:
                if not isinstance(code, int):
                    return None
                self.ipxe_codes.add(code)
                parts.append(f"option[175].option[{code}].exists")
            return " and ".join(parts) if len(parts) == 1 else "(" + " and ".join(parts) + ")"
        if six:
            return (
                f"(option[61].exists or substring(option[16].hex,6,9) == '{PXE_VENDOR}'"
                " or substring(option[16].hex,6,10) == 'HTTPClient')"
            )
        return (
            f"(option[93].exists or substring(option[60].hex,0,9) == '{PXE_VENDOR}'"
            " or substring(option[60].hex,0,10) == 'HTTPClient')"
        )

    def condition(self, atoms: tuple[Atom, ...], path: str) -> str | None:
        parts = []
        for atom in atoms:
            text = self.atom(atom, path)
            if text is None:
                return None
            parts.append(text)
        return " and ".join(parts) if parts else ""

    # --------------------------------------------------------------- classes

    def classes(self, prog: Program, prefix: str, required: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """The classes of one program in priority order, and the DROP tests of its ignore rules."""
        rules: list[tuple[Step, str]] = []
        for step in prog.rules:
            cond = self.condition(step.when, step.path)
            if cond is not None:
                rules.append((step, cond))
        out: list[dict[str, Any]] = []
        drops: list[str] = []
        finals_before: list[str] = []
        tests: list[tuple[Step, str]] = []
        reachable = True
        for step, cond in rules:
            if not reachable:
                break
            test = _and(cond, *(f"not ({c})" for c in finals_before))
            tests.append((step, test))
            if step.final:
                if not cond:
                    reachable = False
                finals_before.append(cond)
        for step, test in reversed(tests):
            if step.ignore:
                drops.append(test)
                continue
            out.append(self.klass(f"{prefix}{step.name}", step, test, required))
        if reachable:
            earlier: list[str] = []
            for step in prog.builtin:
                cond = self.condition(step.when, step.path)
                if cond is None:
                    continue
                test = _and(cond, *(f"not ({c})" for c in finals_before + earlier))
                earlier.append(cond)
                out.append(self.klass(f"{prefix}{step.name}", step, test, required))
        return out, drops

    def klass(self, name: str, step: Step, test: str, required: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": _name(name), "test": test or TRUE}
        if required:
            entry["only-if-required"] = True
        data: list[dict[str, Any]] = []
        if self.family == 4:
            if step.next_server is not None:
                entry["next-server"] = step.next_server
            if step.bootfile is not None:
                entry["boot-file-name"] = step.bootfile
            if step.tftp_server is not None:
                data.append({"name": "tftp-server-name", "data": step.tftp_server})
            if step.vendor_class is not None:  # an echo the client did not ask for: always sent
                data.append({"name": "vendor-class-identifier", "data": step.vendor_class, "always-send": True})
            data += self.ipxe(step.ipxe)
        else:
            if step.bootfile is not None:
                data.append({"name": "bootfile-url", "data": step.bootfile})
            if step.vendor_class is not None:
                raw = step.vendor_class.encode()
                value = (step.vendor_enterprise or 0).to_bytes(4, "big") + len(raw).to_bytes(2, "big") + raw
                data.append({"code": 16, "csv-format": False, "data": value.hex(), "always-send": True})
        if data:
            entry["option-data"] = data
        return entry

    def ipxe(self, settings: Sequence[IpxeSetting]) -> list[dict[str, Any]]:
        """iPXE settings as option 175 sub-options in the ``ipxe`` space (defined at the top)."""
        if not settings:
            return []
        out: list[dict[str, Any]] = [{"name": "ipxe-encap-opts", "always-send": True}]
        for s in settings:
            self.ipxe_codes.add(s.code)
            out.append(
                {"space": "ipxe", "code": s.code, "csv-format": False, "data": encode_ipxe_value(s.code, s.value).hex()}
            )
        return out

    def definitions(self) -> list[dict[str, Any]]:
        if not self.ipxe_codes or self.family == 6:
            return []
        defs: list[dict[str, Any]] = [
            {"name": "ipxe-encap-opts", "code": 175, "space": "dhcp4", "type": "empty", "encapsulate": "ipxe"}
        ]
        for code in sorted(self.ipxe_codes):
            opt = IPXE_OPTIONS_BY_CODE.get(code)
            defs.append(
                {
                    "name": opt.name if opt else f"option-{code}",
                    "code": code,
                    "space": "ipxe",
                    "type": _IPXE_TYPES[opt.kind if opt else "hex"],
                }
            )
        return defs

    # ------------------------------------------------------ the subnets' parts

    def decide(self, progs: list[Program]) -> None:
        """Take each exported subnet's program; one shared decision becomes the global classes."""
        self.progs = progs
        self.shared = _scopes(progs)
        if self.shared and progs:
            self.client_classes, self.drops = self.classes(progs[0], "", False)

    def require(self, entry: dict[str, Any], n: int, i: int) -> None:
        """A subnet's own classes (``n``: its program, ``i``: its index in the config) when they are not global."""
        if self.shared:
            return
        own, own_drops = self.classes(self.progs[n], f"s{i}-", True)
        self.client_classes += own
        self.drops += own_drops
        entry["require-client-classes"] = [c["name"] for c in own]

    def pools(
        self, config: Config, hosts: list[Host], pools: Sequence[Pool4 | Pool6], name: str, where: str
    ) -> list[dict[str, Any]]:
        """A subnet's pools, each restricted to its own class (``NAME-J``) when it has allow/deny."""
        out = []
        for j, pool in enumerate(pools):
            item: dict[str, Any] = {"pool": f"{pool.start} - {pool.end}"}
            klass = self.pool_class(config, hosts, pool.allow, pool.deny, f"{name}-{j}", f"{where}.pools[{j}]")
            if klass is not None:
                self.client_classes.append(klass)
                item["client-class"] = klass["name"]
            if isinstance(pool, Pool4) and pool.dynamic_bootp:
                self.result.note(
                    f"{where}.pools[{j}].dynamic_bootp",
                    "Kea answers BOOTP only with its libdhcp_bootp hook library; the pool is exported for DHCP clients",
                )
            out.append(item)
        return out

    def document(self, top: dict[str, Any], data: list[dict[str, Any]], subnets: list[dict[str, Any]]) -> str:
        """The whole ``{"Dhcp4": …}``/``{"Dhcp6": …}`` JSON text: ``top`` completed by the definitions,
        the global option data, the classes (DROP first) and the subnets."""
        self._drop()
        defs = self.definitions()
        if defs:
            top["option-def"] = defs
        if data:
            top["option-data"] = data
        if self.client_classes:
            top["client-classes"] = self.client_classes
        top[f"subnet{self.family}"] = subnets
        return json.dumps({f"Dhcp{self.family}": top}, indent=2) + "\n"

    def _drop(self) -> None:
        """The ignore rules as Kea's DROP class, first in the list."""
        if not self.drops:
            return
        test = _or([f"({d})" if d else TRUE for d in self.drops])
        if "KNOWN" in test:
            self.result.note(
                "rule",
                "an ignore rule depends on known/unknown, which Kea cannot use in its DROP class "
                "(evaluated before the host lookup): the condition is used without it being checked",
            )
            test = test.replace("member('KNOWN')", TRUE).replace("member('UNKNOWN')", TRUE)
        self.client_classes.insert(0, {"name": "DROP", "test": test})

    def pool_class(
        self, config: Config, hosts: list[Host], allow: list[str], deny: list[str], name: str, path: str
    ) -> dict[str, Any] | None:
        """The class a pool is restricted to: any allowed member and no denied one."""
        if not allow and not deny:
            return None

        def member(text: str, verb: str) -> str | None:
            atoms = member_atoms(config, hosts, self.family, text)
            if atoms is None:
                self.result.note(f"{path}.{verb}", f"{text!r} names no client of this config and inventory")
                return None
            return self.condition(atoms, path)

        allowed = [c for c in (member(m, "allow") for m in allow) if c is not None]
        denied = [c for c in (member(m, "deny") for m in deny) if c is not None]
        if allow and not allowed:
            allowed = ["'bw' == 'nobody'"]
        parts = [_or([c or TRUE for c in allowed])] if allowed else []
        parts += [f"not ({c or TRUE})" for c in denied]
        return {"name": name, "test": " and ".join(parts) or TRUE}


def _and(*parts: str) -> str:
    return " and ".join(p for p in parts if p)


def _name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def _scopes(progs: list[Program]) -> bool:
    """True when every subnet shares one decision (server address and steps): classes can be global."""
    return len({(p.context.address, p.rules, p.builtin) for p in progs}) <= 1


def _option(code: int, text: str, family: int) -> dict[str, Any]:
    raw = encode_option(code, parse_config_value(code, text)) if family == 4 else parse_octets(text)
    return {"code": code, "csv-format": False, "data": raw.hex()}


def _v4_data(scope: Any, path: str, result: Exported, w: _Writer) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for key, name in (("routers", "routers"), ("dns", "domain-name-servers")):
        if getattr(scope, key):
            data.append({"name": name, "data": ", ".join(map(str, getattr(scope, key)))})
    if scope.domain_name:
        data.append({"name": "domain-name", "data": scope.domain_name})
    if scope.domain_search:
        data.append({"name": "domain-search", "data": ", ".join(scope.domain_search)})
    addresses = ntp_addresses(
        scope.ntp_servers,
        path,
        result.note,
        "Kea sends addresses only, and does not resolve names: the names are left out; give addresses",
    )
    if addresses:
        data.append({"name": "ntp-servers", "data": ", ".join(addresses)})
    if scope.ipxe:
        data += w.ipxe(resolve_ipxe_settings(scope.ipxe))
    data += [_option(int(c), t, 4) for c, t in (scope.options or {}).items()]
    return data


def _lifetimes4(entry: dict[str, Any], scope: Any) -> None:
    if scope.lease_time is not None:
        entry["valid-lifetime"] = scope.lease_time
        entry["renew-timer"] = scope.lease_time // 2  # RFC 2131 §4.4.5, as bootwright sends T1/T2
        entry["rebind-timer"] = scope.lease_time * 7 // 8
    if scope.max_lease_time is not None:
        entry["max-valid-lifetime"] = scope.max_lease_time
    if scope.authoritative is not None:
        entry["authoritative"] = scope.authoritative


def _top(config: Config, subnets: Sequence[Subnet4 | Subnet6]) -> dict[str, Any]:
    """The start of a Dhcp4/Dhcp6 object: interfaces, the lease file, reservations by address."""
    names = list(config.server.interfaces) or [s.interface for s in subnets if s.interface]
    return {
        "interfaces-config": {"interfaces": list(dict.fromkeys(names))},
        "lease-database": {"type": "memfile", "persist": True},
        "ip-reservations-unique": False,  # a host with several MACs keeps one address, as in bootwright
    }


def export_kea4(config: Config, hosts: list[Host], servers: Sequence[str] = ()) -> Exported:
    """kea-dhcp4.conf (JSON) for the config's DHCPv4 part and the inventory's hosts (module docstring)."""
    result = Exported("kea4")
    w = _Writer(result, 4)
    by_family = servers_by_family(list(servers))
    g = config.dhcp4
    dhcp4 = _top(config, config.subnet4)
    _lifetimes4(dhcp4, g)
    if g.next_server is not None:
        dhcp4["next-server"] = str(g.next_server)
    data = _v4_data(g, "dhcp4", result, w)
    full = [(i, s) for i, s in enumerate(config.subnet4) if s.mode == "full"]
    for i, s in enumerate(config.subnet4):
        if s.mode == "proxy":
            result.note(
                f"subnet4[{i}].mode",
                "Kea cannot answer as a proxyDHCP server (PXE 2.1 §2.2.2): the subnet "
                "is left out; export dnsmasq for a proxy",
            )
    if g.allow_bootp:
        result.note(
            "dhcp4.allow_bootp",
            "Kea answers BOOTP only with its libdhcp_bootp hook library loaded: add it to hooks-libraries",
        )
    w.decide([program(config, hosts, 4, s, by_family, result.note) for _, s in full])
    subnets = []
    for n, (i, sub) in enumerate(full):
        where = f"subnet4[{i}]"
        entry: dict[str, Any] = {"id": i + 1, "subnet": str(sub.subnet)}
        if sub.interface:
            entry["interface"] = sub.interface
        _lifetimes4(entry, sub)
        if sub.next_server is not None:
            entry["next-server"] = str(sub.next_server)
        pools = w.pools(config, hosts, sub.pools, f"bw-pool-{i}", where)
        if pools:
            entry["pools"] = pools
        sub_data = _v4_data(sub, where, result, w)
        if sub.ipxe and any(s.ipxe for s in w.progs[n].rules):
            result.note(
                f"{where}.ipxe",
                "Kea prefers a subnet's options over a class's, bootwright a rule's over "
                "the subnet's: a rule's iPXE setting of the same code loses here",
            )
        if sub_data:
            entry["option-data"] = sub_data
        w.require(entry, n, i)
        entry["reservations"] = _reservations4(config, hosts, sub, by_family, result)
        subnets.append(entry)
    result.text = w.document(dhcp4, data, subnets)
    return result


def _reservations4(
    config: Config, hosts: list[Host], sub: Subnet4, servers: dict[int, str], result: Exported
) -> list[dict[str, Any]]:
    """A reservation per MAC of each host with an address in ``sub`` (or with no address but boot settings)."""
    out = []
    for host in hosts:
        inside = host.ipv4 is not None and IPv4Address(host.ipv4) in sub.subnet
        if not host.macs or not (inside or (host.ipv4 is None and (host.bootfile or host.next_server or host.options))):
            continue
        bootfile, next_server = host_boot(config, host, servers, f"host {host.name}.bootfile", result.note)
        for mac in host.macs:
            entry: dict[str, Any] = {"hw-address": mac, "hostname": host.name}
            if inside:
                entry["ip-address"] = host.ipv4
            if next_server:
                entry["next-server"] = next_server
            if bootfile:
                entry["boot-file-name"] = bootfile
            if host.options:
                entry["option-data"] = [_option(c, t, 4) for c, t in host.options]
            out.append(entry)
    return out


def _v6_data(scope: Dhcp6Common, path: str, result: Exported) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = [
        {"name": _V6_NAMES[key], "data": ", ".join(values)} for key, values in dhcp6_settings(scope)
    ]
    if scope.ntp_servers:
        result.note(
            f"{path}.ntp_servers",
            "not exported: Kea's option 56 takes sub-options (ntp-server space); add them by hand",
        )
    data += [_option(int(c), t, 6) for c, t in (scope.options or {}).items()]
    return data


def export_kea6(config: Config, hosts: list[Host], servers: Sequence[str] = ()) -> Exported:
    """kea-dhcp6.conf (JSON) for the config's DHCPv6 part and the inventory's hosts."""
    result = Exported("kea6")
    w = _Writer(result, 6)
    by_family = servers_by_family(list(servers))
    dhcp6 = _top(config, config.subnet6)
    data = _v6_data(config.dhcp6, "dhcp6", result)
    w.decide([program(config, hosts, 6, s, by_family, result.note) for s in config.subnet6])
    subnets = []
    for i, sub in enumerate(config.subnet6):
        where = f"subnet6[{i}]"
        t1, t2, preferred, valid = dhcp6_lifetimes(config, sub)
        entry: dict[str, Any] = {
            "id": i + 1,
            "subnet": str(sub.prefix),
            "valid-lifetime": valid,
            "preferred-lifetime": preferred,
            "renew-timer": t1,
            "rebind-timer": t2,
        }
        if sub.interface:
            entry["interface"] = sub.interface
        if config.dhcp6.rapid_commit:
            entry["rapid-commit"] = True  # RFC 8415 §18.3.1, per subnet in Kea
        pools = w.pools(config, hosts, sub.pools, f"bw-pool6-{i}", where)
        if pools:
            entry["pools"] = pools
        if sub.temporary:
            result.note(f"{where}.temporary", "Kea has no IA_TA: temporary addresses are not exported")
        pd = [_pd_pool(p.start, p.end, p.length) for p in sub.pd_pools]
        if pd:
            entry["pd-pools"] = [item for items in pd for item in items]
        sub_data = _v6_data(sub, where, result)
        if sub_data:
            entry["option-data"] = sub_data
        w.require(entry, i, i)
        entry["reservations"] = _reservations6(config, hosts, sub, by_family, result)
        subnets.append(entry)
    result.text = w.document(dhcp6, data, subnets)
    return result


def _pd_pool(start: IPv6Address, end: IPv6Address, length: int) -> list[dict[str, Any]]:
    """``prefix6 START END /LEN`` (END is the last delegated prefix) as Kea pd-pools (aligned prefixes)."""
    last = IPv6Address(int(end) + (1 << (128 - length)) - 1)
    return [
        {"prefix": str(net.network_address), "prefix-len": net.prefixlen, "delegated-len": length}
        for net in summarize_address_range(start, last)
        if net.prefixlen <= length
    ]


def _reservations6(
    config: Config, hosts: list[Host], sub: Subnet6, servers: dict[int, str], result: Exported
) -> list[dict[str, Any]]:
    out = []
    for host in hosts:
        if host.ipv6 is None or IPv6Address(host.ipv6) not in sub.prefix:
            continue
        ids = [("duid", host.duid.hex(":"))] if host.duid else [("hw-address", m) for m in host.macs]
        url = host_boot6(config, host, servers, f"host {host.name}.bootfile", result.note)
        for key, value in ids:
            entry: dict[str, Any] = {key: value, "ip-addresses": [host.ipv6], "hostname": host.name}
            if url:
                entry["option-data"] = [{"name": "bootfile-url", "data": url}]
            out.append(entry)
    return out
