"""dhcpd conditions (``if``, ``match if``, subclasses) as the tests of bootwright rule matches.

Part of the ISC importer (:mod:`.isc_conf`). A condition parsed by
:mod:`.isc_parse` becomes a disjunction of conjunctions (DNF) of
:class:`~.isc_rules.Literal` s, each an :class:`~.isc_rules.Atom` a
``RuleMatch`` key can test (arch, vendor class, user class, MAC, client id,
relay agent ids, iPXE features, known), possibly negated. A test bootwright
cannot write becomes :data:`~.isc_rules.NEVER` with a finding, so the
imported rules never do more than dhcpd would. :mod:`.isc_rules` turns the
programs built from these into rules.
"""

from __future__ import annotations

from typing import Final

from bootwright.inventory.isc import Token
from bootwright.migrate.isc_parse import (
    And,
    Bool,
    Const,
    Data,
    Equal,
    Exists,
    ExprError,
    Hardware,
    Known,
    Not,
    OptionRef,
    Or,
    Substring,
    Unsupported,
    parse_condition,
)
from bootwright.migrate.isc_rules import ANY, NEVER, Atom, Literal
from bootwright.migrate.isc_state import ImportState
from bootwright.wire.ipxe_options import IPXE_OPTIONS_BY_CODE

MAX_DNF: Final = 64  # conjunctions one condition may expand to


class Conditions(ImportState):
    """The importer's condition translation (a mixin of :class:`~.isc_state.ImportState`)."""

    def condition(self, tokens: tuple[Token, ...], line: int) -> list[list[Literal]]:
        """A condition as written (``if``/``match if``) in DNF; an unparsable one never matches (a finding)."""
        self.condition_text = " ".join(f'"{t.text}"' if t.quoted else t.text for t in tokens)
        try:
            expr = parse_condition(tokens)
        except ExprError as exc:
            self.note(
                None,
                "untranslated",
                f"{exc}; the branch never matches here",
                line=line,
                text=" ".join(t.text for t in tokens),
            )
            return [[Literal(NEVER)]]
        return self.dnf(expr, line)

    def dnf(self, expr: Bool, line: int, positive: bool = True) -> list[list[Literal]]:
        """A parsed condition in DNF (negations pushed to the tests), at most :data:`MAX_DNF` conjunctions."""
        if isinstance(expr, Not):
            return self.dnf(expr.inner, line, not positive)
        if isinstance(expr, And | Or):
            parts = [self.dnf(item, line, positive) for item in expr.items]
            if isinstance(expr, Or) == positive:
                return [conj for part in parts for conj in part][:MAX_DNF]
            out: list[list[Literal]] = [[]]
            for part in parts:
                out = [a + b for a in out for b in part][:MAX_DNF]
            return out
        return [[Literal(self.atom(expr, line), positive)]]

    def atom(self, expr: Bool, line: int) -> Atom:
        """One test (no and/or/not) as an atom; :data:`~.isc_rules.NEVER` (a finding) when bootwright cannot test it."""
        if isinstance(expr, Known):
            return Atom("known", frozenset({True}))
        if isinstance(expr, Exists):
            return self.exists(expr.option, line)
        if isinstance(expr, Equal):
            left, right = expr.left, expr.right
            if isinstance(left, Const):
                left, right = right, left
            if isinstance(right, Const):
                found = self.compare(left, right, line)
                if found is not None:
                    return found
        text = expr.text if isinstance(expr, Unsupported) else self.condition_text
        self.note(
            None,
            "untranslated",
            "bootwright rules cannot test this; the test never holds in the imported rules",
            line=line,
            text=text,
        )
        return NEVER

    def field_of(self, ref: OptionRef) -> tuple[str, int] | None:
        """The RuleMatch key an option reference is tested by, with the option's code; None when there is none."""
        found = self.resolve(f"{ref.space}.{ref.name}" if ref.space != "dhcp" else ref.name)
        if found is None:
            return None
        space, _, code, _ = found
        table = {
            ("dhcp", 93): "arch",
            ("dhcp", 60): "vendor_class",
            ("dhcp", 77): "user_class",
            ("dhcp", 61): "client_id",
            ("agent", 1): "circuit_id",
            ("agent", 2): "remote_id",
            ("dhcp6", 61): "arch",
            ("dhcp6", 16): "vendor_class",
            ("dhcp6", 15): "user_class",
            ("dhcp6", 1): "client_id",
        }
        if space == "ipxe":
            return "ipxe_feature", code
        name = table.get((space, code))
        return (name, code) if name else None

    def exists(self, ref: OptionRef, line: int) -> Atom:
        """``exists OPTION`` as an atom, where a RuleMatch key can say it."""
        found = self.field_of(ref)
        name = found[0] if found else None
        if name == "arch":
            return Atom("no_arch", frozenset({False}))
        if name == "vendor_class":
            return Atom("vendor_class", frozenset({""}))
        if name == "user_class":
            return Atom("user_class", frozenset({ANY}))
        if name == "ipxe_feature" and found is not None and found[1] in IPXE_OPTIONS_BY_CODE:
            return Atom("ipxe_feature", frozenset({IPXE_OPTIONS_BY_CODE[found[1]].name}))
        self.note(
            None,
            "untranslated",
            "bootwright rules cannot test whether this option was sent; the test never holds in the imported rules",
            line=line,
            text=f"exists {ref.space}.{ref.name}",
        )
        return NEVER

    def duid_suffix(self, left: OptionRef, length: int | None, data: bytes, line: int) -> Atom | None:
        """``suffix(option dhcp6.client-id, 6) = MAC`` — how ``bootwright export dhcpd6`` writes a MAC match: the
        DUID's last six octets, where DUID-LLT and DUID-LL carry the link-layer address (RFC 8415 §11.2, §11.4)."""
        found = self.field_of(left)
        if found is None or found[0] != "client_id" or length != 6 or len(data) != 6:
            return None
        self.note(
            None,
            "approximated",
            "the DUID's last six octets are matched as the client's MAC (what DUID-LL/LLT end with)",
            line=line,
            text=self.condition_text,
        )
        return Atom("mac", frozenset({data.hex(":")}))

    def compare(self, left: Data, const: Const, line: int) -> Atom | None:
        """``DATA = CONST`` (possibly a substring) as an atom; None when no RuleMatch key can say it."""
        offset = 0
        length: int | None = None
        if isinstance(left, Substring):
            offset, length, left = left.offset, left.length, left.inner
        data = const.data
        if isinstance(left, Hardware):
            if offset == 0 and data[:1] == b"\x01":  # hardware type 1 (Ethernet), then the MAC
                data, offset = data[1:], 1
            if offset != 1 or not data or len(data) > 6:
                return None
            return Atom("mac", frozenset({data.hex(":")}))
        if isinstance(left, OptionRef) and offset == -1 and self.v6:
            return self.duid_suffix(left, length, data, line)
        if not isinstance(left, OptionRef) or offset < 0:
            return None
        found = self.field_of(left)
        if found is None:
            return None
        name, code = found
        if name == "arch" and offset == 0 and length is None and data and len(data) % 2 == 0 and not const.quoted:
            return Atom("arch", frozenset(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)))
        if name == "arch" and offset % 2 == 0 and length == len(data) == 2 and not const.quoted:
            # ``substring(option arch, 0, 2) = 00:07``, the common way to test an array option: the client's
            # first architecture. bootwright's arch matches any of them — the same for every firmware, which
            # sends one (RFC 4578 §2.1 allows a list; none seen in practice sends two).
            return Atom("arch", frozenset({int.from_bytes(data, "big")}))
        if name == "vendor_class":
            skip = 6 if self.v6 else 0  # DHCPv6: enterprise number (4) and the data's length (2) first
            if offset != skip or (length is None and self.v6):
                return None
            text = data.decode(errors="replace")
            if length is None or length != len(data):
                what = "an exact comparison" if length is None else f"a {length}-octet substring"
                self.note(
                    None,
                    "approximated",
                    f"{what} is matched as the prefix {text!r} (bootwright's vendor_class matches prefixes)",
                    line=line,
                    text=self.condition_text,
                )
            return Atom("vendor_class", frozenset({text}))
        if name == "user_class":
            skip = 2 if self.v6 else 0  # DHCPv6: each user class is length-prefixed (RFC 8415 §21.15)
            if self.v6 and offset == 0 and len(data) >= 2 and length in (None, len(data)):
                # the first entry with its length octets: ``substring(option dhcp6.user-class, 0, 6) =
                # 00:04:69:50:58:45`` is the entry "iPXE" (RFC 8415 §21.15)
                data = data[2 : 2 + int.from_bytes(data[:2], "big")]
            elif offset != skip:
                return None
            return Atom("user_class", frozenset({data.decode(errors="replace")}))
        if name == "ipxe_feature" and code in IPXE_OPTIONS_BY_CODE and offset == 0 and any(data):
            return Atom("ipxe_feature", frozenset({IPXE_OPTIONS_BY_CODE[code].name}))
        if name in ("client_id", "circuit_id", "remote_id") and offset == 0 and length is None:
            text = data.decode() if const.quoted and data.isascii() and ":" not in data.decode() else data.hex(":")
            return Atom(name, frozenset({text}))
        return None
