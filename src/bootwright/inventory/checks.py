"""Checks of a whole inventory against a configuration (pure).

The rules live in :mod:`bootwright.boot.validation` (one validation for
``check``, ``serve``, reload, the CLI and the API); this module keeps the
inventory's name for the host checks without template rendering. Each
problem names the host and, when known, where the host was defined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bootwright.boot.validation import InventoryHost, host_problems
from bootwright.config import Config, Problem
from bootwright.model import Host


def check_inventory(config: Config, hosts: Iterable[Host], origin: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem of ``hosts`` under ``config``; ``origin`` says where each name was defined."""
    origin = origin or {}
    entries = [InventoryHost(h, origin.get(h.name, "")) for h in hosts]
    found = host_problems(config, entries, render=False)
    return [p for problems in found.values() for p in problems]
