"""Router advertisement settings from radvd and BIRD as bootwright's ``[subnet6.ra]`` table (pure).

Rule: a key is written only where the source daemon's answer differs from
what bootwright sends by default (:class:`bootwright.config.RouterAdvert`),
so the imported table says what the operator chose, and nothing else —
except ``rdnss``/``dnssl``: bootwright falls back to the subnet's DHCPv6
``dns``/``domain_search`` where radvd and BIRD send none, so an empty list is
written when the source advertises none (the answer stays "no RDNSS").
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bootwright.config import RouterAdvert

_DEFAULTS = RouterAdvert()
INFINITY = 0xFFFFFFFF  # RFC 4861 §4.6.2: all ones is infinity (radvd and BIRD "infinity")


def ra_table(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (RouterAdvert field → the source's effective value) without bootwright's defaults."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("rdnss", "dnssl") or getattr(_DEFAULTS, key) != value:
            out[key] = value
    return out


def flag(text: str) -> bool | None:
    """``on``/``off`` (radvd), ``yes``/``no`` (BIRD) and the like as a bool; None for anything else."""
    lowered = text.lower()
    if lowered in ("on", "yes", "true", "1"):
        return True
    if lowered in ("off", "no", "false", "0"):
        return False
    return None


def seconds(text: str) -> int | None:
    """A lifetime in seconds, ``infinity`` as all ones; None when it is not a number."""
    if text.lower() == "infinity":
        return INFINITY
    return int(text) if text.isdigit() else None


def ra_problem(key: str, value: Any) -> str | None:
    """Why bootwright's ``ra.<key>`` cannot hold ``value`` (its model's bounds), or None."""
    try:
        RouterAdvert.model_validate({key: value})
    except ValidationError as exc:
        return "; ".join(e["msg"] for e in exc.errors(include_url=False))
    return None
