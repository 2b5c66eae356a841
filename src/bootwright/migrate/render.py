"""An import as files: the bootwright TOML (with what was not translated as comments) and the inventory CSV."""

from __future__ import annotations

from typing import Any

import tomli_w

from bootwright.inventory.csvfmt import export_csv
from bootwright.migrate.result import Imported

# Sections in the order a reader expects them (config.Config's order); anything else follows.
_ORDER = ("root", "state_dir", "server", "dhcp4", "dhcp6", "subnet4", "subnet6", "tftp", "http", "nfs", "boot",
          "rule", "targets", "menus", "host")


def render_toml(imported: Imported, *, command: str | None = None) -> str:
    """The config as TOML, headed by where it came from and every finding as a comment."""
    head = [f"# bootwright config translated by `{command or 'bootwright import'}`"]
    head.append(f"# from: {imported.file}")
    head.append(f"# {imported.translated} statements translated exactly; {len(imported.findings)} findings"
                + (" (below, each with what to do):" if imported.findings else "."))
    for finding in imported.findings:
        head.append(f"#   {finding}")
    body = tomli_w.dumps(clean_config(_ordered(imported.config)))
    return "\n".join(head) + "\n\n" + body


def render_hosts(imported: Imported) -> str:
    """The hosts as the inventory CSV ``bootwright hosts import --sync`` reads."""
    return export_csv(imported.hosts)


def _ordered(config: dict[str, Any]) -> dict[str, Any]:
    known = {key: config[key] for key in _ORDER if key in config}
    return known | {key: value for key, value in config.items() if key not in known}


def clean_config(value: Any) -> Any:
    """Drop ``None`` (TOML has no null: an absent key is the default) and empty tables, recursively."""
    if isinstance(value, dict):
        out = {str(k): clean_config(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in out.items() if v != {}}
    if isinstance(value, list | tuple):
        return [clean_config(v) for v in value if v is not None]
    return value
