"""The ``bootwright`` command line.

Every user error (bad config, bad flag, malformed MAC) ends with a message
naming what and where and exit code 2; nothing prints a traceback unless
``BOOTWRIGHT_DEBUG=1`` is set.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bootwright import __version__
from bootwright.boot.ipxe import RenderError, check_templates, render_entry_script, render_script
from bootwright.boot.policy import ARCH_TABLE, BootPolicy, hosts_from_config
from bootwright.boot.reply import option_text, plan_reply
from bootwright.cli import events as events_commands
from bootwright.cli import hosts as hosts_commands
from bootwright.cli.common import EXIT_USAGE, err, load_config_or_exit, out
from bootwright.config import Config
from bootwright.model import ClientInfo, InvalidMac, normalize_mac

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from bootwright.runtime.logbuffer import LineBufferHandler

app = typer.Typer(
    name="bootwright",
    help="Network-boot machines: DHCPv4, DHCPv6, router advertisements, TFTP, HTTP and iPXE, in one process.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

def _version(value: bool) -> None:
    if value:
        print(f"bootwright {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """bootwright answers every step of a network boot."""


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")]


@app.command()
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


@app.command()
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


@app.command()
def serve(
    config: ConfigOpt,
    root: Annotated[
        Path | None, typer.Option("--root", help="Directory served over TFTP and HTTP (overrides the config).")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Directory for leases and events (overrides the config).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    log_json: Annotated[bool, typer.Option("--log-json", help="One JSON object per log line.")] = False,
) -> None:
    """Run every configured service (DHCP, RA, TFTP, HTTP) in one process until stopped."""
    import asyncio
    import logging

    from bootwright.app import run_services
    from bootwright.runtime import Runtime, ServiceError, resolve_paths
    from bootwright.runtime.events import EventSink
    from bootwright.runtime.logbuffer import LineBufferHandler
    from bootwright.store.sqlite import SqliteStore, StoreError

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter(f"{log_level!r} is not one of debug, info, warning, error", param_hint="--log-level")
    cfg = load_config_or_exit(config)
    # Every protocol step is a log line: skip what the format never shows (logging docs,
    # "Optimization": caller lookup, thread and process names).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # Lines are written in batches, one write per event-loop turn (logbuffer.py).
    log_handler = LineBufferHandler(sys.stderr)
    logging.basicConfig(level=level, handlers=[log_handler])
    root_dir, state = resolve_paths(cfg, root, state_dir)
    if not root_dir.is_dir():
        err.print(f"[red]error:[/red] the file root {root_dir} is not a directory (set --root or 'root' in {config})")
        raise typer.Exit(EXIT_USAGE)
    store = SqliteStore(state / "state.db")
    try:
        store.open()
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    fmt = "json" if log_json or cfg.server.log_format == "json" else "text"
    runtime = Runtime(
        config=cfg,
        config_path=config.resolve(),
        root=root_dir,
        state_dir=state,
        store=store,
        events=EventSink(store, fmt, line_writer=log_handler.event_line),
        policy=BootPolicy.from_config(cfg),
    )
    # The config, policy and codec tables live for the whole run: keep them out of the
    # cyclic GC's generations so collections during packet bursts stay short.
    import gc

    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_serve_with_log(run_services(runtime), log_handler))
    except* (ServiceError, StoreError, OSError) as group:
        for failure in group.exceptions:
            err.print(f"[red]error:[/red] {failure}", highlight=False)
        raise typer.Exit(1) from None


async def _serve_with_log(main: Coroutine[Any, Any, None], handler: LineBufferHandler) -> None:
    """Run ``main`` with ``handler`` batching log lines on this loop; everything written at the end."""
    import asyncio

    handler.attach(asyncio.get_running_loop())
    try:
        await main
    finally:
        handler.detach()


@app.command("entry-script")
def entry_script(config: ConfigOpt, family: Annotated[int, typer.Option("--family", "-f")] = 4) -> None:
    """Print the entry script that the built-in rules point iPXE clients at."""
    from bootwright.boot.reply import server_context

    cfg = load_config_or_exit(config)
    subnets: list[Any] = list(cfg.subnet4 if family == 4 else cfg.subnet6)
    ctx = server_context(cfg, family, subnets[0] if subnets else None)
    sys.stdout.write(render_entry_script(ctx))


@app.command()
def lab(
    firmware: Annotated[
        str, typer.Option("--firmware", help="bios, efi (UEFI PXE), efihttp (UEFI HTTP) or all.")
    ] = "all",
    family: Annotated[str, typer.Option("--family", help="4, 6 or all.")] = "all",
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config to serve (default: examples/quickstart.toml).")
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep namespace and servers up until Ctrl-C, and the logs.")
    ] = False,
    reference: Annotated[bool, typer.Option("--reference", help="Serve with dnsmasq + a plain HTTP server.")] = False,
    prepare_only: Annotated[bool, typer.Option("--prepare-only", help="Only download and cache the payload.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Payload cache (/var/cache/bootwright-lab).")] = None,
    accel: Annotated[str, typer.Option("--accel", help="auto (KVM if it works), kvm or tcg.")] = "auto",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds each VM may take.")] = 240.0,
    parallel: Annotated[int, typer.Option("--parallel", help="VMs booting at once (0: one per CPU).")] = 0,
    serve_log_level: Annotated[str, typer.Option("--serve-log-level", help="bootwright serve --log-level.")] = "info",
) -> None:
    """Boot real firmware in QEMU against bootwright, in an isolated network namespace."""
    from bootwright.lab.command import main as lab_main
    from bootwright.lab.command import options_from_flags

    options = options_from_flags(firmware, family, config, keep, reference, cache, accel, timeout, parallel)
    options.serve_log_level = serve_log_level
    raise typer.Exit(lab_main(options, prepare_only=prepare_only))


# Commands kept in their own modules: ``hosts``, ``boot`` (cli/hosts.py), ``events`` (cli/events.py).
hosts_commands.register(app)
events_commands.register(app)


def main() -> None:
    """Console-script entry point: runs the app, turning crashes into one clear line."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("BOOTWRIGHT_DEBUG"):
            raise
        err.print(f"[red]bootwright: internal error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        err.print("Run again with BOOTWRIGHT_DEBUG=1 for the traceback, and please report it.")
        sys.exit(1)


if __name__ == "__main__":
    main()
