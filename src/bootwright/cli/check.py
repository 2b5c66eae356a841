"""``bootwright check``: validate a configuration with the stored inventory and print a summary.

It runs the one validation (:func:`bootwright.boot.validation.validate`) that
``serve`` runs at start and the hot reloader on every reload, so "check
passes" means "serve starts and a reload is accepted". It also loads the
files the config names as the services will at start (the TLS certificate and
key, :mod:`bootwright.web.tls`), and says where each boot program of the
built-in architecture table comes from — the root, the system's iPXE package,
or nowhere (:mod:`bootwright.boot.programs`, the rule TFTP and HTTP follow) —
and which boot files of rules and hosts nothing serves (:func:`bootwright.boot.lints.missing_boot_files`,
names resolved through ``[tftp] remap`` and ``[http] aliases`` as the services resolve them).
``serve`` and the ``hosts`` commands load their config through
:func:`load_validated_or_exit`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bootwright.boot import lints as boot_lints
from bootwright.boot import nfs as boot_nfs
from bootwright.boot import programs as boot_programs
from bootwright.boot.lints import Located
from bootwright.boot.validation import Report, validate
from bootwright.cli.common import EXIT_USAGE, ConfigOpt, err, out
from bootwright.config import Config, ConfigError, LoadedConfig, Problem, read_config, with_lines
from bootwright.engine.tftp.paths import PathRefused, RemapSyntaxError, apply_remap, resolve_request_path
from bootwright.net.tftp.remap import load_rules, remap_problems
from bootwright.runtime.core import resolve_paths
from bootwright.web.paths import Aliases, BadPath, clean_path  # os and urllib only
from bootwright.web.tls import tls_problems  # ssl only: check still loads no aiohttp


def _read_or_exit(path: Path) -> LoadedConfig:
    try:
        return read_config(path)
    except ConfigError as exc:
        _print(exc.problems, exc.source, "error")
        raise typer.Exit(EXIT_USAGE) from None


def _print(problems: tuple[Problem, ...] | list[Problem], source: str, kind: str) -> None:
    colour = "red" if kind == "error" else "yellow"
    for p in problems:
        err.print(f"[{colour}]{kind}:[/{colour}] {escape(p.located(source))}", highlight=False, soft_wrap=True)


def load_validated_or_exit(path: Path, root: Path | None = None, state_dir: Path | None = None) -> Config:
    """The config validated as ``check`` does (paths as ``serve`` resolves them), or every error and exit 2."""
    loaded = _read_or_exit(path)
    root_dir, state = resolve_paths(loaded.config, root, state_dir)
    report = validate(loaded.config, text=loaded.text, root=root_dir, state_dir=state)
    if report.errors:
        _print(report.errors, loaded.source, "error")
        raise typer.Exit(EXIT_USAGE)
    return loaded.config


def _with_inventory(loaded: LoadedConfig, state: Path, explicit: bool, root: Path) -> Report:
    """Validate with the inventory of ``state/state.db`` as ``serve`` would load it; never creates a store."""
    from bootwright.inventory.service import synced_rows, validate_rows
    from bootwright.store.base import StoreError
    from bootwright.store.sqlite import SqliteStore  # lazy: sqlite only when a store is there to read

    path = state / "state.db"
    if not path.exists():
        if explicit:
            err.print(f"note: no state store at {path}: checked without an inventory", highlight=False)
        return validate(loaded.config, text=loaded.text, root=root, state_dir=state)
    store = SqliteStore(path)
    try:
        store.open()
        rows = store.host_store().transact(lambda tx: {r.name: r for r in tx.hosts()})
    except StoreError as exc:
        report = validate(loaded.config, text=loaded.text, root=root, state_dir=state)
        problem = Problem("", f"{exc}; checked without the inventory (give --state-dir, or run as the "
                              "server's user)")
        if explicit:
            return Report((*report.errors, problem), report.warnings, report.skipped)
        return Report(report.errors, (*report.warnings, problem), report.skipped)
    finally:
        store.close()
    synced = synced_rows(loaded.config, rows, time.time()).values()
    report, _ = validate_rows(loaded.config, synced, text=loaded.text, root=root, state_dir=state)
    return report


def check(
    config: ConfigOpt,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="State directory whose inventory is checked too (default: as serve).")
    ] = None,
    root: Annotated[Path | None, typer.Option("--root", help="File root, as given to serve.")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat warnings (chain-load loops, unused rules, …) as errors.")
    ] = False,
) -> None:
    """Validate a config file, its templates and the stored host inventory; print a summary."""
    loaded = _read_or_exit(config)
    cfg = loaded.config
    root_dir, state = resolve_paths(cfg, root, state_dir)
    report = _with_inventory(loaded, state, state_dir is not None, root_dir)
    # The files the config names, as serve will load them: the TLS certificate and key (web/tls.py),
    # the TFTP remap table with its remap_file (net/tftp/remap.py), the [ddns] TSIG secret (inventory/ddns.py).
    errors = [*report.errors, *with_lines([*tls_problems(cfg), *remap_problems(cfg), *_ddns_key(cfg)], loaded.text)]
    missing, programs = _boot_programs(cfg, root_dir)
    absent, nfs_rows = _nfs_exports(cfg, root_dir)
    unserved, file_rows = _boot_files(cfg, root_dir)
    warnings = (*report.warnings, *with_lines([*missing, *absent, *unserved], loaded.text))
    if strict:
        errors, warnings = [*errors, *warnings], ()
    _print(errors, loaded.source, "error")
    _print(warnings, loaded.source, "warning")
    if errors:
        raise typer.Exit(EXIT_USAGE)
    out.print(f"[green]ok[/green]: {config}", highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    for key, value in [*_summary(cfg), *nfs_rows, *programs, *file_rows]:
        table.add_row(f"[bold]{key}[/bold]", value)
    out.print(table)


def _ddns_key(cfg: Config) -> list[Problem]:
    """Why the enabled ``[ddns]`` TSIG secret cannot be read, as serve reads it (``inventory/ddns.read_secret``)."""
    if not cfg.ddns.enabled:
        return []
    from bootwright.inventory.ddns import secret_problems  # lazy: dnspython only for a config with [ddns]

    return secret_problems(cfg, lambda path: path.read_text(encoding="utf-8"), os.environ)


def _boot_programs(cfg: Config, root: Path) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Warnings for architectures that cannot boot, and summary rows: each boot program and where it comes from.

    The roots are resolved as the TFTP and HTTP services resolve them (``[tftp] root``, ``[http] root``,
    else ``--root``/``root``); a file there wins over the iPXE package (``boot/programs.py``).
    """
    if not cfg.boot.builtin:
        return [], []
    roots: dict[boot_programs.Transport, str] = {
        "tftp": str((cfg.tftp.root or root).resolve()),
        "http": str((cfg.http.root or root).resolve()),
    }
    directory = boot_programs.ipxe_dir(cfg)
    found = boot_programs.programs(cfg, roots, os.path.isfile)
    configured = {name.lstrip("/"): code for code, name in cfg.boot.files.items()}
    problems = [
        Problem(f"boot.files.{configured[p.file]}" if p.file in configured else "boot.ipxe_dir",
                boot_programs.warning(p, directory, roots))
        for p in found
        if p.worth_a_warning
    ]  # fmt: skip
    if directory is None:
        package = "off (boot.ipxe_dir)"
    elif os.path.isdir(directory):
        package = directory
    else:
        package = f"{directory} [yellow](not there)[/yellow]"
    rows = [("iPXE package", package)]
    wheres = [p.source or "MISSING" for p in found]
    file_width = max((len(p.file) for p in found), default=0)
    where_width = max((len(w) for w in wheres), default=0)
    for i, (program, where) in enumerate(zip(found, wheres, strict=True)):
        shown = escape(where.ljust(where_width))
        if program.missing:
            shown = f"[yellow]{shown}[/yellow]"
        names = escape(boot_programs.arch_names(program.arches))
        rows.append(("boot programs" if i == 0 else "", f"{escape(program.file.ljust(file_width))}  {shown}  {names}"))
    return problems, rows


def _boot_files(cfg: Config, root: Path) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Warnings for boot files of rules and hosts that nothing serves (``boot/lints.py``), and a row for roots
    that are not there (then that transport's files are not checked).

    Names are resolved as the services resolve them: TFTP applies ``[tftp] remap`` and ``remap_file``, then the
    root's path rules (``engine/tftp/paths.py``); HTTP cleans the URL path and applies ``[http] aliases``
    (``web/paths.py``).
    """
    roots: dict[boot_programs.Transport, Path] = {
        "tftp": (cfg.tftp.root or root).resolve(),
        "http": (cfg.http.root or root).resolve(),
    }
    present = {transport: str(path) for transport, path in roots.items() if path.is_dir()}
    try:
        remap = load_rules(cfg.tftp)
    except RemapSyntaxError:  # reported as errors already; the names are checked as they are written
        remap = ()
    aliases = Aliases.build(present["http"], cfg.http.aliases) if "http" in present else None

    asked: set[boot_programs.Transport] = set()

    def locate(transport: boot_programs.Transport, name: str) -> Located | None:
        asked.add(transport)
        where = present.get(transport)
        if where is None:
            return None
        try:
            if transport == "tftp":
                return Located(where, resolve_request_path(where, apply_remap(remap, name)))
            assert aliases is not None
            directory, path, outside = aliases.locate(clean_path(name))
            return Located(directory, path, outside)
        except (PathRefused, BadPath):  # the service refuses the name: no file can answer it
            return None

    problems = list(boot_lints.missing_boot_files(cfg, locate, os.path.isfile))
    absent = sorted({str(roots[transport]) for transport in asked if transport not in present})
    rows = [("boot files", f"not checked: {', '.join(absent)} [yellow](not a directory)[/yellow]")] if absent else []
    return problems, rows


def _nfs_exports(cfg: Config, root: Path) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Warnings for exports whose directory is missing, and a row per export and per target's NFS root."""
    if not cfg.nfs.enabled and not any(True for _ in boot_nfs.target_roots(cfg)):
        return [], []
    problems: list[Problem] = []
    rows: list[tuple[str, str]] = []
    if cfg.nfs.enabled:
        for export in boot_nfs.exports(cfg, root):
            mode = "ro" if export.read_only else "rw"
            state = "" if os.path.isdir(export.directory) else "  [yellow](not a directory)[/yellow]"
            if state:
                problems.append(Problem(f"{export.key}.path", f"{export.directory} is not a directory: serve leaves "
                                        "it out until it exists (then reload)"))
            rows.append((export.key, f"{escape(str(export.directory))} ({mode}, {escape(', '.join(export.clients))})"
                         f"{state}"))
    for _name, where, nfs_root in boot_nfs.target_roots(cfg):
        text, warning = boot_nfs.describe(cfg, root, nfs_root)
        rows.append((where, escape(text) if warning is None else f"[yellow]{escape(text)}[/yellow]"))
    return problems, rows


def _summary(cfg: Config) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    services = []
    if cfg.dhcp4.enabled and cfg.subnet4:
        services.append(f"DHCPv4 :{cfg.dhcp4.port}")
        if any(s.mode == "proxy" for s in cfg.subnet4):
            services.append(f"proxyDHCP boot server :{cfg.dhcp4.proxy_port}")
    if cfg.dhcp6.enabled and cfg.subnet6:
        services.append("DHCPv6 :547")
    if any(s.ra is not None and s.ra.enabled for s in cfg.subnet6):
        services.append("RA")
    if cfg.tftp.enabled:
        services.append(f"TFTP :{cfg.tftp.port}")
    if cfg.http.enabled:
        services.append(f"HTTP :{cfg.http.port}")
    if cfg.http.enabled and cfg.http.tls_cert is not None:
        services.append(f"HTTPS :{cfg.http.tls_port}")
    if cfg.syslog.enabled:
        services.append(f"syslog :{cfg.syslog.port}")
    if cfg.hook:
        services.append(f"hooks ({len(cfg.hook)})")
    if cfg.nfs.enabled:
        from bootwright.net.nfs import choose_backend  # lazy: only a config with [nfs] needs the host's answer

        server = {"kernel": "kernel nfsd", "ganesha": "NFS-Ganesha"}[choose_backend(cfg.nfs.backend)]
        services.append(f"NFS :{boot_nfs.NFS_PORT} ({server}, backend {cfg.nfs.backend})")
    rows.append(("services", ", ".join(services) or "none"))
    rows.append(("interfaces", ", ".join(cfg.server.interfaces) or "every interface with a subnet"))
    for i, s4 in enumerate(cfg.subnet4):
        size = sum(int(p.end) - int(p.start) + 1 for p in s4.pools)
        pools = ", ".join(f"{p.start}-{p.end}" + (" (bootp)" if p.dynamic_bootp else "") for p in s4.pools)
        if s4.mode == "proxy":
            rows.append((f"subnet4[{i}]", f"{s4.subnet}  proxy: boot answers only, addresses from another server"))
            continue
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
