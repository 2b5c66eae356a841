"""``bootwright leases``: the DHCPv4 and DHCPv6 leases of the state store, with the inventory's names.

It reads the state store directly (``state.db`` in the state directory, the
one ``serve`` uses with the same ``--config``/``--state-dir``), so it runs
with or without a server; a server commits a lease before its ACK or Reply
leaves, so what this prints is what the clients were told. Rules:

- which inventory host a lease belongs to is decided as the engines decide it
  (:meth:`~bootwright.boot.policy.HostIndex.find`: DUID first, then MAC), over
  the stored hosts with the config file's hosts loaded as ``serve`` would load
  them (computed, never written: this command changes nothing);
- a bound (or offered) lease whose time has run out is shown as ``expired``:
  the server stores it so at its next sweep (DHCPv4 every second, DHCPv6 every
  minute) or its next start.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from bootwright.boot.policy import HostIndex
from bootwright.cli.common import CONFIG_ENV, StateConfigOpt, StateDirOpt, err, load_config_or_exit, require_store
from bootwright.cli.hosts import _table
from bootwright.config import Config
from bootwright.engine.dhcp4.reply import INFINITE
from bootwright.engine.dhcp6.leases import split_ia_key
from bootwright.inventory.service import inventory_entries, synced_rows
from bootwright.model import ClientInfo, HostRow, Lease, LeaseState
from bootwright.runtime.core import resolve_paths
from bootwright.store.base import StoreError
from bootwright.store.sqlite import SqliteStore

FAMILIES = (4, 6)
NEVER = INFINITE / 2  # seconds left beyond which a lease is an infinite one (BOOTP, RFC 1534 §4)
HEADERS = ["address", "mac", "hostname", "host", "state", "expires"]


@dataclass(frozen=True, slots=True)
class Shown:
    """One lease as printed: the stored record, its state at ``now`` and the inventory host it belongs to."""

    lease: Lease
    state: LeaseState
    host: str | None


def state_at(lease: Lease, now: float) -> LeaseState:
    """The lease's state at ``now``: a held address (bound, offered) whose time ran out is expired."""
    if lease.state in (LeaseState.BOUND, LeaseState.OFFERED) and lease.expires <= now:
        return LeaseState.EXPIRED
    return lease.state


def span(seconds: float) -> str:
    """A duration for people, two units at most: ``42s``, ``5m``, ``3h12m``, ``2d4h``."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m}m"
    d, h = divmod(h, 24)
    return f"{d}d{h}h"


def local_time(at: float) -> datetime.datetime | None:
    """``at`` (seconds since the epoch) in the local time zone; None when out of the calendar's range."""
    try:
        return datetime.datetime.fromtimestamp(at).astimezone()
    except (OverflowError, OSError, ValueError):
        return None


def expiry_text(expires: float, now: float) -> str:
    """``2025-03-01 14:03:12 (in 3h12m)``, ``… (expired 5m ago)``, or ``never (infinite lease)``."""
    left = expires - now
    if left >= NEVER:
        return "never (infinite lease)"
    when = local_time(expires)
    shown = when.strftime("%Y-%m-%d %H:%M:%S") if when is not None else f"{expires:.0f}"
    return f"{shown} (in {span(left)})" if left > 0 else f"{shown} (expired {span(-left)} ago)"


def to_dict(item: Shown, now: float) -> dict[str, Any]:
    """JSON form: the API's lease fields (``expires`` in epoch seconds) plus the local ISO time and the host."""
    lease = item.lease
    duid, iaid = split_ia_key(lease.client_key) if lease.family == 6 else (None, None)
    when = local_time(lease.expires)
    return {
        "family": lease.family,
        "address": lease.address,
        "mac": lease.mac,
        "client": lease.client_key.hex(":"),
        "duid": duid.hex(":") if duid is not None else None,
        "iaid": iaid,
        "hostname": lease.hostname,
        "host": item.host,
        "state": str(item.state),
        "stored_state": str(lease.state),
        "expires": lease.expires,
        "expires_iso": when.isoformat(timespec="seconds") if when is not None else None,
        "infinite": lease.expires - now >= NEVER,
    }


def host_index(rows: list[HostRow], config: Config | None, now: float) -> HostIndex:
    """The inventory's hosts by MAC and DUID: the stored rows, with the config file's hosts loaded as ``serve`` does."""
    synced = synced_rows(config, {r.name: r for r in rows}, now).values() if config is not None else rows
    entries, _ = inventory_entries(synced)
    return HostIndex.build([e.host for e in entries])


def owner(index: HostIndex, lease: Lease) -> str | None:
    """The inventory host holding ``lease`` (v6 by the DUID of its IA, then by MAC), or None."""
    duid = split_ia_key(lease.client_key)[0] if lease.family == 6 else None
    host = index.find(ClientInfo(family=lease.family, mac=lease.mac, duid=duid))
    return host.name if host is not None else None


def _missing(path: Path, config: Path | None, state_dir: Path | None) -> str:
    if state_dir is not None:
        return (f"no state store at {path}: give the state directory the server runs with (--state-dir DIR, "
                "its serve --state-dir or state_dir), or its --config FILE")
    if config is not None:
        return (f"no state store at {path} (the state_dir of {config}): has a server run with this config? "
                "Give --state-dir DIR for another state directory")
    return (f"no state store at {path} (the default state directory): give the server's --config FILE "
            f"(or set {CONFIG_ENV}) or --state-dir DIR")


def load(config: Path | None, state_dir: Path | None, families: tuple[int, ...], now: float) -> list[Shown]:
    """Every lease of ``families`` in the state store of these flags, with its host; exits with a message when none."""
    cfg = load_config_or_exit(config) if config is not None else None
    path = resolve_paths(cfg or Config(), None, state_dir)[1] / "state.db"
    require_store(path, _missing(path, config, state_dir))
    store = SqliteStore(path)
    try:
        store.open()
        leases = [lease for family in families for lease in store.load_leases(family).leases]
        rows = store.host_store().transact(lambda tx: list(tx.hosts()))
    except StoreError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    index = host_index(rows, cfg, now)
    leases.sort(key=lambda lease: (lease.family, int(ip_address(lease.address))))
    return [Shown(lease, state_at(lease, now), owner(index, lease)) for lease in leases]


def leases(
    config: StateConfigOpt = None,
    state_dir: StateDirOpt = None,
    family: Annotated[
        int | None, typer.Option("--family", help="Only DHCPv4 (4) or DHCPv6 (6) leases (default: both).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also offered, released, expired and declined leases.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, times in ISO 8601 and epoch seconds.")]
    = False,
) -> None:
    """List the DHCPv4 and DHCPv6 leases: address, MAC, client host name, inventory host, state, expiry."""
    if family is not None and family not in FAMILIES:
        raise typer.BadParameter(f"{family} is not 4 or 6", param_hint="--family")
    now = time.time()
    found = load(config, state_dir, (family,) if family is not None else FAMILIES, now)
    shown = [s for s in found if show_all or s.state is LeaseState.BOUND]
    if as_json:
        print(json.dumps([to_dict(s, now) for s in shown], indent=2))
        return
    if shown:
        _table(HEADERS, [[s.lease.address, s.lease.mac or "-", s.lease.hostname or "-", s.host or "-", str(s.state),
                          expiry_text(s.lease.expires, now)] for s in shown])
    bound = sum(s.state is LeaseState.BOUND for s in found)
    hidden = len(found) - len(shown)
    more = f"; {hidden} offered, released, expired or declined (--all shows them)" if hidden else ""
    kind = "" if show_all else "bound "
    print(f"{len(shown)} {kind}lease{'s' if len(shown) != 1 else ''}"
          + (f" ({bound} bound)" if show_all else "") + more)


def register(app: typer.Typer) -> None:
    """Add ``leases`` to the main command."""
    app.command("leases")(leases)
