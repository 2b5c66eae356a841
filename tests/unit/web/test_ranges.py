"""Conditional and range request planning (RFC 9110 §13, §14), on plain values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bootwright.web.ranges import MAX_RANGES, FileMeta, coalesce, parse_ranges, plan

META = FileMeta(size=1000, mtime_ns=1_700_000_000_123_456_789, content_type="application/efi")
LAST_MODIFIED = META.last_modified  # Tue, 14 Nov 2023 22:13:20 GMT
EARLIER = "Tue, 14 Nov 2023 22:13:19 GMT"
LATER = "Tue, 14 Nov 2023 22:13:21 GMT"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, [(0, 99)]),
        ("bytes=900-", 1000, [(900, 999)]),
        ("bytes=-100", 1000, [(900, 999)]),
        ("bytes=-5000", 1000, [(0, 999)]),  # suffix longer than the file: the whole file
        ("bytes=990-5000", 1000, [(990, 999)]),  # last-pos clamped (§14.1.1)
        ("BYTES = 0-0 , 2-3", 1000, [(0, 0), (2, 3)]),  # unit is case-insensitive, OWS allowed
        ("bytes=0-0,,5-5", 1000, [(0, 0), (5, 5)]),  # empty list elements ignored (§5.6.1)
        ("bytes=1000-", 1000, []),  # first-pos past the end: unsatisfiable → 416
        ("bytes=1000-2000,3000-", 1000, []),
        ("bytes=-0", 1000, []),  # zero-length suffix is unsatisfiable
        ("bytes=0-0", 0, []),  # nothing is satisfiable in an empty file
        ("bytes=5-1", 1000, None),  # last < first: invalid → ignore the header
        ("bytes=abc", 1000, None),
        ("bytes=-", 1000, None),
        ("items=0-1", 1000, None),  # unknown unit
        ("bytes 0-1", 1000, None),
        ("bytes=", 1000, None),
        ("bytes=" + ",".join(["0-0"] * (MAX_RANGES + 1)), 1000, None),  # too many: ignored (§14.3)
    ],
)
def test_parse_ranges(header: str, size: int, expected: list[tuple[int, int]] | None) -> None:
    assert parse_ranges(header, size) == expected


def test_coalesce_merges_overlapping_and_adjacent_and_keeps_order_otherwise() -> None:
    assert coalesce([(500, 599), (0, 9)]) == [(500, 599), (0, 9)]
    assert coalesce([(0, 10), (5, 20), (21, 30), (100, 110)]) == [(0, 30), (100, 110)]
    assert coalesce([(0, 999)] * 3) == [(0, 999)]


@given(st.integers(0, 5000), st.lists(st.tuples(st.integers(0, 6000), st.integers(0, 6000)), min_size=1, max_size=8))
def test_planned_ranges_stay_inside_the_file(size: int, specs: list[tuple[int, int]]) -> None:
    header = "bytes=" + ",".join(f"{min(a, b)}-{max(a, b)}" for a, b in specs)
    got = parse_ranges(header, size)
    assert got is not None
    for first, last in coalesce(got):
        assert 0 <= first <= last < size


def h(**headers: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}


def test_full_response_has_validators_and_length() -> None:
    p = plan("GET", {}, META)
    assert p.status == 200 and not p.ranges
    assert p.headers["Content-Length"] == "1000"
    assert p.headers["ETag"] == f'"{META.mtime_ns:x}-3e8"'
    assert p.headers["Last-Modified"] == LAST_MODIFIED
    assert p.headers["Accept-Ranges"] == "bytes"
    assert p.headers["Content-Type"] == "application/efi"


def test_head_ignores_range_but_keeps_length() -> None:
    p = plan("HEAD", h(Range="bytes=0-9"), META)
    assert p.status == 200 and p.headers["Content-Length"] == "1000"


def test_single_range() -> None:
    p = plan("GET", h(Range="bytes=10-19"), META)
    assert (p.status, p.ranges, p.multipart) == (206, ((10, 19),), False)
    assert p.headers["Content-Range"] == "bytes 10-19/1000"
    assert p.headers["Content-Length"] == "10"


def test_unsatisfiable_range_is_416_with_star_content_range() -> None:
    p = plan("GET", h(Range="bytes=5000-"), META)
    assert p.status == 416
    assert p.headers["Content-Range"] == "bytes */1000"
    assert p.headers["Content-Length"] == "0"


def test_multipart_byteranges_length_matches_body() -> None:
    p = plan("GET", h(Range="bytes=0-9,500-509"), META, boundary="B")
    assert p.status == 206 and p.multipart
    assert p.headers["Content-Type"] == "multipart/byteranges; boundary=B"
    body = b"".join(head + b"x" * (last - first + 1) for head, first, last in p.parts) + p.trailer
    assert len(body) == int(p.headers["Content-Length"])
    assert body.startswith(b"--B\r\nContent-Type: application/efi\r\nContent-Range: bytes 0-9/1000\r\n\r\n")
    assert b"\r\n--B\r\nContent-Type: application/efi\r\nContent-Range: bytes 500-509/1000\r\n\r\n" in body
    assert body.endswith(b"\r\n--B--\r\n")


def test_overlapping_multi_range_collapses_to_single_206() -> None:
    p = plan("GET", h(Range="bytes=0-99,50-149"), META)
    assert p.status == 206 and not p.multipart and p.headers["Content-Range"] == "bytes 0-149/1000"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (h(If_None_Match=META.etag), 304),
        (h(If_None_Match=f'"other", W/{META.etag}'), 304),  # weak comparison (§13.1.2)
        (h(If_None_Match="*"), 304),
        (h(If_None_Match='"other"'), 200),
        (h(If_Modified_Since=LAST_MODIFIED), 304),
        (h(If_Modified_Since=LATER), 304),
        (h(If_Modified_Since=EARLIER), 200),
        (h(If_Modified_Since="not a date"), 200),  # invalid dates are ignored (§13.1.3)
        # If-None-Match takes precedence over If-Modified-Since (§13.2.2 step 4).
        (h(If_None_Match='"other"', If_Modified_Since=LATER), 200),
        (h(If_Match=META.etag), 200),
        (h(If_Match=f"W/{META.etag}"), 412),  # If-Match uses strong comparison
        (h(If_Match='"other"'), 412),
        (h(If_Match="*"), 200),
        (h(If_Unmodified_Since=EARLIER), 412),
        (h(If_Unmodified_Since=LAST_MODIFIED), 200),
        (h(If_Match=META.etag, If_Unmodified_Since=EARLIER), 200),  # If-Match wins (step 1 vs 2)
    ],
)
def test_preconditions(headers: dict[str, str], status: int) -> None:
    assert plan("GET", headers, META).status == status


def test_304_keeps_validators_and_has_no_length() -> None:
    p = plan("GET", h(If_None_Match=META.etag), META)
    assert p.status == 304 and "Content-Length" not in p.headers and p.headers["ETag"] == META.etag


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        (META.etag, 206),
        ('"stale"', 200),
        (f"W/{META.etag}", 200),  # weak validators never match If-Range (§13.1.5)
        (LAST_MODIFIED, 206),
        (EARLIER, 200),
    ],
)
def test_if_range(if_range: str, status: int) -> None:
    assert plan("GET", h(Range="bytes=0-0", If_Range=if_range), META).status == status
