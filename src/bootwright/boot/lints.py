"""Lints of the boot rules (pure): configurations that load but cannot do what they say.

Rule: every warning about what the rules hand out — a rule no client reaches,
a boot file nothing serves, a URL of the wrong address family, an HTTP boot
offer firmware discards — is decided here. :func:`bootwright.boot.validation.config_warnings`
yields :func:`shadowed_rules`, :func:`family_mismatches` and :func:`http_boot_without_echo`,
so ``check``, ``serve`` and every reload print them; :func:`missing_boot_files`
needs the file system, which only ``bootwright check`` looks at: it passes the
lookups in (as :func:`bootwright.boot.programs.programs` takes ``exists``).

Each lint is *sound*, never guessing: a rule is called shadowed only when
every client it matches provably matches the earlier rule, condition by
condition (:func:`covers`); a file is called missing only when the request
provably reaches our own TFTP or HTTP service. Where that cannot be known
(a ``next_server`` that is not one of our configured addresses, a host name
in a URL, iPXE ``${…}`` variables, ``{mac}``), the lint stays silent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from bootwright.boot.documents import is_document_name
from bootwright.boot.policy import ARCH_TABLE, HTTP_CLIENT
from bootwright.boot.programs import FALLBACK_NAMES, Transport, fallback_file, ipxe_dir
from bootwright.config import Config, Problem, Rule, RuleMatch, match_octets, pool_permits

__all__ = [
    "Locate",
    "Located",
    "covers",
    "family_mismatches",
    "http_boot_without_echo",
    "missing_boot_files",
    "shadowed_rules",
]

Family = Literal[4, 6]

# --------------------------------------------------------------------------- shadowed rules


def _family_of(m: RuleMatch) -> int | None:
    """The one address family a rule's conditions allow: ``family``, else that of all its ``subnet`` entries."""
    if m.family is not None:
        return m.family
    versions = {net.version for net in m.subnet or ()}
    return versions.pop() if len(versions) == 1 else None


def _hex_digits(mac: str) -> str:
    """A MAC prefix as bare lower-case hex digits (the policy compares the colon form; prefixes agree)."""
    return re.sub(r"[-:.]", "", mac.lower())


def _prefixes_within(later: Iterable[str], earlier: Iterable[str]) -> bool:
    """Every text that starts with one of ``later`` starts with one of ``earlier`` (prefix of a prefix)."""
    firsts = tuple(earlier)
    return all(p.startswith(firsts) for p in later)


def _implied(key: str, earlier: Any, later: RuleMatch) -> bool:
    """Whether condition ``key = earlier`` (of the earlier rule) holds for every client ``later`` matches.

    Lists are OR (any entry), except ``ipxe_feature`` (all); ``vendor_class`` and
    ``mac`` are prefixes; the rest exact. An unknown key is never implied.
    """
    value = getattr(later, key, None)
    if key == "family":
        return bool(_family_of(later) == earlier)
    if key == "known":
        # A host or group condition needs a configured host: it implies known = true.
        return bool(value == earlier or (earlier and (later.host is not None or later.group is not None)))
    if key == "no_arch":
        # A client matching an arch list sent an architecture.
        return bool(value == earlier or (earlier is False and later.arch is not None))
    if value is None:
        return False
    if key in ("arch", "user_class", "host", "group"):
        return bool(set(value) <= set(earlier))
    if key == "vendor_class":
        return _prefixes_within(value, earlier)
    if key == "mac":
        return _prefixes_within(map(_hex_digits, value), map(_hex_digits, earlier))
    if key in ("circuit_id", "remote_id", "client_id"):
        return {match_octets(v) for v in value} <= {match_octets(v) for v in earlier}
    if key == "ipxe_feature":  # every feature the earlier rule needs, the later needs too
        return set(earlier) <= set(value)
    if key == "subnet":
        return all(any(t.version == s.version and t.subnet_of(s) for s in earlier) for t in value)
    return False


def _conditions(m: RuleMatch) -> dict[str, Any]:
    """The conditions a match sets (``None`` is "no condition")."""
    return {key: value for key, value in m.model_dump().items() if value is not None}


def covers(earlier: RuleMatch, later: RuleMatch) -> bool:
    """Whether every client ``later`` matches also matches ``earlier`` (sound: ``True`` only when provable)."""
    return all(_implied(key, value, later) for key, value in _conditions(earlier).items())


def _final(rule: Rule) -> bool:
    """Whether the first match of ``rule`` ends the evaluation (config.Rule: an ignore rule is final)."""
    return rule.final or rule.ignore


def _gives_something(rule: Rule) -> bool:
    """Whether a rule sets anything of the answer (else it may only classify, for a pool's ``rule:NAME``)."""
    sets = (rule.bootfile, rule.next_server, rule.tftp_server, rule.vendor_class, rule.vendor_enterprise, rule.script)
    return rule.ignore or bool(rule.ipxe) or any(v is not None for v in sets)


def _pool_rules(config: Config) -> set[str]:
    """Rule names a pool's ``allow``/``deny`` asks about (``rule:NAME``)."""
    return {m[len("rule:") :] for _, m in pool_permits(config) if m.startswith("rule:")}


def _shown(conditions: dict[str, Any]) -> str:
    """Conditions as TOML-like text: ``arch = [7], user_class = ["iPXE"]``."""

    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v) if isinstance(v, str | bool) else json.dumps(str(v)) if not isinstance(v, int) else str(v)

    return ", ".join(f"{key} = {value(v)}" for key, v in conditions.items())


def shadowed_rules(config: Config) -> Iterator[Problem]:
    """Rules no client can reach: an earlier final rule matches every client they match.

    The first final match wins (``boot/policy.py``), so a later rule whose
    conditions are each at least as narrow as those of an earlier final (or
    ``ignore``) rule never decides anything. A rule a pool's ``allow``/``deny``
    names (``rule:NAME``) and that sets nothing of the answer is left out: it
    may exist only to classify clients.
    """
    rules = config.rule
    classifying = _pool_rules(config)
    for j, later in enumerate(rules):
        if later.name in classifying and not _gives_something(later):
            continue
        for i, earlier in enumerate(rules[:j]):
            if not _final(earlier) or not covers(earlier.match, later.match):
                continue
            what = "final, ignore = true" if earlier.ignore else "final"
            conditions = _conditions(earlier.match)
            family = conditions.pop("family", None)
            if not conditions:
                clients = f"every DHCPv{family} client" if family else "every client"
                why = f"has no conditions and answers {clients} first"
            else:
                why = f"matches every client it matches ({_shown(conditions)})"
            yield Problem(
                f"rule[{j}]",
                f"rule {later.name!r} can never match: rule {earlier.name!r} (rule[{i}], "
                f"earlier, {what}) {why}; put the narrower rule first, or set final = false on "
                f"{earlier.name!r}",
            )
            break


# --------------------------------------------------------------------------- address families


def _serves(config: Config, family: Family, m: RuleMatch) -> bool:
    """Whether a rule with match ``m`` can answer a DHCPv``family`` request of this config."""
    fam = _family_of(m)
    if fam is not None and fam != family:
        return False
    if family == 4:
        return config.dhcp4.enabled and bool(config.subnet4)
    return config.dhcp6.enabled and bool(config.subnet6)


def _is_url(bootfile: str) -> bool:
    """A URL (``scheme://…``) or one of the placeholders that become one (``{http}``, ``{tftp}``)."""
    return bootfile.startswith(("{http}", "{tftp}")) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", bootfile) is not None


def _literal_host(bootfile: str) -> IPv4Address | IPv6Address | None:
    """The IP literal a URL names as its host (``http://[2001:db8::1]/x`` → 2001:db8::1), else ``None``."""
    if not _is_url(bootfile) or bootfile.startswith("{"):
        return None
    try:
        host = urlsplit(bootfile).hostname
        return ip_address(host) if host else None
    except ValueError:
        return None


def family_mismatches(config: Config) -> Iterator[Problem]:
    """Boot files a client of one address family cannot fetch: the other family's literal, or no URL on DHCPv6.

    A client that configured only IPv6 (UEFI and iPXE fetch over the stack DHCP
    set up) cannot reach an IPv4 address, nor an IPv4-only client an IPv6 one;
    and DHCPv6 option 59 is a URL (RFC 5970 §3.1), a bare file name means
    nothing there. Only the families the config serves count (a rule without
    ``family`` in a config without ``[[subnet6]]`` answers DHCPv4 only).
    """
    for i, rule in enumerate(config.rule):
        bootfile = rule.bootfile
        if rule.ignore or not bootfile:
            continue
        where = f"rule[{i}].bootfile"
        v6 = _serves(config, 6, rule.match)
        literal = _literal_host(bootfile)
        hint = "use {http} or {tftp} (our address in the client's family)"
        if v6 and isinstance(literal, IPv4Address):
            yield Problem(
                where,
                f"rule {rule.name!r} can answer DHCPv6 clients, but {bootfile} names the IPv4 "
                f"address {literal}: a client booting over IPv6 cannot reach it; {hint}, or set "
                "match.family = 4",
            )
        if _serves(config, 4, rule.match) and isinstance(literal, IPv6Address):
            yield Problem(
                where,
                f"rule {rule.name!r} can answer DHCPv4 clients, but {bootfile} names the IPv6 "
                f"address {literal}: a client booting over IPv4 cannot reach it; {hint}, or set "
                "match.family = 6",
            )
        if v6 and not _is_url(bootfile):
            yield Problem(
                where,
                f"rule {rule.name!r} can answer DHCPv6 clients, but {bootfile!r} is not a URL: "
                "DHCPv6 option 59 must be one (RFC 5970 §3.1); write "
                f'"{{tftp}}/{bootfile.lstrip("/")}", or set match.family = 4',
            )


# --------------------------------------------------------------------------- the HTTPClient echo

# UEFI HTTP boot architectures (IANA processor architecture types, RFC 4578 §2.1): EDK2's HttpBootDxe sends them.
_UEFI_HTTP: Final = frozenset(code for code, info in ARCH_TABLE.items() if info.http and info.stack == "efi")


def _compatible(prefix: str) -> bool:
    """Whether a ``vendor_class`` prefix can match ``HTTPClient:Arch:…`` (UEFI 2.x §24.7)."""
    return bool(prefix) and (prefix.startswith(HTTP_CLIENT) or HTTP_CLIENT.startswith(prefix))


def _targets_http_boot(m: RuleMatch) -> bool:
    """Whether a rule is written for UEFI HTTP boot firmware and its conditions can hold for it.

    Written for it: ``arch`` lists a UEFI HTTP architecture, or ``vendor_class``
    a prefix of ``HTTPClient``. Can hold: EDK2 sends its architecture and
    ``HTTPClient:Arch:…``, and no user class or iPXE options.
    """
    arch_ok = m.arch is None or bool(set(m.arch) & _UEFI_HTTP)
    vendor_ok = m.vendor_class is None or any(_compatible(p) for p in m.vendor_class)
    written_for = (m.arch is not None and arch_ok) or (m.vendor_class is not None and vendor_ok)
    return (
        written_for
        and arch_ok
        and vendor_ok
        and m.user_class is None
        and m.ipxe_feature is None
        and m.no_arch is not True
    )


def _http_url(bootfile: str) -> bool:
    return bootfile.startswith("{http}") or bootfile.lower().startswith(("http://", "https://"))


def http_boot_without_echo(config: Config) -> Iterator[Problem]:
    """Final rules that give UEFI HTTP boot clients an http(s) URL without ``vendor_class = "HTTPClient"``.

    EDK2's HttpBootDxe takes an offer as an HTTP boot offer only when DHCPv4
    option 60 (DHCPv6 option 16) starts with ``HTTPClient`` (UEFI 2.x §24.7);
    without it the URL is ignored and the firmware gives up. The value a reply
    carries is the final rule's ``vendor_class``, else that of an earlier
    non-final rule that matched, so a non-final rule setting ``HTTPClient`` that
    covers the final one (:func:`covers`) is enough. Non-final rules are not
    looked at: a later rule or the built-in table (which echoes ``HTTPClient``
    itself) completes their answer.
    """
    for i, rule in enumerate(config.rule):
        if rule.ignore or not rule.final or not rule.bootfile or not _http_url(rule.bootfile):
            continue
        if not _targets_http_boot(rule.match):
            continue
        echo = rule.vendor_class
        if echo is None:
            echo = next(
                (
                    e.vendor_class
                    for e in reversed(config.rule[:i])
                    if not e.final and not e.ignore and e.vendor_class is not None and covers(e.match, rule.match)
                ),
                None,
            )
        if echo is not None and echo.startswith(HTTP_CLIENT):
            continue
        sent = "sends no vendor class" if echo is None else f"sends vendor class {echo!r}"
        yield Problem(
            f"rule[{i}]",
            f"rule {rule.name!r} gives UEFI HTTP boot clients {rule.bootfile} but {sent}: "
            "firmware (EDK2 HttpBootDxe) ignores an offer whose option 60 (DHCPv6 option 16) is not "
            'HTTPClient (UEFI 2.x §24.7); set vendor_class = "HTTPClient"',
        )


# --------------------------------------------------------------------------- boot files missing from the root


@dataclass(frozen=True, slots=True)
class Located:
    """Where a transport finds a requested name: the root (or aliased directory) and the path inside it."""

    root: str
    path: str  # relative to ``root``; what the transport opens
    outside: bool = False  # an ``[http] aliases`` directory outside the root: the iPXE package does not stand in


Locate = Callable[[Transport, str], "Located | None"]
"""The caller's path resolution: a request name (TFTP filename, URL path) → :class:`Located`, ``None``: not checked.

``bootwright check`` applies ``[tftp] remap``/``remap_file`` and ``[http] aliases``
as the services do, and returns ``None`` for a transport whose root is missing
or a name the transport refuses.
"""

_UNKNOWABLE: Final = ("${", "{mac}", "{arch_file}")  # iPXE variables, per-client placeholders


def _own_addresses(config: Config) -> set[str]:
    """The addresses this config calls its own (``[server]``, subnets' ``server``, ``[http] listen``)."""
    own = [
        config.server.address4,
        config.server.address6,
        *(s.server for s in config.subnet4),
        *(s.server for s in config.subnet6),
        *config.http.listen,
    ]
    return {str(a) for a in own if a is not None}


def _tftp_is_ours(
    config: Config, own: set[str], next_server: IPv4Address | None, tftp_server: str | None, m: RuleMatch | None
) -> bool:
    """Whether a bare DHCPv4 file name is fetched from us: some subnet's next server (siaddr) is ours or unset.

    The next server is the rule's (or host's), else the subnet's, else ``[dhcp4]``'s (``boot/policy.py``).
    """
    if tftp_server is not None and tftp_server not in own:
        return False
    subnets = [
        s
        for s in config.subnet4
        if m is None or m.subnet is None or any(n.version == 4 and s.subnet.subnet_of(n) for n in m.subnet)
    ]
    chosen = [next_server or s.next_server or config.dhcp4.next_server for s in subnets] or [
        next_server or config.dhcp4.next_server
    ]
    return any(ns is None or str(ns) in own for ns in chosen)


def _request(config: Config, bootfile: str, own: set[str], tftp_ours: bool) -> tuple[Transport, str] | None:
    """(transport, name as the client asks for it) when ``bootfile`` is fetched from our TFTP or HTTP service."""
    if any(token in bootfile for token in _UNKNOWABLE):
        return None
    if bootfile.startswith("{tftp}/"):
        return "tftp", bootfile[len("{tftp}") :]
    if bootfile.startswith("{http}/"):
        return "http", bootfile[len("{http}") :].split("?", 1)[0]
    if not _is_url(bootfile):
        return ("tftp", bootfile) if tftp_ours else None
    try:
        parts = urlsplit(bootfile)
        port = parts.port
    except ValueError:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    host = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
    if host != "{server}" and host not in own:
        try:
            if str(ip_address(host)) not in own:
                return None
        except ValueError:
            return None
    scheme = parts.scheme.lower()
    if scheme == "tftp" and port in (None, config.tftp.port):
        return "tftp", parts.path
    tls = config.http.tls_cert is not None
    if (scheme == "http" and port in (None, config.http.port)) or (
        scheme == "https" and tls and port in (None, config.http.tls_port)
    ):
        return "http", parts.path
    return None


def _boot_files(config: Config) -> Iterator[tuple[str, str, str, bool]]:
    """(key path, who gives it, boot file, whether a bare name is fetched from us) of every rule and host."""
    own = _own_addresses(config)
    for i, rule in enumerate(config.rule):
        if rule.bootfile and not rule.ignore:
            ours = _serves(config, 4, rule.match) and _tftp_is_ours(
                config, own, rule.next_server, rule.tftp_server, rule.match
            )
            yield f"rule[{i}].bootfile", f"rule {rule.name!r}", rule.bootfile, ours
    for i, host in enumerate(config.host):
        if host.bootfile:
            yield (
                f"host[{i}].bootfile",
                f"host {host.name!r}",
                host.bootfile,
                _tftp_is_ours(config, own, host.next_server, None, None),
            )
    if not config.boot.builtin:  # with the table on, check's boot programs table reports [boot.files]
        ours = _tftp_is_ours(config, own, None, None, None)
        for code, name in config.boot.files.items():
            yield f"boot.files.{code}", f"[boot.files] {code}", name, ours


def missing_boot_files(config: Config, locate: Locate, exists: Callable[[str], bool]) -> Iterator[Problem]:
    """Boot files our TFTP or HTTP service is asked for and has nothing to answer with.

    A name is served when it is a document (:func:`bootwright.boot.documents.is_document_name`),
    a file at the place ``locate`` resolves it to (``exists`` on the absolute
    path), or a boot program of the iPXE package (:func:`bootwright.boot.programs.fallback_file`,
    not for a directory aliased outside the root) — the order TFTP and HTTP
    follow. Bare names count only when a DHCPv4 client gets them with our
    address as its next server; URLs only when they name us (``{http}``,
    ``{tftp}``, ``{server}`` or one of our configured addresses).
    """
    own = _own_addresses(config)
    directory = ipxe_dir(config)
    for key, who, bootfile, tftp_ours in _boot_files(config):
        request = _request(config, bootfile, own, tftp_ours)
        if request is None:
            continue
        transport, name = request
        if not (config.tftp.enabled if transport == "tftp" else config.http.enabled):
            continue
        clean = "/".join(p for p in name.split("/") if p not in ("", "."))
        if is_document_name(config, clean):
            continue
        found = locate(transport, name)
        if found is None or not found.path or is_document_name(config, found.path):
            continue
        if exists(f"{found.root.rstrip('/')}/{found.path}"):
            continue
        packaged = None if found.outside else fallback_file(found.path, directory)
        if packaged is not None and exists(packaged):
            continue
        service = "TFTP" if transport == "tftp" else "HTTP"
        package = f" nor in {directory}" if directory and found.path in FALLBACK_NAMES and not found.outside else ""
        yield Problem(
            key,
            f"{who} boots {bootfile}, but {found.path} is not in the {service} root {found.root}"
            f"{package}, and bootwright renders no document of that name: clients get 'file not "
            "found'; put the file there or correct the name",
        )
