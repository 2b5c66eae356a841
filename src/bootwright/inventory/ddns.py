"""What DNS should say about leases and inventory hosts, and the RFC 2136 updates that make it so (pure).

Rule: every decision of the live DNS updates is made here — the name a lease
or a host gets, the reverse zone an address belongs to, a client's DHCID
(RFC 4701), the TSIG secret ``[ddns]`` names, and which UPDATE messages
(prerequisites, deletions, additions; RFC 2136 §2.4–2.5) bring a name or an
address from what bootwright last wrote to what it should be now.
``net/ddns.py`` only sends the messages in order and reads the answers' rcodes;
``bootwright check`` and the service read the secret through
:func:`read_secret`, so a key ``check`` accepts is one ``serve`` uses.

Names. An inventory host's name is in the forward zone unless it already ends
in it (``pi`` → ``pi.lab.example.``), as the exported zone files have it
(``inventory/zones.py``). A leased client's name is the one it sent (DHCPv4
option 12, DHCPv6 option 39; cleaned by the engines, ``boot/names.py``): a
name inside the forward zone as it is, any other the first label in the zone
(``web1.corp.example`` → ``web1.lab.example.``: bootwright updates only the
zone it is given). A name that is no DNS host name (RFC 1123 §2.1: ``_``,
empty labels) gets no records. Inventory hosts win: a lease on a host's fixed
address, or naming a host, changes nothing (the host's records stand).

Conflicts (RFC 4703 §5) for leased names, by ``conflict`` (Kea's modes):

* ``check-with-dhcid`` (default): add only where the name is unused
  (prerequisite "name is not in use"), together with a DHCID record; else
  replace the addresses only where the DHCID is the client's own ("RRset exists,
  value dependent"); else it is another client's name: nothing is written.
  Removal is conditional on the same DHCID.
* ``check-exists-with-dhcid``: as above, but any DHCID will do (a name another
  DHCP server wrote for the same machine).
* ``no-check-with-dhcid``: overwrite, and write the DHCID anyway.

A client's DHCID is computed from its MAC address when known — identifier type
0x0000, htype 1 and the MAC (RFC 4701 §3.3) — for DHCPv4 *and* DHCPv6, so a
dual-stack machine's A and AAAA records share one DHCID and one owner; without
a MAC, from its DHCPv4 client identifier (0x0001) or DHCPv6 DUID (0x0002).
ISC dhcpd computes the same value for a DHCPv4 client that sends no option 61.
Inventory hosts are the source of truth: their records are replaced
unconditionally and carry no DHCID. PTR records (RFC 1035 §3.5, RFC 3596 §2.5)
are replaced unconditionally, and removed only while they still name what
bootwright wrote.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Final

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update
from dns.rcode import Rcode

from bootwright.config import Config, DdnsSection, Problem
from bootwright.engine.dhcp6.leases import split_ia_key
from bootwright.inventory.zones import dns_host_name
from bootwright.model import Host, Lease, LeaseState

__all__ = [
    "Claim",
    "SecretError",
    "Settings",
    "Step",
    "Want",
    "dhcid",
    "forward_steps",
    "host_fqdn",
    "host_wants",
    "lease_claim",
    "lease_fqdn",
    "parse_secret",
    "rcode_text",
    "read_secret",
    "reverse_steps",
    "reverse_zone_for",
    "reverse_zones",
    "secret_problems",
    "settings",
]

DHCID_SHA256: Final = 1
"""RFC 4701 §3.4: digest type 1, SHA-256."""
_ETHERNET: Final = 1  # htype of the identifier built from a MAC (RFC 4701 §3.3 type 0x0000)
_NO_CONFLICT_CHECK: Final = "no-check-with-dhcid"
_ANY_DHCID: Final = "check-exists-with-dhcid"
_SECRET_CLAUSE = re.compile(r'secret\s+"([^"]*)"')


class SecretError(ValueError):
    """The TSIG secret cannot be had; ``problem`` names the ``[ddns]`` key and the file or variable."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass(frozen=True, slots=True)
class Settings:
    """``[ddns]`` compiled: the zones as names, the TTL, the conflict mode and the TSIG keyring."""

    zone: dns.name.Name
    reverse: tuple[dns.name.Name, ...]  # longest first: the most specific zone holding an address wins
    ttl: int
    conflict: str
    leases: bool
    keyring: Mapping[dns.name.Name, dns.tsig.Key] | None = None
    keyname: dns.name.Name | None = None

    def update(self, zone: dns.name.Name) -> dns.update.UpdateMessage:
        """An empty UPDATE of ``zone``, signed with the key when there is one (RFC 8945 §5)."""
        if self.keyring is None or self.keyname is None:
            return dns.update.UpdateMessage(zone)
        key = self.keyring[self.keyname]
        return dns.update.UpdateMessage(zone, keyring=self.keyring, keyname=self.keyname, keyalgorithm=key.algorithm)


@dataclass(frozen=True, slots=True)
class Claim:
    """A bound lease's hold on a name: whose it is (MAC, else client key) and its DHCID."""

    name: dns.name.Name
    owner: str
    dhcid: bytes


@dataclass(frozen=True, slots=True)
class Want:
    """What a name should carry: addresses of each family, and a DHCID (None: an inventory host's name)."""

    v4: frozenset[str] = frozenset()
    v6: frozenset[str] = frozenset()
    dhcid: bytes | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One UPDATE and what its answer means (RFC 2136 §2.2 rcodes).

    NOERROR ends the change unless it is in ``then``; an rcode in ``then`` goes on with the next step, one in
    ``conflict`` ends it as "another client's name" (never retried), one in ``done`` ends it as fine.
    """

    update: dns.update.UpdateMessage
    what: str  # for the log: "A/AAAA of web1.lab.example.", "PTR 5.2.0.192.in-addr.arpa."
    then: frozenset[Rcode] = frozenset()
    conflict: frozenset[Rcode] = frozenset()
    done: frozenset[Rcode] = frozenset()


# --------------------------------------------------------------------------- the key


def parse_secret(text: str) -> bytes:
    """A TSIG secret from base64 text or a BIND key clause (``tsig-keygen`` output: ``secret "…";``)."""
    found = _SECRET_CLAUSE.search(text)
    encoded = "".join((found.group(1) if found else text).split())
    if not encoded:
        raise ValueError("holds no secret (base64, or a key clause as tsig-keygen writes it)")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not base64 (RFC 4648 §4; tsig-keygen writes one)") from None


def read_secret(ddns: DdnsSection, read: Callable[[Path], str], environ: Mapping[str, str]) -> bytes | None:
    """The secret of ``ddns.key_name`` (None without a key); :class:`SecretError` names where it failed."""
    if ddns.key_name is None:
        return None
    if ddns.key_secret_file is not None:
        path = ddns.key_secret_file
        try:
            text = read(path)
        except OSError as exc:
            raise SecretError(Problem("ddns.key_secret_file", f"cannot read {path}: {exc.strerror or exc}")) from None
        except UnicodeDecodeError:
            raise SecretError(Problem("ddns.key_secret_file", f"{path} is not text")) from None
        where, key = str(path), "ddns.key_secret_file"
    elif ddns.key_secret_env is not None:
        text = environ.get(ddns.key_secret_env, "")
        if not text:
            raise SecretError(
                Problem(
                    "ddns.key_secret_env",
                    f"the environment variable {ddns.key_secret_env} is not set (or empty) in this process",
                )
            )
        where, key = f"${ddns.key_secret_env}", "ddns.key_secret_env"
    else:
        raise SecretError(Problem("ddns.key_name", "no key_secret_file or key_secret_env gives its secret"))
    try:
        return parse_secret(text)
    except ValueError as exc:
        raise SecretError(Problem(key, f"{where}: {exc}")) from None


def secret_problems(config: Config, read: Callable[[Path], str], environ: Mapping[str, str]) -> list[Problem]:
    """``bootwright check``: why the enabled ``[ddns]`` key could not be used, as serve would read it."""
    if not config.ddns.enabled:
        return []
    try:
        read_secret(config.ddns, read, environ)
    except SecretError as exc:
        return [exc.problem]
    return []


# --------------------------------------------------------------------------- zones and names


def _absolute(text: str) -> dns.name.Name:
    return dns.name.from_text(text.rstrip(".") + ".")


def reverse_zones(config: Config) -> tuple[dns.name.Name, ...]:
    """``reverse_zones``, else one per subnet on its octet (IPv4) or nibble (IPv6) boundary; longest first.

    A /26 is written into its /24's ``in-addr.arpa`` zone (no RFC 2317 delegation), a /64 into its own
    nibble zone.
    """
    if config.ddns.reverse_zones:
        zones = {_absolute(z.lower()) for z in config.ddns.reverse_zones}
    else:
        nets: list[IPv4Network | IPv6Network] = [s.subnet for s in config.subnet4 if s.mode == "full"]
        nets += [s.prefix for s in config.subnet6]
        zones = set()
        for net in nets:
            step = 8 if net.version == 4 else 4
            aligned = net.supernet(new_prefix=net.prefixlen - net.prefixlen % step)
            # reverse_pointer of the network address, cut to the aligned labels (RFC 1035 §3.5, RFC 3596 §2.5).
            labels = aligned.network_address.reverse_pointer.split(".")
            keep = aligned.prefixlen // step
            suffix = 2  # "in-addr.arpa" / "ip6.arpa"
            zones.add(_absolute(".".join(labels[len(labels) - suffix - keep :])))
    return tuple(sorted(zones, key=lambda z: (-len(z), z.to_text())))


def reverse_zone_for(address: str, settings: Settings) -> dns.name.Name | None:
    """The reverse zone holding ``address``'s PTR name, or None when no zone does."""
    owner = _absolute(ip_address(address).reverse_pointer)
    return next((z for z in settings.reverse if owner.is_subdomain(z)), None)


def _in_zone(name: str, zone: dns.name.Name) -> dns.name.Name | None:
    """``name`` (relative, or ending in the zone) as an absolute name in ``zone``; None if no host name."""
    text = name.rstrip(".").lower()
    suffix = zone.to_text(omit_final_dot=True).lower()
    if not text or not dns_host_name(text):
        return None
    full = text if text == suffix or text.endswith("." + suffix) else f"{text}.{suffix}"
    return _absolute(full) if len(full) <= 253 else None


def host_fqdn(name: str, zone: dns.name.Name) -> dns.name.Name | None:
    """An inventory host's name in the forward zone (as the zone files have it), None if no DNS host name."""
    return _in_zone(name, zone)


def lease_fqdn(hostname: str | None, zone: dns.name.Name) -> dns.name.Name | None:
    """A leased client's name in the forward zone: inside it as sent, else its first label (module docstring)."""
    if not hostname:
        return None
    text = hostname.rstrip(".").lower()
    suffix = zone.to_text(omit_final_dot=True).lower()
    if text != suffix and not text.endswith("." + suffix):
        text = text.split(".", 1)[0]
    return _in_zone(text, zone)


def settings(config: Config, secret: bytes | None) -> Settings:
    """Compile ``[ddns]`` (validated by ``config.check_semantics``) with the secret :func:`read_secret` gave."""
    ddns = config.ddns
    assert ddns.forward_zone is not None, "config validation requires forward_zone"
    keyring = keyname = None
    if ddns.key_name is not None and secret is not None:
        keyname = _absolute(ddns.key_name)
        keyring = {keyname: dns.tsig.Key(keyname, secret, _absolute(ddns.key_algorithm))}
    return Settings(
        _absolute(ddns.forward_zone.lower()),
        reverse_zones(config),
        ddns.ttl,
        ddns.conflict,
        ddns.leases,
        keyring,
        keyname,
    )


# --------------------------------------------------------------------------- DHCID (RFC 4701)


def dhcid(family: int, client_key: bytes, mac: str | None, name: dns.name.Name) -> bytes:
    """The DHCID RDATA of a client for ``name`` (RFC 4701 §3.3–3.5; the choice of identifier: module docstring).

    identifier-type (2 octets), digest-type 1, SHA-256(identifier ‖ the name in canonical wire form).
    """
    if mac:
        kind, ident = 0x0000, bytes((_ETHERNET,)) + bytes.fromhex(mac.replace(":", ""))
    elif family == 4:
        kind, ident = 0x0001, client_key  # the DHCPv4 key is option 61 when the client sent one
    else:
        kind, ident = 0x0002, split_ia_key(client_key)[0]  # the DHCPv6 key is DUID ‖ IAID
    wire = name.canonicalize().to_wire()
    assert wire is not None  # an absolute name renders without a compression table
    digest = hashlib.sha256(ident + wire).digest()
    return kind.to_bytes(2) + bytes((DHCID_SHA256,)) + digest


def lease_claim(lease: Lease, settings: Settings, reserved: Collection[object] = frozenset()) -> Claim | None:
    """The name a stored lease holds in DNS, or None (not bound, no usable name, or an inventory host's).

    ``reserved``: the inventory hosts' names (:class:`dns.name.Name`) and fixed addresses (text): theirs stand.
    """
    if not settings.leases or lease.state is not LeaseState.BOUND or str(ip_address(lease.address)) in reserved:
        return None
    name = lease_fqdn(lease.hostname, settings.zone)
    if name is None or name in reserved:
        return None
    owner = lease.mac or lease.client_key.hex()
    return Claim(name, owner, dhcid(lease.family, lease.client_key, lease.mac, name))


def host_wants(hosts: Iterable[Host], settings: Settings) -> tuple[dict[dns.name.Name, Want], dict[str, dns.name.Name]]:
    """The inventory's forward names (name → addresses) and PTRs (address → name)."""
    names: dict[dns.name.Name, Want] = {}
    ptrs: dict[str, dns.name.Name] = {}
    for host in hosts:
        name = host_fqdn(host.name, settings.zone)
        if name is None or not (host.ipv4 or host.ipv6):
            continue
        v4 = frozenset((str(ip_address(host.ipv4)),)) if host.ipv4 else frozenset()
        v6 = frozenset((str(ip_address(host.ipv6)),)) if host.ipv6 else frozenset()
        had = names.get(name, Want())
        names[name] = Want(had.v4 | v4, had.v6 | v6)
        for address in (*v4, *v6):
            ptrs[address] = name
    return names, ptrs


# --------------------------------------------------------------------------- the updates


def _dhcid_rdata(value: bytes) -> dns.rdata.Rdata:
    return dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.DHCID, value, 0, len(value))


def _families(want: Want) -> tuple[tuple[str, frozenset[str]], tuple[str, frozenset[str]]]:
    return ("A", want.v4), ("AAAA", want.v6)


def _add(update: dns.update.UpdateMessage, name: dns.name.Name, want: Want, ttl: int) -> None:
    for rdtype, addresses in _families(want):
        for address in sorted(addresses):
            update.add(name, ttl, rdtype, address)


def forward_steps(name: dns.name.Name, want: Want | None, had: Want | None, settings: Settings) -> tuple[Step, ...]:
    """The UPDATEs that bring ``name`` from ``had`` (what bootwright last wrote; None: nothing known) to ``want``.

    ``want`` None: nothing should stay. RFC 2136 §2.5 updates, RFC 4703 §5 prerequisites (module docstring).
    """
    zone, ttl = settings.zone, settings.ttl
    what = f"A/AAAA of {name}"
    if want is None or not (want.v4 or want.v6):
        if had is None:
            return ()
        update = settings.update(zone)
        if had.dhcid is None:  # an inventory host's: exactly the records bootwright wrote
            for rdtype, addresses in _families(had):
                for address in sorted(addresses):
                    update.delete(name, rdtype, address)
            return (Step(update, what),)
        if settings.conflict == _ANY_DHCID:
            update.present(name, dns.rdatatype.DHCID)
        elif settings.conflict != _NO_CONFLICT_CHECK:
            update.present(name, _dhcid_rdata(had.dhcid))
        for rdtype in ("A", "AAAA", "DHCID"):
            update.delete(name, rdtype)
        return (Step(update, what, conflict=frozenset({Rcode.NXRRSET, Rcode.NXDOMAIN})),)
    if want.dhcid is None or (had is not None and had.dhcid is None) or settings.conflict == _NO_CONFLICT_CHECK:
        # An inventory host's name, a name bootwright wrote for one, or no conflict check: replace.
        update = settings.update(zone)
        for rdtype, addresses in _families(want):
            if addresses or want.dhcid is not None:
                update.delete(name, rdtype)
            elif had is not None:
                for address in sorted(dict(_families(had))[rdtype]):
                    update.delete(name, rdtype, address)
        if want.dhcid is not None or (had is not None and had.dhcid is not None):
            update.delete(name, "DHCID")
        if want.dhcid is not None:
            update.add(name, ttl, _dhcid_rdata(want.dhcid))
        _add(update, name, want, ttl)
        return (Step(update, what),)
    # RFC 4703 §5.3.1: add where the name is not in use, with the client's DHCID ...
    first = settings.update(zone)
    first.absent(name)
    first.add(name, ttl, _dhcid_rdata(want.dhcid))
    _add(first, name, want, ttl)
    # ... §5.3.2: else replace the addresses where the DHCID says the name is this client's.
    second = settings.update(zone)
    if settings.conflict == _ANY_DHCID:
        second.present(name, dns.rdatatype.DHCID)
    else:
        second.present(name, _dhcid_rdata(want.dhcid))
    second.delete(name, "A")
    second.delete(name, "AAAA")
    _add(second, name, want, ttl)
    return (
        Step(first, what, then=frozenset({Rcode.YXDOMAIN})),
        Step(second, what, conflict=frozenset({Rcode.NXRRSET})),
    )


def reverse_steps(
    address: str, want: dns.name.Name | None, had: dns.name.Name | None, settings: Settings
) -> tuple[Step, ...]:
    """The UPDATE that makes ``address``'s PTR name ``want``, or removes ``had`` (never another name's PTR)."""
    zone = reverse_zone_for(address, settings)
    if zone is None or (want is None and had is None):
        return ()
    owner = _absolute(ip_address(address).reverse_pointer)
    update = settings.update(zone)
    if want is not None:
        update.delete(owner, "PTR")
        update.add(owner, settings.ttl, "PTR", want.to_text())
    else:
        assert had is not None
        update.delete(owner, "PTR", had.to_text())
    return (Step(update, f"PTR {owner}"),)


def rcode_text(rcode: Rcode | int) -> str:
    """``REFUSED``, ``NOTAUTH``, … (RFC 2136 §2.2, RFC 6895 §2.3)."""
    return dns.rcode.to_text(Rcode(rcode))
