"""HTTP from an empty root: built-in boot programs come from the iPXE package directory (``boot/programs.py``).

UEFI HTTP boot (arch 16) is pointed at ``{http}/ipxe.efi`` by the built-in
table; with nothing in the root the package's file answers, with ranges and
validators like any file, and the events name it. A temporary directory
stands in for ``/usr/lib/ipxe`` (``ipxe.efi`` a symlink to a file elsewhere, as
Debian's). Requests go over 127.0.0.1 through aiohttp's test server; traversal
attempts use a raw socket so no client library normalises the path first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.model import Event
from tests import helpers
from tests.unit.web.test_server import Neighbours, get, raw, serve_app

EFI = b"MZ" + bytes(range(256)) * 40


class Site:
    """An empty root, a stand-in iPXE package and a runtime serving them, collecting events."""

    def __init__(self, tmp_path: Path, ipxe_dir: str | None = None) -> None:
        self.root = tmp_path / "root"
        self.root.mkdir()
        self.pkg, boot = tmp_path / "pkg", tmp_path / "boot"
        self.pkg.mkdir()
        boot.mkdir()
        (boot / "ipxe.efi").write_bytes(EFI)
        (self.pkg / "ipxe.efi").symlink_to(boot / "ipxe.efi")
        (self.pkg / "undionly.kpxe").write_bytes(b"kpxe")
        (self.pkg / "initrd.img").write_bytes(b"not a boot program")
        setting = ipxe_dir if ipxe_dir is not None else f'"{self.pkg}"'
        text = f'[server]\naddress4 = "192.0.2.1"\n[http]\nport = 8080\n[boot]\nipxe_dir = {setting}\n'
        self.runtime = helpers.make_runtime(tmp_path, text, root=self.root, state_dir=tmp_path / "state")
        self.runtime.host = Neighbours({})
        self.events: list[Event] = helpers.recorded(self.runtime)

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    async def settle(self, kind: str, count: int = 1) -> list[Event]:
        """Events are emitted after the response is written: wait for them."""
        for _ in range(1000):
            if len(self.kinds(kind)) >= count:
                break
            await asyncio.sleep(0.01)
        return self.kinds(kind)


def run(site: Site, body: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    serve_app(site.runtime, site.root, body)


def test_an_empty_root_serves_ipxe_efi_from_the_package(tmp_path: Path) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.head("/ipxe.efi")  # EDK2's HTTP boot asks the size first
        assert r.status == 200 and r.headers["Content-Length"] == str(len(EFI))
        r = await c.get("/ipxe.efi")
        assert r.status == 200 and await r.read() == EFI
        assert r.headers["Content-Type"] == "application/efi" and r.headers["ETag"]
        r = await c.get("/ipxe.efi", headers={"Range": "bytes=0-1"})
        assert r.status == 206 and await r.read() == b"MZ"
        [done] = await site.settle("http.download_complete")
        assert done.detail["path"] == "/ipxe.efi" and done.detail["bytes"] == len(EFI)
        assert done.detail["source"] == f"{site.pkg}/ipxe.efi"  # which binary booted: the package's
        requests = await site.settle("http.request", 3)
        assert [e.detail.get("source") for e in requests] == [f"{site.pkg}/ipxe.efi"] * 3

    run(site, body)


def test_a_file_in_the_root_wins_and_other_requests_carry_no_source(tmp_path: Path) -> None:
    site = Site(tmp_path)
    (site.root / "ipxe.efi").write_bytes(b"pinned")

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/ipxe.efi")
        assert await r.read() == b"pinned"
        r = await c.get("/undionly.kpxe")
        assert await r.read() == b"kpxe"
        done = await site.settle("http.download_complete", 2)
        assert [(e.detail["path"], e.detail.get("source")) for e in done] == [
            ("/ipxe.efi", None),
            ("/undionly.kpxe", f"{site.pkg}/undionly.kpxe"),
        ]
        assert "source" not in (await site.settle("http.request", 2))[0].detail  # no null on every request

    run(site, body)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/initrd.img", 404),  # in the package directory, but not a boot program
        ("/efi/ipxe.efi", 404),  # only the bare names
        ("/IPXE.EFI", 404),
        ("/snponly.efi", 404),  # a boot program the package lacks
        ("/../pkg/ipxe.efi", 400),
        ("/%2e%2e/pkg/ipxe.efi", 400),
        ("/..%2fpkg%2fipxe.efi", 400),
    ],
)
def test_nothing_else_comes_from_the_package(tmp_path: Path, path: str, status: int) -> None:
    site = Site(tmp_path)

    async def body(c: TestClient[Any, Any]) -> None:
        assert c.port is not None
        got, _, data = await raw(c.port, get(path))
        assert got == status, data
        assert EFI[:64] not in data

    run(site, body)


@pytest.mark.parametrize("setting", ["false", '""'])
def test_a_disabled_fallback_serves_nothing(tmp_path: Path, setting: str) -> None:
    site = Site(tmp_path, setting)

    async def body(c: TestClient[Any, Any]) -> None:
        r = await c.get("/ipxe.efi")
        assert r.status == 404

    run(site, body)


def test_a_reload_follows_the_new_directory(tmp_path: Path) -> None:
    site = Site(tmp_path, "false")

    async def body(c: TestClient[Any, Any]) -> None:
        assert (await c.get("/ipxe.efi")).status == 404
        text = f'[server]\naddress4 = "192.0.2.1"\n[http]\nport = 8080\n[boot]\nipxe_dir = "{site.pkg}"\n'
        site.runtime.policy = BootPolicy.from_config(parse_config(text))  # what a hot reload swaps in
        r = await c.get("/ipxe.efi")
        assert r.status == 200 and await r.read() == EFI

    run(site, body)
