"""TFTP from an empty root: built-in boot programs come from the iPXE package directory (``boot/programs.py``).

A temporary directory stands in for ``/usr/lib/ipxe``, laid out as Debian's
(``ipxe.efi`` a symlink to a file elsewhere, as ``/usr/lib/ipxe/ipxe.efi`` →
``/boot/ipxe.efi``). The service listens on ``lo``; the client and harness are
``test_tftp.py``'s, run with the native pump and with the pure-Python path.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bootwright.model import Event
from bootwright.net.tftp.service import TftpService
from bootwright.runtime import Runtime
from bootwright.wire.tftp import ErrorCode
from tests import helpers
from tests.unit.net.test_tftp import Client, body, free_port, in_thread, kinds, lockstep_path, serving

__all__ = ["lockstep_path"]  # the autouse fixture: every test runs with both lock-step paths

EFI = b"MZ" + body(70_000)  # several blocks at any blksize
KPXE = body(4_000)


def package(tmp_path: Path) -> Path:
    """A stand-in for /usr/lib/ipxe: ``ipxe.efi`` links outside it, ``undionly.kpxe`` is a plain file."""
    pkg, boot = tmp_path / "pkg", tmp_path / "boot"
    pkg.mkdir()
    boot.mkdir()
    (boot / "ipxe.efi").write_bytes(EFI)
    (pkg / "ipxe.efi").symlink_to(boot / "ipxe.efi")
    (pkg / "undionly.kpxe").write_bytes(KPXE)
    (pkg / "vmlinuz").write_bytes(b"not a boot program")
    (pkg / "snponly.efi").mkdir()  # a name the rule allows, but not a regular file
    return pkg


def serve(tmp_path: Path, check: Callable[[TftpService, Runtime, list[Event]], Any], ipxe_dir: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    text = f'[server]\ninterfaces = ["lo"]\n[tftp]\nport = {free_port()}\n[boot]\nipxe_dir = {ipxe_dir}\n'
    rt = helpers.make_runtime(tmp_path, text, root=root)
    events = helpers.recorded(rt)

    async def main() -> None:
        async with serving(rt) as service:
            await check(service, rt, events)

    asyncio.run(main())


async def fetch(service: TftpService, name: str, options: dict[str, str] | None = None) -> tuple[Any, Any]:
    client = Client(service.port)
    try:
        got, error, _ = await in_thread(client.get, name, options)
    finally:
        client.close()
    return got, error


async def settled(events: list[Event], kind: str, count: int = 1) -> list[Event]:
    """The events of ``kind`` once ``count`` are there: tftp.done follows the last ACK, after the client is done."""
    for _ in range(300):
        if sum(e.kind == kind for e in events) >= count:
            break
        await asyncio.sleep(0.01)
    return [e for e in events if e.kind == kind]


@pytest.mark.parametrize("options", [{}, {"blksize": "1428", "windowsize": "8", "tsize": "0"}])
def test_an_empty_root_serves_ipxe_efi_from_the_package(tmp_path: Path, options: dict[str, str]) -> None:
    pkg = package(tmp_path)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        assert not os.listdir(rt.root)
        got, error = await fetch(service, "ipxe.efi", options)
        assert error is None and got == EFI
        [done] = await settled(events, "tftp.done")
        assert done.detail["file"] == "ipxe.efi" and done.detail["size"] == len(EFI)
        assert done.detail["source"] == f"{pkg}/ipxe.efi"  # which binary booted: the package's
        [start] = [e for e in events if e.kind == "tftp.start"]
        assert start.detail["source"] == f"{pkg}/ipxe.efi"

    serve(tmp_path, check, f'"{pkg}"')


def test_a_file_in_the_root_wins_over_the_package(tmp_path: Path) -> None:
    pkg = package(tmp_path)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "ipxe.efi").write_bytes(b"pinned")
        got, _ = await fetch(service, "ipxe.efi")
        assert got == b"pinned"
        got, _ = await fetch(service, "/undionly.kpxe")  # a leading slash names the same file (engine/tftp/paths)
        assert got == KPXE
        done = await settled(events, "tftp.done", 2)
        assert sorted((e.detail["file"], e.detail["source"]) for e in done) == [
            ("/undionly.kpxe", f"{pkg}/undionly.kpxe"),
            ("ipxe.efi", None),
        ]

    serve(tmp_path, check, f'"{pkg}"')


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("vmlinuz", ErrorCode.FILE_NOT_FOUND),  # in the package directory, but not a boot program
        ("efi/ipxe.efi", ErrorCode.FILE_NOT_FOUND),  # only the bare names
        ("IPXE.EFI", ErrorCode.FILE_NOT_FOUND),
        ("ipxe.lkrn", ErrorCode.FILE_NOT_FOUND),  # a boot program the package lacks
        ("snponly.efi", ErrorCode.ACCESS_VIOLATION),  # only a regular file is served
        ("../pkg/ipxe.efi", ErrorCode.ACCESS_VIOLATION),
        (f"{'../' * 12}usr/lib/ipxe/ipxe.efi", ErrorCode.ACCESS_VIOLATION),
    ],
)
def test_nothing_else_comes_from_the_package(tmp_path: Path, name: str, code: ErrorCode) -> None:
    pkg = package(tmp_path)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        got, error = await fetch(service, name)
        assert got is None and error is not None and error.code == code, error
        assert str(pkg) not in error.message
        assert kinds(events) == ["tftp.failed"]

    serve(tmp_path, check, f'"{pkg}"')


def test_a_disabled_fallback_serves_nothing(tmp_path: Path) -> None:
    package(tmp_path)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        got, error = await fetch(service, "ipxe.efi")
        assert got is None and error is not None and error.code == ErrorCode.FILE_NOT_FOUND

    serve(tmp_path, check, "false")
