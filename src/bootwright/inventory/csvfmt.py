"""CSV hosts: ``name,mac,ipv4[,ipv6[,options[,menu_default]]]``.

Seed 003's "table listing hostname, mac address and ip address".

A header row (``name,mac,…``) is optional; blank lines and lines starting
with ``#`` are skipped. Several MACs for one host go in one cell separated by
``;`` or ``space``. Empty cells mean "not set". The ``options`` cell holds the
host's DHCPv4 options as ``CODE=VALUE`` separated by ``;`` (``6=192.0.2.53;
3=192.0.2.1``, values in the ``[dhcp4] options`` syntax); the export writes
that column only when a host has options. ``menu_default`` names the item of the
host's iPXE menu preselected for it (written when a host has one). A header
row may name more columns, in any order: ``duid`` (hex), ``groups`` (``;``
separated), ``target``, ``next_server``, ``bootfile``; a file with a header
carries exactly its columns (a ``--sync`` sets those keys and keeps the
others). Every bad row is reported at once.
"""

from __future__ import annotations

import csv
import io

from bootwright.config import Problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ParsedFile
from bootwright.model import Host

COLUMNS = ("name", "mac", "ipv4", "ipv6", "options", "menu_default")
# Columns a file may add by naming them in its header row (any order): what `bootwright import`
# writes for hosts that dhcpd/dhcpd6/Kea gave a DUID, a boot file or a next server.
NAMED_COLUMNS = ("duid", "groups", "target", "next_server", "bootfile")
# Keys a CSV file can carry: a sync sets these as the file says and keeps the others. A file whose
# header names columns carries exactly those (ParsedFile.keys).
CSV_KEYS = ("mac", "ipv4", "ipv6", "options", "menu_default")


def parse_csv(text: str) -> list[ImportedHost]:
    """Hosts from CSV rows; raise :class:`ImportFormatError` with the line of every bad row."""
    return read_csv(text).hosts_or_raise()


def read_csv(text: str) -> ParsedFile:
    """Hosts from CSV rows and the problem of every bad row (``line N``)."""
    out: list[ImportedHost] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text))
    first = True
    columns: tuple[str, ...] = COLUMNS
    named = False
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first and "name" in (c.lower() for c in cells):  # a header row: it names the columns
                first = False
                columns, bad = _header(cells)
                problems += [Problem(f"line {line}", b) for b in bad]
                named = not bad
                continue
            first = False
            if not 2 <= len(cells) <= len(columns):
                shape = ", ".join(columns) if named else f"{', '.join(COLUMNS[:3])}[, ipv6[, options[, menu_default]]]"
                expected = f"expected {shape}; found {len(cells)} columns"
                problems.append(Problem(f"line {line}", expected))
                continue
            record: dict[str, object] = {}
            for key, value in zip(columns, cells, strict=False):
                if not value:
                    continue
                if key == "options":
                    options, bad = _options(value)
                    problems += [Problem(f"line {line}", b) for b in bad]
                    record[key] = options
                elif key in ("mac", "groups"):
                    record[key] = value.replace(";", " ").split()
                else:
                    record[key] = value
            try:
                out.append(ImportedHost(host_from_dict(record), line, set(record)))
            except HostInputError as exc:
                problems += [Problem(f"line {line}", str(p)) for p in exc.problems]
    except csv.Error as exc:
        problems.append(Problem(f"line {reader.line_num}", f"CSV syntax: {exc}"))
    keys = tuple(c for c in columns if c != "name") if named else None
    return ParsedFile(out, problems, keys)


def _header(cells: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The columns a header row names, and what is wrong with it (unknown or repeated names)."""
    names = tuple(c.lower() for c in cells)
    known = (*COLUMNS, *NAMED_COLUMNS)
    bad = [f"unknown column {n!r} (columns: {', '.join(known)})" for n in names if n not in known]
    bad += [f"column {n!r} appears twice" for n in sorted(set(names)) if names.count(n) > 1]
    if "mac" not in names and "duid" not in names:
        bad.append("the header names neither a mac nor a duid column: a host needs one")
    return (names if not bad else COLUMNS), bad


def _options(cell: str) -> tuple[dict[str, str], list[str]]:
    """``6=192.0.2.53; 3=192.0.2.1`` as options by code, and what is wrong with the cell."""
    options: dict[str, str] = {}
    bad = []
    for item in filter(None, (part.strip() for part in cell.split(";"))):
        code, eq, value = item.partition("=")
        if not eq:
            bad.append(f"options: {item!r} is not CODE=VALUE")
        else:
            options[code.strip()] = value.strip()
    return options, bad


def export_csv(hosts: list[Host]) -> str:
    """The CSV table (with a header) of every host; the columns past ``ipv6`` only when some host uses them."""
    cells = {h.name: _cells(h) for h in hosts}
    used = [c for c in (*COLUMNS, *NAMED_COLUMNS) if c in COLUMNS[:4] or any(row[c] for row in cells.values())]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(used)
    for host in sorted(hosts, key=lambda h: h.name):
        writer.writerow([cells[host.name][c] for c in used])
    return buf.getvalue()


def _cells(host: Host) -> dict[str, str]:
    return {
        "name": host.name, "mac": ";".join(host.macs), "ipv4": host.ipv4 or "", "ipv6": host.ipv6 or "",
        "options": "; ".join(f"{code}={text}" for code, text in host.options),
        "menu_default": host.menu_default or "", "duid": host.duid.hex(":") if host.duid is not None else "",
        "groups": ";".join(host.groups), "target": host.target or "", "next_server": host.next_server or "",
        "bootfile": host.bootfile or "",
    }
