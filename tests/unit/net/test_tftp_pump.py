"""The native lock-step pump (``bootwright.net.tftp._tftp_pump``) on loopback UDP sockets.

Each test connects a "server" socket (a transfer's TID) to a "client"
socket, watches the server socket in an epoll set and lets the pump drain
it, as :class:`~bootwright.net.tftp.poll.Dispatcher` does.  The module is
built by ``scripts/setup.sh`` (``pip install -e .``); its absence fails here.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bootwright.net.tftp._tftp_pump import Pump
from bootwright.wire.tftp import encode_ack, encode_error

SLOT = 12  # DATA header + 8 octets (blksize 8)


@dataclass
class Link:
    """A connected server/client socket pair, the server end in an epoll set."""

    server: socket.socket
    client: socket.socket
    epoll: select.epoll
    pump: Pump

    @property
    def fd(self) -> int:
        return self.server.fileno()

    def poll(self, want: int = 1, timeout: float = 2.0) -> tuple[int, list[int]]:
        """Poll until at least ``want`` events were seen (bounded in time)."""
        seen, ready = 0, []
        deadline = time.monotonic() + timeout
        while seen < want and time.monotonic() < deadline:
            n, fds = self.pump.poll(self.epoll.fileno(), 64)
            seen += n
            ready += fds
            if not n:
                time.sleep(0.001)
        return seen, ready

    def ack(self, block: int) -> None:
        self.client.send(encode_ack(block))

    def receive(self) -> bytes:
        return self.client.recv(2048)


@pytest.fixture
def link() -> Iterator[Link]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client.bind(("127.0.0.1", 0))
    server.connect(client.getsockname())
    client.connect(server.getsockname())
    server.setblocking(False)
    client.settimeout(2)
    epoll = select.epoll()
    epoll.register(server.fileno(), select.EPOLLIN)
    pump = Pump()
    try:
        yield Link(server, client, epoll, pump)
    finally:
        pump.forget(server.fileno())
        epoll.close()
        server.close()
        client.close()


def slots(count: int, first_block: int) -> bytearray:
    """``count`` DATA datagrams (blocks from ``first_block``) back to back, as the engine's buffer holds them."""
    buf = bytearray()
    for i in range(count):
        block = (first_block + i) & 0xFFFF
        buf += b"\x00\x03" + block.to_bytes(2, "big") + bytes([i]) * (SLOT - 4)
    return buf


def test_run_answers_the_expected_acks_then_hands_over(link: Link) -> None:
    buf = slots(4, 5)
    link.pump.arm(link.fd, memoryview(buf), SLOT, SLOT, 3, 5)  # on ACK 5 send block 6 (slot 1) …
    before = time.monotonic()
    for block in (5, 6, 7):
        link.ack(block)
        seen, ready = link.poll()
        assert (seen, ready) == (1, [])  # answered natively
        assert link.receive() == bytes(buf[(block - 4) * SLOT : (block - 3) * SLOT])
    link.ack(8)  # the run is over: this ACK is the engine's
    assert link.poll() == (1, [link.fd])
    assert link.pump.take(link.fd) == encode_ack(8)
    assert link.pump.take(link.fd) is None  # once
    sent, last = link.pump.disarm(link.fd)
    assert sent == 3 and before <= last <= time.monotonic()
    assert link.pump.disarm(link.fd) == (0, pytest.approx(last))  # reported once
    assert link.pump.blocks == 3 and link.pump.send_errors == 0


@pytest.mark.parametrize(
    "datagram",
    [encode_ack(4), encode_ack(9), encode_error(0, "stop"), b"\x00\x04\x00", b"\x00\x03\x00\x05xx", b""],
    ids=["duplicate", "never-sent", "error", "short", "data", "empty"],
)
def test_anything_else_ends_the_run_and_reaches_python(link: Link, datagram: bytes) -> None:
    buf = slots(3, 5)
    link.pump.arm(link.fd, buf, SLOT, SLOT, 2, 5)
    link.client.send(datagram)
    assert link.poll() == (1, [link.fd])
    assert link.pump.take(link.fd) == datagram
    assert link.pump.disarm(link.fd)[0] == 0
    link.ack(5)  # the run ended: an expected ACK now only reaches Python, nothing is sent
    assert link.poll() == (1, [link.fd])
    assert link.pump.take(link.fd) is None  # not read by the pump: still queued on the socket
    assert link.server.recv(16) == encode_ack(5)


def test_block_numbers_roll_over(link: Link) -> None:
    buf = slots(3, 65535)
    link.pump.arm(link.fd, buf, SLOT, SLOT, 2, 65535)  # ACK 65535 → block 0, ACK 0 → block 1
    link.ack(65535)
    link.poll()
    assert link.receive()[:4] == b"\x00\x03\x00\x00"
    link.ack(0)
    link.poll()
    assert link.receive()[:4] == b"\x00\x03\x00\x01"
    assert link.pump.disarm(link.fd)[0] == 2


def test_unreachable_client_is_reported_as_an_error(link: Link) -> None:
    buf = slots(3, 1)
    link.pump.arm(link.fd, buf, SLOT, SLOT, 2, 1)
    link.ack(1)
    link.client.close()  # the DATA the pump sends now draws ICMP port unreachable
    seen, ready = link.poll(want=2)
    assert seen == 2 and ready == [link.fd]  # the ACK answered, then the error
    with pytest.raises(ConnectionRefusedError):
        link.pump.take(link.fd)
    assert link.pump.take(link.fd) is None  # the error is reported once
    assert link.pump.disarm(link.fd)[0] == 1


def test_sockets_without_a_run_are_only_reported(link: Link) -> None:
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        other.bind(("127.0.0.1", 0))
        other.setblocking(False)
        link.epoll.register(other.fileno(), select.EPOLLIN)
        link.client.sendto(b"hello", other.getsockname())
        link.ack(1)  # no run armed on the server socket either
        seen, ready = link.poll(want=2)
        assert seen == 2 and sorted(ready) == sorted([link.fd, other.fileno()])
        assert other.recv(16) == b"hello" and link.server.recv(16) == encode_ack(1)
        assert link.pump.disarm(other.fileno()) == (0, 0.0) and link.pump.take(other.fileno()) is None
        link.epoll.unregister(other.fileno())
    finally:
        other.close()


def test_collect_reports_without_ending_the_run(link: Link) -> None:
    buf = slots(4, 1)
    link.pump.arm(link.fd, buf, SLOT, SLOT, 3, 1)
    link.ack(1)
    link.poll()
    link.receive()
    assert link.pump.collect(link.fd)[0] == 1
    link.ack(2)
    assert link.poll() == (1, [])  # still running
    link.receive()
    assert link.pump.disarm(link.fd)[0] == 1  # only what came after the collect


def test_arm_checks_its_arguments(link: Link) -> None:
    buf = slots(2, 1)
    with pytest.raises(ValueError, match="does not fit"):
        link.pump.arm(link.fd, buf, SLOT, SLOT, 2, 1)
    for bad in [(-1, buf, 0, SLOT, 1, 1), (link.fd, buf, -1, SLOT, 1, 1), (link.fd, buf, 0, 0, 1, 1),
                (link.fd, buf, 0, SLOT, 0, 1), (link.fd, buf, 0, SLOT, 1, 65536)]:  # fmt: skip
        with pytest.raises(ValueError):
            link.pump.arm(*bad)
    with pytest.raises(TypeError):
        link.pump.arm(link.fd, "not a buffer", 0, SLOT, 1, 1)
    with pytest.raises(TypeError):
        link.pump.arm(link.fd, buf)  # type: ignore[call-arg]
    link.pump.arm(link.fd, buf, 0, SLOT, 1, 1)
    with pytest.raises(RuntimeError, match="disarm first"):
        link.pump.arm(link.fd, buf, 0, SLOT, 1, 1)
    with pytest.raises(ValueError):
        link.pump.disarm(-3)


def test_the_buffer_is_held_only_while_a_run_is_armed(link: Link) -> None:
    buf = slots(2, 1)
    link.pump.arm(link.fd, buf, 0, SLOT, 2, 1)
    with pytest.raises(BufferError):
        buf.extend(b"x")  # exported to the pump
    link.pump.forget(link.fd)
    buf.extend(b"x")
    link.pump.arm(link.fd, buf, 0, SLOT, 2, 1)
    link.ack(1)
    link.ack(7)  # ends the run: the pump lets go of the buffer at once
    link.poll(want=2)
    buf.extend(b"y")
    held = bytearray(slots(1, 1))
    other = Pump()
    other.arm(link.fd, held, 0, SLOT, 1, 1)
    del other  # a pump dropped with armed lanes releases them
    held.extend(b"z")
