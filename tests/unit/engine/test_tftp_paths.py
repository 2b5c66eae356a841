"""TFTP path sandbox, remap rules and the file adaptor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bootwright.engine.tftp.paths import (
    PathRefused,
    RemapSyntaxError,
    apply_remap,
    is_within,
    parse_remap_rules,
    resolve_request_path,
)
from bootwright.net.tftp.files import FileSource, open_in_root

# -- resolve_request_path -----------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("pxelinux.0", "pxelinux.0"),
        ("/pxelinux.0", "pxelinux.0"),
        ("//pxelinux.0", "pxelinux.0"),
        ("/srv/tftp/pxelinux.0", "pxelinux.0"),  # configured root prefix stripped
        ("/srv/tftp//boot/x", "boot/x"),
        ("/srv/tftpx/y", "srv/tftpx/y"),  # not the root prefix: relative to the root
        ("/etc/passwd", "etc/passwd"),  # never the host's file
        ("boot\\grub\\grub.cfg", "boot/grub/grub.cfg"),  # Windows separators
        ("./a/./b", "a/b"),
        ("a//b/", "a/b"),
        ("%2e%2e/x", "%2e%2e/x"),  # no percent decoding in TFTP
        ("...", "..."),
        ("C:\\x", "C:/x"),
        ("caf\xe9", "caf\xe9"),
    ],
)
def test_resolve_accepts(requested: str, expected: str) -> None:
    assert resolve_request_path("/srv/tftp/", requested) == expected


@pytest.mark.parametrize(
    ("requested", "reason"),
    [
        ("", "empty"),
        ("a\0b", "NUL"),
        ("a\nb", "control"),
        ("a\x7f", "control"),
        ("\x1b[31m", "control"),
        ("..", r"'\.\.'"),
        ("../x", r"'\.\.'"),
        ("a/../b", r"'\.\.'"),
        ("..\\x", r"'\.\.'"),
        ("/srv/tftp/../etc/passwd", r"'\.\.'"),
        ("/", "root directory"),
        ("/srv/tftp", "root directory"),
        (".", "root directory"),
        ("a/" * 256, "components"),
        ("x" * 256, "component longer"),
        ("ab/" * 1400, "octets"),
    ],
)
def test_resolve_refuses(requested: str, reason: str) -> None:
    with pytest.raises(PathRefused, match=reason):
        resolve_request_path("/srv/tftp", requested)


def test_root_slash_means_everything_is_relative() -> None:
    assert resolve_request_path("/", "/etc/passwd") == "etc/passwd"


def test_is_within() -> None:
    assert is_within("uploads/a.bin", ["uploads"])
    assert is_within("uploads/x/a.bin", ["/uploads/"])
    assert not is_within("uploads", ["uploads"])  # the directory itself is not a file inside it
    assert not is_within("uploadsx/a", ["uploads"])
    assert is_within("a", [""])
    assert not is_within("a", [])


# -- the traversal gauntlet ---------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A TFTP root with traps; ``secret`` lives next to (outside) the root."""
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "dir").mkdir()
    (root / "pxelinux.0").write_bytes(b"PXE")
    (root / "sub" / "file").write_bytes(b"SUB")
    (tmp_path / "secret").write_bytes(b"SECRET")
    (root / "link_etc").symlink_to("/etc")
    (root / "link_secret").symlink_to(tmp_path / "secret")
    (root / "abs_passwd").symlink_to("/etc/passwd")
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "sub" / "up").symlink_to("../..")
    (root / "sub" / "rel_secret").symlink_to("../../secret")
    (root / "inlink").symlink_to("sub/file")
    (root / "dirlink").symlink_to("sub")
    os.mkfifo(root / "fifo")
    return root


def fetch(root: Path, requested: str, *, allow_symlinks: bool = True) -> bytes:
    relative = resolve_request_path(str(root), requested)
    with open_in_root(root, relative, allow_symlinks=allow_symlinks) as src:
        buf = bytearray(100)
        n = src.read_into(0, [memoryview(buf)])
        return bytes(buf[:n])


TRAVERSALS = [
    "../secret",
    "../../etc/passwd",
    "..\\secret",
    "..\\..\\x",
    "/etc/passwd",
    "/../secret",
    "//../secret",
    "a/../../secret",
    "sub/../../secret",
    "sub/../sub/../../secret",
    "sub//..//..//secret",
    "./../secret",
    "sub\\..\\..\\secret",
    "\\..\\secret",
    "sub/..",
    "..",
    "../",
    "x\0y",
    "../secret\0.txt",
    "%2e%2e/secret",
    "%2e%2e%2fsecret",
    "..%2fsecret",
    "%2E%2E\\secret",
    "....//secret",
    "link_etc/passwd",
    "link_etc",
    "link_secret",
    "abs_passwd",
    "loop1",
    "loop2/x",
    "sub/up/secret",
    "sub/rel_secret",
    "fifo",
    "dir",
    "dirlink",
    "",
    "/",
    ".",
    "sub/deeper/../../../secret",
    "\\\\server\\share\\secret",
    "C:\\Windows\\win.ini",
    "secret\n",
    "/proc/self/environ",
    "/dev/zero",
]


@pytest.mark.parametrize("requested", TRAVERSALS)
def test_traversal_refused(tree: Path, requested: str) -> None:
    assert len(TRAVERSALS) >= 30
    with pytest.raises((PathRefused, OSError)):
        fetch(tree, requested)


def test_root_prefix_then_dotdot_refused(tree: Path) -> None:
    with pytest.raises(PathRefused):
        fetch(tree, f"{tree}/../secret")


@pytest.mark.parametrize(
    ("requested", "content"),
    [
        ("pxelinux.0", b"PXE"),
        ("/pxelinux.0", b"PXE"),
        ("sub\\file", b"SUB"),
        ("./sub//file", b"SUB"),
        ("inlink", b"SUB"),  # symlink inside the root is followed
        ("dirlink/file", b"SUB"),
    ],
)
def test_legit_files_served(tree: Path, requested: str, content: bytes) -> None:
    assert fetch(tree, requested) == content


def test_absolute_root_prefix_served(tree: Path) -> None:
    assert fetch(tree, f"{tree}/pxelinux.0") == b"PXE"


@pytest.mark.parametrize("requested", ["inlink", "dirlink/file", "link_etc/passwd"])
def test_no_symlinks_mode(tree: Path, requested: str) -> None:
    with pytest.raises(PathRefused, match="symlink"):
        fetch(tree, requested, allow_symlinks=False)


def test_missing_is_file_not_found(tree: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fetch(tree, "nope")


def test_open_in_root_rechecks_components(tree: Path) -> None:
    with pytest.raises(PathRefused):
        open_in_root(tree, "sub/../pxelinux.0")


def test_root_itself_may_be_a_symlink(tree: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(tree)
    assert fetch(alias, "sub/file") == b"SUB"


def test_file_source_scatter_reads(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    (tmp_path / "f").write_bytes(data)
    with open_in_root(tmp_path, "f") as src:
        assert src.size == len(data)
        bufs = [memoryview(bytearray(100)) for _ in range(3)]
        assert src.read_into(10, bufs) == 300
        assert b"".join(bytes(b) for b in bufs) == data[10:310]
        # More buffers than IOV_MAX: still one logical read.
        many = [memoryview(bytearray(3)) for _ in range(4000)]
        assert src.read_into(0, many) == len(data)
        assert b"".join(bytes(b) for b in many)[: len(data)] == data
        # Past the end.
        assert src.read_into(len(data) + 5, bufs) == 0
    assert src.fd == -1


def test_file_source_is_a_block_source(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    src: FileSource = open_in_root(tmp_path, "f")
    src.close()
    src.close()  # idempotent


# -- remap rules ----------------------------------------------------------------

RULES = r"""
# Windows clients: backslashes to slashes (tftp-hpa's example)
rg \\ /
# strip a legacy prefix, then stop if it was a kernel
r  ^/tftpboot/
e  ^vmlinuz
ri ^PXELINUX\.CFG/ pxelinux.cfg/    # case-insensitive
r  ^([^/]+)\.menu$ menus/\1.cfg
a  \.\.\.  No\ dots\ here
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("boot\\x\\y", "boot/x/y"),
        ("/tftpboot/vmlinuz", "vmlinuz"),
        ("PxeLinux.Cfg/default", "pxelinux.cfg/default"),
        ("main.menu", "menus/main.cfg"),
        ("sub/main.menu", "sub/main.menu"),
        ("plain", "plain"),
        ("vmlinuz...", "vmlinuz..."),  # 'e' stopped before the abort rule
    ],
)
def test_remap_rules(name: str, expected: str) -> None:
    assert apply_remap(parse_remap_rules(RULES), name) == expected


def test_remap_abort_message() -> None:
    with pytest.raises(PathRefused) as info:
        apply_remap(parse_remap_rules(RULES), "a...b")
    assert info.value.client_message == "No dots here"
    assert "line 9" in info.value.reason


def test_remap_parse_details() -> None:
    rules = parse_remap_rules("  \n# only comment\nr a\\ b c\\#d  # trailing\n")
    assert len(rules) == 1
    assert rules[0].line == 3
    assert rules[0].regex.pattern == "a\\ b"
    assert rules[0].replacement == "c\\#d"
    assert apply_remap(rules, "xa b") == "xc#d"


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("rg a b", "banana", "bbnbnb"),
        ("r a b", "banana", "bbnana"),
        (r"r ^(.)(.)(.) \3\2\1\0", "abcd", "cbaabcd"),
        (r"r (x)?y \1z", "y", "z"),  # unmatched group expands to nothing
        (r"r ^.* \U\0\E!\L\0", "MiX", "MIX!mix"),
        (r"r a \\", "a", "\\"),
        (r"r a \q", "a", "q"),  # unknown escape: backslash dropped
        (r"rg [\\] /", "a\\b\\c", "a/b/c"),  # POSIX bracket: backslash is literal
        (r"rg [[:upper:]] _", "aBcD", "a_c_"),
        (r"rg []x] -", "a]x", "a--"),
        ("r a b\nr b c", "a", "c"),
        ("rs ^a b\nr ^b$ c", "a", "c"),
        ("r ^a b\ne b\nr b c", "a", "b"),
    ],
)
def test_remap_semantics(text: str, name: str, expected: str) -> None:
    assert apply_remap(parse_remap_rules(text), name) == expected


def test_remap_inverse_and_direction_and_family() -> None:
    rules = parse_remap_rules("a~ ^pxe Only\\ pxe\\ files\nrG ^ get-\nrP ^ put-\nr4 $ .v4\nr6 $ .v6\n")
    assert apply_remap(rules, "pxe1") == "get-pxe1.v4"
    assert apply_remap(rules, "pxe1", write=True, ipv6=True) == "put-pxe1.v6"
    with pytest.raises(PathRefused) as info:
        apply_remap(rules, "other")
    assert info.value.client_message == "Only pxe files"


def test_remap_macros() -> None:
    rules = parse_remap_rules(r"r ^ \x/\i/")
    assert apply_remap(rules, "f", client_address="192.0.2.34") == "C0000222/192.0.2.34/f"
    assert apply_remap(rules, "f", client_address="2001:db8::1").startswith("20010DB8")


def test_remap_deadman() -> None:
    with pytest.raises(PathRefused, match="terminate"):
        apply_remap(parse_remap_rules("rg a aa"), "a")
    with pytest.raises(PathRefused, match="terminate"):
        apply_remap(parse_remap_rules("rs x x"), "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("z a b", "invalid flag 'z'"),
        ("r", "regex missing"),
        ("r ( x", "bad regex"),
        ("r [[:nope:]] x", "bad regex"),
        ("r~ a b", "conflict"),
        ("ra a b", "conflict"),
        ("es a", "conflict"),
        ("r a b c", "unexpected text"),
    ],
)
def test_remap_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(RemapSyntaxError, match=message):
        parse_remap_rules("\n" + text)
    with pytest.raises(RemapSyntaxError, match="line 2"):
        parse_remap_rules("\n" + text)
