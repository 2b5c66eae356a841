"""``bootwright check``: validate a configuration and print a summary."""

from __future__ import annotations

import typer
from rich.table import Table

from bootwright.boot.ipxe import check_templates
from bootwright.boot.policy import hosts_from_config
from bootwright.cli.common import EXIT_USAGE, ConfigOpt, err, load_config_or_exit, out
from bootwright.config import Config


def check(config: ConfigOpt) -> None:
    """Validate a config file (and its templates) and print a summary."""
    cfg = load_config_or_exit(config)
    hosts = hosts_from_config(cfg)
    problems = check_templates(cfg, hosts)
    if problems:
        for p in problems:
            err.print(f"[red]error:[/red] {config}: {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    out.print(f"[green]ok[/green]: {config}", highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    for key, value in _summary(cfg):
        table.add_row(f"[bold]{key}[/bold]", value)
    out.print(table)


def _summary(cfg: Config) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    services = []
    if cfg.dhcp4.enabled and cfg.subnet4:
        services.append(f"DHCPv4 :{cfg.dhcp4.port}")
    if cfg.dhcp6.enabled and cfg.subnet6:
        services.append("DHCPv6 :547")
    if any(s.ra is not None and s.ra.enabled for s in cfg.subnet6):
        services.append("RA")
    if cfg.tftp.enabled:
        services.append(f"TFTP :{cfg.tftp.port}")
    if cfg.http.enabled:
        services.append(f"HTTP :{cfg.http.port}")
    rows.append(("services", ", ".join(services) or "none"))
    rows.append(("interfaces", ", ".join(cfg.server.interfaces) or "every interface with a subnet"))
    for i, s4 in enumerate(cfg.subnet4):
        size = sum(int(p.end) - int(p.start) + 1 for p in s4.pools)
        pools = ", ".join(f"{p.start}-{p.end}" + (" (bootp)" if p.dynamic_bootp else "") for p in s4.pools)
        rows.append((f"subnet4[{i}]", f"{s4.subnet}  pools: {pools or 'none'} ({size} addresses)"))
    for i, s6 in enumerate(cfg.subnet6):
        mode = "stateful" if s6.pools else "stateless"
        pools = ", ".join(f"{p.start}-{p.end}" for p in s6.pools)
        ra = ""
        if s6.ra is not None and s6.ra.enabled:
            flags = "".join(f for f, on in (("M", s6.ra.managed), ("O", s6.ra.other)) if on) or "-"
            ra = f"  RA flags {flags}"
        rows.append((f"subnet6[{i}]", f"{s6.prefix}  {mode}{(' pools: ' + pools) if pools else ''}{ra}"))
    rows.append(("rules", ", ".join(r.name for r in cfg.rule) or "none"))
    rows.append(("built-in arch table", "on" if cfg.boot.builtin else "off"))
    rows.append(("menus", ", ".join(cfg.menus) or "none"))
    rows.append(("targets", ", ".join(f"{n} ({t.kind()})" for n, t in cfg.targets.items()) or "none"))
    rows.append(("hosts", str(len(cfg.host))))
    return rows


def register(app: typer.Typer) -> None:
    """Add ``check`` to the main command."""
    app.command("check")(check)
