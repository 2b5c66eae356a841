"""``bootwright explain`` and ``entry-script``: what a client is told, without a server."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from bootwright.boot.ipxe import RenderError, render_entry_script, render_script
from bootwright.boot.policy import ARCH_TABLE, BootPolicy
from bootwright.boot.reply import option_text, plan_reply
from bootwright.cli.common import EXIT_USAGE, ConfigOpt, err, load_config_or_exit, out
from bootwright.model import ClientInfo, InvalidMac, normalize_mac


def _parse_arch(values: list[str]) -> tuple[int, ...]:
    codes: list[int] = []
    for value in values:
        for part in value.split(","):
            text = part.strip().lower()
            try:
                if text.startswith("0x"):
                    code = int(text, 16)
                elif ":" in text:
                    code = int(text.replace(":", ""), 16)  # dhcpd style 00:07
                else:
                    code = int(text, 10)
            except ValueError:
                raise typer.BadParameter(
                    f"{part!r} is not an architecture code (decimal like 7, hex like 0x07 or 00:07)",
                    param_hint="--arch",
                ) from None
            if not 0 <= code <= 0xFFFF:
                raise typer.BadParameter(f"{code} is outside 0–65535", param_hint="--arch")
            codes.append(code)
    return tuple(codes)


def _parse_mac(value: str) -> str:
    try:
        return normalize_mac(value)
    except InvalidMac as exc:
        raise typer.BadParameter(str(exc), param_hint="--mac") from None


def explain(
    config: ConfigOpt,
    family: Annotated[int, typer.Option("--family", "-f", help="4 or 6.")],
    mac: Annotated[str, typer.Option("--mac", help="The client's MAC address.")],
    arch: Annotated[
        list[str] | None, typer.Option("--arch", help="Client architecture (option 93/61); repeat or comma-separate.")
    ] = None,
    vendor_class: Annotated[str | None, typer.Option("--vendor-class", help="Option 60 / option 16 text.")] = None,
    user_class: Annotated[
        list[str] | None, typer.Option("--user-class", help="Option 77 / option 15 entry, e.g. iPXE; repeatable.")
    ] = None,
    duid: Annotated[str | None, typer.Option("--duid", help="DHCPv6 client DUID in hex.")] = None,
    subnet: Annotated[
        str | None, typer.Option("--subnet", help="Answer as if the request arrived on this subnet/address.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show exactly what a client would be told, without sending anything."""
    if family not in (4, 6):
        raise typer.BadParameter(f"{family} is not 4 or 6", param_hint="--family")
    client_mac = _parse_mac(mac)
    arches = _parse_arch(arch or [])
    duid_bytes = None
    if duid is not None:
        try:
            duid_bytes = bytes.fromhex(duid.replace(":", "").replace("-", ""))
        except ValueError:
            raise typer.BadParameter(f"{duid!r} is not hex", param_hint="--duid") from None
    cfg = load_config_or_exit(config)
    policy = BootPolicy.from_config(cfg)
    client = ClientInfo(
        family=family,  # type: ignore[arg-type]
        mac=client_mac,
        duid=duid_bytes,
        arches=arches,
        vendor_class=vendor_class,
        user_classes=tuple(user_class or ()),
    )
    plan = plan_reply(policy, client, hint=subnet)
    answer = plan.answer
    host = policy.hosts.find(client)
    script: str | None = None
    if client.is_ipxe and policy.is_own_script_url(answer.bootfile, plan.context):
        try:
            script = render_script(cfg, answer.script, client, plan.context, host)
        except RenderError as exc:
            err.print(f"[red]error:[/red] {config}: {exc}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
    warnings = list(answer.warnings)
    if plan.subnet is None:
        warnings.append(f"no subnet{family} answers this client: a real server would stay silent")
    result: dict[str, Any] = {
        "family": family,
        "mac": client_mac,
        "host": answer.host,
        "rule": answer.rule,
        "subnet": str(plan.subnet) if plan.subnet is not None else None,
        "bootfile": answer.bootfile,
        "next_server": answer.next_server,
        "vendor_class": answer.vendor_class,
        "options": {str(code): option_text(family, code, v) for code, v in plan.options.items()},
        "script": script,
        "warnings": warnings,
    }
    for w in warnings:
        err.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_explain(result, arches)


def _print_explain(result: dict[str, Any], arches: tuple[int, ...]) -> None:
    table = Table(title=f"bootwright explain: IPv{result['family']} client {result['mac']}", show_header=False)
    arch_names = ", ".join(f"{a} ({ARCH_TABLE[a].name if a in ARCH_TABLE else 'unknown'})" for a in arches)
    rows = [
        ("architecture", arch_names or "not sent"),
        ("host", result["host"] or "unknown"),
        ("rule", result["rule"] or "no rule matched"),
        ("subnet", result["subnet"] or "none"),
        ("boot file", result["bootfile"] or "none"),
        ("next server", result["next_server"] or "-"),
        ("vendor class echo", result["vendor_class"] or "-"),
    ]
    for key, value in rows:
        table.add_row(f"[bold]{key}[/bold]", str(value))
    for code, value in result["options"].items():
        table.add_row(f"option {code}", value)
    out.print(table)
    if result["script"]:
        out.print("[bold]iPXE script served to this client:[/bold]")
        out.print(result["script"], markup=False, highlight=False)



def entry_script(config: ConfigOpt, family: Annotated[int, typer.Option("--family", "-f")] = 4) -> None:
    """Print the entry script that the built-in rules point iPXE clients at."""
    from bootwright.boot.reply import server_context

    cfg = load_config_or_exit(config)
    subnets: list[Any] = list(cfg.subnet4 if family == 4 else cfg.subnet6)
    ctx = server_context(cfg, family, subnets[0] if subnets else None)
    sys.stdout.write(render_entry_script(ctx))


def register(app: typer.Typer) -> None:
    """Add ``explain``, ``entry-script`` to the main command."""
    app.command("explain")(explain)
    app.command("entry-script")(entry_script)
