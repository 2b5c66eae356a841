"""Where TFTP uploads (WRQ) land: a temporary file in the root, renamed when complete.

Only reached for names inside ``[tftp] write_dirs`` (checked with
:func:`bootwright.engine.tftp.transfer.refusal` first).  The directory is walked from
the root with ``openat`` and ``O_NOFOLLOW`` — no symlink is followed anywhere
on an upload path, and the directory must already exist.  The data goes to a
new hidden temporary file next to the target (``O_EXCL``); only a complete
upload is renamed over the target, so a reader never sees half a file and a
failed upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from typing import Final

from bootwright.engine.tftp.paths import PathRefused

__all__ = ["FileSink", "open_upload"]

_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TMP_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_counter = itertools.count()


class FileSink:
    """A :class:`bootwright.engine.tftp.write.BlockSink` writing a temporary file."""

    def __init__(self, dirfd: int, fd: int, temp: str, final: str) -> None:
        """Own ``dirfd`` (the target directory) and ``fd`` (the temporary file ``temp``)."""
        self._dirfd, self._fd, self._temp, self._final = dirfd, fd, temp, final

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Write all of ``data`` at ``offset`` (``os.pwrite``; raises ``OSError``, e.g. ENOSPC)."""
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n

    def commit(self) -> None:
        """Publish the upload under its name (atomic ``rename``) and release everything."""
        try:
            os.close(self._fd)
            self._fd = -1
            os.rename(self._temp, self._final, src_dir_fd=self._dirfd, dst_dir_fd=self._dirfd)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop an unfinished upload (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._dirfd >= 0:
            with contextlib.suppress(OSError):
                os.unlink(self._temp, dir_fd=self._dirfd)
            os.close(self._dirfd)
            self._dirfd = -1


def open_upload(root: str | os.PathLike[str], relative: str) -> FileSink:
    """Prepare an upload to ``root/relative`` (a sandboxed path from ``resolve_request_path``)."""
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PathRefused(f"not a clean relative path: {relative!r}")
    dirfd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            try:
                nextfd = os.open(part, _DIR_FLAGS, dir_fd=dirfd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink or a file on the way
                    raise PathRefused(f"{relative!r}: {part!r} is not a plain directory") from None
                raise
            os.close(dirfd)
            dirfd = nextfd
        temp = f".{parts[-1][:200]}.bootwright-{os.getpid()}-{next(_counter)}"
        fd = os.open(temp, _TMP_FLAGS, 0o644, dir_fd=dirfd)
    except BaseException:
        os.close(dirfd)
        raise
    return FileSink(dirfd, fd, temp, parts[-1])
