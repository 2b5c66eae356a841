"""``[http] aliases``: a URL prefix served from a directory (nginx ``alias``, Apache ``Alias``).

Seed 003's dhcpd hands iPXE ``http://192.168.2.14/tftpboot/pxelinux.0`` and
Apache maps ``/tftpboot`` onto the TFTP root; ``aliases = { "/tftpboot/" = "" }``
does the same here. An absolute directory outside the root is a root of its
own: no path climbs out of it and no symlink leads out of it. Requests go over
127.0.0.1 through aiohttp's test server; traversal attempts use a raw socket so
no client library normalises the path first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bootwright.config import ConfigError, parse_config
from bootwright.model import Event
from bootwright.web.paths import Aliases
from tests import helpers
from tests.unit.web.test_server import Neighbours, get, raw, serve_app

PXELINUX = b"\x26\x89" + bytes(range(256)) * 16
SEED003 = Path(__file__).resolve().parents[3] / "examples" / "seed003-home-lab.toml"
KERNEL = b"kernel from the images directory"


class Site:
    """A root with pxelinux.0, an images directory outside it, a stand-in iPXE package, and the aliases."""

    def __init__(self, tmp_path: Path) -> None:
        self.root, self.images, self.pkg = tmp_path / "root", tmp_path / "images", tmp_path / "pkg"
        for directory in (self.root, self.images, self.pkg, self.root / "pxe"):
            directory.mkdir()
        (self.root / "pxelinux.0").write_bytes(PXELINUX)
        (self.root / "pxe" / "menu.c32").write_bytes(b"menu")
        (self.root / "secret-elsewhere").symlink_to("/etc/passwd")
        (self.images / "vmlinuz").write_bytes(KERNEL)
        (self.images / "to-root").symlink_to(self.root / "pxelinux.0")  # inside the root, but out of the alias
        (self.images / "inside").symlink_to(self.images / "vmlinuz")
        (self.pkg / "ipxe.efi").write_bytes(b"MZ packaged")
        text = f"""
[server]
address4 = "192.0.2.1"
[http]
port = 8080
aliases = {{ "/tftpboot/" = "", "/boot/pxe" = "pxe", "/images/" = "{self.images}" }}
[boot]
ipxe_dir = "{self.pkg}"
"""
        self.runtime = helpers.make_runtime(tmp_path, text, root=self.root, state_dir=tmp_path / "state")
        self.runtime.host = Neighbours({})
        self.events: list[Event] = helpers.recorded(self.runtime)

    async def settle(self, kind: str, count: int = 1) -> list[Event]:
        """Events are emitted after the response is written: wait for them."""
        for _ in range(1000):
            if len([e for e in self.events if e.kind == kind]) >= count:
                break
            await asyncio.sleep(0.01)
        return [e for e in self.events if e.kind == kind]


def run(site: Site, body: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    serve_app(site.runtime, site.root, body)


def test_seed003_tftpboot_url_serves_the_root(tmp_path: Path) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.head("/tftpboot/pxelinux.0")
        assert r.status == 200 and r.headers["Content-Length"] == str(len(PXELINUX))
        r = await c.get("/tftpboot/pxelinux.0")
        assert r.status == 200 and await r.read() == PXELINUX
        r = await c.get("/tftpboot/pxelinux.0", headers={"Range": "bytes=0-1"})
        assert r.status == 206 and await r.read() == PXELINUX[:2]
        r = await c.get("/pxelinux.0")  # the root keeps its own URLs
        assert r.status == 200 and await r.read() == PXELINUX
        assert c.port is not None
        status, _, data = await raw(c.port, get("/tftpboot//./pxelinux.0"))
        assert status == 200 and data == PXELINUX
        r = await c.get("/boot/pxe/menu.c32")  # a directory under the root
        assert r.status == 200 and await r.read() == b"menu"
        [done, *_] = await site.settle("http.download_complete")
        assert done.detail["path"] == "/tftpboot/pxelinux.0"  # events name the URL the client asked for

    run(site, body)


def test_the_seed003_example_serves_the_url_its_rule_hands_out(tmp_path: Path) -> None:
    runtime = helpers.make_runtime(tmp_path, SEED003.read_text(), root=tmp_path, state_dir=tmp_path / "state")
    runtime.host = Neighbours({})
    [rule] = [r for r in runtime.config.rule if r.name == "bios-ipxe"]
    assert rule.bootfile == "http://192.168.2.14/tftpboot/pxelinux.0"
    (tmp_path / "pxelinux.0").write_bytes(PXELINUX)  # the example's root, /var/lib/tftpboot

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/tftpboot/pxelinux.0")
        assert r.status == 200 and await r.read() == PXELINUX

    serve_app(runtime, tmp_path, body)


def test_an_absolute_alias_serves_its_directory_and_nothing_around_it(tmp_path: Path) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/images/vmlinuz")
        assert r.status == 200 and await r.read() == KERNEL
        assert (await c.get("/images/inside")).status == 200  # a link inside the directory works
        assert (await c.get("/images/to-root")).status == 403  # a link out of it does not, not even into the root
        assert (await c.get("/vmlinuz")).status == 404  # the directory is not the root
        assert (await c.get("/images/ipxe.efi")).status == 404  # the iPXE package stands in for the root only
        assert (await c.get("/images/")).status == 404  # no listings

    run(site, body)


def test_the_ipxe_package_fallback_follows_an_alias_into_the_root(tmp_path: Path) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        for path in ("/ipxe.efi", "/tftpboot/ipxe.efi"):
            r = await c.get(path)
            assert r.status == 200 and await r.read() == b"MZ packaged"
        assert (await c.get("/boot/pxe/ipxe.efi")).status == 404  # pxe/ipxe.efi is not a built-in name

    run(site, body)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tftpbootx/pxelinux.0", 404),  # whole segments only
        ("/TFTPBOOT/pxelinux.0", 404),
        ("/images/../root/pxelinux.0", 400),
        ("/images/%2e%2e/root/pxelinux.0", 400),
        ("/images/..%2froot%2fpxelinux.0", 400),
        ("/tftpboot/../../etc/passwd", 400),
        ("/tftpboot/secret-elsewhere", 403),
    ],
)
def test_no_way_out_through_an_alias(tmp_path: Path, path: str, status: int) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        assert c.port is not None
        got, _, data = await raw(c.port, get(path))
        assert got == status, data
        assert PXELINUX[:64] not in data and b"root:" not in data

    run(site, body)


def test_longest_prefix_wins() -> None:
    aliases = Aliases.build("/srv/root", {"/a/": "x", "/a/b": "/srv/elsewhere", "/c": ""})
    assert aliases.locate("a/b/file") == ("/srv/elsewhere", "file", True)
    assert aliases.locate("a/bb/file") == ("/srv/root", "x/bb/file", False)
    assert aliases.locate("c/file") == ("/srv/root", "file", False)
    assert aliases.locate("d/file") == ("/srv/root", "d/file", False)
    assert Aliases.build("/srv/root", {}).locate("") == ("/srv/root", "", False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"tftpboot/" = ""', "must start with '/'"),
        ('"/" = "/srv"', "set http.root instead"),
        ('"/a/../b" = ""', "'..' segments"),
        ('"/a" = "../up"', "'..' segments"),
        ('"/a" = "/srv/x/../../etc"', "'..' segments"),
        ('"/a" = "~/boot"', "absolute path"),
        ('"/a" = "x", "/a/" = "y"', "the same URL prefix"),
    ],
)
def test_aliases_that_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"http\.aliases") as info:
        parse_config(f"[http]\naliases = {{ {text} }}\n")
    assert message in str(info.value)


def test_an_alias_must_not_publish_the_state_directory() -> None:
    with pytest.raises(ConfigError, match=r"state_dir: /srv/boot/state is inside http\.aliases"):
        parse_config('state_dir = "/srv/boot/state"\n[http]\naliases = { "/b/" = "/srv/boot" }\n')
