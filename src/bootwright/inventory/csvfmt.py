"""CSV hosts: ``name,mac,ipv4[,ipv6[,options]]`` — seed 003's "table listing hostname, mac address and ip address".

A header row (``name,mac,…``) is optional; blank lines and lines starting
with ``#`` are skipped. Several MACs for one host go in one cell separated by
``;`` or ``space``. Empty cells mean "not set". The ``options`` cell holds the
host's DHCPv4 options as ``CODE=VALUE`` separated by ``;`` (``6=192.0.2.53;
3=192.0.2.1``, values in the ``[dhcp4] options`` syntax); the export writes
that column only when a host has options. Every bad row is reported at once.
"""

from __future__ import annotations

import csv
import io

from bootwright.config import Problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ParsedFile
from bootwright.model import Host

COLUMNS = ("name", "mac", "ipv4", "ipv6", "options")
# Keys a CSV file can carry: a sync sets these as the file says and keeps the others.
CSV_KEYS = ("mac", "ipv4", "ipv6", "options")


def parse_csv(text: str) -> list[ImportedHost]:
    """Hosts from CSV rows; raise :class:`ImportFormatError` with the line of every bad row."""
    return read_csv(text).hosts_or_raise()


def read_csv(text: str) -> ParsedFile:
    """Hosts from CSV rows and the problem of every bad row (``line N``)."""
    out: list[ImportedHost] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text))
    first = True
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first and cells[0].lower() == "name":
                first = False
                continue
            first = False
            if not 2 <= len(cells) <= len(COLUMNS):
                expected = f"expected {', '.join(COLUMNS[:3])}[, ipv6[, options]]; found {len(cells)} columns"
                problems.append(Problem(f"line {line}", expected))
                continue
            record: dict[str, object] = {}
            for key, value in zip(COLUMNS, cells, strict=False):
                if not value:
                    continue
                if key == "options":
                    options, bad = _options(value)
                    problems += [Problem(f"line {line}", b) for b in bad]
                    record[key] = options
                else:
                    record[key] = value.replace(";", " ").split() if key == "mac" else value
            try:
                out.append(ImportedHost(host_from_dict(record), line, set(record)))
            except HostInputError as exc:
                problems += [Problem(f"line {line}", str(p)) for p in exc.problems]
    except csv.Error as exc:
        problems.append(Problem(f"line {reader.line_num}", f"CSV syntax: {exc}"))
    return ParsedFile(out, problems)


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
    """The CSV table (with a header) of every host; the ``options`` column only when a host has options."""
    columns = COLUMNS if any(h.options for h in hosts) else COLUMNS[:4]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for host in sorted(hosts, key=lambda h: h.name):
        row = [host.name, ";".join(host.macs), host.ipv4 or "", host.ipv6 or ""]
        if len(columns) > 4:
            row.append("; ".join(f"{code}={text}" for code, text in host.options))
        writer.writerow(row)
    return buf.getvalue()
