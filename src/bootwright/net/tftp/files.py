"""File-access adaptor for TFTP: open a file inside the root, read it with ``os.preadv``.

This is the one engine module that touches the filesystem (``os`` only; no
sockets, no event loop).  Names reach it already checked by
:func:`~bootwright.engine.tftp.paths.resolve_request_path`; here the
filesystem-dependent checks happen:

* With ``allow_symlinks=True`` (default) the path is resolved with
  ``os.path.realpath(strict=True)`` and must stay under the real root, so a
  symlink to ``/etc`` or a symlink loop is refused while links inside the root
  work.  The resolved path is then opened component by component with
  ``O_NOFOLLOW`` relative to a directory descriptor, so a component swapped
  for a symlink after the check makes the open fail rather than escape.
* With ``allow_symlinks=False`` any symlink on the way is refused.
* Only regular files are served (no devices, FIFOs or directories); the open
  uses ``O_NONBLOCK`` so a FIFO cannot block the server.

:func:`open_file` opens one absolute path the configuration chose (a boot
program of the iPXE package, :func:`bootwright.boot.programs.fallback_file`),
following its symlinks: the path never comes from a client.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from typing import Final

from bootwright.engine.tftp.paths import PathRefused

__all__ = ["FileSource", "open_file", "open_in_root"]

_IOV_MAX: Final = min(1024, os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") else 16


class FileSource:
    """A :class:`~bootwright.engine.tftp.source.BlockSource` over an open file descriptor."""

    __slots__ = ("fd", "size")

    def __init__(self, fd: int, size: int) -> None:
        """Take ownership of ``fd`` (a regular file of ``size`` octets at open time)."""
        self.fd = fd
        self.size = size

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        """Scatter-read at ``offset`` with ``os.preadv``; loops over short reads until EOF."""
        if len(buffers) > _IOV_MAX:
            return self._finish(offset, buffers, 0)
        n = os.preadv(self.fd, buffers, offset)
        if n == 0 or n == sum(map(len, buffers)):
            return n
        return self._finish(offset, buffers, n)

    def _finish(self, offset: int, buffers: Sequence[memoryview], n: int) -> int:
        """Continue a read that stopped after ``n`` octets (short read or > IOV_MAX buffers)."""
        while True:
            done = 0
            rest: list[memoryview] = []
            for buf in buffers:
                if done + len(buf) > n:
                    rest.append(buf[max(0, n - done) :])
                    if len(rest) == _IOV_MAX:
                        break
                done += len(buf)
            if not rest:
                return n
            got = os.preadv(self.fd, rest, offset + n)
            if got == 0:
                return n
            n += got

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ROOT_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _components(relative: str) -> list[str]:
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") for p in parts) or "\0" in relative:
        raise PathRefused(f"not a clean relative path: {relative!r}")
    return parts


def _open_component(name: str, flags: int, dirfd: int, relative: str) -> int:
    """``openat`` one component with ``O_NOFOLLOW``; a symlink becomes :class:`PathRefused`."""
    try:
        return os.open(name, flags, dir_fd=dirfd)
    except OSError as exc:
        # O_NOFOLLOW gives ELOOP for a final symlink, O_DIRECTORY gives ENOTDIR for one on the way.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link or exc.errno == errno.ELOOP:
                raise _SymlinkOnPath(f"symlink in {relative!r}") from None
        raise


class _SymlinkOnPath(PathRefused):
    """A component is a symlink: refused, or resolved by the slow path when symlinks are allowed."""


def _open_beneath(dirfd: int, parts: list[str], relative: str) -> int:
    """Walk ``parts`` from ``dirfd`` (closed here) with ``O_NOFOLLOW``; the file's descriptor."""
    try:
        for part in parts[:-1]:
            nextfd = _open_component(part, _DIR_FLAGS, dirfd, relative)
            os.close(dirfd)
            dirfd = nextfd
        return _open_component(parts[-1], _FILE_FLAGS, dirfd, relative)
    finally:
        os.close(dirfd)


def open_in_root(root: str | os.PathLike[str], relative: str, *, allow_symlinks: bool = True) -> FileSource:
    """Open ``root/relative`` for reading without leaving ``root``.

    Raises ``FileNotFoundError`` (and other ``OSError``) for missing files and
    :class:`~bootwright.engine.tftp.paths.PathRefused` for escapes, symlink
    loops, symlinks when not allowed, and anything but a regular file.  Map
    either to an ERROR with
    :func:`~bootwright.engine.tftp.transfer.error_for_exception`.
    """
    parts = _components(relative)
    try:
        # The usual case, no symlink on the way: one openat per component, nothing resolved.
        # (The root itself may be a symlink: it is configuration, followed like any path.)
        fd = _open_beneath(os.open(root, _ROOT_FLAGS), parts, relative)
    except _SymlinkOnPath:
        if not allow_symlinks:
            raise
        fd = _open_through_symlinks(root, parts, relative)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathRefused(f"{relative!r} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return FileSource(fd, st.st_size)


def _open_through_symlinks(root: str | os.PathLike[str], parts: list[str], relative: str) -> int:
    """Resolve symlinks under ``root``; refuse a target outside it, then open it as a clean path."""
    real_root = os.path.realpath(root)
    try:
        target = os.path.realpath(os.path.join(real_root, *parts), strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathRefused(f"symlink loop in {relative!r}") from None
        raise
    rel = os.path.relpath(target, real_root)
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise PathRefused(f"{relative!r} resolves outside the root")
    return _open_beneath(os.open(real_root, _DIR_FLAGS), rel.split(os.sep), relative)


def open_file(path: str) -> FileSource:
    """Open the regular file at ``path``, an absolute path from the configuration (symlinks followed).

    Raises ``FileNotFoundError`` (and other ``OSError``) and
    :class:`~bootwright.engine.tftp.paths.PathRefused` for anything but a regular file.
    """
    fd = os.open(path, _FILE_FLAGS & ~os.O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathRefused(f"{path!r} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return FileSource(fd, st.st_size)
