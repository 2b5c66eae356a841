"""``bootwright hosts list|show|add|set|remove|import|export``.

These work on the state store directly (``state.db`` in the state directory),
so they run with or without a server; a running ``bootwright serve`` with the
same state directory picks the change up within a second. Every change is
checked against the configuration given with ``--config`` (or
``$BOOTWRIGHT_CONFIG``), which should be the one the server runs.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bootwright.boot.timeline import attempts
from bootwright.cli.check import load_validated_or_exit
from bootwright.cli.common import ConfigOpt as ConfigOpt  # re-exported: boot.py and power.py take it from here
from bootwright.cli.common import StateDirOpt
from bootwright.inventory.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    IMPORT_KEYS,
    default_domain,
    export_hosts,
    guess_format,
    read_hosts,
    zone_nameservers,
)
from bootwright.inventory.records import BMC_SECRETS, bmc_to_dict
from bootwright.inventory.service import HostView, Inventory, InventoryError
from bootwright.inventory.zones import ZoneError
from bootwright.runtime.core import resolve_paths
from bootwright.store.base import StoreError
from bootwright.store.sqlite import SqliteStore
from bootwright.wire.dhcp4_options import option_code

EXIT_USAGE = 2
out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

hosts_app = typer.Typer(
    name="hosts",
    help="The host inventory: list, show, add, set, remove, import and export hosts.",
    no_args_is_help=True,
)

StateOpt = StateDirOpt  # the names boot.py and power.py import
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NameArg = Annotated[str, typer.Argument(help="Host name.")]


def _say(text: str) -> None:
    """One line for people: never wrapped, never read as markup."""
    out.print(text, soft_wrap=True, markup=False, highlight=False)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    for line in message.splitlines():
        text = escape(line) if line.startswith("  ") else f"[red]error:[/red] {escape(line)}"
        err.print(text, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def open_state(config_path: Path, state_dir: Path | None) -> Iterator[tuple[Inventory, SqliteStore]]:
    """The inventory of the state directory (the config file's hosts loaded into it) and its store."""
    config = load_validated_or_exit(config_path, None, state_dir)
    _, state = resolve_paths(config, None, state_dir)
    store = SqliteStore(state / "state.db")
    try:
        store.open()
    except StoreError as exc:
        raise _fail(str(exc), 1) from None
    try:
        inventory = Inventory(store.host_store(), config)
        # Hosts that no longer fit the config are skipped (hosts list shows why), never a reason to refuse.
        inventory.sync_config(config)
        yield inventory, store
    finally:
        store.close()


@contextlib.contextmanager
def open_inventory(config_path: Path, state_dir: Path | None) -> Iterator[Inventory]:
    """The inventory of the state directory, with the config file's hosts loaded into it."""
    with open_state(config_path, state_dir) as (inventory, _):
        yield inventory


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except InventoryError as exc:
        raise _fail(exc.render()) from None


def parse_options(items: list[str] | None) -> dict[str, str]:
    """``--option CODE=VALUE`` (or ``NAME=VALUE``, e.g. ``domain-name-servers=192.0.2.53``) as options by code."""
    options: dict[str, str] = {}
    for item in items or []:
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"{item!r} is not CODE=VALUE", param_hint="--option")
        try:
            code = option_code(key)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--option") from None
        options[str(code)] = text.strip()
    return options


def _record_options(
    mac: list[str] | None, ipv4: str | None, ipv6: str | None, duid: str | None, group: list[str] | None,
    target: str | None, next_server: str | None, bootfile: str | None, var: list[str] | None,
    option: list[str] | None = None, menu_default: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in (("mac", mac), ("groups", group)):
        if value:
            record[key] = value
    texts = {"ipv4": ipv4, "ipv6": ipv6, "duid": duid, "target": target, "next_server": next_server,
             "bootfile": bootfile, "menu_default": menu_default}
    record.update({key: text for key, text in texts.items() if text is not None})
    if var:
        pairs = {}
        for item in var:
            name, eq, text = item.partition("=")
            if not eq or not name:
                raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--var")
            pairs[name] = text
        record["vars"] = pairs
    if option:
        record["options"] = parse_options(option)
    return record


MacOpt = Annotated[list[str] | None, typer.Option("--mac", help="MAC address; repeat for several NICs.")]
Ipv4Opt = Annotated[str | None, typer.Option("--ipv4", help="Fixed IPv4 address.")]
Ipv6Opt = Annotated[str | None, typer.Option("--ipv6", help="Fixed IPv6 address.")]
DuidOpt = Annotated[str | None, typer.Option("--duid", help="DHCPv6 client DUID in hex.")]
GroupOpt = Annotated[list[str] | None, typer.Option("--group", help="Group/label; repeatable.")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Boot target or menu of this host.")]
NextOpt = Annotated[str | None, typer.Option("--next-server", help="Per-host DHCPv4 next-server.")]
FileOpt = Annotated[str | None, typer.Option("--bootfile", help="Per-host boot file.")]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="Template variable KEY=VALUE; repeatable.")]
OptionOpt = Annotated[list[str] | None, typer.Option(
    "--option", help="DHCPv4 option of this host, CODE=VALUE or NAME=VALUE as in [dhcp4] options (e.g. "
                     "6=192.0.2.53); repeatable; set adds to the host's options, CODE= removes one.")]
MenuDefaultOpt = Annotated[str | None, typer.Option(
    "--menu-default", help="The item of this host's iPXE menu preselected for it (a target name of the menu).")]
BmcOpt = Annotated[str | None, typer.Option(
    "--bmc", help="The host's BMC as KEY=VALUE,…: driver=ipmi|redfish, address, port, username, password-file, "
                  "password-env, system (Redfish), cipher-suite (IPMI), verify-tls (Redfish); set merges into the "
                  "current BMC (docs/power.md).")]
BmcPasswordOpt = Annotated[bool, typer.Option(
    "--bmc-password-stdin", help="Read the BMC password from standard input (stored, never shown).")]
_BMC_INTS = ("port", "cipher_suite")
_BMC_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_bmc(text: str) -> dict[str, Any]:
    """``driver=ipmi,address=10.0.0.5,…`` as a ``bmc`` record (keys may use - or _)."""
    record: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip()
        if not eq or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--bmc")
        if key == "password":
            raise typer.BadParameter("give the password with --bmc-password-stdin, password-file= or password-env= "
                                     "(a password on the command line is visible to every user of this machine)",
                                     param_hint="--bmc")
        if key in _BMC_INTS:
            if not (value.isascii() and value.isdigit()):
                raise typer.BadParameter(f"{key} must be a number (got {value!r})", param_hint="--bmc")
            record[key] = int(value)
        elif key == "verify_tls":
            if value.lower() not in _BMC_BOOLS:
                raise typer.BadParameter(f"verify-tls must be true or false (got {value!r})", param_hint="--bmc")
            record[key] = _BMC_BOOLS[value.lower()]
        elif key == "password_file":
            record[key] = str(Path(value).expanduser().resolve())  # the CLI's paths mean the working directory
        else:
            record[key] = value
    return record


def _bmc_changes(inventory: Inventory | None, name: str, bmc: str | None, password_stdin: bool) -> dict[str, Any]:
    """The ``bmc`` change of ``hosts add/set``: the given keys merged into the host's current BMC."""
    if bmc is None and not password_stdin:
        return {}
    current: dict[str, Any] = {}
    if inventory is not None:
        host = _call(inventory.view, name).host
        current = bmc_to_dict(host.bmc) if host.bmc else {}
    new = parse_bmc(bmc or "")
    if "driver" in new and new["driver"] != current.get("driver"):
        current = {}  # another kind of BMC: nothing of the old one carries over
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        new["password"] = lines[0] if lines else ""
    if any(k in new for k in BMC_SECRETS):
        current = {k: v for k, v in current.items() if k not in BMC_SECRETS}
    return {"bmc": {**current, **new}}


@hosts_app.command("list")
def list_hosts(
    config: ConfigOpt, state_dir: StateOpt = None, as_json: JsonOpt = False,
    group: Annotated[str | None, typer.Option("--group", help="Only members of this group.")] = None,
) -> None:
    """List every host: config-file hosts and hosts added by CLI, API or import."""
    with open_inventory(config, state_dir) as inventory:
        views = [v for v in inventory.views() if group is None or group in v.host.groups]
    if as_json:
        print(json.dumps([v.to_dict() for v in views], indent=2, default=str))
        return
    rows = []
    for v in views:
        h = v.host
        boot = f"{v.oneshot.target}: {v.oneshot.state}" if v.oneshot else ""
        source = f"{v.source}, skipped" if v.skipped else v.source
        rows.append([h.name, " ".join(h.macs), h.ipv4 or "", h.ipv6 or "", ",".join(h.groups), h.target or "",
                     source, boot])
    _table(["name", "mac", "ipv4", "ipv6", "groups", "target", "source", "boot"], rows)
    skipped = [v for v in views if v.skipped]
    for v in skipped:
        _say(f"skipped {v.host.name} (not served, does not fit {config}): {'; '.join(v.skipped)}")
    note = f", {len(skipped)} skipped" if skipped else ""
    _say(f"{len(views)} host{'s' if len(views) != 1 else ''}{note}")


def _table(headers: list[str], rows: list[list[str]]) -> None:
    """A table on a terminal; plain aligned columns, never cut, when piped."""
    if out.is_terminal:
        table = Table(box=None, pad_edge=False)
        for column in headers:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # values, never markup (a client's host name, …)
        out.print(table)
        return
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _last_boot(inventory: Inventory, view: HostView) -> dict[str, Any] | None:
    host = view.host
    rows = inventory.tables.read_events(host.macs, host.name, 0, 500)
    found = attempts(e for _, e in rows)
    return found[-1].to_dict(time.time()) if found else None


@hosts_app.command("show")
def show(name: NameArg, config: ConfigOpt, state_dir: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Show one host, its one-shot boot state and how its last boot went."""
    with open_inventory(config, state_dir) as inventory:
        view = _call(inventory.view, name)
        last = _last_boot(inventory, view)
    data = view.to_dict()
    if as_json:
        print(json.dumps({**data, "last_boot": last}, indent=2, default=str))
        return
    rows = []
    for key, value in data.items():
        if key == "boot":
            continue
        shown = ", ".join(value) if isinstance(value, list) else (
            ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value))
        rows.append([key, shown])
    shot = view.oneshot
    if shot is not None:
        reason = f" ({shot.reason})" if shot.reason else ""
        rows.append(["one-shot boot", f"{shot.target} once: {shot.state}{reason}"])
    if last is not None:
        rows.append(["last boot", f"{last['status']}: {last['stop']}"])
    width = max(len(r[0]) for r in rows)
    for key, shown in rows:
        out.print(f"[bold]{key.ljust(width)}[/bold]  {escape(shown)}", soft_wrap=True, highlight=False)


@hosts_app.command("add")
def add(
    name: NameArg, config: ConfigOpt, state_dir: StateOpt = None, mac: MacOpt = None, ipv4: Ipv4Opt = None,
    ipv6: Ipv6Opt = None, duid: DuidOpt = None, group: GroupOpt = None, target: TargetOpt = None,
    next_server: NextOpt = None, bootfile: FileOpt = None, var: VarOpt = None, bmc: BmcOpt = None,
    bmc_password_stdin: BmcPasswordOpt = False, option: OptionOpt = None, menu_default: MenuDefaultOpt = None,
) -> None:
    """Add a host (checked against the config and every other host)."""
    record = {"name": name,
              **_record_options(mac, ipv4, ipv6, duid, group, target, next_server, bootfile, var, option,
                                menu_default),
              **_bmc_changes(None, name, bmc, bmc_password_stdin)}
    if "options" in record:
        record["options"] = {code: text for code, text in record["options"].items() if text}
    with open_inventory(config, state_dir) as inventory:
        view = _call(inventory.add, record)
    _say(f"added host {view.host.name}")


@hosts_app.command("set")
def set_host(
    name: NameArg, config: ConfigOpt, state_dir: StateOpt = None, mac: MacOpt = None, ipv4: Ipv4Opt = None,
    ipv6: Ipv6Opt = None, duid: DuidOpt = None, group: GroupOpt = None, target: TargetOpt = None,
    next_server: NextOpt = None, bootfile: FileOpt = None, var: VarOpt = None, bmc: BmcOpt = None,
    bmc_password_stdin: BmcPasswordOpt = False, option: OptionOpt = None, menu_default: MenuDefaultOpt = None,
    unset: Annotated[list[str] | None, typer.Option("--unset", help="Remove a key (e.g. target); repeatable.")] = None,
) -> None:
    """Change keys of a host; --mac and --group replace the lists, --var and --option add to theirs."""
    changes: dict[str, Any] = _record_options(mac, ipv4, ipv6, duid, group, target, next_server, bootfile, var,
                                              option, menu_default)
    for key in unset or []:
        changes[key] = None
    if not changes and bmc is None and not bmc_password_stdin:
        raise typer.BadParameter("nothing to change: give an option such as --target, --bmc or --unset")
    with open_inventory(config, state_dir) as inventory:
        changes.update(_bmc_changes(inventory, name, bmc, bmc_password_stdin))
        if "vars" in changes:
            current = dict(_call(inventory.view, name).host.variables)
            changes["vars"] = {**current, **changes["vars"]}
        if "options" in changes:  # CODE= removes that option; the others are kept
            now = {str(code): text for code, text in _call(inventory.view, name).host.options}
            merged = {code: text for code, text in {**now, **changes["options"]}.items() if text}
            changes["options"] = merged or None
        _call(inventory.update, name, changes)
    _say(f"changed host {name}")


@hosts_app.command("remove")
def remove(name: NameArg, config: ConfigOpt, state_dir: StateOpt = None) -> None:
    """Remove a host added by CLI, API or import (config-file hosts are removed from the file)."""
    with open_inventory(config, state_dir) as inventory:
        _call(inventory.remove, name)
    _say(f"removed host {name}")


@hosts_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="File to import ('-' for standard input).")],
    config: ConfigOpt, state_dir: StateOpt = None,
    fmt: Annotated[str | None, typer.Option("--format", help=f"One of {', '.join(IMPORT_FORMATS)} (guessed).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and say what would change; change "
                                                            "nothing.")] = False,
    sync: Annotated[bool, typer.Option("--sync", help="The file is the source of truth for the hosts imported from "
                                                      "it: add, update and remove them to match (other hosts are "
                                                      "never touched).")] = False,
    origin: Annotated[str | None, typer.Option("--origin", help="The name the hosts' origin is kept under (default: "
                                                                "the file's absolute path; needed for --sync from "
                                                                "standard input).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import hosts from ISC dhcpd host/group blocks, CSV (name,mac,ipv4[,ipv6,options,menu_default]) or dnsmasq."""
    stdin = str(file) == "-"
    name = "<stdin>" if stdin else str(file)
    if sync and stdin and origin is None:
        raise typer.BadParameter("--sync from standard input needs --origin NAME (the hosts it owns)",
                                 param_hint="--origin")
    try:
        text = sys.stdin.read() if stdin else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{name}: cannot read: {exc}") from None
    fmt = fmt or guess_format(name, text)
    if fmt not in IMPORT_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(IMPORT_FORMATS)}", param_hint="--format")
    owner = origin if origin is not None else (name if stdin else str(file.resolve()))
    parsed = read_hosts(fmt, text)
    with open_inventory(config, state_dir) as inventory:
        try:
            report = inventory.import_hosts(parsed.hosts, name, dry_run, sync=sync, origin=owner,
                                            keys=parsed.keys or IMPORT_KEYS[fmt], file_problems=parsed.problems)
        except InventoryError as exc:
            if as_json:
                print(json.dumps({"error": exc.message, "problems": [str(p) for p in exc.problems]}, indent=2))
                raise typer.Exit(EXIT_USAGE) from None
            raise _fail(f"{exc.message} ({fmt} format); nothing was changed\n"
                        + "\n".join(f"  {p}" for p in exc.problems)) from None
    if as_json:
        print(json.dumps({**report.to_dict(), "dry_run": dry_run, "sync": sync, "format": fmt, "origin": owner},
                         indent=2))
        return
    note = " (dry run: nothing was changed)" if dry_run else ""
    adopted = f"; adopted {', '.join(report.adopted)} (added by hand before)" if report.adopted else ""
    _say(f"{name}: {report.summary(dry_run)} ({fmt} format{', sync' if sync else ''}){adopted}{note}")


@hosts_app.command("export")
def export(
    config: ConfigOpt, state_dir: StateOpt = None,
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(EXPORT_FORMATS)}.")] = "isc",
    domain: Annotated[str | None, typer.Option("--domain", help="DNS domain (default: the config's).")] = None,
    network: Annotated[str | None, typer.Option("--network", help="Network of a bind-reverse zone.")] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")] = None,
    ns: Annotated[list[str] | None, typer.Option(
        "--ns", metavar="NAME[=ADDRESS,…]",
        help="Name server of BIND zones (repeatable; default: this server, by server.address4/address6).")] = None,
) -> None:
    """Export hosts as dhcpd host blocks, dnsmasq dhcp-host lines, CSV, BIND zones or /etc/hosts."""
    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(EXPORT_FORMATS)}", param_hint="--format")
    with open_inventory(config, state_dir) as inventory:
        hosts = inventory.hosts()
        dom = domain or default_domain(inventory.config)
        site = inventory.config
    try:
        servers = zone_nameservers(site, hosts, dom, ns or [])
        text = export_hosts(fmt, hosts, domain=dom, network=network, serial=int(time.time()), nameservers=servers)
    except (ZoneError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except FileNotFoundError:  # like a shell redirection: the directory is not created for you
        raise _fail(f"cannot write {output}: the directory {output.parent} does not exist") from None
    except IsADirectoryError:
        raise _fail(f"cannot write {output}: it is a directory (give a file name)") from None
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}", 1) from None
    err.print(f"wrote {output}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``hosts`` to the main command."""
    app.add_typer(hosts_app, name="hosts")

