"""The single-line statements of a dhcpd.conf/dhcpd6.conf scope: parameters, boot statements, ranges, permits.

Part of the ISC importer (:mod:`.isc_conf`); :mod:`.isc_scopes` dispatches
each statement here. Where they go:

* parameters (lease times, ``authoritative``, ``server-identifier``) → the
  scope's settings, which become ``[dhcp4]``/``[dhcp6]`` or a subnet;
* ``filename``/``next-server`` → rule assignments (or the scope's
  ``next_server``), and a group's host values;
* ``range``/``range6``/``prefix6`` → the scope's pools (``temporary`` and
  prefix delegation → the subnet6);
* ``allow``/``deny``/``ignore`` → pool permits, ``ignore`` rule
  assignments, or ``allow_bootp``;
* :data:`IGNORED`: the statements with no effect on answers, and why.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from bootwright.inventory.isc import Node, Token
from bootwright.migrate.isc_parse import statement_text
from bootwright.migrate.isc_rules import Assign
from bootwright.migrate.isc_state import ImportState, Scope, is_ipv4, is_ipv6

# Statements with no effect on what a client is answered, and why.
IGNORED: Final = {
    "log-facility": "bootwright logs to the journal or stderr (--log-format)",
    "lease-file-name": "bootwright keeps its leases in its state directory",
    "dhcpv6-lease-file-name": "bootwright keeps its leases in its state directory",
    "pid-file-name": "bootwright runs under systemd (bootwright systemd-unit)",
    "dhcpv6-pid-file-name": "bootwright runs under systemd (bootwright systemd-unit)",
    "omapi-port": "bootwright has a REST API instead of OMAPI (docs/api.md)",
    "ping-check": "a timing choice of dhcpd; bootwright does not ping before offering",
    "ping-timeout": "a timing choice of dhcpd; bootwright does not ping before offering",
    "db-time-format": "the lease file format of dhcpd",
    "update-static-leases": "a dynamic DNS setting",
    "ddns-domainname": "a dynamic DNS setting",
    "ddns-rev-domainname": "a dynamic DNS setting",
    "ddns-hostname": "a dynamic DNS setting",
    "ddns-updates": "a dynamic DNS setting",
    "update-optimization": "a dynamic DNS setting",
    "update-conflict-detection": "a dynamic DNS setting",
    "one-lease-per-client": "bootwright keeps one lease per client and subnet already",
}


class Statements(ImportState):
    """The importer's single-line statements (a mixin of :class:`~.isc_state.ImportState`)."""

    def parameter(self, node: Node, ctx: Scope, head: str, words: list[str]) -> None:
        """A parameter of a subnet, shared-network, group or the global scope (dhcpd.conf(5))."""
        settings = ctx.settings
        if (
            head in ("default-lease-time", "max-lease-time", "preferred-lifetime")
            and len(words) == 2
            and words[1].isdigit()
        ):
            key = {
                "default-lease-time": "valid_lifetime" if self.v6 else "lease_time",
                "max-lease-time": "max_lease_time",
                "preferred-lifetime": "preferred_lifetime",
            }[head]
            if self.v6 and head == "max-lease-time":
                self.note(
                    node,
                    "approximated",
                    "bootwright hands out the configured lifetimes whatever a client asks (no cap is needed)",
                )
                return
            if not self.v6 and head == "preferred-lifetime":
                self.note(node, "ignored", "a DHCPv6 parameter in a DHCPv4 file")
                return
            settings[key] = int(words[1])
            self.ok()
        elif head == "authoritative" and len(words) == 1:
            self.authoritative(node, ctx, True)
        elif head == "not" and [w.lower() for w in words] == ["not", "authoritative"]:
            self.authoritative(node, ctx, False)
        elif head == "server-identifier" and len(words) == 2 and not self.v6 and is_ipv4(words[1]):
            settings["server"] = words[1]
            self.ok()
        elif head == "use-host-decl-names" and len(words) == 2 and words[1].lower() in ("on", "true"):
            self.ok()  # bootwright names hosts by their declaration (option 12) already
        elif head == "ddns-update-style":
            self.note(
                node,
                "untranslated",
                "bootwright does not update DNS from DHCP the dhcpd way; "
                "export zones (bootwright export) or use RFC 2136 updates (docs/dns.md)",
            )
        else:
            self.note(node, "untranslated", "not translated: bootwright has no such setting (dhcpd.conf(5))")

    def authoritative(self, node: Node, ctx: Scope, value: bool) -> None:
        """``authoritative``/``not authoritative``: the scope's ``authoritative`` (DHCPv4)."""
        if self.v6:
            self.note(
                node,
                "approximated",
                "bootwright's DHCPv6 server answers as dhcpd6 does when "
                "authoritative (it replies NotOnLink to addresses of other links)",
            )
            return
        ctx.settings["authoritative"] = value
        self.ok()

    def boot_statement(self, node: Node, ctx: Scope, head: str) -> None:
        """``filename`` or ``next-server``: a rule assignment (or the scope's next-server)."""
        words = node.words
        if len(words) != 2:
            self.note(node, "untranslated", f"expected '{head} VALUE;'")
            return
        value = words[1].text
        if self.v6:
            self.note(node, "ignored", f"{head} is a DHCPv4 parameter: dhcpd6 does not send it")
            return
        if head == "next-server":
            if not is_ipv4(value):
                self.note(
                    node, "untranslated", f"{value!r} is a name: dhcpd resolves it when it loads; give the address"
                )
                return
            if ctx.conditional:
                ctx.program.append(Assign({"next_server": value}))
            else:
                ctx.settings["next_server"] = value
                if ctx.kind == "group":
                    ctx.hosts.values["next_server"] = value
        else:
            ctx.program.append(Assign({"bootfile": value}))
            if ctx.kind == "group":
                ctx.hosts.values["bootfile"] = value
        self.ok()

    # ----------------------------------------------------------------- pools and permits

    def range(self, node: Node, ctx: Scope, head: str) -> None:
        """``range``, ``range6`` or ``prefix6``: a pool of the subnet (or of the pool block it is in)."""
        words = [t.text for t in node.words[1:]]
        target = ctx if ctx.kind in ("subnet", "pool") else None
        if target is None:
            self.note(node, "untranslated", f"{head} outside a subnet or pool")
            return
        if head == "prefix6":
            parts = " ".join(words).replace("/", " /").split()
            if len(parts) != 3 or not parts[2].startswith("/") or not parts[2][1:].isdigit():
                self.note(node, "untranslated", "expected 'prefix6 LOW HIGH /LENGTH;'")
                return
            self.pd_pool(node, ctx, {"start": parts[0], "end": parts[1], "length": int(parts[2][1:])})
            return
        entry: dict[str, Any] = {}
        if words[:1] == ["dynamic-bootp"]:
            entry["dynamic_bootp"] = True
            words = words[1:]
        if words[-1:] == ["temporary"]:
            self.temporary(node, ctx)
            return
        if len(words) == 1 and "/" in words[0]:
            try:
                net = ipaddress.ip_network(words[0], strict=False)
            except ValueError:
                self.note(node, "untranslated", f"{words[0]!r} is not a prefix")
                return
            words = [str(net.network_address), str(net.broadcast_address)]
        if len(words) == 1:
            words = words * 2
        if len(words) != 2 or not all((is_ipv6 if self.v6 else is_ipv4)(w) for w in words):
            self.note(node, "untranslated", f"expected '{head} LOW HIGH;'")
            return
        entry = {"start": words[0], "end": words[1], **entry}
        ctx.pools.append(entry)
        self.ok()

    def temporary(self, node: Node, ctx: Scope) -> None:
        """``range6 … temporary``: the subnet6 hands out temporary addresses (IA_TA)."""
        sub = _subnet_ctx(ctx)
        if sub is None:
            self.note(node, "untranslated", "range6 … temporary outside a subnet6")
            return
        sub.settings["temporary"] = True
        sub.settings.setdefault("_lines", {})["temporary"] = (self.file, node.line, statement_text(node))
        self.ok()

    def pd_pool(self, node: Node, ctx: Scope, entry: dict[str, Any]) -> None:
        """``prefix6``: a prefix-delegation pool of the subnet6."""
        sub = _subnet_ctx(ctx)
        if sub is None:
            self.note(node, "untranslated", "prefix6 outside a subnet6")
            return
        sub.settings.setdefault("pd_pools", []).append(entry)
        sub.settings.setdefault("_lines", {})["pd_pools"] = (self.file, node.line, statement_text(node))
        self.ok()

    def permit(self, node: Node, ctx: Scope) -> None:
        """``allow``/``deny``/``ignore``: booting, BOOTP, or who may use a pool."""
        words = [t.text.lower() if not t.quoted else t.text for t in node.words]
        verb, what = words[0], " ".join(words[1:])
        if what == "booting":
            if ctx.conditional:
                ctx.program.append(Assign({"ignore": verb != "allow"}))
                self.ok()
            elif verb == "allow":
                self.ok()  # the default
            else:
                self.note(
                    node,
                    "untranslated",
                    "deny booting outside a host, class or condition ignores every "
                    "client of the scope: remove the scope instead",
                )
            return
        if what == "bootp" and ctx.kind == "global":
            self.allow_bootp = verb == "allow"
            self.ok()
            return
        if what == "leasequery":
            self.note(
                node, "ignored", "bootwright does not answer LEASEQUERY (RFC 5007); clients are answered the same"
            )
            return
        if what in ("client-updates", "unknown-clients known-clients") or what.endswith("client-updates"):
            self.note(node, "ignored", "a dynamic DNS setting")
            return
        member = _member(words[1:], node.words[1:])
        if member is None:
            self.note(
                node,
                "untranslated",
                "not translated: bootwright pools allow or deny known, unknown and members of classes (rule:NAME)",
            )
            return
        if ctx.kind == "pool":
            self.permits.append((ctx.settings, verb, member, node.line, self.file, statement_text(node)))
        elif member in ("known", "unknown"):
            # dhcpd.conf(5): outside a pool, (deny|allow) unknown-clients applies to the scope's ranges.
            ctx.settings.setdefault("_permits", []).append((verb, member))
        else:
            self.note(node, "untranslated", "allow/deny members of a class works in a pool only")
            return
        self.ok()


def _subnet_ctx(ctx: Scope) -> Scope | None:
    up: Scope | None = ctx
    while up is not None and up.kind != "subnet":
        up = up.parent
    return up


def _member(words: list[str], tokens: list[Token]) -> str | None:
    """A pool permit's member: known, unknown, class:NAME; None when bootwright has no such member."""
    what = " ".join(words)
    if what in ("unknown-clients", "unknown clients"):
        return "unknown"
    if what in ("known-clients", "known clients"):
        return "known"
    if len(words) == 3 and words[:2] == ["members", "of"]:
        return f"class:{tokens[2].text}"
    return None
