"""Conditional and range requests for static files, as pure functions (RFC 9110).

:func:`plan` takes the request's method and headers and the file's size and
modification time, and returns what to send: the status, the byte ranges and
the response headers. Sending is the caller's job (:mod:`bootwright.web.files`).

Implemented:

* validators: a strong ``ETag`` from mtime and size, ``Last-Modified``
  (RFC 9110 §8.8);
* preconditions in the order of RFC 9110 §13.2.2: ``If-Match`` → 412,
  ``If-Unmodified-Since`` → 412, ``If-None-Match`` → 304 (GET/HEAD) or 412,
  ``If-Modified-Since`` → 304, then ``If-Range`` (§13.1.5) deciding whether
  ``Range`` is honoured;
* ``Range: bytes=…`` (RFC 9110 §14.1.2) with first-last, open-ended and suffix
  ranges; one satisfiable range → 206 with ``Content-Range`` (§14.4); several →
  206 ``multipart/byteranges`` (§14.6); none satisfiable → 416 with
  ``Content-Range: bytes */size`` (§15.5.17). Overlapping or adjacent ranges are
  coalesced and more than :data:`MAX_RANGES` ranges make the header ignored
  (§14.3 allows both; it stops "Apache killer" style amplification).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, mktime_tz, parsedate_tz

MAX_RANGES = 64

# RFC 9110 §14.1.2: ranges-specifier = range-unit "=" range-set; range-unit is
# case-insensitive (§14.1); OWS around commas (§5.6.1).
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_ETAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


@dataclass(frozen=True, slots=True)
class FileMeta:
    """What the response depends on: size, mtime (ns) and the content type."""

    size: int
    mtime_ns: int
    content_type: str = "application/octet-stream"

    @property
    def etag(self) -> str:
        """Strong entity tag (RFC 9110 §8.8.3): changes whenever mtime or size does."""
        return f'"{self.mtime_ns:x}-{self.size:x}"'

    @property
    def mtime(self) -> int:
        """Modification time in whole seconds, the resolution of HTTP dates."""
        return self.mtime_ns // 1_000_000_000

    @property
    def last_modified(self) -> str:
        """``Last-Modified`` as an IMF-fixdate (RFC 9110 §5.6.7)."""
        return formatdate(self.mtime, usegmt=True)


@dataclass(frozen=True, slots=True)
class Plan:
    """The response to send for one file request.

    ``ranges`` holds inclusive ``(first, last)`` byte positions; empty means
    the whole file for 200 and no body otherwise. ``multipart`` is set when
    the body is ``multipart/byteranges``.
    """

    status: int
    headers: dict[str, str]
    ranges: tuple[tuple[int, int], ...] = ()
    multipart: bool = False
    parts: tuple[tuple[bytes, int, int], ...] = ()
    trailer: bytes = b""

    @property
    def body_length(self) -> int:
        """Octets of the body (``Content-Length``)."""
        return int(self.headers.get("Content-Length", "0"))


def _http_date(text: str | None) -> int | None:
    """An HTTP-date (RFC 9110 §5.6.7) as epoch seconds; ``None`` if absent or invalid."""
    if not text:
        return None
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    try:
        return int(mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def _etags(text: str) -> list[tuple[bool, str]] | None:
    """Parse an entity-tag list (RFC 9110 §8.8.3); ``None`` for ``*``."""
    if text.strip() == "*":
        return None
    out: list[tuple[bool, str]] = []
    pos = 0
    while pos < len(text):
        match = _ETAG.match(text, pos)
        if match is None:
            break  # malformed rest: keep what parsed
        out.append((match.group(1) is not None, match.group(2)))
        pos = match.end()
    return out


def _strong_match(header: str, etag: str) -> bool:
    """``If-Match``: strong comparison (RFC 9110 §13.1.1, §8.8.3.2)."""
    tags = _etags(header)
    return tags is None or any(not weak and tag == etag for weak, tag in tags)


def _weak_match(header: str, etag: str) -> bool:
    """``If-None-Match``: weak comparison (RFC 9110 §13.1.2)."""
    tags = _etags(header)
    return tags is None or any(tag == etag for _, tag in tags)


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """Satisfiable byte ranges of a ``Range`` header, in request order.

    Returns ``None`` when the header should be ignored (not ``bytes``, bad
    syntax, too many ranges: RFC 9110 §14.2 lets a server ignore it) and an
    empty list when it is valid but nothing is satisfiable (→ 416).
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    items = spec.split(",")
    if len(items) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    valid = 0
    for item in items:
        if not item.strip():
            continue  # RFC 9110 §5.6.1: empty list elements are ignored
        match = _RANGE_SPEC.match(item)
        if match is None:
            return None
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            if last and int(last) < start:
                return None  # §14.1.1: last-pos < first-pos makes the range-spec invalid
            valid += 1
            if start >= size:
                continue  # unsatisfiable (§14.1.1)
            end = min(int(last), size - 1) if last else size - 1
            ranges.append((start, end))
        elif last:
            valid += 1
            suffix = int(last)
            if suffix == 0 or size == 0:
                continue  # a zero-length suffix is unsatisfiable (§14.1.1)
            ranges.append((max(0, size - suffix), size - 1))
        else:
            return None  # "-" alone
    if not valid:
        return None
    return ranges


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent ranges (RFC 9110 §14.3); order kept when none overlap."""
    ordered = sorted(ranges)
    if all(a[1] + 1 < b[0] for a, b in itertools.pairwise(ordered)):
        return ranges
    merged: list[tuple[int, int]] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _if_range_allows(header: str, meta: FileMeta) -> bool:
    """RFC 9110 §13.1.5: honour Range only if the validator still matches (strongly)."""
    text = header.strip()
    if text.startswith('"') or text.startswith("W/"):
        return text == meta.etag  # weak tags never match (§13.1.5)
    date = _http_date(text)
    return date is not None and date == meta.mtime


def plan(method: str, headers: Mapping[str, str], meta: FileMeta, boundary: str = "bw-boundary") -> Plan:
    """Decide status, ranges and headers for GET/HEAD of a file described by ``meta``.

    ``headers`` is any mapping with case-insensitive ``get`` (aiohttp's
    ``CIMultiDictProxy``); ``boundary`` separates multipart parts and must not
    occur in the file (callers pass a random token).
    """
    get = headers.get
    etag = meta.etag
    base = {"ETag": etag, "Last-Modified": meta.last_modified, "Accept-Ranges": "bytes"}

    # RFC 9110 §13.2.2 step 1-2: If-Match, else If-Unmodified-Since.
    if_match = get("If-Match")
    if if_match is not None:
        if not _strong_match(if_match, etag):
            return Plan(412, {**base, "Content-Length": "0"})
    else:
        since = _http_date(get("If-Unmodified-Since"))
        if since is not None and meta.mtime > since:
            return Plan(412, {**base, "Content-Length": "0"})
    # Step 3-4: If-None-Match, else If-Modified-Since (GET/HEAD only).
    if_none = get("If-None-Match")
    if if_none is not None:
        if _weak_match(if_none, etag):
            if method in ("GET", "HEAD"):
                return Plan(304, base)  # §15.4.5: no body, validators kept
            return Plan(412, {**base, "Content-Length": "0"})
    elif method in ("GET", "HEAD"):
        since = _http_date(get("If-Modified-Since"))
        if since is not None and meta.mtime <= since:
            return Plan(304, base)

    full = Plan(200, {**base, "Content-Type": meta.content_type, "Content-Length": str(meta.size)})
    range_header = get("Range")
    if range_header is None or method != "GET":
        return full  # §14.2: Range is only defined for GET
    if_range = get("If-Range")
    if if_range is not None and not _if_range_allows(if_range, meta):
        return full
    ranges = parse_ranges(range_header, meta.size)
    if ranges is None:
        return full
    if not ranges:
        return Plan(416, {**base, "Content-Range": f"bytes */{meta.size}", "Content-Length": "0"})
    ranges = coalesce(ranges)
    if len(ranges) == 1:
        first, last = ranges[0]
        return Plan(
            206,
            {
                **base,
                "Content-Type": meta.content_type,
                "Content-Range": f"bytes {first}-{last}/{meta.size}",
                "Content-Length": str(last - first + 1),
            },
            ranges=((first, last),),
        )
    return _multipart(base, meta, ranges, boundary)


def _multipart(base: dict[str, str], meta: FileMeta, ranges: list[tuple[int, int]], boundary: str) -> Plan:
    """RFC 9110 §14.6 body layout: each part has Content-Type and Content-Range (RFC 2046 §5.1.1)."""
    parts: list[tuple[bytes, int, int]] = []
    length = 0
    for i, (first, last) in enumerate(ranges):
        head = (
            ("\r\n" if i else "")
            + f"--{boundary}\r\nContent-Type: {meta.content_type}\r\n"
            + f"Content-Range: bytes {first}-{last}/{meta.size}\r\n\r\n"
        ).encode("ascii")
        parts.append((head, first, last))
        length += len(head) + last - first + 1
    trailer = f"\r\n--{boundary}--\r\n".encode("ascii")
    length += len(trailer)
    headers = {
        **base,
        "Content-Type": f"multipart/byteranges; boundary={boundary}",
        "Content-Length": str(length),
    }
    return Plan(206, headers, ranges=tuple(ranges), multipart=True, parts=tuple(parts), trailer=trailer)
