"""The host inventory in the state store: config-file hosts plus hosts added by CLI, API or import.

:class:`Inventory` is what the CLI, the API and the hot reloader share. Every
change is checked against the whole inventory and the configuration
(:func:`~bootwright.boot.validation.host_problems`, the one validation) inside
the same store transaction that writes it, so a refused change writes nothing
and two processes cannot both add the same MAC. A change is refused when a
host it touches does not fit; hosts that stopped fitting after a config edit
(a removed target, …) are *skipped* — reported, left out of the policy and of
no concern to changes of other hosts — so they can be repaired or removed.
Methods block on the store's writer thread; from the event loop call them
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from bootwright.boot.oneshot import OneShot
from bootwright.boot.policy import host_from_entry
from bootwright.boot.validation import InventoryHost, Report, host_problems, validate
from bootwright.config import Config, Problem
from bootwright.inventory.records import (
    HostInputError,
    apply_changes,
    check_change_keys,
    host_from_dict,
    host_to_dict,
    keep_bmc_secret,
    shown_record,
)
from bootwright.inventory.source import ImportedHost
from bootwright.model import Host, HostRow, OneShotRow
from bootwright.store.base import HostStore, HostTransaction, NotFound

log = logging.getLogger("bootwright.inventory")

CONFIG, LOCAL = "config", "local"


class InventoryError(Exception):
    """A refused inventory change: ``status`` is 400 (bad input), 404 (no such host) or 409 (conflict)."""

    def __init__(self, message: str, problems: list[Problem] | None = None, status: int = 400) -> None:
        self.message = message
        self.problems = problems or []
        self.status = status
        super().__init__(self.render())

    def render(self) -> str:
        """The message and every problem, one per line."""
        return "\n".join([self.message, *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True, slots=True)
class HostView:
    """A host as shown by ``hosts show`` and the API: record, origin and one-shot state."""

    host: Host
    source: str
    overrides: dict[str, Any] = field(default_factory=dict)
    oneshot: OneShot | None = None
    # Why the host is not served (it does not fit the configuration); empty: served.
    skipped: tuple[str, ...] = ()
    # The file a local host was imported from ("" when added by hand).
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the record plus ``source``, ``origin`` (imported hosts), ``overrides``, ``boot``, ``skipped``."""
        out = shown_record(host_to_dict(self.host))
        out["source"] = self.source
        if self.origin:
            out["origin"] = self.origin
        if self.overrides:
            out["overrides"] = sorted(self.overrides)
        out["boot"] = self.oneshot.to_dict() if self.oneshot else None
        if self.skipped:
            out["skipped"] = list(self.skipped)
        return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the policy needs from the store, read in one transaction."""

    hosts: list[Host]  # the hosts served: skipped ones left out
    oneshots: list[OneShot]
    generation: int
    report: Report = field(default_factory=Report)  # the validation of the config with this inventory


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or would do, with ``dry_run``), by host name.

    ``removed`` is filled by a sync only (hosts of the same origin the file no
    longer lists); ``adopted`` names hosts added by hand that a sync took over
    (they are also in ``updated`` or ``unchanged``).
    """

    added: list[str]
    updated: list[str]
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        """JSON form (the CLI's ``--json`` and the API's answer)."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "adopted": self.adopted,
        }

    def summary(self, dry_run: bool = False) -> str:
        """``added 2, updated 1, removed 0, unchanged 7`` (``would add …`` for a dry run)."""
        verbs = ("would add", "would update", "would remove") if dry_run else ("added", "updated", "removed")
        counts = zip((*verbs, "unchanged"), (self.added, self.updated, self.removed, self.unchanged), strict=True)
        return ", ".join(f"{verb} {len(names)}" for verb, names in counts)


def _effective(row: HostRow) -> Host:
    record = apply_changes(row.record, row.overrides) if row.source == CONFIG else row.record
    return host_from_dict(record)


def _origin(row: HostRow) -> str:
    if row.source == LOCAL:
        return f"imported from {row.origin}" if row.origin else ""
    if row.overrides:
        return f"config file, changed through CLI/API: {', '.join(sorted(row.overrides))}"
    return "config file"


def inventory_entries(
    rows: Iterable[HostRow], origins: dict[str, str] | None = None, last: Iterable[str] = ()
) -> tuple[list[InventoryHost], dict[str, list[Problem]]]:
    """Stored rows as validation entries (config hosts first, ``last`` at the end), and unreadable rows.

    A row that no longer parses (a record written by an older version) cannot
    be served: it is returned with its problems, by name.
    """
    entries: list[InventoryHost] = []
    broken: dict[str, list[Problem]] = {}
    late = set(last)
    ordered = sorted(rows, key=lambda r: (r.name in late, r.source != CONFIG))
    for row in ordered:
        origin = (origins or {}).get(row.name, _origin(row))
        try:
            entries.append(InventoryHost(_effective(row), origin, row.source == CONFIG))
        except HostInputError as exc:
            where = f"host {row.name!r}" + (f" ({origin})" if origin else "")
            broken[row.name] = [Problem(f"{where} {p.path}".rstrip(), p.message) for p in exc.problems]
    return entries, broken


def synced_rows(config: Config, old: dict[str, HostRow], now: float) -> dict[str, HostRow]:
    """The rows the store holds once ``config``'s hosts are loaded into it (pure).

    Config hosts no longer in the file go; a CLI/API change of a config host
    stays unless the file changed that same key. A local host with the name of
    a config host keeps its row (the config host is then skipped, with a
    warning from the validation, until one of them is removed).
    """
    rows = {n: r for n, r in old.items() if r.source == LOCAL}
    for entry in config.host:
        prev = old.get(entry.name)
        if prev is not None and prev.source == LOCAL:
            continue
        record = host_to_dict(host_from_entry(entry))
        overrides = {}
        if prev is not None:
            overrides = {k: v for k, v in prev.overrides.items() if prev.record.get(k) == record.get(k)}
        same = prev is not None and (prev.record, prev.overrides) == (record, overrides)
        rows[entry.name] = prev if same and prev is not None else HostRow(entry.name, CONFIG, record, overrides, now)
    return rows


def validate_rows(
    config: Config,
    rows: Iterable[HostRow],
    *,
    text: str | None = None,
    root: PurePath | None = None,
    state_dir: PurePath | None = None,
    rendered: dict[Host, tuple[Problem, ...]] | None = None,
) -> tuple[Report, list[Host]]:
    """The one validation (:func:`~bootwright.boot.validation.validate`) of ``config`` with stored rows.

    Returns the report and the hosts to serve (unreadable and skipped rows left out).
    """
    rows = list(rows)
    entries, broken = inventory_entries(rows)
    report = validate(config, entries, text=text, root=root, state_dir=state_dir, rendered=rendered)
    by_name = {e.host.name: e.host for e in entries}
    if broken:
        warnings = [
            Problem(
                f"host {name!r} (state store)",
                f"skipped (not served): the stored record cannot be read: {'; '.join(p.message for p in found)}",
            )
            for name, found in broken.items()
        ]
        report = Report(
            report.errors,
            (*report.warnings, *warnings),
            {**report.skipped, **{n: tuple(found) for n, found in broken.items()}},
        )
    return report, report.usable(by_name[r.name] for r in rows if r.name in by_name)


def _line_of(problem: Problem) -> int:
    """The line of a parser's problem (path ``line N``); 0 when it names none."""
    head, _, number = problem.path.partition(" ")
    return int(number) if head == "line" and number.isdigit() else 0


def _stored(tx: HostTransaction, name: str) -> HostRow:
    """The stored host ``name``; :class:`InventoryError` 404 when there is none."""
    try:
        return tx.host(name)
    except NotFound:
        raise InventoryError(f"no host named {name!r}", status=404) from None


def _save_job(shot: OneShot) -> Callable[[HostTransaction], bool]:
    def job(tx: HostTransaction) -> bool:
        current: OneShotRow | None = next((r for r in tx.oneshots() if r.host == shot.host), None)
        if current is None or current.requested != shot.requested:
            return False
        tx.put_oneshot(shot.to_row())
        return True

    return job


class Inventory:
    """Hosts and one-shot boots in the store, checked against the running configuration."""

    def __init__(self, tables: HostStore, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.tables = tables
        self.config = config
        self.clock = clock
        # Per-host template results for ``config`` (rendering every script per host is the costly part).
        self._rendered: dict[Host, tuple[Problem, ...]] = {}
        self._rendered_for: Config | None = None

    def _render_cache(self, config: Config) -> dict[Host, tuple[Problem, ...]]:
        if self._rendered_for is not config:
            self._rendered, self._rendered_for = {}, config
        return self._rendered

    # ------------------------------------------------------------------ reads

    def snapshot(self) -> Snapshot:
        """Hosts to serve (skipped ones left out), one-shots, the change counter and the report, consistently."""

        def read(tx: HostTransaction) -> tuple[list[HostRow], list[OneShot], int]:
            return list(tx.hosts()), [OneShot.from_row(r) for r in tx.oneshots()], tx.generation()

        rows, shots, generation = self.tables.transact(read)
        report, hosts = validate_rows(self.config, rows, rendered=self._render_cache(self.config))
        return Snapshot(hosts, shots, generation, report)

    def hosts(self) -> list[Host]:
        """Every host as the policy uses it (config hosts with their CLI/API changes, local hosts)."""
        return self.snapshot().hosts

    def views(self) -> list[HostView]:
        """Every host with its origin, one-shot state and, when it does not fit the config, why it is skipped."""

        def read(tx: HostTransaction) -> tuple[list[HostRow], dict[str, OneShot]]:
            return list(tx.hosts()), {r.host: OneShot.from_row(r) for r in tx.oneshots()}

        rows, shots = self.tables.transact(read)
        report, _ = validate_rows(self.config, rows, rendered=self._render_cache(self.config))
        views = []
        for row in rows:
            reasons = tuple(str(p) for p in report.skipped.get(row.name, ()))
            try:
                host = _effective(row)
            except HostInputError:
                host = Host(name=row.name)
            views.append(HostView(host, row.source, row.overrides, shots.get(row.name), reasons, row.origin))
        return views

    def view(self, name: str) -> HostView:
        """One host; :class:`InventoryError` 404 when unknown."""
        for v in self.views():
            if v.host.name == name:
                return v
        raise InventoryError(f"no host named {name!r}", status=404)

    # ------------------------------------------------------------------ writes

    def _change_problems(
        self,
        rows: dict[str, HostRow],
        config: Config,
        changed: Iterable[str],
        origin: dict[str, str] | None = None,
    ) -> dict[str, list[Problem]]:
        """Problems of the hosts in ``changed``, by name (none: the change fits).

        Hosts the change does not touch are not held against it: one that no
        longer fits the configuration is skipped by the policy, not a reason
        to refuse every other change.
        """
        names = set(changed)
        origins = {r.name: _origin(r) for r in rows.values()} | (origin or {})
        entries, broken = inventory_entries(rows.values(), origins, names)
        out = {name: list(broken.get(name, [])) for name in names}
        found = host_problems(config, entries, only=names, rendered=self._render_cache(config))
        for name, problems in found.items():
            if name in names:
                out[name] += problems
        return {name: problems for name, problems in out.items() if problems}

    def _commit(
        self,
        tx: HostTransaction,
        rows: dict[str, HostRow],
        config: Config,
        what: str,
        changed: Iterable[str],
        origin: dict[str, str] | None = None,
    ) -> None:
        """Refuse (raise; the transaction is undone) when a host in ``changed`` does not fit."""
        found = self._change_problems(rows, config, changed, origin)
        if found:
            raise InventoryError(what, [p for name in sorted(found) for p in found[name]])

    def sync_config(self, config: Config) -> bool:
        """Load the config file's hosts into the store for ``config``; True when anything changed.

        Config hosts no longer in the file are removed; CLI/API changes to a
        config host are kept unless the file changed that same key. Stored
        hosts that do not fit ``config`` stay in the store and are skipped
        (see :func:`validate_rows`); nothing here refuses a configuration.
        """
        now = self.clock()

        def job(tx: HostTransaction) -> bool:
            old = {r.name: r for r in tx.hosts()}
            rows = synced_rows(config, old, now)
            changed = False
            for name, row in rows.items():
                if old.get(name) is not row and row.source == CONFIG:
                    tx.put_host(row)
                    changed = True
            for name, row in old.items():
                if row.source == CONFIG and name not in rows:
                    tx.delete_host(name)
                    changed = True
            if changed:
                tx.bump_generation()
            return changed

        changed = self.tables.transact(job)
        self.config = config
        return changed

    def add(self, data: Any) -> HostView:
        """Add a new host from a record (config key names); 409 when the name exists."""
        host = self._parse(data)
        record = host_to_dict(host)
        now = self.clock()

        def job(tx: HostTransaction) -> None:
            rows = {r.name: r for r in tx.hosts()}
            if host.name in rows:
                raise InventoryError(f"host {host.name!r} already exists; change it with 'set'", status=409)
            rows[host.name] = HostRow(host.name, LOCAL, record, {}, now)
            self._commit(tx, rows, self.config, f"host {host.name!r} was not added", [host.name])
            tx.put_host(rows[host.name])
            tx.bump_generation()

        self.tables.transact(job)
        return self.view(host.name)

    def update(self, name: str, changes: Any) -> HostView:
        """Change keys of a host (``None`` removes a key); a config host keeps them as overrides."""
        problems = check_change_keys(changes)
        if problems:
            raise InventoryError(f"host {name!r} was not changed", problems)
        now = self.clock()

        def job(tx: HostTransaction) -> None:
            rows = {r.name: r for r in tx.hosts()}
            row = rows.get(name)
            if row is None:
                raise InventoryError(f"no host named {name!r}", status=404)
            current = apply_changes(row.record, row.overrides) if row.source == CONFIG else row.record
            changed = keep_bmc_secret(current, changes)
            if row.source == CONFIG:
                # None stays in the overrides: it removes the key from the config's record.
                overrides = {**row.overrides, **changed}
                overrides = {k: v for k, v in overrides.items() if row.record.get(k) != v}
                new = HostRow(name, CONFIG, row.record, overrides, now)
            else:
                new = HostRow(name, LOCAL, apply_changes(row.record, changed), {}, now, row.origin)
            rows[name] = new
            self._commit(tx, rows, self.config, f"host {name!r} was not changed", [name])
            tx.put_host(new)
            tx.bump_generation()

        self.tables.transact(job)
        return self.view(name)

    def remove(self, name: str) -> None:
        """Remove a host added through CLI/API; a config host must be removed from the file (409)."""

        def job(tx: HostTransaction) -> None:
            row = _stored(tx, name)
            if row.source == CONFIG:
                raise InventoryError(f"host {name!r} is defined in the config file; remove it there", status=409)
            tx.delete_host(name)
            tx.bump_generation()

        self.tables.transact(job)

    def import_hosts(
        self,
        imported: list[ImportedHost],
        source: str,
        dry_run: bool = False,
        *,
        sync: bool = False,
        origin: str | None = None,
        keys: Iterable[str] | None = None,
        file_problems: Iterable[Problem] = (),
    ) -> ImportReport:
        """Add or update every imported host, all or nothing; every problem reported at once.

        ``origin`` (default ``source``) is stored with the hosts the import
        adds. A plain import updates a host that exists (added through CLI/API
        or by another import) with the keys the file gives; the others are
        kept, so a dhcpd.conf and a dhcpd6.conf import add up. With ``sync``
        the file is the source of truth for the hosts of its origin: the keys
        the format can carry (``keys``; default the keys each host gave) are
        set or removed as the file says, keys it cannot carry (target, vars, a
        BMC, …) stay, hosts of that origin the file no longer lists are
        removed, and hosts added by hand that it lists are adopted. Hosts of
        another origin and config-file hosts are never changed. ``file_problems``
        (``line N``: what the parser could not read) are reported with the
        inventory's, ordered by line, so a file's problems all come in one pass.
        """
        now = self.clock()
        owner = origin if origin is not None else source
        format_keys = tuple(k for k in (keys or ()) if k != "name")

        def at(line: int) -> str:
            return f"{source}: line {line}"

        def job(tx: HostTransaction) -> ImportReport:
            rows = {r.name: r for r in tx.hosts()}
            report = ImportReport([], [], [], [], [])
            problems: list[tuple[int, Problem]] = [
                (_line_of(p), Problem(f"{source}: {p.path}", p.message)) for p in file_problems
            ]
            seen: dict[str, int] = {}
            written: list[str] = []
            for item in imported:
                name = item.host.name
                if name in seen:
                    problems.append((item.line, Problem(at(item.line), f"host {name!r} is also at line {seen[name]}")))
                    continue
                seen[name] = item.line
                record = host_to_dict(item.host)
                prev = rows.get(name)
                if prev is not None and prev.source == CONFIG:
                    problems.append(
                        (
                            item.line,
                            Problem(at(item.line), f"host {name!r} is defined in the config file; edit it there"),
                        )
                    )
                    continue
                if prev is None:
                    report.added.append(name)
                    rows[name] = HostRow(name, LOCAL, record, {}, now, owner)
                    written.append(name)
                    continue
                keep = prev.origin
                if sync and prev.origin not in ("", owner):
                    message = (
                        f"host {name!r} was imported from {prev.origin}; a sync changes only its own hosts"
                        f" (import without --sync, or remove the host first: bootwright hosts remove {name})"
                    )
                    problems.append((item.line, Problem(at(item.line), message)))
                    continue
                if sync:
                    if not prev.origin:
                        report.adopted.append(name)
                    keep = owner
                    changes = {k: record.get(k) for k in (format_keys or item.keys) if k != "name"}
                else:
                    changes = {k: record.get(k) for k in item.keys if k != "name"}
                new_record = apply_changes(prev.record, changes)
                if new_record == prev.record and keep == prev.origin:
                    report.unchanged.append(name)
                    continue
                (report.updated if new_record != prev.record else report.unchanged).append(name)
                rows[name] = HostRow(name, LOCAL, new_record, {}, now, keep)
                written.append(name)
            if sync:
                for name, row in sorted(rows.items()):
                    if row.source == LOCAL and row.origin == owner and name not in seen:
                        report.removed.append(name)
                for name in report.removed:
                    del rows[name]
            where = {name: f"{source} line {line}" for name, line in seen.items()}
            found = self._change_problems(rows, self.config, report.added + report.updated, where)
            problems += [(seen[name], p) for name, ps in found.items() for p in ps]
            if problems:
                problems.sort(key=lambda item: item[0])
                raise InventoryError(f"nothing was imported from {source}", [p for _, p in problems])
            if not dry_run:
                for name in written:
                    tx.put_host(rows[name])
                for name in report.removed:
                    tx.delete_host(name)
                if written or report.removed:
                    tx.bump_generation()
            return report

        return self.tables.transact(job)

    # ------------------------------------------------------------------ one-shot boots

    def request_oneshot(self, name: str, target: str) -> OneShot:
        """Serve ``target`` to host ``name`` once (state ``pending``); replaces an earlier one-shot."""
        if target not in self.config.script_names():
            known = ", ".join(sorted(self.config.script_names())) or "none defined"
            raise InventoryError(f"no target or menu named {target!r} ({known})")
        now = self.clock()
        shot = OneShot(host=name, target=target, state="pending", requested=now, updated=now)

        def job(tx: HostTransaction) -> None:
            _stored(tx, name)
            tx.put_oneshot(shot.to_row())
            tx.bump_generation()

        self.tables.transact(job)
        return shot

    def cancel_oneshot(self, name: str) -> bool:
        """Forget the one-shot boot of a host; True when there was one."""

        def job(tx: HostTransaction) -> bool:
            if not any(r.host == name for r in tx.oneshots()):
                return False
            tx.delete_oneshot(name)
            tx.bump_generation()
            return True

        return self.tables.transact(job)

    def save_oneshot(self, shot: OneShot) -> bool:
        """Store a state change made by the tracker, unless the one-shot was replaced meanwhile."""

        return self.tables.transact(_save_job(shot))

    async def asave_oneshot(self, shot: OneShot) -> bool:
        """:meth:`save_oneshot` awaited from the event loop."""
        return await self.tables.atransact(_save_job(shot))

    # ------------------------------------------------------------------ helpers

    def _parse(self, data: Any) -> Host:
        try:
            return host_from_dict(data)
        except HostInputError as exc:
            raise InventoryError("the host record is not valid", exc.problems) from None
