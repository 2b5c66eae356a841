"""CSV hosts: ``name,mac,ipv4[,ipv6]`` — seed 003's "table listing hostname, mac address and ip address".

A header row (``name,mac,…``) is optional; blank lines and lines starting
with ``#`` are skipped. Several MACs for one host go in one cell separated by
``;`` or ``space``. Empty cells mean "not set".
"""

from __future__ import annotations

import csv
import io

from bootwright.config import Problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ImportFormatError
from bootwright.model import Host

COLUMNS = ("name", "mac", "ipv4", "ipv6")


def parse_csv(text: str) -> list[ImportedHost]:
    """Hosts from CSV rows; raise :class:`ImportFormatError` with the line of every bad row."""
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
                expected = f"expected {', '.join(COLUMNS[:3])}[, ipv6]; found {len(cells)} columns"
                problems.append(Problem(f"line {line}", expected))
                continue
            record: dict[str, object] = {}
            for key, value in zip(COLUMNS, cells, strict=False):
                if value:
                    record[key] = value.replace(";", " ").split() if key == "mac" else value
            try:
                out.append(ImportedHost(host_from_dict(record), line, set(record)))
            except HostInputError as exc:
                problems += [Problem(f"line {line}", str(p)) for p in exc.problems]
    except csv.Error as exc:
        problems.append(Problem(f"line {reader.line_num}", f"CSV syntax: {exc}"))
    if problems:
        raise ImportFormatError(problems)
    return out


def export_csv(hosts: list[Host]) -> str:
    """The CSV table (with a header) of every host."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for host in sorted(hosts, key=lambda h: h.name):
        writer.writerow([host.name, ";".join(host.macs), host.ipv4 or "", host.ipv6 or ""])
    return buf.getvalue()
