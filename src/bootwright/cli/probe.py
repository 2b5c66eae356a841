"""``bootwright probe dhcp IFACE``: which DHCP servers answer on a link, and what each offers.

It broadcasts a DHCPDISCOVER on the interface (as a BIOS PXE client unless
``--no-pxe``; through the link layer twice and once through the IP stack for
servers on this host, one xid) and lists every OFFER heard within
``--timeout`` seconds: server identifier, source address and MAC, the address
offered, option 60 (``PXEClient``?), next server, boot file, option 43,
router, DNS (the sockets: :mod:`bootwright.net.probe`). With ``--config`` the
answers are judged against the config's ``[[subnet4]]`` on that interface
(:func:`bootwright.boot.foreign.judge`): another address server beside a full
subnet, a ``PXEClient`` server beside a proxy subnet. docs/probe.md.

Exit codes: 0 whether or not a server answered; 2 for a usage error (no
such interface, no root / ``CAP_NET_RAW``, interface down, a bad flag); 1 when
the probe failed otherwise.
"""

from __future__ import annotations

import asyncio
import json
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from bootwright.boot.foreign import DEFAULT_TIMEOUT, ForeignServer, judge, subnets_on
from bootwright.cli.common import CONFIG_ENV, EXIT_USAGE, err, load_config_or_exit
from bootwright.cli.hosts import _say, _table
from bootwright.model import InvalidMac, normalize_mac

if TYPE_CHECKING:
    from bootwright.config import Subnet4

probe_app = typer.Typer(
    help="Look at a link from outside: which DHCP servers answer there (docs/probe.md).",
    no_args_is_help=True,
)

HEADERS = ["server", "from", "offers", "option 60", "next server", "boot file", "43", "router", "dns"]


def _mac(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        text = normalize_mac(value)
    except InvalidMac as exc:
        raise typer.BadParameter(str(exc), param_hint="--mac") from None
    raw = bytes.fromhex(text.replace(":", ""))
    if raw[0] & 1:
        raise typer.BadParameter(f"{value!r} is a multicast address; a client MAC is unicast", param_hint="--mac")
    return raw


def _addr(value: IPv4Address | None) -> str | None:
    return None if value is None or value == IPv4Address(0) else str(value)


def to_dict(s: ForeignServer) -> dict[str, Any]:
    """The JSON form of one server (docs/probe.md: the keys are a contract)."""
    return {
        "server_id": _addr(s.server_id),
        "source": str(s.source),
        "mac": s.mac,
        "local": s.local,
        "relay": _addr(s.relay),
        "offered": _addr(s.offered),
        "proxy": s.proxy,
        "vendor_class": s.vendor_class,
        "pxe_client": s.pxe_client,
        "next_server": _addr(s.siaddr),
        "boot_file": s.boot_file,
        "tftp_server": s.tftp_server,
        "option43": s.vendor_options,
        "subnet_mask": _addr(s.subnet_mask),
        "routers": [str(a) for a in s.routers],
        "dns": [str(a) for a in s.dns],
        "lease_time": s.lease_time,
    }


def _row(s: ForeignServer) -> list[str]:
    source = f"{s.source} {s.mac}" + (" (this host)" if s.local else "")
    if s.relay is not None:
        source += f" via relay {s.relay}"
    offers = "no address (proxy)" if s.offered == IPv4Address(0) else str(s.offered)
    return [
        _addr(s.server_id) or "-",
        source,
        offers,
        s.vendor_class or "-",
        _addr(s.siaddr) or "-",
        s.boot_file or "-",
        "yes" if s.vendor_options else "-",
        ", ".join(map(str, s.routers)) or "-",
        ", ".join(map(str, s.dns)) or "-",
    ]


def _subnets(config: Path, interface: str) -> list[Subnet4]:
    """The config's subnet4 on ``interface``: named by ``interface =`` or holding one of its IPv4 addresses."""
    from bootwright.net.host import discover_interfaces  # lazy: pyroute2 only when --config asks for addresses

    cfg = load_config_or_exit(config)
    infos = discover_interfaces([interface])
    addresses = [a.ip for info in infos for a in info.addresses]
    return subnets_on(cfg, interface, addresses)


def _run(interface: str, timeout: float, mac: bytes | None, pxe: bool) -> list[ForeignServer]:
    """Run the probe; a :class:`ProbeError` is one line on stderr and exit 2 (usage) or 1."""
    from bootwright.net.probe import ProbeError, probe_dhcp4  # lazy: sockets and pyroute2 only for this command

    try:
        return asyncio.run(probe_dhcp4(interface, timeout, mac, pxe))
    except ProbeError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE if exc.usage else 1) from None


@probe_app.command("dhcp")
def dhcp(
    interface: Annotated[str, typer.Argument(help="The interface to probe: a DHCPDISCOVER is broadcast on it.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=60.0, help="Seconds to listen for OFFERs.")
    ] = DEFAULT_TIMEOUT,
    mac: Annotated[
        str | None,
        typer.Option("--mac", help="Client MAC of the DISCOVER (default: a random locally administered one)."),
    ] = None,
    pxe: Annotated[
        bool,
        typer.Option(
            "--pxe/--no-pxe",
            help="Ask as a BIOS PXE client (option 60 PXEClient, 93, 94, 97), so PXE-only and proxyDHCP servers "
            "answer and PXE options show (default); --no-pxe asks as a plain client.",
        ),
    ] = True,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar=CONFIG_ENV,
            help="Also judge the answers against this config's subnet4 on INTERFACE (full vs proxy mode).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: the probe, the servers, the warnings.")
    ] = False,
) -> None:
    """List every DHCP server that answers a DISCOVER on INTERFACE: address offered, option 60, boot file, …"""
    chaddr = _mac(mac)
    subnets = _subnets(config, interface) if config is not None else None
    servers = _run(interface, timeout, chaddr, pxe)
    warnings = judge(servers, subnets, interface, timeout) if subnets is not None else []
    if as_json:
        print(
            json.dumps(
                {
                    "interface": interface,
                    "timeout": timeout,
                    "pxe": pxe,
                    "servers": [to_dict(s) for s in servers],
                    "subnets": None if subnets is None else [str(s.subnet) for s in subnets],
                    "warnings": warnings,
                },
                indent=2,
            )
        )
        return
    if not servers:
        _say(f"no DHCP server answered on {interface} in {timeout:g} s")
    else:
        _table(HEADERS, [_row(s) for s in servers])
        count = f"{len(servers)} DHCP server{'s' if len(servers) != 1 else ''}"
        _say(f"{count} answered on {interface} in {timeout:g} s")
    if subnets is not None and not subnets:
        _say(f"the config serves no subnet4 on {interface}: nothing to judge")
    for line in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``probe`` to the main command."""
    app.add_typer(probe_app, name="probe")
