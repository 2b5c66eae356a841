"""Kea subnets, pools, lifetimes and reservations as bootwright subnets and hosts (pure).

Part of the Kea importer (:mod:`.kea`). :meth:`KeaSubnets.subnet` turns a
``subnet4``/``subnet6`` entry into a ``[[subnet4]]``/``[[subnet6]]`` with its
pools (:meth:`KeaSubnets.pools`), lifetimes (:meth:`KeaSubnets.lifetimes`:
Kea's defaults that differ from bootwright's are written at the top) and
options; :meth:`KeaSubnets.reservation` turns a reservation into a host.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from bootwright.config import HOST_NAME
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.migrate.kea_json import Obj
from bootwright.migrate.kea_options import KeaOptions

KEA_VALID_LIFETIME = 7200  # Kea ARM: valid-lifetime default (v4 and v6)
KEA_PREFERRED_LIFETIME = 3600  # Kea ARM: preferred-lifetime default (v6)


class KeaSubnets(KeaOptions):
    """Subnets with their pools, lifetimes and options, and reservations as hosts."""

    def lifetimes(self, table: dict[str, Any], src: Obj, *, top: bool) -> None:
        """The lifetimes of the global scope (``top``: Kea's defaults are written) or a subnet into ``table``."""
        valid_key = "lease_time" if self.family == 4 else "valid_lifetime"
        if "valid-lifetime" in src:
            table[valid_key] = src["valid-lifetime"]
            self.out.translated += 1
        elif top:
            table[valid_key] = KEA_VALID_LIFETIME
        if "max-valid-lifetime" in src:
            if self.family == 4:
                table["max_lease_time"] = src["max-valid-lifetime"]
                self.out.translated += 1
            else:
                self.note(src, "max-valid-lifetime", "approximated", "bootwright gives the valid lifetime itself")
        if "min-valid-lifetime" in src:
            self.note(
                src,
                "min-valid-lifetime",
                "approximated",
                "bootwright gives the configured lifetime; a client's shorter request is not honoured",
            )
        if self.family == 6:
            if "preferred-lifetime" in src:
                table["preferred_lifetime"] = src["preferred-lifetime"]
                self.out.translated += 1
            elif top:
                table["preferred_lifetime"] = KEA_PREFERRED_LIFETIME
            for kea, ours in (("renew-timer", "renew_time"), ("rebind-timer", "rebind_time")):
                if kea in src:
                    table[ours] = src[kea]
                    self.out.translated += 1
        else:
            for key in ("renew-timer", "rebind-timer", "calculate-tee-times", "t1-percent", "t2-percent"):
                if key in src:
                    self.note(
                        src,
                        key,
                        "approximated",
                        "bootwright sends T1/T2 as 0.5/0.875 × the lease time (RFC 2131 §4.4.5)",
                    )
            if top and not any(k in src for k in ("renew-timer", "rebind-timer", "calculate-tee-times")):
                self.note(
                    src,
                    "valid-lifetime",
                    "approximated",
                    "Kea sends no T1/T2 (options 58/59) unless told; "
                    "bootwright always sends 0.5/0.875 × the lease time (RFC 2131 §4.4.5)",
                )
        for key in ("min-preferred-lifetime", "max-preferred-lifetime"):
            if key in src:
                self.note(src, key, "approximated", "bootwright gives the preferred lifetime itself")

    def pools(self, sub: Obj, entry: dict[str, Any]) -> None:
        """A subnet's ``pools`` as bootwright pools; a pool's ``client-class`` becomes its ``allow``."""
        for pool in sub.get("pools", []):
            if not isinstance(pool, Obj) or not isinstance(pool.get("pool"), str):
                continue
            text = pool["pool"].replace(" ", "")
            if "-" not in text:
                net = ip_network(text, strict=False)
                text = f"{net[0]}-{net[-1]}"
            item: dict[str, Any] = {"start": text.split("-")[0], "end": text.split("-")[1]}
            if "client-class" in pool:
                rules = self.rule_names.get(pool["client-class"])
                if rules:
                    item["allow"] = [f"rule:{r}" for r in rules]
                elif pool["client-class"] == "KNOWN":
                    item["allow"] = ["known"]
                elif pool["client-class"] == "UNKNOWN":
                    item["allow"] = ["unknown"]
                else:
                    self.note(pool, "client-class", "untranslated", "no translated class of that name")
            for key in ("require-client-classes", "option-data"):
                if key in pool:
                    self.note(pool, key, "untranslated", "per-pool settings: bootwright's are per subnet")
            entry.setdefault("pools", []).append(item)
            self.out.translated += 1
        if "pd-pools" in sub:
            self.note(sub, "pd-pools", "untranslated", "bootwright does not delegate prefixes (IA_PD)")

    def subnet(self, sub: Any, shared: bool) -> dict[str, Any] | None:
        """One ``subnet4``/``subnet6`` entry as a bootwright subnet (None when it has no ``subnet``)."""
        if not isinstance(sub, Obj) or "subnet" not in sub:
            return None
        net = ip_network(str(sub["subnet"]), strict=False)
        entry: dict[str, Any] = {"subnet" if self.family == 4 else "prefix": str(net)}
        if "interface" in sub:
            entry["interface"] = sub["interface"]
        if self.family == 4 and sub.get("next-server", "0.0.0.0") != "0.0.0.0":
            entry["next_server"] = sub["next-server"]
        if self.family == 4 and "authoritative" in sub:
            entry["authoritative"] = bool(sub["authoritative"])
        self.lifetimes(entry, sub, top=False)
        self.pools(sub, entry)
        self.options(entry, sub.get("option-data"), sub)
        if sub.get("boot-file-name"):
            self.boot_rules.append(
                {
                    "name": f"subnet-{net}-boot",
                    "match": {"family": 4, "subnet": [str(net)]},
                    "bootfile": sub["boot-file-name"],
                    "final": False,
                }
            )
        relay = sub.get("relay")
        if isinstance(relay, Obj):
            addresses = relay.get("ip-addresses") or ([relay["ip-address"]] if "ip-address" in relay else [])
            outside = [a for a in addresses if ip_network(a).network_address not in net]
            if outside:
                self.note(
                    sub,
                    "relay",
                    "approximated",
                    f"bootwright picks the subnet by the relay address inside "
                    f"it (RFC 3046 link selection, giaddr); {', '.join(outside)} is outside {net}",
                )
        if self.family == 6 and "rapid-commit" in sub:
            self.rapid.append((sub, bool(sub["rapid-commit"])))
        for key in ("client-class", "require-client-classes", "server-hostname", "store-extended-info"):
            if key in sub:
                self.note(sub, key, "untranslated", "a per-subnet setting bootwright does not have")
        if shared:
            self.note(
                sub,
                "subnet",
                "approximated",
                "a subnet of a shared network: bootwright picks subnets by the link's own address or the relay's",
            )
        for host in sub.get("reservations", []):
            self.reservation(host, net)
        return entry

    def reservation(self, host: Any, net: IPv4Network | IPv6Network | None) -> None:
        """One reservation as a bootwright host (global ones with ``net`` None)."""
        if not isinstance(host, Obj):
            return
        record: dict[str, Any] = {}
        if "hw-address" in host:
            record["mac"] = [host["hw-address"]]
        if "duid" in host:
            record["duid"] = host["duid"]
        for key in ("client-id", "circuit-id", "flex-id"):
            if key in host:
                self.note(host, key, "untranslated", "bootwright finds hosts by MAC or DUID")
        if "ip-address" in host:
            record["ipv4"] = host["ip-address"]
        if host.get("ip-addresses"):
            record["ipv6"] = host["ip-addresses"][0]
            if len(host["ip-addresses"]) > 1:
                self.note(host, "ip-addresses", "approximated", "bootwright keeps one address per host: the first")
        if host.get("prefixes"):
            self.note(host, "prefixes", "untranslated", "bootwright does not delegate prefixes (IA_PD)")
        name = str(host.get("hostname", "")).split(".")[0]
        if not name or not HOST_NAME.match(name):
            ident = str(host.get("hw-address") or host.get("duid") or "").replace(":", "")
            name = f"kea-{ident}"
            self.note(
                host,
                "hostname" if "hostname" in host else "hw-address",
                "approximated",
                f"bootwright needs a host name: {name!r} is used",
            )
        record["name"] = name
        if host.get("next-server", "0.0.0.0") != "0.0.0.0":
            record["next_server"] = host["next-server"]
        if host.get("boot-file-name"):
            record["bootfile"] = host["boot-file-name"]
        if host.get("client-classes"):
            record["groups"] = list(host["client-classes"])
        options: dict[str, str] = {}
        for opt in host.get("option-data", []):
            found = self.option(opt, host)
            if found is not None and self.family == 4:
                options[str(found[0])] = found[1]
            elif found is not None:
                self.note(opt, "data", "untranslated", "bootwright hosts carry DHCPv4 options only")
        if options:
            record["options"] = options
        try:
            self.out.hosts.append(host_from_dict(record))
            self.out.translated += 1
        except HostInputError as exc:
            self.note(host, "hw-address", "untranslated", "; ".join(str(p) for p in exc.problems))
