"""A BMC's password, read at the moment it is used (never cached, never logged)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bootwright.bmc.base import BmcError
from bootwright.model import Bmc


def password_of(bmc: Bmc, host: str, environ: Mapping[str, str] = os.environ) -> str:
    """The password from ``password``, ``password_file`` (first line) or ``password_env``; ``""`` when none.

    Raises :class:`BmcError` naming the file or variable when it cannot be read.
    """
    if bmc.password is not None:
        return bmc.password
    if bmc.password_file is not None:
        path = Path(bmc.password_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BmcError(f"host {host}: cannot read the BMC password file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise BmcError(f"host {host}: the BMC password file {path} is not UTF-8 text") from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    if bmc.password_env is not None:
        value = environ.get(bmc.password_env)
        if value is None:
            raise BmcError(f"host {host}: the BMC password variable ${bmc.password_env} is not set in this process's "
                           "environment")
        return value
    return ""
