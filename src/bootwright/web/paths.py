"""Request paths to files inside the HTTP root, refusing every way out.

:func:`clean_path` works on the *raw* request target (aiohttp decodes ``%2e``
and ``%2f`` in ``request.path``, which would turn ``a%2f..%2f..`` into a
traversal): it splits on ``/`` first and percent-decodes each segment after,
so an encoded slash can never create a new path segment. Refused with
:class:`BadPath` (answered 400):

* a ``..`` segment, written plainly or encoded (``%2e%2e``, ``.%2E``);
* an encoded ``/`` (``%2f``) or any backslash inside a segment;
* NUL and other control characters, invalid UTF-8 or invalid ``%`` escapes;
* paths longer than :data:`MAX_PATH` octets.

Empty and ``.`` segments are dropped, so ``//etc/passwd`` names
``<root>/etc/passwd``. :func:`open_in_root` then resolves symlinks and serves
a file only if its real path stays inside the real root (links within the
root, e.g. ``ipxe.efi -> ipxe/ipxe.efi``, keep working), opening the resolved
name with ``O_NOFOLLOW`` so a component swapped for a link after the check
fails instead of escaping.

``[http] aliases`` (nginx ``alias``, Apache ``Alias``) are applied to the
clean path by :meth:`Aliases.locate`, the one step between a URL path and a
file: the longest matching URL prefix (whole segments: ``/tftpboot`` never
matches ``/tftpbootx``) is replaced by its directory. A relative directory
lies under the root and the result is a path under the root like any other;
an absolute one is a root of its own, with the same rules — the rest of the
path cannot climb out of it, and symlinks must stay inside its real path.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from bootwright.config import alias_segments

MAX_PATH = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class BadPath(ValueError):
    """A request path that is refused outright (400), with the reason for the log."""


class NotServed(OSError):
    """Something is there but is not served: ``status`` 404 for directories, 403 otherwise."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def clean_path(raw_target: str) -> str:
    """The raw request target (path and query) as a clean path relative to the root.

    Returns ``""`` for the root itself. Raises :class:`BadPath`.
    """
    raw = raw_target.split("?", 1)[0]
    if len(raw) > MAX_PATH:
        raise BadPath("path too long")
    out: list[str] = []
    for segment in raw.split("/"):
        if not segment or segment == ".":
            continue
        if "%" in segment:
            try:
                segment = unquote(segment, errors="strict")
            except UnicodeDecodeError:
                raise BadPath("invalid UTF-8 in a %-escape") from None
            if "/" in segment:
                raise BadPath("an encoded '/' inside a path segment")
            if segment == ".":
                continue
        if segment == "..":
            raise BadPath("a '..' segment")
        if "\\" in segment:
            raise BadPath("a backslash in the path")
        if _CONTROL.search(segment):
            raise BadPath("a control character in the path")
        out.append(segment)
    return "/".join(out)


@dataclass(frozen=True, slots=True)
class Aliases:
    """The ``[http] aliases`` of a config: URL prefix segments → directory, longest prefix first."""

    root: str
    """The HTTP root (a real path), where paths without an alias and relative alias directories lie."""
    entries: tuple[tuple[tuple[str, ...], str, bool], ...] = ()
    """(prefix segments, directory, outside): ``outside`` directories are real absolute paths."""

    @classmethod
    def build(cls, root: str, aliases: Mapping[str, str]) -> Aliases:
        """From the config's mapping (validated by ``config.alias_problem``); absolute directories resolved once."""
        entries = []
        for prefix, directory in aliases.items():
            outside = directory.startswith("/")
            where = os.path.realpath(directory) if outside else "/".join(p for p in directory.split("/") if p)
            entries.append((alias_segments(prefix), where, outside))
        entries.sort(key=lambda entry: -len(entry[0]))
        return cls(root, tuple(entries))

    def locate(self, relative: str) -> tuple[str, str, bool]:
        """(root, path relative to it, aliased outside the root) for a :func:`clean_path` result."""
        if not self.entries:
            return self.root, relative, False
        parts = relative.split("/") if relative else []
        for prefix, directory, outside in self.entries:
            if tuple(parts[: len(prefix)]) == prefix:
                rest = "/".join(parts[len(prefix) :])
                if outside:
                    return directory, rest, True
                return self.root, "/".join(p for p in (directory, rest) if p), False
        return self.root, relative, False


def open_in_root(root: str, relative: str) -> tuple[int, os.stat_result]:
    """Open ``root/relative`` for reading; return the descriptor and its ``fstat``.

    ``root`` must already be a real path (no symlinks). Raises
    ``FileNotFoundError`` when nothing is there and :class:`NotServed` for
    directories, special files and links that lead outside the root.
    """
    full = os.path.join(root, relative) if relative else root
    real = os.path.realpath(full)
    if real != root and not real.startswith(root + os.sep):
        if not os.path.lexists(full):
            raise FileNotFoundError(relative)
        raise NotServed(f"{relative!r} leads outside the root")
    fd = os.open(real, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotServed(f"{relative!r} is a directory (no listings)", 404)
        if not stat.S_ISREG(st.st_mode):
            raise NotServed(f"{relative!r} is not a regular file")
        return fd, st
    except BaseException:
        os.close(fd)
        raise
