"""Pure TFTP filename handling: the path sandbox and tftp-hpa style remapping.

Order of operations for a request (as in tftp-hpa): the raw filename goes
through the remap rules (:func:`apply_remap`), the result through
:func:`resolve_request_path`, and only then does the file adaptor
(:func:`bootwright.net.tftp.files.open_in_root`) touch the filesystem, where
symlinks are checked.

Sandbox decisions (documented for operators):

* ``\\`` is a path separator (Windows clients, PXE ROMs send ``boot\\x.0``).
* A leading ``/`` is accepted.  If the name starts with the configured root
  (``/srv/tftp/pxelinux.0`` with root ``/srv/tftp``) that prefix is removed,
  otherwise the leading slashes are dropped and the rest is relative to the
  root — tftp-hpa ``-s`` and dnsmasq behave the same.  ``/etc/passwd`` thus
  names ``<root>/etc/passwd``, never the host's file.
* Any ``..`` component is refused outright (not resolved), ``.`` and empty
  components are dropped.
* Percent-encodings are not decoded: TFTP has no escaping, ``%2e%2e`` is a
  literal file name.
* NUL, ASCII control characters (< 0x20, 0x7F), more than 255 components,
  a component over 255 octets or a path over 4096 octets (UTF-8) are refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntFlag
from typing import Final

__all__ = [
    "ABORT_MESSAGE",
    "MAX_COMPONENTS",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "PathRefused",
    "RemapFlag",
    "RemapRule",
    "RemapSyntaxError",
    "apply_remap",
    "is_within",
    "parse_remap_rules",
    "resolve_request_path",
]

MAX_PATH_BYTES: Final = 4096
"""Longest accepted path, octets of UTF-8 (Linux PATH_MAX)."""
MAX_NAME_BYTES: Final = 255
"""Longest accepted path component, octets (Linux NAME_MAX)."""
MAX_COMPONENTS: Final = 255
"""Most accepted path components."""

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class PathRefused(Exception):
    """A requested name is refused; ``reason`` is for logs, not for the client."""

    def __init__(self, reason: str, client_message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.client_message = client_message
        """Text for the TFTP ERROR (a remap ``a`` rule's message), else ``None``."""


def _normalise_root(root: str) -> str:
    parts = [p for p in root.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def resolve_request_path(root: str, requested: str) -> str:
    """Map a client filename to a path relative to ``root`` or raise :class:`PathRefused`.

    ``root`` is the configured TFTP root (only used to strip an absolute
    prefix); the result is ``"a/b/c"`` with no empty, ``.`` or ``..``
    components, suitable for :func:`~bootwright.net.tftp.files.open_in_root`.
    """
    if not requested:
        raise PathRefused("empty filename")
    if "\0" in requested:
        raise PathRefused("NUL in filename")
    if _CONTROL.search(requested):
        raise PathRefused("control character in filename")
    if len(requested.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise PathRefused(f"filename longer than {MAX_PATH_BYTES} octets")
    path = requested.replace("\\", "/")
    if path.startswith("/"):
        prefix = _normalise_root(root)
        if prefix != "/":
            squeezed = "/" + "/".join(p for p in path.split("/") if p)
            if squeezed == prefix or squeezed.startswith(prefix + "/"):
                path = squeezed[len(prefix) :]
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathRefused("'..' component in filename")
    if not parts:
        raise PathRefused("filename names the root directory")
    if len(parts) > MAX_COMPONENTS:
        raise PathRefused(f"more than {MAX_COMPONENTS} path components")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise PathRefused(f"path component longer than {MAX_NAME_BYTES} octets")
    return "/".join(parts)


def is_within(relative: str, directories: Sequence[str]) -> bool:
    """True when ``relative`` (from :func:`resolve_request_path`) lies under one of ``directories``.

    Directories are relative to the root too; ``""`` or ``"."`` means the
    whole root.  Used to decide whether a WRQ is allowed.
    """
    parts = relative.split("/")
    for directory in directories:
        dparts = [p for p in directory.replace("\\", "/").split("/") if p not in ("", ".")]
        if len(dparts) < len(parts) and parts[: len(dparts)] == dparts:
            return True
    return False


# --------------------------------------------------------------------------
# Remap rules: the tftp-hpa ``-m`` file format (see tftpd(8), "FILENAME
# REMAPPING").  Each line: ``flags regex [replacement]``; ``#`` starts a
# comment; a backslash escapes whitespace and ``#``.  Regexes are POSIX ERE in
# tftp-hpa; they are translated to Python ``re`` (bracket classes such as
# ``[[:alpha:]]`` and backslashes inside brackets are handled).  Python picks
# the leftmost-first alternative where POSIX picks the leftmost-longest.


class RemapFlag(IntFlag):
    """Rule flags of the tftp-hpa remap file (tftpd(8))."""

    REWRITE = 0x01
    """``r``: replace the matched text with the replacement."""
    GLOBAL = 0x02
    """``g``: repeat the rewrite until the regex no longer matches."""
    EXIT = 0x04
    """``e``: stop processing rules if this rule matches."""
    RESTART = 0x08
    """``s``: start again from the first rule if this rule matches."""
    ABORT = 0x10
    """``a``: refuse the request if this rule matches (replacement = message)."""
    INVERSE = 0x20
    """``~``: the rule applies when the regex does *not* match."""
    IPV4 = 0x40
    """``4``: only for IPv4 clients."""
    IPV6 = 0x80
    """``6``: only for IPv6 clients."""
    READ_ONLY = 0x100
    """``G``: only for RRQ (get)."""
    WRITE_ONLY = 0x200
    """``P``: only for WRQ (put)."""


_FLAG_CHARS: Final = {
    "r": RemapFlag.REWRITE,
    "g": RemapFlag.GLOBAL,
    "e": RemapFlag.EXIT,
    "s": RemapFlag.RESTART,
    "a": RemapFlag.ABORT,
    "~": RemapFlag.INVERSE,
    "4": RemapFlag.IPV4,
    "6": RemapFlag.IPV6,
    "G": RemapFlag.READ_ONLY,
    "P": RemapFlag.WRITE_ONLY,
}
_BAD_COMBOS: Final = (
    (RemapFlag.REWRITE | RemapFlag.INVERSE, "r~"),
    (RemapFlag.REWRITE | RemapFlag.ABORT, "ra"),
    (RemapFlag.EXIT | RemapFlag.ABORT, "ae"),
    (RemapFlag.EXIT | RemapFlag.RESTART, "es"),
    (RemapFlag.ABORT | RemapFlag.RESTART, "as"),
)
_POSIX_CLASSES: Final = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "xdigit": "0-9A-Fa-f",
    "punct": r"!-/:-@\[-`{-~",
    "print": r" -~",
    "graph": r"!-~",
    "cntrl": r"\x00-\x1f\x7f",
}
ABORT_MESSAGE: Final = "Access denied"
"""The TFTP error text of an ``a`` rule without a replacement, as tftpd-hpa sends it."""
DEFAULT_MAX_STEPS: Final = 4096
"""Rule applications before giving up on a looping rule set (tftp-hpa ``--map-steps``)."""


class RemapSyntaxError(ValueError):
    """Remap lines cannot be parsed: the first problem is the message, ``problems`` lists every one.

    Each problem names its line (``FILE:LINE: …`` for a file, ``remap line N: …`` otherwise), as
    tftp-hpa logs every bad line of a file before it refuses to start.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class RemapRule:
    """One parsed remap line."""

    line: int
    flags: RemapFlag
    regex: re.Pattern[str]
    replacement: str
    source: str = ""
    """The file the rule came from (``[tftp] remap_file``), ``""`` for ``[tftp] remap``."""

    @property
    def where(self) -> str:
        """``FILE:LINE`` or ``remap line N``, for logs and refusal reasons."""
        return f"{self.source}:{self.line}" if self.source else f"remap line {self.line}"


def _ere_to_python(ere: str) -> str:
    """Translate a POSIX extended regex to Python ``re`` syntax (bracket expressions)."""
    out: list[str] = []
    i, n = 0, len(ere)
    while i < n:
        c = ere[i]
        if c == "\\" and i + 1 < n:
            out.append(ere[i : i + 2])
            i += 2
            continue
        if c != "[":
            out.append(c)
            i += 1
            continue
        # Bracket expression: ']' first is literal; no escapes inside (POSIX).
        j = i + 1
        neg = j < n and ere[j] == "^"
        if neg:
            j += 1
        body: list[str] = []
        first = True
        while j < n and (first or ere[j] != "]"):
            first = False
            if ere.startswith("[:", j):
                end = ere.find(":]", j + 2)
                name = ere[j + 2 : end] if end > 0 else ""
                if name not in _POSIX_CLASSES:
                    raise re.error(f"unknown character class [:{name}:]")
                body.append(_POSIX_CLASSES[name])
                j = end + 2
                continue
            ch = ere[j]
            body.append("\\" + ch if ch in "\\[]&~|^" else ch)
            j += 1
        if j >= n:
            raise re.error("unterminated bracket expression")
        out.append("[" + ("^" if neg else "") + "".join(body) + "]")
        i = j + 1
    return "".join(out)


def _tokens(line: str) -> list[str]:
    """Split on unescaped whitespace; an unescaped ``#`` ends the line (remap.c readescstring)."""
    tokens: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in line:
        if not escaped and (ch.isspace() or ch == "#"):
            if cur:
                tokens.append("".join(cur))
                cur = []
            if ch == "#":
                break
            continue
        escaped = not escaped and ch == "\\"
        cur.append(ch)
    if cur:
        tokens.append("".join(cur))
    return tokens


def parse_remap_rules(text: str, source: str = "") -> tuple[RemapRule, ...]:
    """Parse a tftp-hpa remap file into rules; raises :class:`RemapSyntaxError` naming every bad line.

    ``source`` is the file's name (problems then read ``FILE:LINE: …``); lines
    are split at ``\\n`` with ``\\r`` and NUL dropped (remap.c ``read_line``).
    """
    rules: list[RemapRule] = []
    problems: list[str] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        try:
            rule = _parse_line(raw.replace("\r", "").replace("\0", ""), lineno, source)
        except ValueError as exc:
            problems.append(f"{source}:{lineno}: {exc}" if source else f"remap line {lineno}: {exc}")
            continue
        if rule is not None:
            rules.append(rule)
    if problems:
        raise RemapSyntaxError(problems)
    return tuple(rules)


def _parse_line(line: str, lineno: int, source: str) -> RemapRule | None:
    """One line: ``flags regex [replacement]``, or ``None`` for a blank or comment line (remap.c ``parseline``)."""
    tokens = _tokens(line)
    if not tokens:
        return None
    flags = RemapFlag(0)
    case_insensitive = False
    for ch in tokens[0]:
        if ch == "i":
            case_insensitive = True
        elif ch in _FLAG_CHARS:
            flags |= _FLAG_CHARS[ch]
        else:
            raise ValueError(f"invalid flag {ch!r} (flags: r g i e s a ~ 4 6 G P)")
    for combo, name in _BAD_COMBOS:
        if flags & combo == combo:
            raise ValueError(f"flags {name[0]!r} and {name[1]!r} conflict")
    if not flags & RemapFlag.REWRITE:
        flags &= ~RemapFlag.GLOBAL  # 'g' means nothing without 'r'
    if len(tokens) < 2:
        raise ValueError("regex missing")
    try:
        regex = re.compile(_ere_to_python(tokens[1]), re.IGNORECASE if case_insensitive else 0)
    except re.error as exc:
        raise ValueError(f"bad regex {tokens[1]!r}: {exc}") from None
    if len(tokens) > 3:
        raise ValueError(f"unexpected text {tokens[3]!r}")
    return RemapRule(lineno, flags, regex, tokens[2] if len(tokens) > 2 else "", source)


def _expand(template: str, match: re.Match[str] | None, macros: dict[str, str]) -> str:
    """Expand ``\\0``-``\\9``, ``\\\\``, ``\\i``/``\\x`` and ``\\L``/``\\U``/``\\E`` (remap.c)."""
    out: list[str] = []
    case = ""
    i, n = 0, len(template)

    def emit(text: str) -> None:
        out.append(text.lower() if case == "L" else text.upper() if case == "U" else text)

    while i < n:
        ch = template[i]
        if ch != "\\":
            emit(ch)
            i += 1
            continue
        if i + 1 >= n:  # trailing lone backslash is literal
            out.append("\\")
            break
        code = template[i + 1]
        i += 2
        if code.isdigit():
            if match is not None and int(code) <= (match.re.groups or 0):
                emit(match.group(int(code)) or "")
        elif code in "LUE":
            case = "" if code == "E" else code
        elif code == "\\":
            out.append("\\")
        elif code in macros:
            emit(macros[code])
        else:  # unknown escape: the backslash is dropped, the character kept
            i -= 1
    return "".join(out)


def _macros(client_address: str | None) -> dict[str, str]:
    """``\\i`` (client address text) and ``\\x`` (address as upper-case hex), tftpd.c."""
    if client_address is None:
        return {}
    addr = ipaddress.ip_address(client_address.split("%", 1)[0])
    return {"i": client_address, "x": addr.packed.hex().upper()}


def apply_remap(
    rules: Sequence[RemapRule],
    filename: str,
    *,
    write: bool = False,
    client_address: str | None = None,
    ipv6: bool = False,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> str:
    """Apply remap rules in order and return the new filename.

    Raises :class:`PathRefused` for an ``a`` (abort) rule, whose expanded
    replacement becomes ``client_message``, or when ``max_steps`` rule
    applications did not terminate (tftp-hpa "Remap table failure").
    """
    macros = _macros(client_address)
    skip = RemapFlag.WRITE_ONLY if not write else RemapFlag.READ_ONLY
    skip |= RemapFlag.IPV4 if ipv6 else RemapFlag.IPV6
    current = filename
    steps = max_steps
    index = 0
    while index < len(rules):
        rule = rules[index]
        index += 1
        if rule.flags & skip:
            continue
        steps -= 1
        if steps < 0:
            raise PathRefused("remap rules did not terminate", "Remap table failure")
        match = rule.regex.search(current)
        if (match is None) != bool(rule.flags & RemapFlag.INVERSE):
            continue
        if rule.flags & RemapFlag.REWRITE:
            while match is not None:
                current = current[: match.start()] + _expand(rule.replacement, match, macros) + current[match.end() :]
                if not rule.flags & RemapFlag.GLOBAL:
                    break
                steps -= 1
                if steps < 0:
                    raise PathRefused("remap rules did not terminate", "Remap table failure")
                match = rule.regex.search(current)
        if rule.flags & RemapFlag.ABORT:
            # The message is the replacement alone (tftp-hpa's MATCHONLY; 5.2 also wrapped it in the unmatched
            # rest of the name); without one, tftpd-hpa sends "Access denied" (seen from in.tftpd 5.2).
            message = _expand(rule.replacement, match, macros)
            raise PathRefused(f"refused by {rule.where}", message or ABORT_MESSAGE)
        if rule.flags & RemapFlag.EXIT:
            break
        if rule.flags & RemapFlag.RESTART:
            index = 0
    return current
