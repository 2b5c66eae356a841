"""The TFTP remap table: ``[tftp] remap`` rules, then the rules of ``[tftp] remap_file``.

``remap_file`` is a tftp-hpa remap file as ``in.tftpd -m FILE`` reads it
(tftpd(8) "FILENAME REMAPPING"; the syntax and the rule machine are
:mod:`bootwright.engine.tftp.paths`), so an existing ``/tftpboot/tftp-rules``
(seed 004) is used as it is. The inline rules come first and the file's
follow, as one table: an ``s`` rule in either restarts at the first inline
rule. The file is read when the service starts and again whenever the policy
is replaced (SIGHUP, a changed config file) — tftp-hpa re-reads it on SIGHUP
too. Every bad line is reported as ``FILE:LINE: …``, by ``bootwright check``
and by ``serve`` (which then refuses to start, as in.tftpd exits).
"""

from __future__ import annotations

from bootwright.config import Config, Problem, TftpSection
from bootwright.engine.tftp.paths import RemapRule, RemapSyntaxError, parse_remap_rules

INLINE_HINT = " (the rules are listed one per string: line N is the Nth)"


def _table(tftp: TftpSection) -> tuple[tuple[RemapRule, ...], list[Problem]]:
    """The rules and every problem, keyed ``tftp.remap`` / ``tftp.remap_file``."""
    problems: list[Problem] = []
    try:
        inline = parse_remap_rules("\n".join(tftp.remap))
    except RemapSyntaxError as exc:
        inline = ()
        problems += [Problem("tftp.remap", p + INLINE_HINT) for p in exc.problems]
    if tftp.remap_file is None:
        return inline, problems
    path = tftp.remap_file
    try:
        # tftp-hpa reads octets; TFTP file names are ASCII here (wire/tftp.py), so other octets never match.
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        return inline, [*problems, Problem("tftp.remap_file", f"cannot read {path}: {exc.strerror or exc}")]
    try:
        return inline + parse_remap_rules(text, str(path)), problems
    except RemapSyntaxError as exc:
        return inline, problems + [Problem("tftp.remap_file", p) for p in exc.problems]


def load_rules(tftp: TftpSection) -> tuple[RemapRule, ...]:
    """The remap table of ``[tftp]``; raises :class:`RemapSyntaxError` naming the key, file and line."""
    rules, problems = _table(tftp)
    if problems:
        raise RemapSyntaxError([f"[tftp] {p.path.removeprefix('tftp.')}: {p.message}" for p in problems])
    return rules


def remap_problems(config: Config) -> list[Problem]:
    """Every problem of the remap table (``bootwright check``); none when TFTP is off."""
    return _table(config.tftp)[1] if config.tftp.enabled else []
