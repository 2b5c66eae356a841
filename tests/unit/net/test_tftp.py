"""The TFTP service on loopback: real sockets, a small blocking client, every refusal path.

The service listens on ``lo`` only (``[server] interfaces = ["lo"]``); every
datagram stays on 127.0.0.1 / ::1.  Each test ends by waiting for the live
transfer count to return to zero.  Every test runs twice: lock-step blocks
sent by the native pump, and by the pure-Python path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.model import Event
from bootwright.net.tftp.poll import PUMP_ENV
from bootwright.net.tftp.service import TftpService, create_service
from bootwright.runtime import Runtime
from bootwright.wire.tftp import (
    Ack,
    Data,
    ErrorCode,
    ErrorPacket,
    Oack,
    Opcode,
    Request,
    TransferMode,
    decode,
    encode,
    encode_ack,
    encode_error,
)
from tests import helpers

MAC = "52:54:00:12:34:56"
BASE_CONFIG = f"""
[server]
interfaces = ["lo"]
[boot]
default = "linux"
[targets.linux]
kernel = "{{{{ http }}}}/vmlinuz"
initrd = "{{{{ http }}}}/initrd.img"
cmdline = "console=ttyS0"
[[host]]
name = "pc1"
mac = "{MAC}"
"""


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(n: int) -> bytes:
    return bytes((i * 31 + i // 257) & 0xFF for i in range(n))


# -- a small blocking client (run in a thread) ------------------------------------


class Client:
    """One TFTP client socket on loopback."""

    def __init__(self, port: int, family: int = socket.AF_INET, timeout: float = 3.0) -> None:
        self.host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.port = port
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(timeout)
        self.server: Any = None

    def close(self) -> None:
        self.sock.close()

    def send_request(
        self, name: str, options: dict[str, str] | None = None, *, write: bool = False, mode: str = "octet"
    ) -> None:
        op = Opcode.WRQ if write else Opcode.RRQ
        self.sock.sendto(encode(Request(op, name, TransferMode(mode), options or {})), (self.host, self.port))

    def recv(self) -> tuple[Any, Any]:
        raw, peer = self.sock.recvfrom(70000)
        if self.server is None:
            self.server = peer
        return decode(raw), peer

    def get(
        self, name: str, options: dict[str, str] | None = None, mode: str = "octet"
    ) -> tuple[bytes | None, ErrorPacket | None, dict[str, str]]:
        """Fetch ``name``; (data, None, oack) or (None, error, oack)."""
        self.send_request(name, options, mode=mode)
        data, expected, since = bytearray(), 1, 0
        blksize, window, oack = 512, 1, {}
        while True:
            packet, peer = self.recv()
            if peer != self.server:
                continue
            if isinstance(packet, ErrorPacket):
                return None, packet, oack
            if isinstance(packet, Oack):
                oack = dict(packet.options)
                blksize = int(oack.get("blksize", 512))
                window = int(oack.get("windowsize", 1))
                self.sock.sendto(encode_ack(0), self.server)
                continue
            assert isinstance(packet, Data), packet
            if packet.block != expected & 0xFFFF:
                self.sock.sendto(encode_ack((expected - 1) & 0xFFFF), self.server)  # RFC 7440: ACK the last good one
                since = 0
                continue
            data += packet.payload
            expected += 1
            since += 1
            final = len(packet.payload) < blksize
            if final or since >= window:
                self.sock.sendto(encode_ack((expected - 1) & 0xFFFF), self.server)
                since = 0
            if final:
                return bytes(data), None, oack

    def put(self, name: str, payload: bytes, blksize: int = 512) -> ErrorPacket | None:
        """Upload ``payload`` (lock-step); None on success."""
        options = {"blksize": str(blksize)} if blksize != 512 else {}
        self.send_request(name, options, write=True)
        packet, _ = self.recv()
        if isinstance(packet, ErrorPacket):
            return packet
        assert isinstance(packet, Ack | Oack)
        block = 1
        for offset in range(0, len(payload) + 1, blksize):
            chunk = payload[offset : offset + blksize]
            self.sock.sendto(encode(Data(block & 0xFFFF, chunk)), self.server)
            reply, _ = self.recv()
            if isinstance(reply, ErrorPacket):
                return reply
            assert isinstance(reply, Ack) and reply.block == block & 0xFFFF
            block += 1
            if len(chunk) < blksize:
                break
        return None


# -- the service under test ----------------------------------------------------------


def make_runtime(tmp_path: Path, tftp: str = "", extra: str = "") -> tuple[Runtime, list[Event]]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    rt = helpers.make_runtime(tmp_path, f"{BASE_CONFIG}\n[tftp]\nport = {free_port()}\n{tftp}\n{extra}", root=root)
    return rt, helpers.recorded(rt)


@pytest.fixture(autouse=True, params=["native", "python"])
def lockstep_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the native pump, then with the pure-Python path."""
    monkeypatch.setenv(PUMP_ENV, request.param)
    return str(request.param)


@contextlib.asynccontextmanager
async def serving(rt: Runtime) -> AsyncIterator[TftpService]:
    service = TftpService(rt)
    if os.environ.get(PUMP_ENV) == "native":
        assert service.dispatcher.pump is not None, "bootwright.net.tftp._tftp_pump is not built (scripts/setup.sh)"
    else:
        assert service.dispatcher.pump is None
    task = asyncio.create_task(service.run())
    try:
        for _ in range(200):
            if "tftp" in rt.ready or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        yield service
        for _ in range(300):  # the live count must return to zero (uploads dally one timeout)
            if service.live == 0:
                break
            await asyncio.sleep(0.01)
        assert service.live == 0, f"{service.live} transfers still live"
        assert service.admission.running == 0 and not service.admission.by_client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(
    tmp_path: Path, body_fn: Callable[[TftpService, Runtime, list[Event]], Any], tftp: str = "", extra: str = ""
) -> None:
    rt, events = make_runtime(tmp_path, tftp, extra)

    async def main() -> None:
        async with serving(rt) as service:
            await body_fn(service, rt, events)

    asyncio.run(main())


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


# -- reads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "options"),
    [
        (0, {}),
        (511, {}),
        (512, {}),
        (5000, {}),
        (100_000, {"blksize": "1468", "tsize": "0"}),
        (100_000, {"blksize": "1468", "windowsize": "16"}),
        (300_000, {"blksize": "8192", "windowsize": "64"}),
        (20_000, {"blksize": "8", "windowsize": "4"}),
        (70_000, {"windowsize": "3", "timeout": "2"}),
    ],
)
def test_read_is_byte_exact(tmp_path: Path, size: int, options: dict[str, str]) -> None:
    data = body(size)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f.bin").write_bytes(data)
        client = Client(service.port)
        try:
            got, error, oack = await in_thread(client.get, "f.bin", options)
        finally:
            client.close()
        assert error is None and got == data
        if "tsize" in options:
            assert oack["tsize"] == str(size)
        await asyncio.sleep(0.05)
        done = [e for e in events if e.kind == "tftp.done"]
        assert len(done) == 1
        detail = done[0].detail
        assert detail["client"] == "127.0.0.1" and detail["file"] == "f.bin" and detail["size"] == size
        assert detail["blksize"] == int(options.get("blksize", 512))
        assert detail["windowsize"] == int(options.get("windowsize", 1))
        assert detail["outcome"] == "complete" and isinstance(detail["duration"], float)
        assert kinds(events) == ["tftp.start", "tftp.done"]

    run(tmp_path, check)


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_read_over_ipv6(tmp_path: Path) -> None:
    data = body(40_000)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "six").write_bytes(data)
        client = Client(service.port, socket.AF_INET6)
        try:
            got, error, _ = await in_thread(client.get, "six", {"blksize": "1400", "windowsize": "8"})
        finally:
            client.close()
        assert error is None and got == data
        assert events[-1].detail["client"] == "::1"

    run(tmp_path, check)


def test_netascii(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "t.txt").write_bytes(b"a\nb\r\n")
        client = Client(service.port)
        try:
            got, _, _ = await in_thread(client.get, "t.txt", None, "netascii")
        finally:
            client.close()
        assert got == b"a\r\nb\r\0\r\n"

    run(tmp_path, check)


def test_many_clients_at_once(tmp_path: Path) -> None:
    data = body(30_000)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(data)
        clients = [Client(service.port) for _ in range(20)]
        try:
            results = await asyncio.gather(*(in_thread(c.get, "f", {"blksize": "1024"}) for c in clients))
        finally:
            for c in clients:
                c.close()
        assert all(r[0] == data for r in results)
        assert kinds(events).count("tftp.done") == 20

    run(tmp_path, check)


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("missing", ErrorCode.FILE_NOT_FOUND),
        ("../etc/passwd", ErrorCode.ACCESS_VIOLATION),
        ("a/../../etc/passwd", ErrorCode.ACCESS_VIOLATION),
        ("..\\..\\etc\\passwd", ErrorCode.ACCESS_VIOLATION),
        ("/etc/passwd", ErrorCode.FILE_NOT_FOUND),  # means <root>/etc/passwd
        ("dir", ErrorCode.ACCESS_VIOLATION),  # only regular files are served
        ("link-out", ErrorCode.ACCESS_VIOLATION),  # symlink leaving the root
        ("bad\x01name", ErrorCode.ACCESS_VIOLATION),
    ],
)
def test_refused_names(tmp_path: Path, name: str, code: ErrorCode) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "dir").mkdir()
        (rt.root / "link-out").symlink_to("/etc/hostname")
        client = Client(service.port)
        try:
            got, error, _ = await in_thread(client.get, name)
        finally:
            client.close()
        assert got is None and error is not None and error.code == code, error
        assert str(rt.root) not in error.message  # no paths leak
        assert kinds(events) == ["tftp.failed"]
        assert events[0].detail["outcome"].startswith("refused: ")

    run(tmp_path, check)


def test_malformed_request_gets_error_4(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        client = Client(service.port)
        try:
            client.sock.sendto(b"\x00\x01file-without-mode\x00", ("127.0.0.1", service.port))
            packet, _ = await in_thread(client.recv)
            client.sock.sendto(b"\x00\x04\x00\x01", ("127.0.0.1", service.port))  # an ACK on port 69: ignored
            client.sock.sendto(b"\x01", ("127.0.0.1", service.port))  # garbage: ignored
            client.sock.sendto(encode(Request(Opcode.RRQ, "x", TransferMode.MAIL)), ("127.0.0.1", service.port))
            mail, _ = await in_thread(client.recv)
        finally:
            client.close()
        assert isinstance(packet, ErrorPacket) and packet.code == ErrorCode.ILLEGAL_OPERATION
        assert "Malformed request" in packet.message
        assert isinstance(mail, ErrorPacket) and mail.code == ErrorCode.ILLEGAL_OPERATION
        assert service.counters["malformed"] == 2 and service.counters["not_a_request"] == 1

    run(tmp_path, check)


def test_uploads_refused_by_default(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        client = Client(service.port)
        try:
            error = await in_thread(client.put, "up/x", b"data")
        finally:
            client.close()
        assert error is not None and error.code == ErrorCode.ACCESS_VIOLATION
        assert not (rt.root / "up").exists()

    run(tmp_path, check)


def test_upload_into_write_dir(tmp_path: Path) -> None:
    data = body(3000)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "up").mkdir()
        (rt.root / "other").mkdir()
        client = Client(service.port)
        try:
            assert await in_thread(client.put, "up/x.bin", data) is None
            client.server = None
            outside = await in_thread(client.put, "other/x.bin", data)
            client.server = None
            escape = await in_thread(client.put, "up/../other/y", data)
        finally:
            client.close()
        assert (rt.root / "up" / "x.bin").read_bytes() == data
        assert [p.name for p in (rt.root / "up").iterdir()] == ["x.bin"]  # no temporary file left
        assert outside is not None and outside.code == ErrorCode.ACCESS_VIOLATION
        assert escape is not None and escape.code == ErrorCode.ACCESS_VIOLATION
        assert not list((rt.root / "other").iterdir())
        done = [e for e in events if e.kind == "tftp.done"]
        assert done[0].detail["write"] is True and done[0].detail["size"] == 3000

    run(tmp_path, check, tftp='write_dirs = ["up"]\ntimeout = 0.2')


def test_remap_rules(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "pxelinux.0").write_bytes(b"pxe")
        client = Client(service.port)
        try:
            got, _, _ = await in_thread(client.get, "/tftpboot/PXELINUX.0")
            client.server = None
            _, error, _ = await in_thread(client.get, "secret.key")
        finally:
            client.close()
        assert got == b"pxe"
        assert error is not None and error.code == ErrorCode.ACCESS_VIOLATION and error.message == "no keys"

    remap = 'remap = ["r ^/tftpboot/", "ri ^PXELINUX\\\\.0$ pxelinux.0", "a \\\\.key$ no\\\\ keys"]'
    run(tmp_path, check, tftp=remap)


# -- limits ------------------------------------------------------------------------------


def test_per_client_limit(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(body(5000))
        first, second = Client(service.port), Client(service.port)
        try:
            first.send_request("f")
            packet, _ = await in_thread(first.recv)  # DATA 1, not acknowledged yet: the transfer runs
            assert isinstance(packet, Data)
            _, error, _ = await in_thread(second.get, "f")
            assert error is not None and error.code == ErrorCode.NOT_DEFINED
            assert error.message == "Too many transfers from 127.0.0.1 (limit 1)"
            first.sock.sendto(encode_error(ErrorCode.NOT_DEFINED, "bye"), first.server)
        finally:
            first.close()
            second.close()
        await asyncio.sleep(0.05)
        failed = [e for e in events if e.kind == "tftp.failed"]
        assert {e.detail["outcome"] for e in failed} == {
            "refused: Too many transfers from 127.0.0.1 (limit 1)",
            "client error: bye",
        }

    run(tmp_path, check, tftp="per_client = 1")


def test_total_limit(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(body(5000))
        first, second = Client(service.port), Client(service.port)
        try:
            first.send_request("f")
            await in_thread(first.recv)
            _, error, _ = await in_thread(second.get, "f")
            assert error is not None and error.message == "Server busy: 1 transfers running"
            first.sock.sendto(encode_error(0, "bye"), first.server)
        finally:
            first.close()
            second.close()

    run(tmp_path, check, tftp="max_transfers = 1")


def test_rate_limit_pauses(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(b"x")
        messages = []
        for _ in range(3):
            client = Client(service.port)
            try:
                got, error, _ = await in_thread(client.get, "f")
            finally:
                client.close()
            messages.append(error.message if error else got)
        assert messages[0] == b"x"
        assert messages[1] == "More than 1 new transfers per second; paused for 30 s"
        assert isinstance(messages[2], str) and messages[2].startswith("Too many new transfers; paused for")
        assert service.admission.refused == {"rate": 1, "paused": 1}
        assert kinds(events).count("tftp.failed") == 1  # no event per request while paused

    run(tmp_path, check, tftp="rate = 1\nrate_pause = 30")


# -- protocol misbehaviour ------------------------------------------------------------------


def test_stranger_tid_gets_error_5_and_transfer_continues(tmp_path: Path) -> None:
    data = body(3000)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(data)
        client, stranger = Client(service.port), Client(service.port)
        try:
            client.send_request("f")
            first, peer = await in_thread(client.recv)
            assert isinstance(first, Data) and first.block == 1
            stranger.sock.sendto(encode_ack(1), peer)  # same server TID, wrong client port
            reply, _ = await in_thread(stranger.recv)
            assert isinstance(reply, ErrorPacket) and reply.code == ErrorCode.UNKNOWN_TID
            got = bytearray(first.payload)
            packet = first
            while True:
                client.sock.sendto(encode_ack(packet.block), peer)
                if len(packet.payload) < 512:
                    break
                packet, _ = await in_thread(client.recv)
                assert isinstance(packet, Data)
                got += packet.payload
        finally:
            client.close()
            stranger.close()
        assert bytes(got) == data
        assert service.counters["stranger_tid"] == 1
        await asyncio.sleep(0.05)
        assert kinds(events) == ["tftp.start", "tftp.done"]

    run(tmp_path, check)


def test_silent_client_times_out(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(body(2000))
        client = Client(service.port)
        try:
            client.send_request("f")
            copies = [await in_thread(client.recv) for _ in range(3)]  # DATA 1, then two retransmissions
            assert all(isinstance(p, Data) and p.block == 1 for p, _ in copies)
            for _ in range(100):
                if service.live == 0:
                    break
                await asyncio.sleep(0.02)
        finally:
            client.close()
        assert events[-1].kind == "tftp.failed" and events[-1].detail["outcome"] == "timeout"
        assert service.counters["retransmit"] == 2

    run(tmp_path, check, tftp="timeout = 0.1\nretries = 2")


@pytest.mark.parametrize("closes_port", [False, True], ids=["silent", "port-closed"])
def test_a_lost_final_ack_is_reported_done_unconfirmed(tmp_path: Path, closes_port: bool) -> None:
    # GRUB loading an initrd: every block arrives and is acknowledged but the final ACK never
    # reaches us (RFC 1350 §6). dnsmasq logs that as "sent"; it must not read as a failed download.
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "initrd.img").write_bytes(body(1200))
        client = Client(service.port)
        try:
            client.send_request("initrd.img")
            for block in (1, 2, 3):
                packet, _ = await in_thread(client.recv)
                assert isinstance(packet, Data) and packet.block == block
                if block < 3:
                    client.sock.sendto(encode_ack(block), client.server)
            if closes_port:
                client.close()  # the retransmission of block 3 draws ICMP port unreachable
            for _ in range(200):
                if service.live == 0:
                    break
                await asyncio.sleep(0.02)
        finally:
            client.close()
        done = events[-1]
        assert done.kind == "tftp.done" and done.detail["size"] == 1200
        assert done.detail["outcome"].startswith("unconfirmed: final ACK not received")

    run(tmp_path, check, tftp="timeout = 0.1\nretries = 2")


def test_vanished_client_ends_transfer_at_once(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(body(2000))
        client = Client(service.port)
        client.send_request("f")
        await in_thread(client.recv)
        client.close()  # the port is gone: the retransmission draws ICMP port unreachable
        start = time.monotonic()
        for _ in range(200):
            if service.live == 0:
                break
            await asyncio.sleep(0.01)
        assert time.monotonic() - start < 1.5  # not the 5 retries of a timeout
        assert events[-1].detail["outcome"].startswith("client error: client unreachable")

    run(tmp_path, check, tftp="timeout = 0.2")


def test_repeated_request_starts_one_transfer(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(body(100))
        client = Client(service.port)
        try:
            client.send_request("f")
            client.send_request("f")  # a retransmitted RRQ
            got, _, _ = await in_thread(client.get, "f")  # and a third, then the transfer
        finally:
            client.close()
        assert got == body(100)
        assert service.counters["repeated_request"] == 2
        assert kinds(events) == ["tftp.start", "tftp.done"]

    run(tmp_path, check)


def test_ack_flood_and_junk_do_not_break_the_transfer(tmp_path: Path) -> None:
    data = body(4000)

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(data)
        client = Client(service.port)
        try:
            client.send_request("f")
            packet, peer = await in_thread(client.recv)
            for junk in [encode_ack(0)] * 50 + [encode_ack(900), b"", b"\x00\x09", b"\x00\x03\x00\x01zz"]:
                client.sock.sendto(junk, peer)
            got = bytearray(packet.payload)
            block = 1
            client.sock.sendto(encode_ack(1), peer)
            while True:
                packet, _ = await in_thread(client.recv)
                if packet.block != block + 1:
                    continue  # a retransmission
                got += packet.payload
                block += 1
                client.sock.sendto(encode_ack(block), peer)
                if len(packet.payload) < 512:
                    break
        finally:
            client.close()
        assert bytes(got) == data

    run(tmp_path, check)


# -- dynamic files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("boot/52-54-00-12-34-56.ipxe", "kernel http://127.0.0.1/vmlinuz"),
        ("boot.ipxe", "chain --autofree http://127.0.0.1/boot/${netX/mac:hexhyp}.ipxe"),
        ("pxelinux.cfg/01-52-54-00-12-34-56", "KERNEL http://127.0.0.1/vmlinuz"),
        ("grub.cfg-01-52-54-00-12-34-56", "linux (http,127.0.0.1)/vmlinuz console=ttyS0"),
        ("efi/grub.cfg-01-52-54-00-12-34-56", "menuentry"),
        ("menu.ipxe", "#!ipxe"),
    ],
)
def test_dynamic_files(tmp_path: Path, name: str, needle: str) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        client = Client(service.port)
        try:
            got, error, _ = await in_thread(client.get, name, {"tsize": "0"})
        finally:
            client.close()
        assert error is None and got is not None
        assert needle in got.decode(), got.decode()

    run(tmp_path, check, extra='[http]\nscripts = { "/menu.ipxe" = "linux" }')


def test_file_on_disk_wins_over_dynamic(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "boot.ipxe").write_bytes(b"#!ipxe\necho mine\n")
        client = Client(service.port)
        try:
            got, _, _ = await in_thread(client.get, "boot.ipxe")
        finally:
            client.close()
        assert got == b"#!ipxe\necho mine\n"

    run(tmp_path, check)


def test_unknown_mac_config_is_not_found(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        client = Client(service.port)
        try:
            _, error, _ = await in_thread(client.get, "pxelinux.cfg/01-zz-54-00-12-34-56")
        finally:
            client.close()
        assert error is not None and error.code == ErrorCode.FILE_NOT_FOUND

    run(tmp_path, check)


def test_http_and_tftp_serve_the_same_documents(tmp_path: Path) -> None:
    """Both transports ask boot.documents: the same name gives the same bytes, and TFTP events get its MAC."""
    from bootwright.web.service import HttpService

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        http_port = s.getsockname()[1]
    names = [
        "boot.ipxe",
        f"boot/{MAC.replace(':', '-')}.ipxe",
        "menu.ipxe",
        f"menu.ipxe-{MAC}",
        f"pxelinux.cfg/01-{MAC.replace(':', '-')}",
        f"efi/grub.cfg-01-{MAC.replace(':', '-')}",
    ]

    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        http = HttpService(rt)
        task = asyncio.create_task(http.run())
        try:
            await asyncio.wait_for(http.started.wait(), 5)
            for name in names:
                client = Client(service.port)
                try:
                    over_tftp, error, _ = await in_thread(client.get, name)
                finally:
                    client.close()
                assert error is None and over_tftp is not None, name
                reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
                writer.write(f"GET /{name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                head, _, over_http = (await asyncio.wait_for(reader.read(), 5)).partition(b"\r\n\r\n")
                writer.close()
                assert head.startswith(b"HTTP/1.1 200") and over_http == over_tftp, name
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        starts = [e for e in events if e.kind == "tftp.start" and e.detail["file"] == f"menu.ipxe-{MAC}"]
        assert starts and starts[0].mac == MAC and starts[0].host == "pc1"  # from the name: no lease, no neighbour

    extra = f"""
[http]
port = {http_port}
listen = ["127.0.0.1"]
scripts = {{ "/menu.ipxe" = "linux" }}
"""
    rt, events = make_runtime(tmp_path, "", extra)
    own_target = BASE_CONFIG.replace(f'mac = "{MAC}"', f'mac = "{MAC}"\ntarget = "linux"')  # for menu.ipxe-<mac>
    rt.config = parse_config(own_target + f"\n[tftp]\nport = {rt.config.tftp.port}\n" + extra)
    rt.policy = BootPolicy.from_config(rt.config)

    async def main() -> None:
        async with serving(rt) as service:
            await check(service, rt, events)

    asyncio.run(main())


def test_a_broken_template_is_refused_with_its_reason(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        client = Client(service.port)
        try:
            _, error, _ = await in_thread(client.get, "boot/52-54-00-00-00-0b.ipxe")
        finally:
            client.close()
        assert error is not None and error.code == ErrorCode.NOT_DEFINED
        assert error.message.startswith("cannot render broken"), error.message  # not "Internal error"
        failed = [e for e in events if e.kind == "tftp.failed"]
        assert failed and failed[0].detail["outcome"].startswith("refused: cannot render broken")

    extra = '[targets.broken]\nkernel = "{{ vars.missing }}"\n[[host]]\nname = "b"\nmac = "52:54:00:00:00:0b"\n'
    run(tmp_path, check, extra=extra + 'target = "broken"\n')


# -- reload, factory ------------------------------------------------------------------------


def test_hot_reload_applies_new_limits(tmp_path: Path) -> None:
    async def check(service: TftpService, rt: Runtime, events: list[Event]) -> None:
        (rt.root / "f").write_bytes(b"x")
        cfg = parse_config(f"{BASE_CONFIG}\n[tftp]\nport = {service.port}\nremap = ['a ^f$ gone']")
        rt.config, rt.policy = cfg, BootPolicy.from_config(cfg)
        client = Client(service.port)
        try:
            _, error, _ = await in_thread(client.get, "f")
        finally:
            client.close()
        assert error is not None and error.message == "gone"

    run(tmp_path, check)


def test_factory_and_bad_remap(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path, "enabled = false")
    assert create_service(rt) is None
    rt, _ = make_runtime(tmp_path, 'remap = ["x ^a"]')
    with pytest.raises(Exception, match=r"\[tftp\] remap: remap line 1: invalid flag 'x'"):
        create_service(rt)


def test_missing_interface_is_a_clear_error(tmp_path: Path) -> None:
    rt, _ = make_runtime(tmp_path)
    cfg = parse_config(BASE_CONFIG.replace('"lo"', '"bw-nonexistent0"'))
    rt.config, rt.policy = cfg, BootPolicy.from_config(cfg)

    async def main() -> None:
        with pytest.raises(Exception, match="interface 'bw-nonexistent0' does not exist"):
            await TftpService(rt).run()

    asyncio.run(main())
