"""The grammar of ISC dhcpd.conf / dhcpd6.conf beyond host blocks: if/elsif/else chains and dhcp-eval(5) expressions.

Statements and blocks come from the inventory's reader (:func:`bootwright.inventory.isc.read_tree`,
one tokenizer for every dhcpd file bootwright reads); this module adds what a
whole server configuration needs on top of it:

* :func:`chains` groups an ``if`` block with the ``elsif``/``else if``/``else``
  blocks that follow it (the tree keeps them as sibling blocks);
* :func:`parse_condition` reads the boolean expressions of dhcp-eval(5) —
  ``and``/``or``/``not``, parentheses, ``exists``, ``known``, ``=``/``!=`` between
  data expressions (``option NAME``, ``substring(…, OFFSET, LENGTH)``,
  ``suffix``, ``hardware``, a quoted string, colon-separated hex) — into a small
  AST. Anything else becomes :class:`Unsupported` with its text, so the
  translator can report it with its line instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bootwright.inventory.isc import Node, Token

# Sub-tokens of an unquoted word inside an expression: the tree tokenizer splits only on
# whitespace, quotes and {};, so "substring(option" and "00:0b)" arrive as one word.
_SUB = re.compile(r"!=|~=|~~|[()=]|[^()=!~]+|[!~]")
_HEX = re.compile(r"^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2})+$")


# --------------------------------------------------------------------------- chains


@dataclass(frozen=True, slots=True)
class Branch:
    """One arm of an if-chain: its condition's tokens (``None`` for ``else``), its body and line."""

    condition: tuple[Token, ...] | None
    body: list[Node]
    line: int


@dataclass(frozen=True, slots=True)
class Chain:
    """``if … { } elsif … { } else { }`` as one statement (dhcpd.conf(5) "CONDITIONAL BEHAVIOUR")."""

    branches: tuple[Branch, ...]
    line: int


def _head(node: Node) -> str:
    return node.words[0].text.lower() if node.words and not node.words[0].quoted else ""


def chains(nodes: list[Node]) -> list[Node | Chain]:
    """``nodes`` with each ``if`` block and its ``elsif``/``else`` blocks replaced by one :class:`Chain`.

    An ``elsif``/``else`` without an ``if`` before it is left as a node (the
    translator reports it, as dhcpd would refuse it).
    """
    out: list[Node | Chain] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if node.body is None or _head(node) != "if":
            out.append(node)
            i += 1
            continue
        branches = [Branch(tuple(node.words[1:]), node.body, node.line)]
        i += 1
        while i < len(nodes) and nodes[i].body is not None and _head(nodes[i]) in ("elsif", "else"):
            nxt = nodes[i]
            body = nxt.body if nxt.body is not None else []
            words = nxt.words
            if _head(nxt) == "elsif":
                branches.append(Branch(tuple(words[1:]), body, nxt.line))
            elif len(words) > 1 and words[1].text.lower() == "if" and not words[1].quoted:
                branches.append(Branch(tuple(words[2:]), body, nxt.line))
            else:
                branches.append(Branch(None, body, nxt.line))
                i += 1
                break
            i += 1
        out.append(Chain(tuple(branches), node.line))
    return out


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class OptionRef:
    """``option SPACE.NAME`` (``space`` is "dhcp" for an unqualified name, as in dhcpd)."""

    space: str
    name: str


@dataclass(frozen=True, slots=True)
class Hardware:
    """``hardware``: the hardware type octet, then the client's MAC (dhcp-eval(5))."""


@dataclass(frozen=True, slots=True)
class Substring:
    """``substring(DATA, OFFSET, LENGTH)``; ``suffix(DATA, LENGTH)`` has ``offset`` -1."""

    inner: Data
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Const:
    """A quoted string or colon-separated hex octets."""

    data: bytes
    quoted: bool


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An expression this importer does not translate, as written."""

    text: str


Data = OptionRef | Hardware | Substring | Const | Unsupported


@dataclass(frozen=True, slots=True)
class Exists:
    """``exists SPACE.NAME``: the client sent the option."""

    option: OptionRef


@dataclass(frozen=True, slots=True)
class Known:
    """``known``: the client has a host declaration."""


@dataclass(frozen=True, slots=True)
class Equal:
    """``DATA = DATA`` (``!=`` is ``Not(Equal)``)."""

    left: Data
    right: Data


@dataclass(frozen=True, slots=True)
class Not:
    """``not BOOL``."""

    inner: Bool


@dataclass(frozen=True, slots=True)
class And:
    """``BOOL and BOOL …``."""

    items: tuple[Bool, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """``BOOL or BOOL …``."""

    items: tuple[Bool, ...]


Bool = Exists | Known | Equal | Not | And | Or | Unsupported


class ExprError(ValueError):
    """A condition that is not dhcp-eval(5) syntax (dhcpd would refuse the file)."""


def _subtokens(tokens: tuple[Token, ...] | list[Token]) -> list[Token]:
    out: list[Token] = []
    for tok in tokens:
        if tok.quoted:
            out.append(tok)
        else:
            out += [Token(part, tok.line) for part in _SUB.findall(tok.text) if part.strip()]
    return out


def _option_ref(name: str) -> OptionRef:
    space, dot, rest = name.partition(".")
    return OptionRef(space.lower(), rest) if dot else OptionRef("dhcp", name)


def _text(tokens: list[Token]) -> str:
    return " ".join(f'"{t.text}"' if t.quoted else t.text for t in tokens)


class _Parser:
    """Recursive descent over the sub-tokens of one condition."""

    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else None

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and not tok.quoted and tok.text.lower() == text

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ExprError("the condition ends too early")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.quoted or tok.text.lower() != text:
            raise ExprError(f"expected {text!r}, found {tok.text!r}")

    def boolean(self) -> Bool:
        items = [self.conjunction()]
        while self.at("or"):
            self.pos += 1
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Bool:
        items = [self.negation()]
        while self.at("and"):
            self.pos += 1
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Bool:
        if self.at("not"):
            self.pos += 1
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Bool:
        if self.at("("):
            start = self.pos
            self.pos += 1
            try:
                inner = self.boolean()
                self.expect(")")
            except ExprError:
                self.pos = start  # "(DATA) = DATA": the parenthesis belongs to a data expression
            else:
                if not (self.at("=") or self.at("!=")):
                    return inner
                self.pos = start
        if self.at("exists"):
            self.pos += 1
            return Exists(_option_ref(self.take().text))
        if self.at("known"):
            self.pos += 1
            return Known()
        start = self.pos
        left = self.data()
        if self.at("=") or self.at("!="):
            negate = self.take().text == "!="
            right = self.data()
            equal = Equal(left, right)
            return Not(equal) if negate else equal
        if self.at("~=") or self.at("~~"):
            self.pos += 1
            self.data()
        else:
            # A data expression alone ("option foo" as a boolean) or an unknown keyword.
            while self.peek() is not None and not (self.at("and") or self.at("or") or self.at(")")):
                self.pos += 1
        return Unsupported(_text(self.toks[start : self.pos]))

    def data(self) -> Data:
        tok = self.take()
        word = tok.text.lower()
        if tok.quoted:
            return Const(tok.text.encode(), True)
        if word == "(":
            inner = self.data()
            self.expect(")")
            return inner
        if word == "option":
            return _option_ref(self.take().text)
        if word == "hardware":
            return Hardware()
        if word in ("substring", "suffix"):
            self.expect("(")
            inner = self.data()
            numbers = []
            for _ in range(2 if word == "substring" else 1):
                self.expect(",")
                number = self.take()
                if not number.text.isdigit():
                    raise ExprError(f"{word}: expected a number, found {number.text!r}")
                numbers.append(int(number.text))
            self.expect(")")
            if word == "suffix":
                return Substring(inner, -1, numbers[0])
            return Substring(inner, numbers[0], numbers[1])
        if _HEX.match(tok.text):
            return Const(bytes(int(part, 16) for part in tok.text.split(":")), False)
        # Any other function or value (concat, pick-first-value, packet, a number, …): skip its arguments.
        start = self.pos - 1
        if self.at("("):
            depth = 0
            while self.peek() is not None:
                t = self.take()
                depth += 1 if t.is_("(") else -1 if t.is_(")") else 0
                if depth == 0:
                    break
        return Unsupported(_text(self.toks[start : self.pos]))


def parse_condition(tokens: tuple[Token, ...] | list[Token]) -> Bool:
    """The condition of an ``if``/``elsif`` or a ``match if``; :class:`ExprError` when it is not dhcp-eval syntax."""
    parser = _Parser(_subtokens(tokens))
    if not parser.toks:
        raise ExprError("the condition is empty")
    result = parser.boolean()
    if parser.peek() is not None:
        raise ExprError(f"unexpected {parser.take().text!r} after the condition")
    return result


def parse_data(tokens: tuple[Token, ...] | list[Token]) -> Data:
    """A data expression (``match EXPR;`` of a class, the value of a ``subclass``)."""
    parser = _Parser(_subtokens(tokens))
    if not parser.toks:
        raise ExprError("the expression is empty")
    result = parser.data()
    if parser.peek() is not None:
        raise ExprError(f"unexpected {parser.take().text!r} after the expression")
    return result


def statement_text(node: Node) -> str:
    """A statement or block head as written (quotes restored), for findings."""
    text = _text(node.words)
    return text + " { … }" if node.body is not None else text + ";"
