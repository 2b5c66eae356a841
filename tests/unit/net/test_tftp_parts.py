"""The pieces of the TFTP transport: admission, dispatcher, sockets, uploads, engine extras."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from bootwright.engine.tftp.paths import PathRefused
from bootwright.engine.tftp.source import InMemorySource
from bootwright.engine.tftp.transfer import (
    OutcomeKind,
    ReadTransfer,
    TftpSettings,
    TransferOutcome,
    negotiate,
)
from bootwright.net.tftp import poll as tftp_poll
from bootwright.net.tftp.limits import Admission
from bootwright.net.tftp.poll import Dispatcher
from bootwright.net.tftp.sockets import (
    Arrival,
    gso_batch,
    gso_control,
    listening_socket,
    path_mtu,
    recv_request,
    send_from,
    transfer_sockets,
)
from bootwright.net.tftp.transfer import Transfer
from bootwright.net.tftp.upload import open_upload
from bootwright.wire.tftp import Opcode, Request, TransferMode, decode, encode_ack
from tests.helpers import transfer_receive as receive
from tests.helpers import transfer_start as start

# -- admission ---------------------------------------------------------------------------


def test_admission_limits_in_order() -> None:
    adm = Admission(per_client=2, max_transfers=3, rate=100, rate_pause=2)
    assert adm.check("a", 0.0) is None
    adm.started("a")
    assert adm.check("a", 0.0) is None
    adm.started("a")
    assert adm.check("a", 0.0) == "Too many transfers from a (limit 2)"
    assert adm.check("b", 0.0) is None
    adm.started("b")
    assert adm.check("c", 0.0) == "Server busy: 3 transfers running"
    adm.finished("a")
    assert adm.check("c", 0.0) is None
    assert adm.by_client == {"a": 1, "b": 1}
    adm.finished("a")
    adm.finished("b")
    assert adm.running == 0 and adm.by_client == {}
    assert adm.refused == {"per_client": 1, "total": 1}


def test_admission_rate_and_pause() -> None:
    adm = Admission(per_client=100, max_transfers=100, rate=2, rate_pause=5)
    assert adm.check("a", 10.0) is None  # a full bucket of 2
    assert adm.check("a", 10.0) is None
    assert adm.check("a", 10.1) == "More than 2 new transfers per second; paused for 5 s"
    assert adm.check("a", 14.0) == "Too many new transfers; paused for 1.1 s"
    assert adm.check("a", 15.2) is None  # pause over, bucket refilled
    assert adm.refused == {"rate": 1, "paused": 1}


def test_admission_fractional_rate() -> None:
    adm = Admission(per_client=100, max_transfers=100, rate=0.5, rate_pause=0)
    assert adm.check("a", 0.0) is None
    assert adm.check("a", 1.0) is not None  # half a token
    assert adm.check("a", 3.0) is None


# -- dispatcher -----------------------------------------------------------------------------


def test_dispatcher_routes_and_unwatches() -> None:
    async def main() -> None:
        seen: list[str] = []
        disp = Dispatcher(busy_poll=0.0)
        disp.open()
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a.setblocking(False)

        def on_a() -> None:
            seen.append(a.recv(10).decode())

        disp.watch(a.fileno(), on_a)
        b.send(b"one")
        await asyncio.sleep(0.05)
        disp.unwatch(a.fileno())
        disp.unwatch(a.fileno())  # twice is fine
        b.send(b"two")
        await asyncio.sleep(0.05)
        disp.close()
        a.close()
        b.close()
        assert seen == ["one"]

    asyncio.run(main())


def test_dispatcher_busy_poll_catches_a_quick_reply_and_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tftp_poll, "CALLBACK_BUDGET", 0.1)  # room for the other thread to get the GIL

    async def main() -> None:
        disp = Dispatcher(busy_poll=0.02)
        disp.open()
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a.setblocking(False)
        got: list[bytes] = []

        def later() -> None:
            time.sleep(0.002)
            b.send(b"again")

        def on_a() -> None:
            got.append(a.recv(10))
            if got[-1] == b"first":
                threading.Thread(target=later).start()  # arrives while the dispatcher spins

        disp.watch(a.fileno(), on_a)
        for _ in range(5):  # timing on a loaded machine: a few tries
            b.send(b"first")
            await asyncio.sleep(0.1)
            if disp.spins:
                break
        assert got[:2] == [b"first", b"again"] and disp.spins >= 1
        for _ in range(30):  # nothing comes after each datagram: spins miss, then it stops spinning
            b.send(b"x")
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        assert 1 <= disp.misses < 30
        disp.close()
        a.close()
        b.close()

    asyncio.run(main())


def test_dispatcher_does_not_spin_with_many_sockets_watched() -> None:
    async def main() -> None:
        disp = Dispatcher(busy_poll=0.02)
        disp.open()
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(tftp_poll.SPIN_MAX_WATCHED + 1)]
        got: list[bytes] = []
        for a, _b in pairs:
            a.setblocking(False)
            disp.watch(a.fileno(), lambda a=a: got.append(a.recv(10)))
        for _ in range(5):
            pairs[0][1].send(b"x")
            await asyncio.sleep(0.01)
        assert got == [b"x"] * 5
        assert disp.spins == 0 and disp.misses == 0  # every callback returned at once
        disp.close()
        for a, b in pairs:
            a.close()
            b.close()

    asyncio.run(main())


# -- sockets --------------------------------------------------------------------------------


def test_listening_socket_reports_local_address_and_tid_pair() -> None:
    listener = listening_socket(socket.AF_INET, 0, "lo")
    port = listener.getsockname()[1]
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.settimeout(2)
    try:
        assert recv_request(listener) is None  # nothing queued
        client.sendto(b"\x00\x01f\x00octet\x00", ("127.0.0.2", port))  # a secondary loopback address
        for _ in range(100):
            got = recv_request(listener)
            if got is not None:
                break
            time.sleep(0.01)
        assert got is not None
        data, arrival = got
        assert data.startswith(b"\x00\x01") and arrival.local == "127.0.0.2" and arrival.ifindex > 0
        assert arrival.client_ip == "127.0.0.1"
        send_from(listener, b"\x00\x05\x00\x00x\x00", arrival)
        _reply, peer = client.recvfrom(100)
        assert peer == ("127.0.0.2", port)  # the refusal leaves from the address asked
        conn, stranger = transfer_sockets(arrival)
        try:
            assert conn.getsockname() == stranger.getsockname() and conn.getsockname()[0] == "127.0.0.2"
            assert conn.getpeername() == client.getsockname()
            tid = conn.getsockname()
            client.sendto(encode_ack(1), tid)
            other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            other.bind(("127.0.0.1", 0))
            other.sendto(encode_ack(2), tid)
            conn.settimeout(2)
            stranger.settimeout(2)
            assert conn.recv(10) == encode_ack(1)  # the client reaches the connected socket
            assert stranger.recvfrom(10) == (encode_ack(2), other.getsockname())  # anybody else the other
            other.close()
            assert (path_mtu(conn) or 0) >= 65535  # lo
            control = gso_control(conn, 1472, path_mtu(conn))
            assert control is not None
            assert gso_control(conn, 1472, 1500) is not None  # 1472 + 28 octets of headers fit 1500
            assert gso_control(conn, 1473, 1500) is None
        finally:
            conn.close()
            stranger.close()
    finally:
        listener.close()
        client.close()


def test_gso_batch_bounds() -> None:
    assert gso_batch(516) == 64
    assert gso_batch(1472) == 44
    assert gso_batch(65468) == 1


# -- uploads ----------------------------------------------------------------------------------


def test_upload_is_atomic(tmp_path: Path) -> None:
    (tmp_path / "up").mkdir()
    sink = open_upload(tmp_path, "up/file")
    sink.write_at(0, b"hello ")
    sink.write_at(6, memoryview(b"world"))
    assert not (tmp_path / "up" / "file").exists()  # invisible until complete
    sink.commit()
    assert (tmp_path / "up" / "file").read_bytes() == b"hello world"
    assert os.listdir(tmp_path / "up") == ["file"]
    failed = open_upload(tmp_path, "up/file")
    failed.write_at(0, b"partial")
    failed.abort()
    failed.abort()
    assert (tmp_path / "up" / "file").read_bytes() == b"hello world"
    assert os.listdir(tmp_path / "up") == ["file"]


def test_upload_refuses_symlinked_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "up").symlink_to(tmp_path / "real")
    with pytest.raises(PathRefused):
        open_upload(tmp_path, "up/file")
    with pytest.raises(PathRefused):
        open_upload(tmp_path, "../file")
    with pytest.raises(FileNotFoundError):
        open_upload(tmp_path, "missing/file")


# -- a full send buffer ------------------------------------------------------------------------


class ChokedSocket:
    """A connected UDP socket whose ``send`` reports a full buffer (EAGAIN) while ``choked``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.choked = True
        self.refused = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)

    def send(self, data: bytes | memoryview) -> int:
        if self.choked:
            self.refused += 1
            raise BlockingIOError
        return self.sock.send(data)


@pytest.mark.parametrize("release", [True, False])
def test_full_send_buffer_parks_then_sends_or_closes_cleanly(release: bool) -> None:
    """EAGAIN parks a copy and waits for writability; closing while parked unregisters the writer."""

    async def main() -> None:
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.bind(("127.0.0.1", 0))
        client.settimeout(2)
        real, stranger = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
        real.bind(("127.0.0.1", 0))
        real.connect(client.getsockname())
        real.setblocking(False)
        conn = ChokedSocket(real)
        disp = Dispatcher()
        disp.open()
        closed: list[object] = []
        engine = ReadTransfer(Request(Opcode.RRQ, "f", TransferMode.OCTET, {}), InMemorySource(b"hello"))
        xfer = Transfer(
            engine, conn, stranger, Arrival(client.getsockname(), "127.0.0.1", 1, socket.AF_INET),  # type: ignore[arg-type]
            on_finish=lambda *_: None, on_close=closed.append, counters={}, dispatcher=disp,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        watched = loop._selector.get_map()  # type: ignore[attr-defined]  # the loop's registered descriptors
        fd = real.fileno()
        xfer.start()  # DATA 1 meets a full buffer: parked, the writer registered
        assert conn.refused == 1 and xfer._pending and fd in watched
        if release:
            conn.choked = False
            await asyncio.sleep(0.05)  # the writer callback sends the parked copy
            assert await loop.run_in_executor(None, client.recv, 100) == b"\x00\x03\x00\x01hello"
            assert not xfer._pending and fd not in watched
        xfer.abort(TransferOutcome(OutcomeKind.SERVER_ERROR, "shutdown"))
        assert closed == [xfer] and not xfer._pending and fd not in watched
        disp.close()
        client.close()

    asyncio.run(main())


# -- engine additions: read-ahead, burst, window cap ----------------------------------------


class CountingSource(InMemorySource):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        self.reads += 1
        return super().read_into(offset, buffers)


def _rrq(**options: str) -> Request:
    return Request(Opcode.RRQ, "f", TransferMode.OCTET, options)


def test_lockstep_reads_ahead() -> None:
    data = os.urandom(512 * 200 + 7)
    src = CountingSource(data)
    x = ReadTransfer(_rrq(), src)
    out = start(x, 0.0)
    got = bytearray()
    while out:
        got += bytes(out[0][4:])
        block = (out[0][2] << 8) | out[0][3]
        out = receive(x, encode_ack(block), 0.0)
    assert bytes(got) == data and x.done
    assert src.reads <= 200 // 63 + 2  # one read per buffer of 63+ blocks, not one per block


def test_burst_is_the_window_back_to_back() -> None:
    data = os.urandom(1468 * 40 + 100)
    x = ReadTransfer(_rrq(blksize="1468", windowsize="16"), InMemorySource(data))
    start(x, 0.0)
    out = receive(x, encode_ack(0), 0.0)
    while out:
        assert bytes(x.burst) == b"".join(bytes(d) for d in out)
        assert all(len(d) == x.segment_size for d in out[:-1])
        last = decode(bytes(out[-1]))
        out = receive(x, encode_ack(last.block), 0.0)  # type: ignore[union-attr]
    assert x.done


def test_window_bytes_are_capped() -> None:
    neg = negotiate(_rrq(blksize="65464", windowsize="64"), TftpSettings(max_window_bytes=1 << 20), 10**9)
    assert neg.windowsize == 16 and neg.oack["windowsize"] == "16"
    neg = negotiate(_rrq(blksize="1468", windowsize="64"), TftpSettings(), 10**9)
    assert neg.windowsize == 64
