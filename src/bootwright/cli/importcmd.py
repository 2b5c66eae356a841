"""``bootwright import``: another server's configs in, one bootwright config and inventory out.

The files of one site (``dhcpd.conf``, ``dhcpd6.conf``, ``radvd.conf``, a BIRD
``protocol radv``, ``dnsmasq.conf``, Kea JSON) are translated by the pure
importers of :mod:`bootwright.migrate`, joined (:mod:`bootwright.migrate.merge`)
and written as ``bootwright.toml`` plus ``hosts.csv``. Every statement that
was not translated exactly is listed with its file and line, in the output and
as comments at the top of the TOML. The result is validated as ``bootwright
check`` validates, so what is written starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from bootwright.boot.validation import InventoryHost, validate
from bootwright.cli.common import EXIT_USAGE, err, out
from bootwright.config import Config
from bootwright.migrate.formats import IMPORTERS, guess_import_format
from bootwright.migrate.merge import merge
from bootwright.migrate.render import clean_config, render_hosts, render_toml
from bootwright.migrate.result import Imported, Reader

CONFIG_NAME = "bootwright.toml"
HOSTS_NAME = "hosts.csv"


def _split_spec(spec: str) -> tuple[str | None, Path]:
    """``dhcpd6:/etc/dhcp/dhcpd6.conf`` → ("dhcpd6", path); a plain path → (None, path)."""
    head, sep, tail = spec.partition(":")
    if sep and head in IMPORTERS:
        return head, Path(tail)
    return None, Path(spec)


def _reader(main: Path, include_dirs: list[Path]) -> Reader:
    """Include files as the daemon would find them: relative to the including file's directory, or as written.

    An absolute path that is not on this machine (the configs were copied from
    the server) is looked for by its name in each ``--include-dir``.
    """

    def read(name: str) -> str:
        path = Path(name)
        candidates = [path] if path.is_absolute() else [main.parent / path]
        candidates += [d / path.name for d in include_dirs]
        for candidate in candidates:
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        tried = ", ".join(str(c) for c in candidates)
        raise OSError(f"not found (looked at {tried}; copy it beside the file or give --include-dir)")

    return read


def _import_one(spec: str, include_dirs: list[Path]) -> Imported:
    fmt, path = _split_spec(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] {escape(str(path))}: cannot read: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    fmt = fmt or guess_import_format(path.name, text)
    if fmt is None:
        err.print(f"[red]error:[/red] {escape(str(path))}: not recognised as any of {', '.join(IMPORTERS)}; "
                  f"name the format: FORMAT:{escape(str(path))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        return IMPORTERS[fmt](text, str(path), _reader(path, include_dirs))
    except ValueError as exc:  # a file the importer cannot read at all (not JSON, unbalanced braces): file:line
        err.print(f"[red]error:[/red] {escape(str(exc))} (read as {fmt}; name another format as FORMAT:PATH)",
                  soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _check(imported: Imported) -> tuple[Config | None, list[str], list[str]]:
    """The translation validated as ``bootwright check`` would: (config, errors, warnings)."""
    try:
        config = Config.model_validate(clean_config(imported.config))
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return None, errors, []
    inventory = [InventoryHost(h, "imported", False) for h in imported.hosts]
    report = validate(config, inventory)
    return config, [str(p) for p in report.errors], [str(p) for p in report.warnings]


def import_configs(
    files: Annotated[list[str], typer.Argument(
        help=f"Config files of one site, each optionally prefixed by its format ({', '.join(IMPORTERS)}), "
             "e.g. dhcpd6:/etc/dhcp/dhcpd6.conf; guessed from the content otherwise.", show_default=False)],
    output_dir: Annotated[Path | None, typer.Option(
        "--out", "--output-dir", "-o", help=f"Write {CONFIG_NAME} and {HOSTS_NAME} here (created if missing).")] = None,
    include_dir: Annotated[list[Path] | None, typer.Option(
        "--include-dir", help="Where to look for included files by name when the path they are included by "
                              "does not exist here (repeatable).")] = None,
    root: Annotated[Path | None, typer.Option(
        "--root", help="The boot files' directory to write as `root` (the TFTP/HTTP root of the old set-up).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files in the output directory.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when any statement was not translated (untranslated findings).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report (and the config) as JSON.")] = False,
) -> None:
    """Translate ISC dhcpd/dhcpd6, radvd, BIRD radv, dnsmasq or Kea configs into a bootwright config + inventory."""
    parts = [_import_one(spec, include_dir or []) for spec in files]
    imported = merge(parts)
    if root is not None:
        imported.config.setdefault("root", str(root))
    _config, errors, warnings = _check(imported)
    written: list[str] = []
    if output_dir is not None:
        written = _write(imported, output_dir, force)
    untranslated = [f for f in imported.findings if f.action == "untranslated"]
    if as_json:
        print(json.dumps(_report(imported, errors, warnings, written), indent=2))
    else:
        _print_report(imported, errors, warnings, written, output_dir)
    if errors:
        raise typer.Exit(1)
    if strict and untranslated:
        raise typer.Exit(1)


def _write(imported: Imported, output_dir: Path, force: bool) -> list[str]:
    targets = {output_dir / CONFIG_NAME: render_toml(imported)}
    if imported.hosts:
        targets[output_dir / HOSTS_NAME] = render_hosts(imported)
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        err.print(f"[red]error:[/red] {escape(', '.join(existing))} exists; give --force to overwrite", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for path, text in targets.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write to {escape(str(output_dir))}: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    return [str(p) for p in targets]


def _report(imported: Imported, errors: list[str], warnings: list[str], written: list[str]) -> dict[str, Any]:
    return {
        "files": imported.file,
        "translated": imported.translated,
        "findings": [
            {"file": f.file, "line": f.line, "statement": f.statement, "action": f.action, "message": f.message}
            for f in imported.findings
        ],
        "hosts": len(imported.hosts),
        "errors": errors,
        "warnings": warnings,
        "written": written,
        "config": clean_config(imported.config),
    }


def _print_report(imported: Imported, errors: list[str], warnings: list[str], written: list[str],
                  output_dir: Path | None) -> None:
    by_action: dict[str, int] = {}
    for f in imported.findings:
        by_action[f.action] = by_action.get(f.action, 0) + 1
    counts = ", ".join(f"{n} {a}" for a, n in sorted(by_action.items())) or "nothing left over"
    out.print(f"{escape(imported.file)}: {imported.translated} statements translated; {counts}; "
              f"{len(imported.hosts)} hosts", soft_wrap=True)
    for f in imported.findings:
        colour = {"untranslated": "red", "approximated": "yellow"}.get(f.action, "dim")
        out.print(f"  [{colour}]{escape(str(f))}[/{colour}]", soft_wrap=True)
    for problem in errors:
        err.print(f"[red]error:[/red] the translation does not validate: {escape(problem)} (a bootwright bug: "
                  "please report it with the input)", soft_wrap=True)
    for problem in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(problem)}", soft_wrap=True)
    if written:
        out.print("wrote " + ", ".join(written))
        config = output_dir / CONFIG_NAME if output_dir else CONFIG_NAME
        out.print(f"next: bootwright check -c {config}", soft_wrap=True)
        if imported.hosts and output_dir:
            out.print(f"      bootwright hosts import --sync {output_dir / HOSTS_NAME} -c {config}", soft_wrap=True)
    elif output_dir is None:
        out.print("(nothing written: give --out DIR)")


def register(app: typer.Typer) -> None:
    """Add ``bootwright import``."""
    app.command("import")(import_configs)
