"""Kea client-class ``test`` expressions (Kea ARM "Client Classification") as bootwright rule matches (pure).

:func:`compile_test` turns an expression into a list of ``match`` tables, one
per alternative (an OR of ANDs; bootwright's conditions are ANDed, list values
ORed). What it reads, with what it becomes:

* ``substring(option[60].hex,0,N) == 'text'`` → ``vendor_class`` (a prefix,
  exact); ``option[60].hex == 'text'`` → ``vendor_class`` (approximated: Kea
  compares the whole option);
* ``option[93].hex == 0x0007`` (v6: ``option[61]``) → ``arch``;
* ``option[77].hex == 'iPXE'``, the v6 ``substring(option[15].hex,2,4) == 'iPXE'``
  → ``user_class``; ``option[77].exists``/``option[175].exists`` → iPXE (approximated);
* ``pkt4.mac == 0x…`` / ``substring(pkt4.mac,0,N) == 0x…`` → ``mac``;
  ``option[61].hex`` (v4) → ``client_id``; ``relay4[1].hex``/``relay4[2].hex`` →
  ``circuit_id``/``remote_id``;
* ``member('KNOWN')``/``'UNKNOWN'`` → ``known``, ``member('X')`` → class X's
  conditions; ``not member('X')`` → the marker :data:`NOT_MEMBER` (the importer
  orders rules so X's values win); ``and``, ``or``, ``not`` only before ``member``.

Anything else raises :class:`Unsupported` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

_TOKEN = re.compile(r"\s*(?:(0x[0-9A-Fa-f]+)|(\d+)|'((?:[^'\\]|\\.)*)'|([A-Za-z_][A-Za-z0-9_-]*)|(==|\S))")

Match = dict[str, Any]
# In a compiled match: the classes the client must not be a member of (``not member('X')``).
NOT_MEMBER = "not_member"
# In a compiled match: the matches of ``not (EXPR)`` — the client matches none of them. bootwright cannot negate a
# match; a class of a first-match chain (``A``, ``B and not (A)``, …) becomes a final rule after A's
# (kea_class_rules.py KeaClassRules.exclusive), otherwise the importer checks that rules placed after this one
# (later non-final rules win) override it for exactly these clients (KeaClassRules.order_negations).
NOT_MATCHES = "not_matches"


class Unsupported(ValueError):
    """An expression bootwright's rule conditions cannot say; the message says which part."""


@dataclass(frozen=True, slots=True)
class _Field:
    """A packet field read by the expression: an option (by code), the MAC, a relay sub-option."""

    kind: str  # "option", "mac", "relay"
    code: int = 0
    offset: int = 0
    length: int | None = None  # None: to the end (no substring)


@dataclass(slots=True)
class Compiled:
    """The alternatives of one class, and the parts that were approximations."""

    alternatives: list[Match]
    notes: list[str]


class _Parser:
    def __init__(self, text: str, family: int, classes: Mapping[str, list[Match]]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise Unsupported(f"cannot read the expression at {text[pos : pos + 20]!r}")
            pos = m.end()
            kinds = ("hex", "int", "str", "name", "punct")
            for kind, value in zip(kinds, m.groups(), strict=True):
                if value is not None:
                    self.tokens.append((kind, value))
                    break
        self.i = 0
        self.family = family
        self.classes = classes
        self.notes: list[str] = []
        self.negated: str | None = None

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unsupported(f"expected {value!r}, found {tok[1] or 'the end'!r}")
        self.i += 1
        return tok

    def integer(self) -> int:
        """A decimal integer, negative with a leading ``-`` (substring's start counts from the end then)."""
        sign = -1 if self.peek() == ("punct", "-") else 1
        if sign < 0:
            self.take()
        kind, value = self.take()
        if kind != "int":
            raise Unsupported(f"expected a number, found {value or 'the end'!r}")
        return sign * int(value)

    def expr(self) -> list[Match]:
        out = self.conj()
        while self.peek() == ("name", "or"):
            self.take()
            out = out + self.conj()
        return out

    def conj(self) -> list[Match]:
        out = self.unary()
        while self.peek() == ("name", "and"):
            self.take()
            right = self.unary()
            out = [m for a, b in product(out, right) if (m := _and(a, b)) is not None]
        return out

    def unary(self) -> list[Match]:
        if self.peek() == ("name", "not"):
            self.take()
            if self.tokens[self.i : self.i + 2] == [("name", "member"), ("punct", "(")]:
                self.negated = self.tokens[self.i + 2][1]
            inner = self.unary()
            if inner == [{"known": True}]:
                return [{"known": False}]
            if inner == [{"known": False}]:
                return [{"known": True}]
            if inner in ([{"no_arch": False}], [{"no_arch": True}]):
                return [{"no_arch": not inner[0]["no_arch"]}]
            if self.negated is not None:
                # not member('X'): kept as a marker; the importer orders this class's rule before X's,
                # so X's values win for X's members (see kea_class_rules.py).
                name = self.negated
                self.negated = None
                return [{NOT_MEMBER: [name]}]
            if len(inner) > 0 and all(NOT_MEMBER not in m and NOT_MATCHES not in m for m in inner):
                return [{NOT_MATCHES: [dict(m) for m in inner]}]
            raise Unsupported("'not' of anything but member('…') or a condition")
        if self.peek() == ("punct", "("):
            self.take()
            out = self.expr()
            self.take(")")
            return out
        if self.peek() == ("name", "member"):
            self.take()
            self.take("(")
            name = self.take()[1]
            self.take(")")
            if name == "KNOWN":
                return [{"known": True}]
            if name == "UNKNOWN":
                return [{"known": False}]
            if name == "ALL":
                return [{}]
            if name not in self.classes:
                raise Unsupported(f"member({name!r}): no class of that name is defined before this one")
            return [dict(m) for m in self.classes[name]]
        left = self.operand()
        if isinstance(left, _Field) and self.peek() == ("punct", "."):
            self.take()
            if self.take()[1] == "exists":
                return self.exists(left)
            raise Unsupported("only .exists, .hex and .text are read")
        self.take("==")
        right = self.operand()
        if isinstance(left, bytes) and isinstance(right, _Field):
            left, right = right, left
        if not isinstance(left, _Field) or not isinstance(right, bytes):
            raise Unsupported("a comparison of a packet field with a literal is expected")
        return [self.compare(left, right)]

    def operand(self) -> _Field | bytes:
        kind, value = self.take()
        if kind == "str":
            return value.encode()
        if kind == "hex":
            digits = value[2:]
            return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
        if kind == "int":
            return value.encode()
        if value == "substring":
            self.take("(")
            inner = self.operand()
            self.take(",")
            start = self.integer()
            self.take(",")
            length = None if self.peek() == ("name", "all") else self.integer()
            if length is None:
                self.take()
            self.take(")")
            if not isinstance(inner, _Field) or inner.offset or inner.length is not None:
                raise Unsupported("substring() of something else than a packet field")
            return _Field(inner.kind, inner.code, start, length)
        if value in ("option", "relay4"):
            self.take("[")
            code = self.integer()
            self.take("]")
            if self.peek() == ("punct", ".") and self.tokens[self.i + 1][1] in ("hex", "text"):
                self.take()
                self.take()
            return _Field("option" if value == "option" else "relay", code)
        if value in ("pkt4", "pkt6", "pkt"):
            self.take(".")
            name = self.take()[1]
            if name == "mac":
                return _Field("mac")
            raise Unsupported(f"{value}.{name} is not a rule condition")
        raise Unsupported(f"{value!r} is not read by the importer")

    def exists(self, fld: _Field) -> list[Match]:
        if fld.kind == "option" and (
            (self.family == 4 and fld.code in (77, 175)) or (self.family == 6 and fld.code == 15)
        ):
            self.notes.append(f"option[{fld.code}].exists is read as user class 'iPXE' (which iPXE sends)")
            return [{"user_class": ["iPXE"]}]
        if fld.kind == "option" and fld.code == (93 if self.family == 4 else 61):
            return [{"no_arch": False}]
        raise Unsupported(f"option[{fld.code}].exists is not a rule condition")

    def compare(self, fld: _Field, literal: bytes) -> Match:
        text = literal.decode("latin-1")
        if fld.kind == "mac":
            if fld.offset == 0 and ((fld.length is None and len(literal) == 6) or fld.length == len(literal)):
                return {"mac": [literal.hex(":")]}
            raise Unsupported("only a MAC or a prefix of it from its first octet is a rule condition")
        if fld.kind == "relay":
            if fld.code in (1, 2) and fld.offset == 0 and fld.length is None:
                return {"circuit_id" if fld.code == 1 else "remote_id": [_text_or_hex(literal)]}
            raise Unsupported(f"relay4[{fld.code}] is not a rule condition (circuit-id 1 and remote-id 2 are)")
        vendor, user, arch = (60, 77, 93) if self.family == 4 else (16, 15, 61)
        whole = fld.offset == 0 and fld.length is None
        if fld.code == vendor and self.family == 4 and fld.offset == 0:
            if whole:
                self.notes.append(f"option[60] == {text!r} is read as a vendor class starting with it")
            return {"vendor_class": [text]}
        if fld.code == vendor and self.family == 6 and fld.offset == 6 and fld.length == len(literal):
            # RFC 8415 §21.16: enterprise number (4 octets) and the first vendor-class-data length (2), then text
            return {"vendor_class": [text]}
        if fld.code == arch and len(literal) == 2 and fld.offset == 0 and fld.length in (None, 2):
            # substring(…,0,2): the client's first architecture (RFC 4578 §2.1 allows a list). bootwright's arch
            # matches any of them: exact for a client that sends one architecture, as all real firmware does.
            return {"arch": [int.from_bytes(literal, "big")]}
        if fld.code == user and self.family == 4 and whole:
            return {"user_class": [text]}
        if (
            fld.code == user
            and self.family == 6
            and fld.offset == 0
            and len(literal) >= 2
            and int.from_bytes(literal[:2], "big") == len(literal) - 2
            and fld.length in (None, len(literal))
        ):
            # RFC 8415 §21.15: the first user class entry with its two-octet length (exact when it is the only one,
            # or when compared as a substring)
            return {"user_class": [literal[2:].decode("latin-1")]}
        if fld.code == user and self.family == 6 and fld.offset == 2 and fld.length == len(literal):
            # RFC 8415 §21.15: the first user class entry after its two-octet length
            self.notes.append(f"substring(option[15].hex,2,{fld.length}) is read as the first user class")
            return {"user_class": [text]}
        if fld.code == 61 and self.family == 4 and whole:
            return {"client_id": [literal.hex(":")]}
        if fld.code == 1 and self.family == 6 and fld.offset == -6 and fld.length == 6 and len(literal) == 6:
            # The last six octets of the client's DUID (RFC 8415 §11.2, §11.4: DUID-LLT and DUID-LL end with the
            # link-layer address) — how `bootwright export kea6` writes a MAC match. bootwright matches the MAC.
            self.notes.append("substring(option[1].hex,-6,6) is read as the client's MAC (the end of a DUID-LL/LLT)")
            return {"mac": [literal.hex(":")]}
        raise Unsupported(f"option[{fld.code}] compared this way is not a rule condition")


def _text_or_hex(value: bytes) -> str:
    """Printable text as text, anything else as colon hex (the RuleMatch convention)."""
    text = value.decode("latin-1")
    if text.isprintable() and not re.fullmatch(r"([0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2}", text):
        return text
    return value.hex(":")


def _and(left: Match, right: Match) -> Match | None:
    out = dict(left)
    for key, value in right.items():
        if key not in out:
            out[key] = value
        elif key in (NOT_MATCHES, NOT_MEMBER):
            out[key] = [*out[key], *value]  # none of these, and none of those
        elif isinstance(value, list):
            both = [v for v in out[key] if v in value]
            if not both:
                return None
            out[key] = both
        elif out[key] != value:
            return None
    return out


def positive(match: Match) -> Match:
    """``match`` without its negations (:data:`NOT_MEMBER`, :data:`NOT_MATCHES`): what a bootwright rule can say."""
    return {k: v for k, v in match.items() if k not in (NOT_MEMBER, NOT_MATCHES)}


def implies(narrow: Match, wide: Match) -> bool:
    """True when every client ``narrow`` (its positive part) matches also matches ``wide``'s positive part.

    Conservative: a list value (any of) must be a subset of the other's; a vendor class prefix counts only
    when it is one of the other's prefixes.
    """
    for key, value in positive(wide).items():
        mine = narrow.get(key)
        if mine is None:
            return False
        if isinstance(value, list):
            if not isinstance(mine, list) or not all(v in value for v in mine):
                return False
        elif mine != value:
            return False
    return True


# Pieces a negation may be cut into to find it covered by several alternatives (bounded work per class).
_MAX_PIECES = 256


def covered_by(narrow: Match, alternatives: list[Match]) -> bool:
    """True when every client ``narrow`` matches also matches one of ``alternatives``.

    :func:`implies` against each alternative, else ``narrow`` cut into pieces of one value per list key
    (``mac = [A, B]`` → ``mac = [A]``, ``mac = [B]``) each implied by some alternative: an exported class
    ``arch 7 and (mac A or mac B)`` comes back as two alternatives while a later ``not (…)`` of it is one.
    """
    if any(implies(narrow, wide) for wide in alternatives):
        return True
    lists = [(k, v) for k, v in positive(narrow).items() if isinstance(v, list) and len(v) > 1]
    count = 1
    for _, values in lists:
        count *= len(values)
    if not lists or count > _MAX_PIECES:
        return False
    keys = [k for k, _ in lists]
    return all(
        any(implies({**narrow, **{k: [v] for k, v in zip(keys, combo, strict=True)}}, wide) for wide in alternatives)
        for combo in product(*(values for _, values in lists))
    )


def _clash(a: Match, b: Match) -> bool:
    """True when no client meets both positive parts: a different first architecture, ``known`` or
    ``no_arch``, or vendor classes of which neither starts with the other (Kea compares the option's start)."""
    for key in ("known", "no_arch"):
        if key in a and key in b and a[key] != b[key]:
            return True
    if "arch" in a and "arch" in b and not set(a["arch"]) & set(b["arch"]):
        return True  # the importer reads Kea's substring(option[93],0,2): the client's first architecture
    if "vendor_class" in a and "vendor_class" in b:
        return not any(str(x).startswith(str(y)) or str(y).startswith(str(x)) for x in a["vendor_class"]
                       for y in b["vendor_class"])  # fmt: skip
    return False


def disjoint(a: Match, b: Match) -> bool:
    """True when no client matches both alternatives (negations included): their conditions clash, or one
    excludes (``not (…)``) a condition the other implies."""
    return (
        _clash(a, b)
        or any(implies(b, q) for q in a.get(NOT_MATCHES, []))
        or any(implies(a, q) for q in b.get(NOT_MATCHES, []))
    )


def compile_test(text: str, family: int, classes: Mapping[str, list[Match]]) -> Compiled:
    """The rule matches of a class ``test``; ``classes`` holds the earlier classes' (for ``member``)."""
    parser = _Parser(text, family, classes)
    alternatives = parser.expr()
    if parser.peek()[0] != "end":
        raise Unsupported(f"cannot read the expression from {parser.peek()[1]!r} on")
    return Compiled(alternatives, parser.notes)
