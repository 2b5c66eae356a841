"""Host records as JSON-able dicts, and dicts (API bodies, import rows) as hosts.

The dict form uses the config file's ``[[host]]`` key names (``name``, ``mac``,
``ipv4``, ``ipv6``, ``duid``, ``groups``, ``target``, ``next_server``,
``bootfile``, ``vars``), so a host reads the same in the config, the API and
the state store. Parsing goes through :class:`~bootwright.config.HostEntry`,
so a MAC or an address is accepted or refused exactly as in the config file.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bootwright.boot.policy import host_from_entry
from bootwright.config import HostEntry, Problem, _pydantic_problems
from bootwright.model import Host

# Keys of a host record, in display order.
HOST_KEYS = ("name", "mac", "ipv4", "ipv6", "duid", "groups", "target", "next_server", "bootfile", "vars")


class HostInputError(ValueError):
    """A host record that cannot be used; ``problems`` name each key and what is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def host_from_dict(data: Any, where: str = "") -> Host:
    """Validate a record (config key names) and return the host; raise :class:`HostInputError`."""
    if not isinstance(data, dict):
        raise HostInputError([Problem(where, "a host must be a JSON object / table")])
    try:
        entry = HostEntry.model_validate(data)
    except ValidationError as exc:
        prefix = f"{where}." if where else ""
        raise HostInputError([Problem(prefix + p.path if p.path else where, p.message)
                              for p in _pydantic_problems(exc)]) from None
    return host_from_entry(entry)


def host_to_dict(host: Host) -> dict[str, Any]:
    """The record of a host with config key names; empty values left out (``name`` always present)."""
    out: dict[str, Any] = {"name": host.name}
    if host.macs:
        out["mac"] = list(host.macs)
    for key in ("ipv4", "ipv6"):
        value = getattr(host, key)
        if value:
            out[key] = value
    if host.duid is not None:
        out["duid"] = host.duid.hex(":")
    if host.groups:
        out["groups"] = list(host.groups)
    for key in ("target", "next_server", "bootfile"):
        value = getattr(host, key)
        if value:
            out[key] = value
    if host.variables:
        out["vars"] = dict(host.variables)
    return out


def apply_changes(record: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``record`` with ``changes`` applied: a value replaces the key, ``None`` removes it."""
    out = dict(record)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def check_change_keys(changes: Any) -> list[Problem]:
    """Problems with the keys of a partial update (unknown keys, renaming)."""
    if not isinstance(changes, dict):
        return [Problem("", "changes must be a JSON object")]
    problems = []
    for key in changes:
        if key == "name":
            problems.append(Problem("name", "a host cannot be renamed; remove it and add it again"))
        elif key not in HOST_KEYS:
            problems.append(Problem(str(key), f"unknown key (known: {', '.join(HOST_KEYS[1:])})"))
    return problems
