"""Host records as JSON-able dicts, and dicts (API bodies, import rows) as hosts.

The dict form uses the config file's ``[[host]]`` key names (``name``, ``mac``,
``ipv4``, ``ipv6``, ``duid``, ``groups``, ``target``, ``next_server``,
``bootfile``, ``vars``, ``bmc``, ``options``, ``menu_default``), so a host reads the same in the config, the
API and the state store. A BMC password is write-only: the stored record keeps
it, the shown record (:func:`shown_record`) says only ``password_set``.
Parsing goes through :class:`~bootwright.config.HostEntry`, so a MAC or an
address is accepted or refused exactly as in the config file.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bootwright.boot.policy import host_from_entry
from bootwright.config import HostEntry, Problem, pydantic_problems
from bootwright.model import Bmc, Host

# Keys of a host record, in display order.
HOST_KEYS = (
    "name",
    "mac",
    "ipv4",
    "ipv6",
    "duid",
    "groups",
    "target",
    "next_server",
    "bootfile",
    "vars",
    "bmc",
    "options",
    "menu_default",
)
# Where a BMC's password may come from; at most one is set.
BMC_SECRETS = ("password", "password_file", "password_env")
# Shown instead of the password (never returned); ignored when a shown record is sent back.
PASSWORD_SET = "password_set"
_BMC_DEFAULTS = Bmc(driver="ipmi", address="")


class HostInputError(ValueError):
    """A host record that cannot be used; ``problems`` name each key and what is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def host_from_dict(data: Any, where: str = "") -> Host:
    """Validate a record (config key names) and return the host; raise :class:`HostInputError`."""
    if not isinstance(data, dict):
        raise HostInputError([Problem(where, "a host must be a JSON object / table")])
    if isinstance(data.get("bmc"), dict) and PASSWORD_SET in data["bmc"]:
        data = {**data, "bmc": {k: v for k, v in data["bmc"].items() if k != PASSWORD_SET}}
    try:
        entry = HostEntry.model_validate(data)
    except ValidationError as exc:
        prefix = f"{where}." if where else ""
        raise HostInputError(
            [Problem(prefix + p.path if p.path else where, p.message) for p in pydantic_problems(exc)]
        ) from None
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
    if host.bmc is not None:
        out["bmc"] = bmc_to_dict(host.bmc)
    if host.options:
        out["options"] = {str(code): text for code, text in host.options}
    if host.menu_default:
        out["menu_default"] = host.menu_default
    return out


def bmc_to_dict(bmc: Bmc) -> dict[str, Any]:
    """A BMC in config key names, secrets included (the stored form); keys at their default left out."""
    out: dict[str, Any] = {"driver": bmc.driver, "address": bmc.address}
    for key in ("port", "username", *BMC_SECRETS, "system", "cipher_suite", "verify_tls"):
        value = getattr(bmc, key)
        if value != getattr(_BMC_DEFAULTS, key) and not (key == "cipher_suite" and bmc.driver != "ipmi"):
            out[key] = value
    return out


def shown_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the API, ``hosts show`` and logs may show it: a BMC password becomes ``password_set``."""
    bmc = record.get("bmc")
    if not isinstance(bmc, dict):
        return record
    shown = {k: v for k, v in bmc.items() if k != "password"}
    shown[PASSWORD_SET] = any(bmc.get(k) for k in BMC_SECRETS)
    return {**record, "bmc": shown}


def keep_bmc_secret(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` where a new ``bmc`` of the same driver that names no password source keeps the stored one.

    The password is write-only, so a record read back (``password_set``)
    and sent again must not lose it; ``password_set`` itself is dropped. A
    BMC of another driver is another BMC: nothing of the old one carries over.
    """
    bmc = changes.get("bmc")
    if not isinstance(bmc, dict):
        return changes
    new = {k: v for k, v in bmc.items() if k != PASSWORD_SET}
    old = current.get("bmc")
    same_kind = isinstance(old, dict) and new.get("driver", old.get("driver")) == old.get("driver")
    if isinstance(old, dict) and same_kind and not any(k in new for k in BMC_SECRETS):
        new.update({k: old[k] for k in BMC_SECRETS if k in old})
    return {**changes, "bmc": new}


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
