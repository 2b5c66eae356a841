"""Private files of the state directory: who may read leases, events and the API token.

Rule: what bootwright creates is private from the start — the state directory
0700, ``state.db`` (and SQLite's ``-wal``/``-shm`` beside it) and the API token
0600, whatever the umask (as ``install -d -m 0700`` and OpenSSH's key files).
Files bootwright owns by name in the state directory are tightened to 0600
when found looser (an older version created them under the umask). A
directory that already exists is the administrator's (a config-management
tool, systemd ``StateDirectoryMode=``, a shared mount): it is never chmodded;
when group or others can enter it, a warning says so and how to fix it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("bootwright.store")

__all__ = ["DIR_MODE", "FILE_MODE", "looser_than", "private_dir", "private_file", "tighten"]

DIR_MODE = 0o700
"""Mode of the state directory bootwright creates (only the owner may list or enter it)."""

FILE_MODE = 0o600
"""Mode of ``state.db``, its ``-wal``/``-shm`` files and the API token."""


def looser_than(mode: int, wanted: int) -> bool:
    """True when ``mode`` grants any permission bit that ``wanted`` does not."""
    return bool(stat.S_IMODE(mode) & ~wanted)


def private_dir(path: Path) -> bool:
    """Create ``path`` (and missing parents) with the state directory mode; True if it was created.

    Only the directory itself is made 0700 (parents keep the umask, as ``mkdir -p``
    then ``chmod``). An existing directory is left alone, with a warning when
    group or others have any access to it.
    """
    try:
        path.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        if not path.is_dir():
            raise
        mode = path.stat().st_mode
        if looser_than(mode, DIR_MODE):
            log.warning(
                "state directory %s is mode %04o: other users can list it; "
                "bootwright leaves existing directories alone — run 'chmod 700 %s' if nobody else needs it",
                path, stat.S_IMODE(mode), path,
            )
        return False
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask; chmod is not
    return True


def tighten(path: Path) -> bool:
    """Make an existing file bootwright owns 0600 if it is looser; True if its mode changed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    if not looser_than(mode, FILE_MODE):
        return False
    try:
        os.chmod(path, FILE_MODE)
    except PermissionError:  # not ours to change (another user reading it): say so, keep going
        log.warning("%s is mode %04o (should be %04o) and this user cannot change it",
                    path, stat.S_IMODE(mode), FILE_MODE)
        return False
    log.info("%s was mode %04o, now %04o", path, stat.S_IMODE(mode), FILE_MODE)
    return True


def private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists (then tighten it); True if created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path)
        return False
    try:
        os.fchmod(fd, FILE_MODE)  # the umask could only have removed bits; make it exact
    finally:
        os.close(fd)
    return True
