"""The syslog codec: RFC 5424, RFC 3164 (iPXE's, glibc's and logger's forms) and Linux netconsole lines."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire.syslog import (
    MAX_PRI,
    Facility,
    SdElement,
    Severity,
    SyslogMessage,
    decode,
    decode_rfc5424,
    encode,
)

K, U, D, L4 = Facility.KERN, Facility.USER, Facility.DAEMON, Facility.LOCAL4
INFO, NOTICE, ERR, CRIT = Severity.INFO, Severity.NOTICE, Severity.ERR, Severity.CRIT

# (datagram as its sender puts it on the wire, what it decodes to)
GOLDEN: list[tuple[bytes, SyslogMessage]] = [
    # iPXE src/net/udp/syslog.c syslog_send(): "<%d>%s%s%s%sipxe: %s%s", facility 0, no timestamp.
    (b"<6>ipxe: Could not boot: No such file or directory (http://ipxe.org/2d12608e)",
     SyslogMessage("rfc3164", K, INFO, "Could not boot: No such file or directory (http://ipxe.org/2d12608e)", "ipxe")),
    (b"<6>web1.example.net ipxe: net0: 52:54:00:12:34:56 using virtio-net on 0000:00:03.0 (Ethernet) [open]",
     SyslogMessage("rfc3164", K, INFO, "net0: 52:54:00:12:34:56 using virtio-net on 0000:00:03.0 (Ethernet) [open]",
                   "ipxe", "web1.example.net")),
    (b"<3>web1 ipxe: ", SyslogMessage("rfc3164", K, ERR, "", "ipxe", "web1")),
    # glibc syslog(3) as busybox syslogd -R forwards it: a timestamp, no HOSTNAME.
    (b"<30>Dec  3 08:50:01 udhcpc[112]: lease of 192.0.2.100 obtained, lease time 3600",
     SyslogMessage("rfc3164", D, INFO, "lease of 192.0.2.100 obtained, lease time 3600", "udhcpc", None, "112",
                   timestamp="Dec  3 08:50:01")),
    # util-linux logger --rfc3164 (RFC 3164 §4.1: TIMESTAMP HOSTNAME TAG).
    (b"<13>Dec 13 08:50:01 builder root: hello there",
     SyslogMessage("rfc3164", U, NOTICE, "hello there", "root", "builder", timestamp="Dec 13 08:50:01")),
    # RFC 3164 §5.4 example 1, and a timestamp with a HOSTNAME but no TAG.
    (b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     SyslogMessage("rfc3164", Facility.AUTH, CRIT, "'su root' failed for lonvick on /dev/pts/8", "su", "mymachine",
                   timestamp="Oct 11 22:14:15")),
    (b"<13>Oct 11 22:14:15 mymachine just some words",
     SyslogMessage("rfc3164", U, NOTICE, "just some words", None, "mymachine", timestamp="Oct 11 22:14:15")),
    # rsyslog's RFC 3339 timestamp in the old format; a bare line with only a PRI; a trailing newline.
    (b"<14>2024-05-02T10:20:41.123456+02:00 node7 kernel: [ 1.0] hi\n",
     SyslogMessage("rfc3164", U, INFO, "[ 1.0] hi", "kernel", "node7", timestamp="2024-05-02T10:20:41.123456+02:00")),
    (b"<13>plain words only\r\n", SyslogMessage("rfc3164", U, NOTICE, "plain words only")),
    (b"<0>", SyslogMessage("rfc3164", K, Severity.EMERG, "")),
    (b"<191>x", SyslogMessage("rfc3164", Facility.LOCAL7, Severity.DEBUG, "x")),
    # RFC 5424 §6.5 examples 1, 3 (SD, BOM), and a message with SD and no MSG.
    (b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
     SyslogMessage("rfc5424", Facility.AUTH, CRIT, "'su root' failed for lonvick on /dev/pts/8", "su",
                   "mymachine.example.com", None, "ID47", "2003-10-11T22:14:15.003Z")),
    (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"] \xef\xbb\xbfAn application event log entry...',
     SyslogMessage("rfc5424", L4, NOTICE, "An application event log entry...", "evntslog", "mymachine.example.com",
                   None, "ID47", "2003-10-11T22:14:15.003Z",
                   (SdElement("exampleSDID@32473", (("iut", "3"), ("eventSource", "Application"),
                                                    ("eventID", "1011"))),))),
    (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
     SyslogMessage("rfc5424", L4, NOTICE, "", "evntslog", "mymachine.example.com", None, "ID47",
                   "2003-10-11T22:14:15.003Z",
                   (SdElement("exampleSDID@32473", (("iut", "3"), ("eventSource", "Application"),
                                                    ("eventID", "1011"))),
                    SdElement("examplePriority@32473", (("class", "high"),))))),
    # util-linux logger --rfc5424: time quality SD, no BOM; §6.3.3 escapes; every field NILVALUE.
    (b'<13>1 2026-12-03T08:50:01.123456+00:00 builder root 4711 - [timeQuality tzKnown="1" isSynced="0"] hello',
     SyslogMessage("rfc5424", U, NOTICE, "hello", "root", "builder", "4711", None, "2026-12-03T08:50:01.123456+00:00",
                   (SdElement("timeQuality", (("tzKnown", "1"), ("isSynced", "0"))),))),
    (b'<13>1 - - - - - [x a="q\\"uote\\\\back\\]close\\n"] m',
     SyslogMessage("rfc5424", U, NOTICE, "m", structured=(SdElement("x", (("a", 'q"uote\\back]close\\n'),)),))),
    (b"<13>1 - - - - - -", SyslogMessage("rfc5424", U, NOTICE, "")),
    # netconsole: plain console text (printk.time, and without), extended with a dictionary, with the
    # release prepended ("r"), a fragment (ncfrag), an escaped octet.
    (b"[    5.123456] e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n",
     SyslogMessage("netconsole", K, None, "e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex", "kernel",
                   uptime_us=5_123_456)),
    (b"[12345.000001][    T1] Run /init as init process\n",
     SyslogMessage("netconsole", K, None, "Run /init as init process", "kernel", uptime_us=12_345_000_001)),
    (b"Freeing unused kernel image memory: 2048K\n",
     SyslogMessage("netconsole", K, None, "Freeing unused kernel image memory: 2048K", "kernel")),
    (b"6,416,1758426,-;netconsole: network logging started\n SUBSYSTEM=net\n DEVICE=+net:eth0\n",
     SyslogMessage("netconsole", K, INFO, "netconsole: network logging started", "kernel",
                   fields=(("SUBSYSTEM", "net"), ("DEVICE", "+net:eth0")), sequence=416, uptime_us=1758426)),
    (b"6.4.0,6,444,501151268,-;netconsole: network logging started\n",
     SyslogMessage("netconsole", K, INFO, "netconsole: network logging started", "kernel", sequence=444,
                   uptime_us=501151268)),
    (b"6,416,1758426,-,ncfrag=16/31; the 2nd chunk.",
     SyslogMessage("netconsole", K, INFO, " the 2nd chunk.", "kernel", sequence=416, uptime_us=1758426)),
    (b"3,9,77,c;tab\\x09and \\x5c backslash \\xc3\\xa9\n",
     SyslogMessage("netconsole", K, ERR, "tab\tand \\ backslash é", "kernel", sequence=9, uptime_us=77)),
    (b"14,10,78,-;from userspace via /dev/kmsg\n",
     SyslogMessage("netconsole", U, Severity.INFO, "from userspace via /dev/kmsg", "kernel", sequence=10,
                   uptime_us=78)),
    # Captured on this machine kind: busybox 1.35 syslogd -R forwarding busybox logger; util-linux 2.38.1 logger.
    (b"<12>Dec  3 09:05:36 bbtest: hello from busybox\n",
     SyslogMessage("rfc3164", U, Severity.WARNING, "hello from busybox", "bbtest", timestamp="Dec  3 09:05:36")),
    (b"<13>Dec  3 09:05:36 vm installer: hello",
     SyslogMessage("rfc3164", U, NOTICE, "hello", "installer", "vm", timestamp="Dec  3 09:05:36")),
    (b'<13>1 2026-12-03T09:05:36.980926+00:00 vm installer - - [timeQuality tzKnown="1" isSynced="0"] hello',
     SyslogMessage("rfc5424", U, NOTICE, "hello", "installer", "vm", None, None, "2026-12-03T09:05:36.980926+00:00",
                   (SdElement("timeQuality", (("tzKnown", "1"), ("isSynced", "0"))),))),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "message"), GOLDEN)
def test_golden_decode(raw: bytes, message: SyslogMessage) -> None:
    assert decode(raw) == message


@pytest.mark.parametrize(("raw", "message"), GOLDEN)
def test_golden_round_trip(raw: bytes, message: SyslogMessage) -> None:
    assert decode(encode(message)) == message


def test_encoding_writes_the_forms_senders_write() -> None:
    assert encode(GOLDEN[0][1]) == GOLDEN[0][0]  # iPXE's form
    assert encode(GOLDEN[3][1]) == GOLDEN[3][0]  # glibc's
    assert encode(GOLDEN[11][1]) == GOLDEN[11][0]  # RFC 5424 with the BOM
    assert encode(GOLDEN[17][1]) == GOLDEN[17][0]  # plain netconsole
    assert encode(GOLDEN[20][1]) == GOLDEN[20][0]  # extended netconsole with its dictionary


def test_names_and_pri() -> None:
    assert [s.label for s in Severity] == ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
    assert Facility(0).label == "kern" and Facility(23).label == "local7" and len(Facility) == 24
    assert decode(b"<165>x").pri == 165 and MAX_PRI == 23 * 8 + 7


BAD: list[tuple[bytes, str]] = [
    (b"", "empty"),
    (b"\r\n", "empty"),
    (b"<>x", "malformed PRI"),
    (b"<1234>x", "malformed PRI"),
    (b"<abc>x", "malformed PRI"),
    (b"<192>x", "out of range"),
    (b"<13", "malformed PRI"),
    (b"\x00\x01\x02binary", "control character"),
    (b"\xff\xfe\xfd", "not UTF-8"),
    (b"999,1,2,-;too high\n", "out of range"),
]


@pytest.mark.parametrize(("raw", "why"), BAD)
def test_malformed_datagrams_say_what_is_wrong(raw: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        decode(raw)


BAD_5424: list[tuple[bytes, str]] = [
    (b"<13>2 - - - - - -", "VERSION"),
    (b"<13>1 2003-10-11T22:14:15Z host app", "6 fields"),
    (b"<13>1 yesterday host app - - - m", "TIMESTAMP"),
    (b"<13>1 - h\xc3\xa9 app - - - m", "non-ASCII"),
    (b"<13>1 - host  - - - m", "APP-NAME"),
    (b"<13>1 - " + b"h" * 256 + b" app - - - m", "HOSTNAME"),
    (b"<13>1 - host app - " + b"m" * 33 + b" - m", "MSGID"),
    (b"<13>1 - - - - - x m", "expected '-' or '\\['"),
    (b"<13>1 - - - - - -m", "'-' must be followed"),
    (b"<13>1 - - - - - [] m", "SD-ID"),
    (b'<13>1 - - - - - [id a=b] m', "SD-PARAM"),
    (b'<13>1 - - - - - [id a="b] m', "closing quote"),
    (b'<13>1 - - - - - [id a="b"', "not closed"),
    (b'<13>1 - - - - - [id a="b"]m', "SP or the end"),
]


@pytest.mark.parametrize(("raw", "why"), BAD_5424)
def test_broken_rfc5424_is_named_by_the_strict_reader_and_read_as_rfc3164(raw: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        decode_rfc5424(raw)
    message = decode(raw)  # rsyslog's fallback: an old-style message that happens to begin with "1 "
    assert message.format == "rfc3164" and message.pri == 13


def test_the_strict_reader_reads_valid_rfc5424() -> None:
    for raw, message in GOLDEN:
        if message.format == "rfc5424":
            assert decode_rfc5424(raw) == message


# ---------------------------------------------------------------- fuzz: nothing but DecodeError

PREFIXES = [b"", b"<13>", b"<13>1 ", b"<13>1 - - - - - [", b'<13>1 - - - - - [a b="', b"<6>Dec  3 08:00:00 ", b"6,1,2,-;"]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(PREFIXES), st.binary(max_size=300))
def test_any_datagram_decodes_or_raises_decode_error(prefix: bytes, tail: bytes) -> None:
    try:
        message = decode(prefix + tail)
    except DecodeError:
        return
    assert isinstance(message, SyslogMessage) and 0 <= message.pri <= MAX_PRI
    assert not message.text.endswith(("\r", "\n", "\0"))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_text_decodes_or_raises_decode_error(text: str) -> None:
    for raw in (text.encode("utf-8", "surrogatepass"), b"<13>" + text.encode("utf-8", "surrogatepass")):
        with contextlib.suppress(DecodeError):
            decode(raw)


# ---------------------------------------------------------------- round trips of every form

_ASCII_TOKEN = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20).filter(
    lambda s: s != "-"
)
_SD_NAME = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='= ]"'), min_size=1, max_size=32
)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80).filter(
    lambda s: not s.endswith(("\r", "\n", "\0"))
)
_TIME_5424 = st.sampled_from([None, "2003-10-11T22:14:15.003Z", "1985-04-12T19:20:50.52-04:00", "2026-12-03T08:50:01Z"])
_TIME_3164 = st.sampled_from([None, "Dec  3 08:50:01", "Jan 31 23:59:59", "2024-05-02T10:20:41.123+02:00"])
_FACILITY = st.sampled_from(list(Facility))
_SEVERITY = st.sampled_from(list(Severity))


@st.composite
def rfc5424(draw: st.DrawFn) -> SyslogMessage:
    elements = draw(st.lists(st.builds(SdElement, _SD_NAME, st.lists(st.tuples(_SD_NAME, _TEXT), max_size=3).map(
        tuple)), max_size=3))  # fmt: skip
    token = st.none() | _ASCII_TOKEN
    return SyslogMessage(
        "rfc5424", draw(_FACILITY), draw(_SEVERITY), draw(_TEXT), draw(token), draw(token), draw(token),
        draw(token), draw(_TIME_5424), tuple(elements),
    )  # fmt: skip


_NAME = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,19}", fullmatch=True)


@st.composite
def rfc3164(draw: st.DrawFn) -> SyslogMessage:
    # The TAG is what tells HOSTNAME and message apart in RFC 3164; senders on a boot network always write one.
    return SyslogMessage(
        "rfc3164", draw(_FACILITY), draw(_SEVERITY), draw(_TEXT), draw(_NAME), draw(st.none() | _NAME),
        draw(st.none() | st.from_regex(r"[0-9]{1,7}", fullmatch=True)), timestamp=draw(_TIME_3164),
    )  # fmt: skip


_KERNEL_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).filter(
    lambda s: s.strip() and not s.startswith(("<", "[")) and ";" not in s
)


@st.composite
def netconsole(draw: st.DrawFn) -> SyslogMessage:
    uptime = draw(st.integers(0, 10**12))
    if draw(st.booleans()):  # plain console text
        return SyslogMessage("netconsole", Facility.KERN, None, draw(_KERNEL_TEXT), "kernel", uptime_us=uptime)
    key = st.from_regex(r"[A-Z_]{1,12}", fullmatch=True)
    fields = draw(st.lists(st.tuples(key, _TEXT.filter(lambda s: not s.endswith(" "))), max_size=3))
    return SyslogMessage(
        "netconsole", draw(_FACILITY), draw(_SEVERITY), draw(_TEXT), "kernel", fields=tuple(fields),
        sequence=draw(st.integers(0, 2**63)), uptime_us=uptime,
    )  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(rfc5424() | rfc3164() | netconsole())
def test_decode_reads_back_what_encode_writes(message: SyslogMessage) -> None:
    assert decode(encode(message)) == message


def test_encode_refuses_what_its_form_cannot_carry() -> None:
    with pytest.raises(ValueError):
        encode(SyslogMessage("rfc5424", U, None, "x"))
    with pytest.raises(ValueError):
        encode(SyslogMessage("rfc3164", U, INFO, "x", procid="1"))
    with pytest.raises(ValueError):
        encode(SyslogMessage("netconsole", K, INFO, "x", sequence=1))
