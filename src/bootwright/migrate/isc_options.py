"""``option`` statements of dhcpd.conf/dhcpd6.conf: definitions, option spaces and values as config fields.

Part of the ISC importer (:mod:`.isc_conf`). Where an option's value goes:

* in a subnet, shared-network or the global scope, the options bootwright has
  a field for become that field (routers, DNS, domain, NTP, lease T1/T2 of
  dhcpd6, DHCPv6 preference…); any other DHCPv4 option goes to the scope's
  ``options`` table by code, encoded by the inventory's host reader
  (:mod:`bootwright.inventory.isc`), a DHCPv6 text or address-list option to
  ``[dhcp6] options`` as hex;
* option 175 (space ``ipxe``) settings become ``ipxe`` settings;
* inside a class or an ``if`` arm, only the options a rule can set (boot file,
  option 66, the vendor-class echo, iPXE settings) become rule assignments;
* ``option space`` and ``option NAME code N = TYPE`` definitions grow the
  name table of :class:`~.isc_state.ImportState`.
"""

from __future__ import annotations

import ipaddress

from bootwright.inventory.dhcpd_options import DEFINITION_TYPES
from bootwright.inventory.isc import HostScope, Node, Token
from bootwright.migrate.isc_rules import Assign
from bootwright.migrate.isc_state import ImportState, Scope, is_ipv4, is_ipv6
from bootwright.wire.ipxe_options import IPXE_OPTIONS_BY_CODE, IpxeOption


class OptionStatements(ImportState):
    """The importer's ``option`` statements (a mixin of :class:`~.isc_state.ImportState`)."""

    def option_statement(self, node: Node, ctx: Scope) -> None:
        """An ``option`` statement: a space, a definition or a value, put where the scope says."""
        words = [t.text for t in node.words]
        if len(words) == 3 and words[1].lower() == "space":
            self.spaces.add(words[2].lower())
            self.ok()
            return
        if len(words) >= 5 and words[2].lower() == "code" and words[4] == "=":
            self.definition(node, words)
            return
        if len(words) >= 3 and words[2] == "=":
            self.note(node, "untranslated", "an option computed from an expression is not translated; give its value")
            return
        found = self.resolve(words[1]) if len(words) >= 2 else None
        if found is None:
            self.note(
                node,
                "untranslated",
                f"option {words[1] if len(words) > 1 else ''!r} is not known "
                "(define it with 'option NAME code N = TYPE;' or set it by code in bootwright)",
            )
            return
        space, name, code, kind = found
        values = [t for t in node.words[2:] if not t.is_(",")]
        if self.v6:
            self.option6(node, ctx, space, code, kind, values)
        else:
            self.option4(node, ctx, space, name, code, values)

    def definition(self, node: Node, words: list[str]) -> None:
        """``option NAME code N = TYPE;``: the name is known from here on (also to the host reader)."""
        space, dot, rest = words[1].partition(".")
        key = (space.lower(), rest) if dot else ("dhcp", words[1])
        if not words[3].isdigit():
            self.note(node, "untranslated", "expected 'option NAME code N = TYPE;'")
            return
        kind_text = " ".join(words[5:]).lower()
        kind = DEFINITION_TYPES.get(kind_text, kind_text)
        if kind_text.startswith("encapsulate"):
            kind = "encapsulate"
        elif kind_text == "array of unsigned integer 16":
            kind = "u16s"
        self.names[key] = (int(words[3]), kind)
        if key[0] == "dhcp" and kind in DEFINITION_TYPES.values():
            for reader in self.readers.values():
                reader.names[key[1]] = (int(words[3]), kind)
        self.ok()

    def option4(self, node: Node, ctx: Scope, space: str, name: str, code: int, values: list[Token]) -> None:
        """A DHCPv4 option value: a rule assignment, a setting, or the scope's ``options`` by code."""
        texts = [t.text for t in values]
        if space == "ipxe" or (space not in ("dhcp", "agent") and space in self.spaces):
            self.ipxe_option(node, ctx, space, code, values)
            return
        if space != "dhcp":
            self.note(node, "untranslated", f"{space}.* options are set by the relay agent, not the server")
            return
        if ctx.conditional:
            rule_field = {67: "bootfile", 66: "tftp_server", 60: "vendor_class"}.get(code)
            if rule_field is None or len(values) != 1:
                self.note(
                    node,
                    "untranslated",
                    "bootwright rules set only the boot file (67), option 66 and the "
                    "vendor class echo (60); set this option on the subnet or the host",
                )
                return
            ctx.program.append(Assign({rule_field: texts[0]}))
            self.ok()
            return
        settings = ctx.settings
        if code == 67 and len(values) == 1:
            ctx.program.append(Assign({"bootfile": texts[0]}))
        elif code in (3, 6) and texts and all(is_ipv4(t) for t in texts):
            settings["routers" if code == 3 else "dns"] = texts
        elif code == 15 and len(values) == 1:
            settings["domain_name"] = texts[0]
        elif code == 119 and texts:
            settings["domain_search"] = texts
        elif code == 42 and texts:
            settings["ntp_servers"] = texts  # names allowed: bootwright resolves them when serving
        elif code in (58, 59):
            self.note(
                node,
                "approximated",
                "bootwright sends T1/T2 at 1/2 and 7/8 of the lease time "
                "(RFC 2131 §4.4.5); there is no setting for them",
            )
            return
        else:
            scope = HostScope()
            reader = self.reader()
            before = len(reader.problems)
            reader.option(node, scope)
            if len(reader.problems) > before:
                problem = reader.problems.pop()
                self.note(node, "untranslated", problem.message)
                return
            settings.setdefault("options", {}).update(scope.options)
        if ctx.kind == "group":
            self.reader().option(node, ctx.hosts)
        self.ok()

    def ipxe_option(self, node: Node, ctx: Scope, space: str, code: int, values: list[Token]) -> None:
        """An option of the iPXE space (option 175): an ``ipxe`` setting or rule assignment."""
        wire = IPXE_OPTIONS_BY_CODE.get(code)
        if space != "ipxe" or len(values) != 1:
            self.note(
                node,
                "untranslated",
                f"options of space {space!r} are not translated (only the iPXE "
                "space, option 175, has a bootwright setting)",
            )
            return
        value = _ipxe_value(wire, values[0])
        if value is None:
            self.note(node, "untranslated", f"{values[0].text!r} is not a value for this iPXE setting")
            return
        key = wire.name if wire is not None else str(code)
        if ctx.conditional:
            ctx.program.append(Assign({f"ipxe:{key}": value}))
        else:
            ctx.settings.setdefault("ipxe", {})[key] = value
        self.ok()

    def option6(self, node: Node, ctx: Scope, space: str, code: int, kind: str, values: list[Token]) -> None:
        """A DHCPv6 option value (or dhcpd6's T1/T2 from options 58/59): a rule assignment or a setting."""
        texts = [t.text for t in values]
        if space == "dhcp" and code in (58, 59) and len(texts) == 1 and texts[0].isdigit() and not ctx.conditional:
            # dhcpd6 takes T1/T2 of IA_NA from these DHCPv4 options (server/dhcpv6.c).
            ctx.settings["renew_time" if code == 58 else "rebind_time"] = int(texts[0])
            self.ok()
            return
        if space != "dhcp6":
            self.note(node, "untranslated", "not a DHCPv6 option: dhcpd6 does not send it")
            return
        if code == 59 and len(values) == 1:
            ctx.program.append(Assign({"bootfile": texts[0]}))
        elif code == 16:
            vendor = _vendor_class6(values)
            if vendor is None:
                self.note(node, "untranslated", "expected 'option dhcp6.vendor-class ENTERPRISE LENGTH \"TEXT\";'")
                return
            ctx.program.append(Assign({"vendor_class": vendor[1], "vendor_enterprise": vendor[0]}))
        elif ctx.conditional:
            self.note(
                node,
                "untranslated",
                "bootwright rules set only the boot file URL (59) and the vendor "
                "class echo (16); set this option on the subnet",
            )
            return
        elif code == 23 and texts and all(is_ipv6(t) for t in texts):
            ctx.settings["dns"] = texts
        elif code == 24 and texts:
            ctx.settings["domain_search"] = texts
        elif code in (7, 32) and len(texts) == 1 and texts[0].isdigit():
            ctx.settings["preference" if code == 7 else "info_refresh_time"] = int(texts[0])
        elif code == 14 and not texts:
            if ctx.kind != "global":
                self.note(node, "approximated", "bootwright's rapid commit is global: [dhcp6] rapid_commit")
            self.rapid_commit = True
        elif code == 56 and texts and all(is_ipv6(t) for t in texts):
            ctx.settings["ntp_servers"] = texts
        elif kind in ("text", "string") and len(values) == 1 and values[0].quoted:
            ctx.settings.setdefault("options", {})[str(code)] = texts[0]
        elif kind == "ip6s" and texts and all(is_ipv6(t) for t in texts):
            ctx.settings.setdefault("options", {})[str(code)] = b"".join(
                ipaddress.IPv6Address(t).packed for t in texts
            ).hex(":")
        else:
            self.note(
                node,
                "untranslated",
                "this DHCPv6 option's value is not translated: set it by code in [dhcp6] options as hex octets",
            )
            return
        self.ok()


def _ipxe_value(wire: IpxeOption | None, token: Token) -> int | str | None:
    kind = wire.kind if wire is not None else "hex"
    text = token.text
    if kind in ("int8", "uint8"):
        try:
            return int(text)
        except ValueError:
            return None
    if kind == "string":
        return text
    if token.quoted:
        return text.encode().hex(":")
    try:
        return bytes(int(p, 16) for p in text.split(":")).hex(":")
    except ValueError:
        return None


def _vendor_class6(values: list[Token]) -> tuple[int, str] | None:
    """``ENTERPRISE LENGTH "TEXT"`` (the record dhcpd6.conf writes for option 16) as (enterprise, text)."""
    if len(values) == 3 and values[0].text.isdigit() and values[2].quoted:
        return int(values[0].text), values[2].text
    if len(values) == 2 and values[0].text.isdigit() and values[1].quoted:
        return int(values[0].text), values[1].text
    return None
