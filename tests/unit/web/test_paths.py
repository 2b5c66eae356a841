"""Request paths: traversal refused on the raw target, symlinks confined to the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bootwright.web.paths import BadPath, NotServed, clean_path, open_in_root


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", ""),
        ("/vmlinuz", "vmlinuz"),
        ("/boot/aa-bb.ipxe?platform=efi&x=/../..", "boot/aa-bb.ipxe"),  # the query is not the path
        ("//etc/passwd", "etc/passwd"),  # absolute-looking paths stay under the root
        ("/a/./b//c", "a/b/c"),
        ("/a%20b", "a b"),
        ("/%2e/x", "x"),
        ("/script.ipxe-52:54:00:12:34:56", "script.ipxe-52:54:00:12:34:56"),
        ("/caf%C3%A9", "café"),
    ],
)
def test_clean_path(target: str, expected: str) -> None:
    assert clean_path(target) == expected


@pytest.mark.parametrize(
    "target",
    [
        "/../etc/passwd",
        "/a/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/etc/passwd",
        "/.%2e/etc/passwd",
        "/a%2f..%2f..%2fetc/passwd",  # encoded slashes never create segments
        "/a%2Fb",
        "/a%5c..%5cb",  # encoded backslash
        "/a\\..\\b",
        "/a%00b",  # NUL
        "/a%0ab",  # control character
        "/%ff",  # not UTF-8
        "/" + "a" * 5000,
    ],
)
def test_clean_path_refuses(target: str) -> None:
    with pytest.raises(BadPath):
        clean_path(target)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "sub").mkdir(parents=True)
    (r / "file").write_bytes(b"data")
    (r / "sub" / "inner").write_bytes(b"inner")
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink("sub/inner", r / "link-inside")
    os.symlink(tmp_path / "secret", r / "link-outside")
    os.symlink("../../secret", r / "sub" / "relative-outside")
    os.symlink(tmp_path, r / "dir-outside")
    os.symlink("loop", r / "loop")
    os.mkfifo(r / "fifo")
    return r


def read(root: Path, rel: str) -> bytes:
    fd, _ = open_in_root(os.path.realpath(root), rel)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_files_and_links_inside_the_root(root: Path) -> None:
    assert read(root, "file") == b"data"
    assert read(root, "sub/inner") == b"inner"
    assert read(root, "link-inside") == b"inner"


@pytest.mark.parametrize("rel", ["link-outside", "sub/relative-outside", "dir-outside/secret"])
def test_links_out_of_the_root_are_refused(root: Path, rel: str) -> None:
    with pytest.raises(NotServed) as info:
        read(root, rel)
    assert info.value.status == 403


def test_directories_are_not_listed(root: Path) -> None:
    with pytest.raises(NotServed) as info:
        read(root, "sub")
    assert info.value.status == 404
    with pytest.raises(NotServed):
        read(root, "")


def test_special_files_are_refused(root: Path) -> None:
    with pytest.raises(NotServed) as info:
        read(root, "fifo")
    assert info.value.status == 403


def test_missing_and_looping(root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read(root, "nothing")
    with pytest.raises(OSError):
        read(root, "loop")
