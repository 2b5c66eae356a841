"""Import and export formats by name, for the CLI and the API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address
from pathlib import PurePath

from bootwright.config import Config
from bootwright.inventory.csvfmt import CSV_KEYS, export_csv, read_csv
from bootwright.inventory.dnsmasq import DNSMASQ_KEYS, export_dnsmasq, read_dnsmasq
from bootwright.inventory.isc import ISC_KEYS, export_isc, export_isc6, read_isc
from bootwright.inventory.source import ImportedHost, ParsedFile
from bootwright.inventory.zones import (
    NameServer,
    SoaFields,
    ZoneError,
    dns_host_name,
    export_bind_forward,
    export_bind_reverse,
    export_etc_hosts,
    parse_nameserver,
    reverse_networks,
)
from bootwright.model import Host

IMPORT_FORMATS: dict[str, Callable[[str], ParsedFile]] = {
    "isc": read_isc,
    "csv": read_csv,
    "dnsmasq": read_dnsmasq,
}
# The host keys each import format can carry: what ``hosts import --sync`` sets (or removes) as the file says.
IMPORT_KEYS: dict[str, tuple[str, ...]] = {"isc": ISC_KEYS, "csv": CSV_KEYS, "dnsmasq": DNSMASQ_KEYS}
EXPORT_FORMATS = ("isc", "isc6", "dnsmasq", "csv", "bind-forward", "bind-reverse", "hosts")


def guess_format(filename: str | None, text: str) -> str:
    """The import format of a file: by extension, else by its first meaningful line."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".conf", ".inc") and "dhcp-host" not in text:
        return "isc"
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        if stripped.startswith(("host ", "host\t", "group ", "group\t", "group{", "option ")):
            return "isc"
        if stripped.startswith(("dhcp-host", "dhcp-option")):
            return "dnsmasq"
        return "csv"
    return "csv"


def read_hosts(fmt: str, text: str) -> ParsedFile:
    """Read ``text`` in format ``fmt`` (see :data:`IMPORT_FORMATS`): the hosts and every problem, in one pass."""
    try:
        parser = IMPORT_FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown import format {fmt!r} (known: {', '.join(IMPORT_FORMATS)})") from None
    return parser(text)


def parse_hosts(fmt: str, text: str) -> list[ImportedHost]:
    """Parse ``text`` in format ``fmt``; :class:`ImportFormatError` with every problem of the file."""
    return read_hosts(fmt, text).hosts_or_raise()


def default_domain(config: Config) -> str | None:
    """The DNS domain of the site: the first subnet4's domain_name, else the global one."""
    for sub in config.subnet4:
        if sub.domain_name:
            return sub.domain_name
    return config.dhcp4.domain_name


def zone_nameservers(config: Config, hosts: list[Host], domain: str | None, given: Sequence[str]) -> list[NameServer]:
    """The name servers of exported zones: ``given`` (``--ns``, ``?ns=``), else bootwright's own server.

    bootwright's server is named by the inventory host holding one of its
    addresses (``server.address4``/``address6``, else the subnets' ``server``),
    else ``ns.<domain>`` with those addresses as its A/AAAA records.
    Raises :class:`ZoneError` for a malformed ``given`` entry.
    """
    if given:
        return [parse_nameserver(text, domain) for text in given]
    own: list[IPv4Address | IPv6Address] = [a for a in (config.server.address4, config.server.address6) if a]
    if not own:  # the first subnet of each family that names our address on it
        first4 = next((s.server for s in config.subnet4 if s.server), None)
        first6 = next((s.server for s in config.subnet6 if s.server), None)
        own = [a for a in (first4, first6) if a is not None]
    texts, zone = {str(a) for a in own}, (domain or "").rstrip(".")
    for host in hosts:
        if (host.ipv4 in texts or host.ipv6 in texts) and dns_host_name(host.name):
            named = host.name if host.name.endswith("." + zone) else f"{host.name}.{zone}"  # as the zone names it
            return [NameServer(named, tuple(own))]
    return [NameServer(f"ns.{zone}", tuple(own))]


def export_hosts(
    fmt: str,
    hosts: list[Host],
    *,
    domain: str | None = None,
    network: str | None = None,
    serial: int = 1,
    nameservers: Sequence[NameServer] = (),
) -> str:
    """The hosts as text in export format ``fmt``; raise :class:`ZoneError`/``ValueError`` when underspecified.

    ``nameservers`` name the zones' NS records (:func:`zone_nameservers`; default ``ns.<domain>``).
    """
    soa = SoaFields(serial=serial)
    if fmt == "isc":
        return export_isc(hosts)
    if fmt == "isc6":
        return export_isc6(hosts)
    if fmt == "dnsmasq":
        return export_dnsmasq(hosts)
    if fmt == "csv":
        return export_csv(hosts)
    if fmt == "hosts":
        return export_etc_hosts(hosts, domain)
    if fmt == "bind-forward":
        return export_bind_forward(hosts, domain or "", soa, nameservers)
    if fmt == "bind-reverse":
        if network is None:
            nets = reverse_networks(hosts, 4) + reverse_networks(hosts, 6)
            if len(nets) != 1:
                listed = ", ".join(nets) or "none: no host has an address"
                raise ZoneError(
                    "a reverse zone covers one network: give it (`hosts export --network`, API `?network=`;"
                    f" candidates: {listed})"
                )
            network = nets[0]
        return export_bind_reverse(hosts, network, domain or "", soa, nameservers)
    raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
