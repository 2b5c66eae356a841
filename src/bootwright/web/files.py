"""Static files with zero-copy ``sendfile``, ranges, validators and a stall timeout.

:class:`FileSend` is an aiohttp response that sends what :func:`ranges.plan`
decided: the headers through aiohttp, the body with ``loop.sendfile`` (the
kernel copies page cache to socket, like nginx ``sendfile on``), in chunks.
Each chunk must finish within ``timeout`` seconds, so a client that stops
reading is disconnected instead of holding a connection and a file descriptor
forever. Chunks start at :data:`MIN_CHUNK` and double while the client keeps
up (to :data:`MAX_CHUNK`, so a fast download costs a handful of ``sendfile``
rounds) and halve when one takes more than an eighth of the timeout, so a
slow but moving client (down to ``MIN_CHUNK / timeout``, 8.7 KB/s with the
default 30 s) is never cut off. The response records how many octets of the body
went out and whether all of them did, for the ``http.download_complete``
event (one-shot boots count a boot when kernel and initrd were fully sent).

:func:`open_file` opens a file outside the root that the configuration chose
(a boot program of the iPXE package, :func:`bootwright.boot.programs.fallback_file`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import mimetypes
import os
import secrets
import stat

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from bootwright.web.paths import NotServed
from bootwright.web.ranges import FileMeta, Plan

MIN_CHUNK = 256 * 1024
MAX_CHUNK = 64 * 1024 * 1024
_FAST = 0.05  # seconds: a chunk this quick doubles the next one
_FALLBACK_READ = 256 * 1024

# Boot files mimetypes does not know or gets wrong. application/efi is the IANA
# registration for UEFI executables; the rest are opaque binaries or text.
_TYPES: dict[str, str] = {
    ".efi": "application/efi",
    ".ipxe": "text/plain; charset=utf-8",
    ".cfg": "text/plain; charset=utf-8",
    ".conf": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".kpxe": "application/octet-stream",
    ".pxe": "application/octet-stream",
    ".lkrn": "application/octet-stream",
    ".0": "application/octet-stream",
    ".img": "application/octet-stream",
    ".igz": "application/octet-stream",
    ".squashfs": "application/octet-stream",
    ".iso": "application/x-iso9660-image",
    ".gz": "application/gzip",
    ".xz": "application/x-xz",
    ".zst": "application/zstd",
}


def content_type(path: str) -> str:
    """A sane ``Content-Type`` for a served file name (never a guess at an encoding)."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    if dot > 0:
        known = _TYPES.get(name[dot:].lower())
        if known is not None:
            return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def meta_for(path: str, st: os.stat_result) -> FileMeta:
    """The validator inputs of a file from its ``stat``."""
    return FileMeta(size=st.st_size, mtime_ns=st.st_mtime_ns, content_type=content_type(path))


def open_file(path: str) -> tuple[int, os.stat_result]:
    """Open the regular file at ``path``, an absolute path from the configuration (its symlinks followed).

    Never called with a client's path: :func:`bootwright.web.paths.open_in_root` is the way into the
    root. Raises ``OSError``, :class:`~bootwright.web.paths.NotServed` for anything but a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotServed(f"{path!r} is not a regular file")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def new_boundary() -> str:
    """A multipart boundary no file is going to contain by chance."""
    return "bw-" + secrets.token_hex(12)


class FileSend(web.StreamResponse):
    """Sends one planned file response; owns the file descriptor until sent."""

    def __init__(self, fd: int, plan: Plan, timeout: float) -> None:
        super().__init__(status=plan.status, headers=plan.headers)
        self._file: io.FileIO | None = io.FileIO(fd, "rb", closefd=True)
        self._plan = plan
        self._timeout = timeout
        self._chunk = MIN_CHUNK
        self.path = ""
        self.source: str | None = None
        """The file outside the root this was sent from (the iPXE package's), for the events."""
        self.bytes_sent = 0
        """Body octets handed to the kernel so far."""
        self.complete = False
        """True once the whole planned body was sent."""
        self.error: str | None = None
        """Why the body was cut short, when it was."""

    def close_file(self) -> None:
        """Release the descriptor (also done after sending; idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        """Write the headers, then the planned body; the file is closed on the way out."""
        try:
            writer = await super().prepare(request)
            if writer is None or request.method == "HEAD" or self.status in (304, 412, 416):
                return writer
            plan = self._plan
            if plan.multipart:
                for head, first, last in plan.parts:
                    await writer.write(head)
                    await self._send(request, first, last - first + 1)
                await writer.write(plan.trailer)
            elif plan.ranges:
                first, last = plan.ranges[0]
                await self._send(request, first, last - first + 1)
            else:
                await self._send(request, 0, plan.body_length)
            self.complete = True
            await super().write_eof()
            return writer
        except ConnectionError as exc:
            self.error = self.error or str(exc) or type(exc).__name__
            raise
        except OSError as exc:  # reading the file failed (EIO, …): the response cannot be finished
            self.error = f"reading the file: {exc.strerror or exc}"
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError(self.error) from exc
        finally:
            self.close_file()

    async def _send(self, request: web.BaseRequest, offset: int, count: int) -> None:
        """``count`` octets from ``offset``, chunk by chunk, each within the timeout."""
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection lost")
        assert self._file is not None
        loop = asyncio.get_running_loop()
        end = offset + count
        chunk = self._chunk
        # A TLS connection (the API port, http.tls_cert) encrypts in user space: asyncio's sendfile
        # refuses it outright (RuntimeError without its own fallback), so it is copied.
        native = transport.get_extra_info("sslcontext") is None
        while offset < end:
            size = min(chunk, end - offset)
            started = loop.time()
            try:
                async with asyncio.timeout(self._timeout):
                    try:
                        if not native:
                            raise NotImplementedError
                        sent = await loop.sendfile(transport, self._file, offset, size, fallback=False)
                    except (NotImplementedError, asyncio.SendfileNotAvailableError):
                        # No native sendfile here (TLS, some file systems) — or the first
                        # os.sendfile of this chunk failed, which asyncio reports the same
                        # way even when the peer is gone: copying finds out which.
                        sent = await self._copy(offset, size)
            except TimeoutError:
                self._count_partial(offset)
                transport.abort()
                raise ConnectionResetError(f"client stalled for {self._timeout:g} s; connection closed") from None
            except OSError:  # ConnectionResetError, BrokenPipeError, …
                self._count_partial(offset)
                raise
            self.bytes_sent += sent
            if sent < size:
                # The file shrank under us: the promised Content-Length cannot be kept.
                transport.abort()
                raise ConnectionResetError("file shrank while being sent; connection closed")
            offset += size
            took = loop.time() - started
            if took < _FAST:
                chunk = min(chunk * 2, MAX_CHUNK)
            elif took > self._timeout / 8:
                chunk = max(chunk // 2, MIN_CHUNK)
        self._chunk = chunk  # the next range of a multipart body starts where this one ended

    def _count_partial(self, offset: int) -> None:
        """Add what an interrupted ``sendfile`` chunk sent: asyncio leaves the file offset after it."""
        if self._file is not None:
            with contextlib.suppress(OSError, ValueError):
                self.bytes_sent += max(0, self._file.tell() - offset)

    async def _copy(self, offset: int, count: int) -> int:
        """Read-and-write fallback when the transport cannot ``sendfile``; returns octets sent."""
        assert self._file is not None and self._payload_writer is not None
        done = 0
        while done < count:
            data = os.pread(self._file.fileno(), min(_FALLBACK_READ, count - done), offset + done)
            if not data:
                break
            await self._payload_writer.write(data)
            done += len(data)
        await self._payload_writer.drain()
        return done

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close_file()
