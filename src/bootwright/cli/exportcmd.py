"""``bootwright export FORMAT``: the running config and inventory in another server's format.

The config is loaded and validated as ``check`` does, the inventory as the
``hosts`` commands read it (the config file's hosts plus the state store's);
the text goes to standard output or ``--out``, and what the format could not
express goes to standard error as ``note: KEY.PATH: …`` lines. Exit 0 unless
the config is invalid (2) or the export is underspecified (2: a zone without a
domain, a libvirt network without an address).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from bootwright.cli.common import EXIT_USAGE, ConfigOpt, StateDirOpt, err
from bootwright.cli.hosts import open_inventory
from bootwright.config import Config
from bootwright.inventory.formats import default_domain, export_hosts, zone_nameservers
from bootwright.inventory.zones import ZoneError
from bootwright.migrate.export_dhcpd import export_dhcpd, export_dhcpd6
from bootwright.migrate.export_dnsmasq import export_dnsmasq
from bootwright.migrate.export_kea import export_kea4, export_kea6
from bootwright.migrate.export_libvirt import export_libvirt
from bootwright.migrate.export_radvd import export_radvd
from bootwright.migrate.exported import Exported
from bootwright.model import Host

FORMATS = ("dhcpd", "dhcpd6", "kea4", "kea6", "dnsmasq", "radvd", "libvirt", "zone-forward", "zone-reverse")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=f"One of {', '.join(FORMATS)}.")],
    config: ConfigOpt,
    state_dir: StateDirOpt = None,
    output: Annotated[Path | None, typer.Option("--out", "--output", "-o", help="Write to this file.")] = None,
    server: Annotated[
        list[str] | None,
        typer.Option(
            "--server",
            metavar="ADDRESS",
            help="This server's address in the export ({server}, {http}, the built-in answers); one per family, "
            "repeatable (default: each subnet's server, else server.address4/address6).",
        ),
    ] = None,
    libvirt_arch: Annotated[
        str,
        typer.Option(
            "--libvirt-arch",
            help="libvirt: the firmware family whose boot file the network hands out (bios or efi); "
            "one network per family, as seed 003 does.",
        ),
    ] = "bios",
    subnet: Annotated[int, typer.Option("--subnet", help="libvirt: the index of the subnet4 to export.")] = 0,
    name: Annotated[
        str | None, typer.Option("--name", help="libvirt: the network's name (default bootwright-ARCH).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="Zones: the DNS domain (default: the config's).")
    ] = None,
    network: Annotated[str | None, typer.Option("--network", help="zone-reverse: the network of the zone.")] = None,
    ns: Annotated[
        list[str] | None,
        typer.Option(
            "--ns",
            metavar="NAME[=ADDRESS,…]",
            help="Zones: a name server (repeatable; default: this server, by server.address4/address6).",
        ),
    ] = None,
) -> None:
    """Export the config and inventory as dhcpd/dhcpd6, Kea, dnsmasq, radvd, libvirt or BIND zone files."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="FORMAT")
    if libvirt_arch not in ("bios", "efi"):
        raise typer.BadParameter(f"{libvirt_arch!r} is not bios or efi", param_hint="--libvirt-arch")
    with open_inventory(config, state_dir) as inventory:
        hosts = inventory.hosts()
        site = inventory.config
    servers = list(server or [])
    try:
        arch: Literal["bios", "efi"] = "efi" if libvirt_arch == "efi" else "bios"
        result = _export(fmt, site, hosts, servers, arch, subnet, name, domain, network, ns or [])
    except (ZoneError, ValueError) as exc:
        raise _fail(str(exc)) from None
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if output is None:
        sys.stdout.write(result.text)
        return
    try:
        output.write_text(result.text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output}", markup=False, highlight=False)


def _export(
    fmt: str,
    config: Config,
    hosts: list[Host],
    servers: list[str],
    arch: Literal["bios", "efi"],
    subnet: int,
    name: str | None,
    domain: str | None,
    network: str | None,
    ns: list[str],
) -> Exported:
    if fmt == "dhcpd":
        return export_dhcpd(config, hosts, servers)
    if fmt == "dhcpd6":
        return export_dhcpd6(config, hosts, servers)
    if fmt == "kea4":
        return export_kea4(config, hosts, servers)
    if fmt == "kea6":
        return export_kea6(config, hosts, servers)
    if fmt == "dnsmasq":
        return export_dnsmasq(config, hosts, servers)
    if fmt == "radvd":
        return export_radvd(config, hosts)
    if fmt == "libvirt":
        return export_libvirt(config, hosts, servers, arch, subnet, name)
    # The zones: one home, inventory/zones.py (as `hosts export --format bind-forward|bind-reverse`).
    dom = domain or default_domain(config)
    nameservers = zone_nameservers(config, hosts, dom, ns)
    kind = "bind-forward" if fmt == "zone-forward" else "bind-reverse"
    text = export_hosts(kind, hosts, domain=dom, network=network, serial=int(time.time()), nameservers=nameservers)
    return Exported(fmt, text)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the main command."""
    app.command("export")(export)
