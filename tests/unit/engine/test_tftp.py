"""The sans-I/O TFTP transfer engines, driven with fake time."""

from __future__ import annotations

import errno
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.engine.tftp.paths import PathRefused
from bootwright.engine.tftp.source import InMemorySource, NetasciiSource, netascii_encode
from bootwright.engine.tftp.transfer import (
    DELIVERED,
    Datagram,
    OutcomeKind,
    ReadTransfer,
    TftpSettings,
    error_for_exception,
    max_blksize_for_mtu,
    negotiate,
    refusal,
    unknown_tid_error,
)
from bootwright.engine.tftp.write import InMemorySink, WriteTransfer, netascii_decode
from bootwright.wire.tftp import (
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
from tests.helpers import transfer_receive as receive
from tests.helpers import transfer_start as start
from tests.helpers import transfer_timer as timer


def rrq(mode: TransferMode = TransferMode.OCTET, **options: object) -> Request:
    return Request(Opcode.RRQ, "f", mode, {k: str(v) for k, v in options.items()})


def wrq(mode: TransferMode = TransferMode.OCTET, **options: object) -> Request:
    return Request(Opcode.WRQ, "up/f", mode, {k: str(v) for k, v in options.items()})


def data_blocks(datagrams: Sequence[Datagram]) -> list[tuple[int, bytes]]:
    out = []
    for d in datagrams:
        packet = decode(d)
        assert isinstance(packet, Data), packet
        out.append((packet.block, packet.payload))
    return out


def numbers(datagrams: Sequence[Datagram]) -> list[int]:
    return [b for b, _ in data_blocks(datagrams)]


def payload(n: int) -> bytes:
    return bytes((i * 7 + i // 251) & 0xFF for i in range(n))


# -- read transfers ---------------------------------------------------------------


def test_lockstep_transfer() -> None:
    body = payload(1300)
    x = ReadTransfer(rrq(), InMemorySource(body))
    out = start(x, 10.0)
    assert data_blocks(out) == [(1, body[:512])]
    assert x.next_deadline() == 11.0
    assert data_blocks(receive(x, encode_ack(1), 10.1)) == [(2, body[512:1024])]
    assert x.next_deadline() == pytest.approx(11.1)
    assert data_blocks(receive(x, encode_ack(2), 10.2)) == [(3, body[1024:])]
    assert not x.done
    assert receive(x, encode_ack(3), 10.3) == []
    assert x.done
    assert x.outcome is not None and x.outcome.kind is OutcomeKind.COMPLETE
    assert str(x.outcome) == "complete"
    assert x.next_deadline() is None
    s = x.stats
    assert (s.blocks_sent, s.bytes_sent, s.retransmits, s.file_bytes) == (3, 1300, 0, 1300)
    assert (s.blksize, s.windowsize, s.started, s.finished) == (512, 1, 10.0, 10.3)


def test_datagrams_are_zero_copy_views() -> None:
    x = ReadTransfer(rrq(windowsize=4), InMemorySource(payload(3000)))
    start(x, 0)
    out = receive(x, encode_ack(0), 0)
    assert all(isinstance(d, memoryview) for d in out)
    assert bytes(out[0][:4]) == b"\x00\x03\x00\x01"


def test_oack_then_ack0() -> None:
    body = payload(1300)
    x = ReadTransfer(rrq(blksize=1024, tsize=0), InMemorySource(body))
    out = start(x, 0.0)
    assert out == [b"\x00\x06blksize\x001024\x00tsize\x001300\x00"]
    assert x.next_deadline() == 1.0
    assert receive(x, encode_ack(1), 0.1) == []  # only ACK 0 acknowledges an OACK
    assert x.stats.ignored == 1
    assert data_blocks(receive(x, encode_ack(0), 0.2)) == [(1, body[:1024])]
    assert data_blocks(receive(x, encode_ack(0), 0.3)) == []  # duplicate ACK 0: no burst
    assert data_blocks(receive(x, encode_ack(1), 0.4)) == [(2, body[1024:])]
    receive(x, encode_ack(2), 0.5)
    assert x.done and x.stats.tsize == 1300


def test_oack_retransmitted_by_timer() -> None:
    x = ReadTransfer(rrq(tsize=0), InMemorySource(b"abc"))
    first = start(x, 0.0)
    assert timer(x, 0.5) == []
    assert timer(x, 1.0) == first
    assert x.stats.retransmits == 1


@pytest.mark.parametrize(
    ("options", "size", "oack", "blksize", "windowsize", "timeout"),
    [
        ({}, 10, {}, 512, 1, 1.0),
        ({"blksize": "4"}, 10, {}, 512, 1, 1.0),  # < 8: ignored like tftp-hpa, no error 8
        ({"blksize": "8"}, 10, {"blksize": "8"}, 8, 1, 1.0),
        ({"blksize": "70000"}, 10, {"blksize": "1468"}, 1468, 1, 1.0),  # clamped to the max
        ({"blksize": "x12"}, 10, {}, 512, 1, 1.0),
        ({"blksize": ""}, 10, {}, 512, 1, 1.0),
        ({"blksize": "9" * 50}, 10, {}, 512, 1, 1.0),
        ({"timeout": "0"}, 10, {}, 512, 1, 1.0),
        ({"timeout": "256"}, 10, {}, 512, 1, 1.0),
        ({"timeout": "7"}, 10, {"timeout": "7"}, 512, 1, 7.0),
        ({"windowsize": "0"}, 10, {}, 512, 1, 1.0),
        ({"windowsize": "65536"}, 10, {}, 512, 1, 1.0),
        ({"windowsize": "1"}, 10, {"windowsize": "1"}, 512, 1, 1.0),
        ({"windowsize": "1000"}, 10, {"windowsize": "64"}, 512, 64, 1.0),
        ({"tsize": "0"}, 10, {"tsize": "10"}, 512, 1, 1.0),
        ({"tsize": "0"}, None, {}, 512, 1, 1.0),  # size unknown (netascii): no tsize
        ({"multicast": "", "rollover": "0", "tsize": "0"}, 5, {"tsize": "5"}, 512, 1, 1.0),
        (
            {"windowsize": "8", "tsize": "0", "blksize": "1400"},
            99,
            {"windowsize": "8", "tsize": "99", "blksize": "1400"},  # client's order kept
            1400,
            8,
            1.0,
        ),
    ],
)
def test_negotiation(
    options: dict[str, str],
    size: int | None,
    oack: dict[str, str],
    blksize: int,
    windowsize: int,
    timeout: float,
) -> None:
    cfg = TftpSettings(max_blksize=1468)
    neg = negotiate(Request(Opcode.RRQ, "f", TransferMode.OCTET, options), cfg, size)
    assert dict(neg.oack) == oack
    assert list(neg.oack) == list(oack)
    assert (neg.blksize, neg.windowsize, neg.timeout) == (blksize, windowsize, timeout)


def test_options_disabled() -> None:
    neg = negotiate(rrq(blksize=1024, tsize=0), TftpSettings(allow_options=False), 10)
    assert not neg.oack and neg.blksize == 512


def test_wrq_tsize_is_echoed() -> None:
    neg = negotiate(wrq(tsize=12345), TftpSettings(), None)
    assert dict(neg.oack) == {"tsize": "12345"} and neg.tsize == 12345


def windowed(size: int, window: int, blksize: int = 512) -> tuple[ReadTransfer, bytes]:
    body = payload(size)
    x = ReadTransfer(rrq(windowsize=window, blksize=blksize), InMemorySource(body))
    start(x, 0.0)
    return x, body


def test_windowsize_4_with_lost_block() -> None:
    x, body = windowed(5220, 4)  # 10 full blocks + 100 octets = 11 blocks
    assert numbers(receive(x, encode_ack(0), 0.0)) == [1, 2, 3, 4]
    # Block 2 lost: the client (RFC 7440) acks the last in-order block, 1.
    out = receive(x, encode_ack(1), 0.1)
    assert data_blocks(out) == [(n, body[(n - 1) * 512 : n * 512]) for n in (2, 3, 4, 5)]
    assert numbers(receive(x, encode_ack(5), 0.2)) == [6, 7, 8, 9]
    assert receive(x, encode_ack(5), 0.21) == []  # duplicate: no burst
    last = receive(x, encode_ack(9), 0.3)
    assert data_blocks(last) == [(10, body[4608:5120]), (11, body[5120:])]
    assert receive(x, encode_ack(12), 0.4) == []  # never sent
    receive(x, encode_ack(11), 0.5)
    assert x.done and x.stats.file_bytes == 5220
    assert x.stats.duplicate_acks == 1 and x.stats.ignored == 1


def test_windowsize_16_lost_window_retransmitted_by_timer() -> None:
    x, _ = windowed(100 * 512 + 1, 16)
    first = receive(x, encode_ack(0), 0.0)
    assert numbers(first) == list(range(1, 17))
    sent = [bytes(d) for d in first]
    assert timer(x, 0.99) == []
    again = timer(x, 1.0)  # nothing came back: resend the same window
    assert [bytes(d) for d in again] == sent
    assert x.stats.retransmits == 16
    # A late ACK in the middle slides the window; the retry counter resets.
    assert numbers(receive(x, encode_ack(7), 1.5)) == list(range(8, 24))
    assert x.next_deadline() == pytest.approx(2.5)


def test_duplicate_acks_never_trigger_retransmission() -> None:
    x = ReadTransfer(rrq(), InMemorySource(payload(5000)))
    start(x, 0.0)
    assert numbers(receive(x, encode_ack(1), 0.1)) == [2]
    for t in range(10):
        assert receive(x, encode_ack(1), 0.2 + t / 100) == []  # Sorcerer's Apprentice guard
    assert x.stats.duplicate_acks == 10
    assert x.stats.blocks_sent == 2
    assert numbers(timer(x, 1.1)) == [2]  # only the timer resends


def test_ack_outside_window_ignored() -> None:
    x, _ = windowed(10000, 4)
    receive(x, encode_ack(0), 0.0)  # 1-4 sent
    for block in (5, 9, 100, 65535):
        assert receive(x, encode_ack(block), 0.1) == []
    assert x.stats.ignored == 4
    assert numbers(receive(x, encode_ack(4), 0.2)) == [5, 6, 7, 8]
    assert receive(x, encode_ack(2), 0.3) == []  # stale, from before the window
    assert x.stats.ignored == 5


def test_ack_with_trailing_octets_accepted() -> None:
    x = ReadTransfer(rrq(), InMemorySource(payload(600)))
    start(x, 0.0)
    assert numbers(receive(x, encode_ack(1) + b"\0\0", 0.1)) == [2]


@pytest.mark.parametrize("window", [1, 16])
def test_block_numbers_roll_over_to_zero(window: int) -> None:
    blksize, count = 8, 70_000
    body = payload(blksize * count - 3)
    x = ReadTransfer(rrq(blksize=blksize, windowsize=window), InMemorySource(body))
    start(x, 0.0)
    out = receive(x, encode_ack(0), 0.0)
    got = bytearray()
    seen: list[int] = []
    while out:
        for d in out:
            seen.append((d[2] << 8) | d[3])
            got += d[4:]
        out = receive(x, bytes(out[-1][:4]).replace(b"\x00\x03", b"\x00\x04", 1), 0.0)
    assert x.done and x.outcome is not None and x.outcome.kind is OutcomeKind.COMPLETE
    assert bytes(got) == body
    assert seen[65534:65537] == [65535, 0, 1]
    assert len(seen) == count and seen[-1] == count & 0xFFFF


@pytest.mark.parametrize(("blksize", "size"), [(8, 8 * 300), (8, 8 * 300 + 5), (512, 100_000), (1468, 1_000_000)])
def test_lockstep_fast_path_counts_and_bursts(blksize: int, size: int) -> None:
    """The lock-step fast path (no per-ACK allocation, lazy counters) is exact: every block,
    every counter, the burst of every answer, across read-ahead reloads and the final block."""
    body = payload(size)
    x = ReadTransfer(rrq(blksize=blksize), InMemorySource(body))
    start(x, 0.0)
    out = receive(x, encode_ack(0), 0.0)
    got = bytearray()
    sent = 0
    while out:
        assert len(out) == 1
        assert bytes(x.burst) == bytes(out[0])
        got += out[0][4:]
        sent += 1
        if sent % 97 == 0:  # counters read mid-transfer include everything sent so far
            assert (x.stats.blocks_sent, x.stats.datagrams_sent) == (sent, sent + 1)
            assert x.stats.bytes_sent == len(got)
        out = receive(x, bytes(out[0][:4]).replace(b"\x00\x03", b"\x00\x04", 1), 0.0)
    assert x.done and bytes(got) == body
    s = x.stats
    assert (s.blocks_sent, s.datagrams_sent, s.bytes_sent) == (size // blksize + 1, size // blksize + 2, size)
    assert (s.duplicate_acks, s.ignored, s.retransmits) == (0, 0, 0)


def test_lockstep_fast_path_after_retransmission() -> None:
    """A timer retransmission leaves the fast path until the next ACK resets the interval."""
    body = payload(512 * 10)
    x = ReadTransfer(rrq(), InMemorySource(body), TftpSettings(backoff=2.0))
    start(x, 0.0)
    receive(x, encode_ack(1), 0.1)
    receive(x, encode_ack(2), 0.2)  # block 3 out, deadline 1.2
    again = timer(x, 1.2)
    assert numbers(again) == [3]  # retransmitted, interval doubled
    assert bytes(x.burst) == bytes(again[0])
    assert x.next_deadline() == pytest.approx(3.2)
    assert receive(x, encode_ack(2), 1.3) == []  # duplicate: never resent (RFC 1123 §4.2.3.1)
    assert numbers(receive(x, encode_ack(3), 1.4)) == [4]
    assert x.next_deadline() == pytest.approx(2.4)  # back to the negotiated interval
    assert numbers(receive(x, encode_ack(4), 1.5)) == [5]
    s = x.stats
    assert (s.blocks_sent, s.retransmits, s.duplicate_acks) == (6, 1, 1)


def run_datagrams(x: ReadTransfer) -> tuple[list[bytes], int] | None:
    """What a pump would send for ``x.lockstep_run()``: the datagrams (copied) and the first ACK number."""
    run = x.lockstep_run()
    if run is None:
        return None
    assert run.blocks > 0 and run.offset % run.slot == 0
    views = [bytes(run.buffer[run.offset + i * run.slot : run.offset + (i + 1) * run.slot]) for i in range(run.blocks)]
    return views, run.ack


def ack_for(datagram: bytes | memoryview) -> bytes:
    return b"\x00\x04" + bytes(datagram[2:4])


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([8, 512, 1468]),
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=1467),
    st.lists(st.integers(min_value=0, max_value=60), max_size=40),
    st.booleans(),
)
def test_lockstep_runs_equal_ack_by_ack(blksize: int, blocks: int, extra: int, cuts: list[int], oack: bool) -> None:
    """A transport executing runs (any prefix of each, like a pump interrupted early) and then
    handing the ending ACK to the engine sends exactly the datagrams, in order, that ACK-by-ACK
    receive would, with the same counters and outcome (RFC 1350 §6 lock-step)."""
    body = payload(blocks * blksize + extra % blksize)
    options = {"blksize": blksize} if oack else {}
    ref = ReadTransfer(rrq(**options), InMemorySource(body))
    x = ReadTransfer(rrq(**options), InMemorySource(body))
    expected = [bytes(d) for d in start(ref, 0.0)]
    first = start(x, 0.0)
    sent = [bytes(d) for d in first]
    out = receive(ref, encode_ack(0), 0.0) if oack else receive(ref, ack_for(expected[-1]), 0.0)
    while out:
        expected += [bytes(d) for d in out]
        out = receive(ref, ack_for(out[-1]), 1.0)
    last = receive(x, encode_ack(0), 0.0) if oack else receive(x, ack_for(sent[-1]), 0.0)
    cuts = list(cuts)
    while last:
        sent += [bytes(d) for d in last]
        planned = run_datagrams(x)
        if planned is not None:
            views, ack = planned
            assert ack == int.from_bytes(sent[-1][2:4], "big")  # the run starts at the outstanding block
            take = min(len(views), cuts.pop(0)) if cuts else len(views)
            sent += views[:take]
            x.lockstep_advance(take, 1.0)
        last = receive(x, ack_for(sent[-1]), 1.0)
    assert sent == expected
    assert x.done and x.outcome is not None and x.outcome.kind is OutcomeKind.COMPLETE
    a, b = x.stats, ref.stats
    assert (a.blocks_sent, a.datagrams_sent, a.bytes_sent, a.file_bytes) == (
        b.blocks_sent,
        b.datagrams_sent,
        b.bytes_sent,
        b.file_bytes,
    )


def test_lockstep_run_across_rollover() -> None:
    """Runs carry 16-bit ACK numbers: block 65536 goes out as 0 (RFC 1350 leaves it open; tftp-hpa rolls to 0)."""
    x = ReadTransfer(rrq(blksize=8), InMemorySource(payload(8 * 70_000)))
    start(x, 0.0)
    out = receive(x, encode_ack(0), 0.0)
    while numbers(out)[-1] < 65500:
        out = receive(x, ack_for(out[0]), 0.0)
    seen: list[int] = []
    while len(seen) < 200:
        planned = run_datagrams(x)
        assert planned is not None
        views, ack = planned
        assert ack == numbers(out)[-1]
        seen += numbers(views)
        x.lockstep_advance(len(views), 0.0)
        out = receive(x, ack_for(views[-1]), 0.0)
        seen += numbers(out)
    assert 65535 in seen and seen[seen.index(65535) + 1] == 0


def test_lockstep_run_only_in_plain_lockstep() -> None:
    """No run while the OACK waits for ACK 0, with windows, during retries, for the final block, when done."""
    x = ReadTransfer(rrq(blksize=512), InMemorySource(payload(512 * 10)))
    start(x, 0.0)
    assert x.lockstep_run() is None  # the OACK is outstanding
    receive(x, encode_ack(0), 0.0)
    run = x.lockstep_run()
    assert run is not None and (run.ack, run.blocks) == (1, 9)  # blocks 2..10; the final 11th is the engine's
    assert timer(x, 5.0)  # a retransmission: the engine is in charge until an ACK resets it
    assert x.lockstep_run() is None
    receive(x, encode_ack(1), 5.1)
    run = x.lockstep_run()
    assert run is not None and (run.ack, run.blocks) == (2, 8)
    x.lockstep_advance(8, 5.2)
    assert x.next_deadline() == pytest.approx(5.2 + x.negotiated.timeout)
    assert x.stats.blocks_sent == 11 and x.lockstep_run() is None  # block 10 out, 11 is the final one
    assert numbers(receive(x, encode_ack(10), 5.3)) == [11]
    assert x.lockstep_run() is None
    receive(x, encode_ack(11), 5.4)
    assert x.done and x.lockstep_run() is None
    w = ReadTransfer(rrq(windowsize=4), InMemorySource(payload(512 * 10)))
    start(w, 0.0)
    receive(w, encode_ack(0), 0.0)
    assert w.lockstep_run() is None
    w.lockstep_advance(0, 1.0)  # nothing sent: nothing changes
    assert w.next_deadline() == pytest.approx(w.negotiated.timeout)


def test_timeout_after_retries() -> None:
    x = ReadTransfer(rrq(), InMemorySource(payload(100)), TftpSettings(max_retries=3, backoff=2.0))
    first = bytes(start(x, 0.0)[0])
    deadlines = []
    for _ in range(3):
        deadline = x.next_deadline()
        assert deadline is not None
        deadlines.append(deadline)
        assert [bytes(d) for d in timer(x, deadline)] == [first]
    deadline = x.next_deadline()
    assert deadline is not None
    deadlines.append(deadline)
    assert timer(x, deadline) == []
    assert x.done and x.outcome is not None and str(x.outcome) == "timeout"
    assert deadlines == [1.0, 3.0, 7.0, 15.0]  # 1, 2, 4, 8 s intervals
    assert x.stats.retransmits == 3 and x.stats.timer_expiries == 4


def test_a_lost_final_ack_ends_unconfirmed_not_timeout() -> None:
    # RFC 1350 §6: the client may stop after sending its last ACK, which can be lost; GRUB often
    # starts the kernel before that ACK leaves the card. dnsmasq logs such a transfer as "sent".
    x = ReadTransfer(rrq(), InMemorySource(payload(1000)), TftpSettings(max_retries=2))
    start(x, 0.0)
    assert numbers(receive(x, encode_ack(1), 0.1)) == [2]  # block 2 (488 octets) is the final one
    for _ in range(3):
        deadline = x.next_deadline()
        assert deadline is not None
        timer(x, deadline)
    assert x.done and x.outcome is not None and x.outcome.kind is OutcomeKind.UNCONFIRMED
    assert str(x.outcome) == "unconfirmed: final ACK not received" and x.outcome.kind in DELIVERED
    assert x.stats.file_bytes == 1000


def test_a_window_owed_whole_or_a_silent_client_still_times_out() -> None:
    # Blocks before the final window unacknowledged: a real failure.
    x = ReadTransfer(rrq(), InMemorySource(payload(2000)), TftpSettings(max_retries=1))
    start(x, 0.0)
    receive(x, encode_ack(1), 0.1)
    while not x.done:
        deadline = x.next_deadline()
        assert deadline is not None
        timer(x, deadline)
    assert x.outcome is not None and x.outcome.kind is OutcomeKind.TIMEOUT
    # A one-block file whose client never answered: nothing says it was there at all.
    y = ReadTransfer(rrq(), InMemorySource(payload(100)), TftpSettings(max_retries=1))
    start(y, 0.0)
    while not y.done:
        deadline = y.next_deadline()
        assert deadline is not None
        timer(y, deadline)
    assert y.outcome is not None and y.outcome.kind is OutcomeKind.TIMEOUT
    # With options the OACK's ACK is enough: the client was there when the final window went out.
    w = ReadTransfer(rrq(windowsize=4), InMemorySource(payload(512 * 3 + 10)), TftpSettings(max_retries=1))
    start(w, 0.0)
    assert numbers(receive(w, encode_ack(0), 0.1)) == [1, 2, 3, 4]
    while not w.done:
        deadline = w.next_deadline()
        assert deadline is not None
        timer(w, deadline)
    assert w.outcome is not None and w.outcome.kind is OutcomeKind.UNCONFIRMED


def test_negotiated_timeout_sets_interval() -> None:
    x = ReadTransfer(rrq(timeout=5), InMemorySource(b"x"))
    start(x, 100.0)
    assert x.next_deadline() == 105.0


def test_client_error_ends_transfer() -> None:
    x = ReadTransfer(rrq(), InMemorySource(payload(2000)))
    start(x, 0.0)
    assert receive(x, encode_error(ErrorCode.DISK_FULL, "disk full"), 0.5) == []
    assert x.done and str(x.outcome) == "client error: disk full"
    assert receive(x, encode_ack(1), 0.6) == [] and timer(x, 5.0) == []


def test_client_refuses_oack() -> None:
    x = ReadTransfer(rrq(blksize=1024), InMemorySource(b"x"))
    start(x, 0.0)
    receive(x, encode_error(ErrorCode.OPTION_REFUSED), 0.1)
    assert x.outcome is not None and x.outcome.kind is OutcomeKind.CLIENT_ERROR
    assert x.outcome.message == "code 8"


def test_empty_file() -> None:
    x = ReadTransfer(rrq(windowsize=8), InMemorySource(b""))
    start(x, 0.0)
    assert data_blocks(receive(x, encode_ack(0), 0.0)) == [(1, b"")]
    receive(x, encode_ack(1), 0.1)
    assert x.done and x.stats.file_bytes == 0


@pytest.mark.parametrize("window", [1, 2, 4])
def test_exact_multiple_ends_with_empty_block(window: int) -> None:
    body = payload(1024)
    x = ReadTransfer(rrq(windowsize=window), InMemorySource(body))
    start(x, 0.0)
    out = receive(x, encode_ack(0), 0.0)
    blocks: list[tuple[int, bytes]] = []
    while out:
        blocks += data_blocks(out)
        out = receive(x, encode_ack(blocks[-1][0]), 0.0)
    assert blocks == [(1, body[:512]), (2, body[512:]), (3, b"")]
    assert x.done


def test_small_file_does_not_allocate_a_whole_window() -> None:
    x = ReadTransfer(rrq(windowsize=64, blksize=65464), InMemorySource(b"tiny"))
    assert len(x._buffer) == 65468  # one slot


class FailingSource:
    size = 5000

    def read_into(self, offset: int, buffers: Sequence[memoryview]) -> int:
        if offset:
            raise OSError(errno.EIO, "I/O error")
        buffers[0][:] = b"\0" * len(buffers[0])
        return len(buffers[0])


def test_read_error_sends_error_0() -> None:
    x = ReadTransfer(rrq(), FailingSource())
    start(x, 0.0)
    out = receive(x, encode_ack(1), 0.1)
    assert [decode(d) for d in out] == [ErrorPacket(0, "Read error")]
    assert x.outcome is not None and x.outcome.kind is OutcomeKind.SERVER_ERROR


def test_unexpected_packets_ignored() -> None:
    x = ReadTransfer(rrq(), InMemorySource(payload(600)))
    start(x, 0.0)
    for junk in (b"", b"\x00", b"\x00\x03\x00\x01abc", encode(Oack({})), b"\x00\x01f\x00octet\x00", b"\xff" * 9):
        assert receive(x, junk, 0.1) == []
    assert x.stats.ignored == 6 and not x.done


def test_constructor_refuses_wrq_and_mail() -> None:
    with pytest.raises(ValueError):
        ReadTransfer(wrq(), InMemorySource(b""))
    with pytest.raises(ValueError):
        ReadTransfer(rrq(TransferMode.MAIL), InMemorySource(b""))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=8), st.booleans())
def test_receive_arbitrary_bytes_never_raises(junk: list[bytes], with_options: bool) -> None:
    request = rrq(windowsize=4, tsize=0) if with_options else rrq()
    x = ReadTransfer(request, InMemorySource(payload(5000)))
    start(x, 0.0)
    for i, d in enumerate(junk):
        out = receive(x, d, i / 10)
        assert isinstance(out, list)
        timer(x, i / 10)


# -- netascii -------------------------------------------------------------------------


def test_netascii_transfer() -> None:
    text = b"line1\nline2\r\nbare\rcr\n"
    x = ReadTransfer(rrq(TransferMode.NETASCII, blksize=8, tsize=0), InMemorySource(text))
    out = start(x, 0.0)
    assert out == [b"\x00\x06blksize\x008\x00"]  # no tsize: translated size unknown
    out = receive(x, encode_ack(0), 0.0)
    got = b""
    while out:
        blocks = data_blocks(out)
        got += b"".join(p for _, p in blocks)
        out = receive(x, encode_ack(blocks[-1][0]), 0.0)
    assert got == b"line1\r\nline2\r\0\r\nbare\r\0cr\r\n"
    assert x.done and x.stats.file_bytes == len(got)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"\x01", b"\r").replace(b"\x02", b"\n")),
    st.integers(1, 9),
    st.integers(1, 5),
    st.lists(st.integers(0, 4), max_size=20),
)
def test_netascii_source_matches_whole_file_translation(
    raw: bytes, blksize: int, window: int, rewinds: list[int]
) -> None:
    expected = netascii_encode(raw)
    src = NetasciiSource(InMemorySource(raw))
    assert src.size is None
    pos = 0  # window start, in blocks; moves like the engine's (never backwards)
    for step in [*rewinds, *[window] * (len(expected) // blksize + 2)]:
        bufs = [memoryview(bytearray(blksize)) for _ in range(window)]
        n = src.read_into(pos * blksize, bufs)
        got = b"".join(bytes(b) for b in bufs)[:n]
        assert got == expected[pos * blksize : pos * blksize + window * blksize]
        pos += min(step, window)


def test_netascii_source_random_access_falls_back_to_rescan() -> None:
    raw = b"\r\n" * 5000
    src = NetasciiSource(InMemorySource(raw))
    expected = netascii_encode(raw)
    buf = memoryview(bytearray(7))
    for offset in (13001, 3, 19999, 0, 5):
        n = src.read_into(offset, [buf])
        assert bytes(buf[:n]) == expected[offset : offset + 7]


# -- helpers --------------------------------------------------------------------------


def test_refusal() -> None:
    cfg = TftpSettings()
    assert refusal(rrq(), cfg) is None
    assert refusal(rrq(TransferMode.MAIL), cfg) == ErrorPacket(4, "Mail mode not supported")
    assert refusal(wrq(), cfg) == ErrorPacket(2, "Uploads are disabled")
    up = TftpSettings(writable_dirs=("up",))
    assert refusal(wrq(), up) is None
    assert refusal(wrq(), up, "up/f") is None
    assert refusal(wrq(), up, "boot/f") == ErrorPacket(2, "Access violation")


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (FileNotFoundError(errno.ENOENT, "x"), 1, "File not found"),
        (NotADirectoryError(errno.ENOTDIR, "x"), 1, "File not found"),
        (PermissionError(errno.EACCES, "x"), 2, "Access violation"),
        (PathRefused("symlink escapes"), 2, "Access violation"),
        (PathRefused("remap", "Go away"), 2, "Go away"),
        (FileExistsError(errno.EEXIST, "x"), 6, "File already exists"),
        (OSError(errno.ENOSPC, "full"), 3, "Disk full or allocation exceeded"),
        (OSError(errno.EIO, "io"), 0, "Internal error"),
        (RuntimeError("boom"), 0, "Internal error"),
    ],
)
def test_error_for_exception(exc: BaseException, code: int, message: str) -> None:
    assert error_for_exception(exc) == ErrorPacket(code, message)


def test_unknown_tid_error() -> None:
    assert unknown_tid_error() == b"\x00\x05\x00\x05Unknown transfer ID\x00"


def test_max_blksize_for_mtu() -> None:
    assert max_blksize_for_mtu(1500, ipv6=False) == 1468
    assert max_blksize_for_mtu(1500, ipv6=True) == 1448
    assert max_blksize_for_mtu(9000, ipv6=False) == 8968
    assert max_blksize_for_mtu(576, ipv6=True) == 524
    assert max_blksize_for_mtu(540, ipv6=True) == 512
    assert max_blksize_for_mtu(70000, ipv6=False) == 65464


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_blksize": 7},
        {"max_blksize": 65465},
        {"max_windowsize": 0},
        {"max_windowsize": 40000},
        {"timeout": 0},
        {"backoff": 0.5},
        {"max_retries": -1},
        {"timeout": 10, "max_interval": 5},
    ],
)
def test_settings_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TftpSettings(**kwargs)  # type: ignore[arg-type]


# -- write transfers ------------------------------------------------------------------


def test_upload_lockstep() -> None:
    sink = InMemorySink()
    body = payload(1100)
    x = WriteTransfer(wrq(), sink, TftpSettings(writable_dirs=("up",)))
    assert start(x, 0.0) == [encode_ack(0)]
    assert receive(x, encode(Data(1, body[:512])), 0.1) == [encode_ack(1)]
    assert receive(x, encode(Data(1, body[:512])), 0.2) == [encode_ack(1)]  # duplicate re-acked
    assert receive(x, encode(Data(2, body[512:1024])), 0.3) == [encode_ack(2)]
    assert receive(x, encode(Data(3, body[1024:])), 0.4) == [encode_ack(3)]
    assert x.done and sink.data == body and x.stats.file_bytes == 1100
    assert receive(x, encode(Data(3, body[1024:])), 0.5) == [encode_ack(3)]  # dally
    assert x.next_deadline() is None


def test_upload_with_options_and_window() -> None:
    sink = InMemorySink()
    body = payload(8 * 10 + 3)
    x = WriteTransfer(wrq(blksize=8, windowsize=4, tsize=len(body)), sink)
    assert start(x, 0.0) == [b"\x00\x06blksize\x008\x00windowsize\x004\x00tsize\x0083\x00"]
    blocks = [encode(Data(i + 1, body[i * 8 : i * 8 + 8])) for i in range(11)]
    assert [receive(x, b, 0.0) for b in blocks[:4]] == [[], [], [], [encode_ack(4)]]
    assert receive(x, blocks[5], 0.1) == [encode_ack(4)]  # block 5 lost: ack last in order
    assert receive(x, blocks[6], 0.1) == []  # once per gap
    assert [receive(x, b, 0.2) for b in blocks[4:8]] == [[], [], [], [encode_ack(8)]]
    assert [receive(x, b, 0.3) for b in blocks[8:]] == [[], [], [encode_ack(11)]]
    assert x.done and sink.data == body


def test_upload_netascii() -> None:
    sink = InMemorySink()
    wire = netascii_encode(b"a\nb\rc\r\n")
    x = WriteTransfer(wrq(TransferMode.NETASCII, blksize=8), sink)
    start(x, 0.0)
    for i in range(0, len(wire) + 1, 8):
        receive(x, encode(Data(i // 8 + 1, wire[i : i + 8])), 0.0)
    assert x.done and bytes(sink.data) == b"a\nb\rc\r\n"
    assert netascii_decode(b"x\r", final=False) == (b"x", b"\r")
    assert netascii_decode(b"x\r", final=True) == (b"x\r", b"")


def test_upload_timeout_and_errors() -> None:
    x = WriteTransfer(wrq(), InMemorySink(), TftpSettings(max_retries=1))
    start(x, 0.0)
    assert timer(x, 1.0) == [encode_ack(0)]
    assert timer(x, 2.0) == []
    assert x.done and str(x.outcome) == "timeout"

    class Full:
        def write_at(self, offset: int, data: bytes | memoryview) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    y = WriteTransfer(wrq(), Full())
    start(y, 0.0)
    assert receive(y, encode(Data(1, b"x")), 0.1) == [encode_error(3, "Disk full or allocation exceeded")]
    assert y.outcome is not None and y.outcome.kind is OutcomeKind.SERVER_ERROR

    z = WriteTransfer(wrq(), InMemorySink())
    start(z, 0.0)
    assert receive(z, b"junk", 0.1) == [] and receive(z, encode(Data(1, b"x" * 513)), 0.1) == []
    receive(z, encode_error(0, "bye"), 0.2)
    assert str(z.outcome) == "client error: bye"
    with pytest.raises(ValueError):
        WriteTransfer(rrq(), InMemorySink())
