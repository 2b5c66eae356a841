"""Import and export formats by name, for the CLI and the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from bootwright.config import Config
from bootwright.inventory.csvfmt import export_csv, parse_csv
from bootwright.inventory.dnsmasq import export_dnsmasq, parse_dnsmasq
from bootwright.inventory.isc import export_isc, export_isc6, parse_isc
from bootwright.inventory.source import ImportedHost
from bootwright.inventory.zones import (
    SoaFields,
    ZoneError,
    export_bind_forward,
    export_bind_reverse,
    export_etc_hosts,
    reverse_networks,
)
from bootwright.model import Host

IMPORT_FORMATS: dict[str, Callable[[str], list[ImportedHost]]] = {
    "isc": parse_isc,
    "csv": parse_csv,
    "dnsmasq": parse_dnsmasq,
}
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
        if stripped.startswith("host ") or stripped.startswith("host\t"):
            return "isc"
        if stripped.startswith("dhcp-host"):
            return "dnsmasq"
        return "csv"
    return "csv"


def parse_hosts(fmt: str, text: str) -> list[ImportedHost]:
    """Parse ``text`` in format ``fmt`` (see :data:`IMPORT_FORMATS`)."""
    try:
        parser = IMPORT_FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown import format {fmt!r} (known: {', '.join(IMPORT_FORMATS)})") from None
    return parser(text)


def default_domain(config: Config) -> str | None:
    """The DNS domain of the site: the first subnet4's domain_name, else the global one."""
    for sub in config.subnet4:
        if sub.domain_name:
            return sub.domain_name
    return config.dhcp4.domain_name


def export_hosts(
    fmt: str,
    hosts: list[Host],
    *,
    domain: str | None = None,
    network: str | None = None,
    serial: int = 1,
) -> str:
    """The hosts as text in export format ``fmt``; raise :class:`ZoneError`/``ValueError`` when underspecified."""
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
        return export_bind_forward(hosts, domain or "", soa)
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
        return export_bind_reverse(hosts, network, domain or "", soa)
    raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
