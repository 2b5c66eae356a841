"""Block sources for the TFTP engine: the protocol, an in-memory one, netascii.

A :class:`BlockSource` is positioned-read access to one file, shaped like
``os.preadv``: the engine hands it the payload slots of its reused send
buffer and the source fills them in order, so file bytes land directly
behind the DATA headers without copies.  The file-backed implementation
lives in :mod:`bootwright.net.tftp.files`; everything here is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

__all__ = ["BlockSource", "InMemorySource", "NetasciiSource", "netascii_encode"]


class BlockSource(Protocol):
    """Positioned reads of one file (the engine never seeks or closes it)."""

    @property
    def size(self) -> int | None:
        """File size in octets, or ``None`` when unknown (no ``tsize`` is offered)."""
        ...

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        """Fill ``buffers`` in order with the bytes at ``offset`` (scatter read, like ``os.preadv``).

        Returns the number of octets written.  Fewer than the buffers' total
        means end of file: implementations must not return short reads
        otherwise.  May raise ``OSError``.
        """
        ...


class InMemorySource:
    """A :class:`BlockSource` over bytes held in memory (tests, rendered files)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        """Wrap ``data`` (copied once into an immutable buffer)."""
        self._data = memoryview(bytes(data))

    @property
    def size(self) -> int:
        """Length of the data."""
        return len(self._data)

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        """Copy from ``offset`` into ``buffers``; see :meth:`BlockSource.read_into`."""
        data = self._data
        end = len(data)
        pos = offset
        for buf in buffers:
            if pos >= end:
                break
            take = min(len(buf), end - pos)
            buf[:take] = data[pos : pos + take]
            pos += take
        return max(0, pos - offset)


def netascii_encode(data: bytes | bytearray | memoryview) -> bytes:
    """Translate to netascii: CR → CR NUL, then LF → CR LF (RFC 1350 §1, RFC 764).

    Every CR and LF is translated, as tftp-hpa does; a file that already has
    CR LF line ends therefore becomes CR NUL CR LF.
    """
    return bytes(data).replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


_ADVANCE_CHUNK: Final = 1 << 20


class NetasciiSource:
    """Streams the netascii translation of another source.

    Translated offsets differ from raw ones, so the source remembers a mark
    (raw offset, octets of a split CR expansion already sent) at every block
    boundary it produced.  The engine only ever reads from the start of its
    current window, which never moves backwards, so marks before the latest
    read are dropped; an unknown offset is reached by re-translating from the
    nearest earlier mark.  ``size`` is ``None``: the translated size is not
    known without reading the whole file, so ``tsize`` is not offered for
    netascii (tftp-hpa does the same).
    """

    __slots__ = ("_inner", "_marks", "_scratch")

    def __init__(self, inner: BlockSource) -> None:
        """Translate ``inner`` (raw file bytes)."""
        self._inner = inner
        self._scratch = bytearray()
        self._marks: dict[int, tuple[int, int]] = {0: (0, 0)}

    @property
    def size(self) -> None:
        """Always ``None``: the translated size is unknown."""
        return None

    def _fetch(self, raw_offset: int, count: int) -> int:
        """Read ``count`` raw octets into the scratch buffer; returns how many arrived."""
        if len(self._scratch) < count:
            self._scratch = bytearray(count)
        view = memoryview(self._scratch)
        try:
            return self._inner.read_into(raw_offset, [view[:count]])
        finally:
            view.release()

    def _raw_index(self, lo: int, lo_len: int, hi: int, target: int) -> tuple[int, int]:
        """Where translated length ``target`` falls in the scratch buffer.

        ``lo_len`` is the translated length of the first ``lo`` raw octets.
        Returns (raw index, skip): skip is 1 when the boundary splits the
        two-octet expansion of the raw octet at that index.
        """
        buf = self._scratch

        def length(m: int) -> int:
            return lo_len + (m - lo) + buf.count(b"\r", lo, m) + buf.count(b"\n", lo, m)

        # Each raw octet yields 1 or 2 translated ones: the answer is within
        # [lo + (target - lo_len) // 2, lo + (target - lo_len)].
        a = max(lo, lo + (target - lo_len) // 2)
        b = min(hi, lo + (target - lo_len))
        while a < b:
            mid = (a + b) // 2
            if length(mid) >= target:
                b = mid
            else:
                a = mid + 1
        return (a, 0) if length(a) == target else (a - 1, 1)

    def _locate(self, offset: int) -> tuple[int, int]:
        mark = self._marks.get(offset)
        if mark is not None:
            return mark
        pos = max(k for k in self._marks if k <= offset)
        raw, skip = self._marks[pos]
        while pos < offset:
            step = min(offset - pos, _ADVANCE_CHUNK)
            n = self._fetch(raw, step + skip)
            translated = n + self._scratch.count(b"\r", 0, n) + self._scratch.count(b"\n", 0, n) - skip
            if translated <= step:  # end of file at or before offset
                return raw + n, 0
            index, skip = self._raw_index(0, -skip, n, step)
            raw += index
            pos += step
        return raw, skip

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        """Fill ``buffers`` with translated bytes from translated ``offset``."""
        total = sum(len(b) for b in buffers)
        raw, skip = self._locate(offset)
        n = self._fetch(raw, total + skip)
        text = memoryview(netascii_encode(memoryview(self._scratch)[:n]))[skip:]
        avail = len(text)
        pos = 0
        lo, lo_len = 0, -skip
        for buf in buffers:
            take = min(len(buf), avail - pos)
            if take <= 0:
                break
            buf[:take] = text[pos : pos + take]
            pos += take
            if take == len(buf):
                lo, sk = self._raw_index(lo, lo_len, n, pos)
                self._marks[offset + pos] = (raw + lo, sk)
                lo_len = pos - sk
        for key in [k for k in self._marks if 0 < k < offset]:
            del self._marks[key]
        return pos
