"""Syslog message codec: RFC 5424, RFC 3164 and Linux netconsole lines (pure, stdlib only).

:func:`decode` turns one UDP payload into a :class:`SyslogMessage` or raises
:class:`~bootwright.wire.DecodeError` naming what is wrong; :func:`encode` is
its inverse for the records it returns (``decode(encode(m)) == m``).

Rule: which of the forms below a datagram is, and what each part of it
means, is decided here only; the service (``net/syslog.py``) moves datagrams.

The forms, tried in this order:

* **RFC 5424** (§6): ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]``,
  ``-`` for a field left out (NILVALUE), structured data ``[id name="value" …]``
  with the §6.3.3 escapes (``\\"``, ``\\\\``, ``\\]``), a MSG with or without
  the UTF-8 BOM (§6.4). util-linux ``logger --rfc5424`` sends it.
* **RFC 3164** (§4.1): ``<PRI>`` then an optional timestamp
  (``Mmm dd hh:mm:ss``, or the RFC 3339 one rsyslog writes), an optional
  HOSTNAME, an optional TAG (``tag:`` or ``tag[pid]:``) and the message. The
  senders on a boot network leave parts out: iPXE sends
  ``<PRI>[hostname[.domain] ]ipxe: message`` (``src/net/udp/syslog.c``
  ``syslog_send``: no timestamp; facility 0, severity 6 unless the line says
  otherwise), glibc's ``syslog(3)`` as busybox ``syslogd -R`` forwards it
  ``<PRI>Mmm dd hh:mm:ss tag[pid]: message`` (no HOSTNAME). A token followed
  by ``:`` (or ``[pid]:``) is the TAG; a token before it is the HOSTNAME.
* **netconsole** (Linux ``Documentation/networking/netconsole.rst``): no PRI
  at all (RFC 3164 §4.3.3 lets a receiver supply one). Plain netconsole sends
  the console text, ``[    5.123456] message`` with ``printk.time``; extended
  netconsole (``netconsole=+…``) the ``/dev/kmsg`` header
  ``[release,]prefix,seq,usec,flag[,ncfrag=off/len];message`` with
  ``\\xNN`` escapes and `` KEY=value`` dictionary lines (a record over 1000
  octets arrives in ``ncfrag`` pieces, each read as a line of its own). Both
  are the kernel console's (``app = "kernel"``); plain lines are facility
  ``kern`` and carry no severity, extended ones carry the record's own.

Malformed input raises :class:`DecodeError`: an empty datagram, a broken
``<PRI>`` (RFC 5424 §6.2.1: 0-191), and a datagram without PRI that is not
text (not UTF-8, or control octets). A ``<PRI>1 `` message whose RFC 5424
header or structured data is broken is read as RFC 3164, as rsyslog does;
:func:`decode_rfc5424` is the strict reader that names the broken field.
A PRI-carrying message's text is UTF-8 with undecodable octets replaced,
never refused. Trailing CR, LF and NUL octets are dropped (many senders end
a line with one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from bootwright.wire import DecodeError

__all__ = [
    "MAX_PRI",
    "NETCONSOLE_APP",
    "Facility",
    "Format",
    "SdElement",
    "Severity",
    "SyslogMessage",
    "decode",
    "decode_rfc5424",
    "encode",
]

MAX_PRI: Final = 191
"""Largest PRI value: facility 23 × 8 + severity 7 (RFC 5424 §6.2.1)."""
NETCONSOLE_APP: Final = "kernel"
"""The APP of a netconsole line: the kernel's console."""
BOM: Final = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark that starts a UTF-8 MSG (RFC 5424 §6.4)."""


class Facility(IntEnum):
    """Syslog facilities (RFC 5424 §6.2.1 table 1; names as glibc ``<syslog.h>`` and rsyslog spell them)."""

    KERN = 0  # kernel messages
    USER = 1  # user-level messages
    MAIL = 2
    DAEMON = 3  # system daemons
    AUTH = 4  # security/authorization messages
    SYSLOG = 5  # messages generated internally by syslogd
    LPR = 6  # line printer subsystem
    NEWS = 7
    UUCP = 8
    CRON = 9  # clock daemon
    AUTHPRIV = 10  # security/authorization messages
    FTP = 11
    NTP = 12
    AUDIT = 13  # log audit
    ALERT = 14  # log alert
    CLOCK = 15  # clock daemon (note 2)
    LOCAL0 = 16
    LOCAL1 = 17
    LOCAL2 = 18
    LOCAL3 = 19
    LOCAL4 = 20
    LOCAL5 = 21
    LOCAL6 = 22
    LOCAL7 = 23

    @property
    def label(self) -> str:
        """The lower-case name events carry (``kern``, ``local0``)."""
        return self.name.lower()


class Severity(IntEnum):
    """Syslog severities (RFC 5424 §6.2.1 table 2; names as glibc ``<syslog.h>``)."""

    EMERG = 0  # system is unusable
    ALERT = 1  # action must be taken immediately
    CRIT = 2  # critical conditions
    ERR = 3  # error conditions
    WARNING = 4  # warning conditions
    NOTICE = 5  # normal but significant condition
    INFO = 6  # informational messages
    DEBUG = 7  # debug-level messages

    @property
    def label(self) -> str:
        """The lower-case name events carry (``err``, ``info``)."""
        return self.name.lower()


Format = Literal["rfc5424", "rfc3164", "netconsole"]
"""Which form a message arrived in (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class SdElement:
    """One SD-ELEMENT of RFC 5424 §6.3: its SD-ID and its parameters in order (names may repeat)."""

    id: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One decoded syslog line; fields a form does not carry are ``None`` (or empty)."""

    format: Format
    facility: Facility
    severity: Severity | None  # None: plain netconsole, which sends no level
    text: str
    app: str | None = None  # RFC 5424 APP-NAME, RFC 3164 TAG ("ipxe"), "kernel" for netconsole
    hostname: str | None = None  # HOSTNAME as the sender wrote it
    procid: str | None = None  # RFC 5424 PROCID, the RFC 3164 TAG's [pid]
    msgid: str | None = None  # RFC 5424 MSGID
    timestamp: str | None = None  # as sent (RFC 3339, or RFC 3164 "Mmm dd hh:mm:ss")
    structured: tuple[SdElement, ...] = ()  # RFC 5424 STRUCTURED-DATA
    fields: tuple[tuple[str, str], ...] = ()  # extended netconsole's dictionary (SUBSYSTEM=, DEVICE=)
    sequence: int | None = None  # extended netconsole's record number (gaps: lost lines)
    uptime_us: int | None = None  # the kernel's timestamp: microseconds since boot

    @property
    def pri(self) -> int:
        """The PRI value: facility × 8 + severity (RFC 5424 §6.2.1); severity 0 when unknown."""
        return self.facility * 8 + (self.severity or 0)


# --------------------------------------------------------------------------- decoding

_PRI = re.compile(rb"<(\d{1,3})>")
# RFC 5424 §6.2.3 TIMESTAMP (RFC 3339 with the §6.2.3.1 restrictions: "T", "Z" upper case, ≤ 6 fraction digits).
_TIME_5424 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
# RFC 3164 §4.1.2 TIMESTAMP "Mmm dd hh:mm:ss" (day space-padded), or the RFC 3339 one many senders now write.
_TIME_3164 = re.compile(
    r"((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9]\d \d{2}:\d{2}:\d{2}"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) "
)
# RFC 3164 §4.1.3 TAG, as senders write it: a name, an optional [pid], then ':' (and usually one space).
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\s\[\]]{1,128})\])?:(?: |$)")
_TOKEN_SP = re.compile(r"(\S{1,255}) ")
# printk's console prefix: "[    5.123456] " (CONFIG_PRINTK_TIME), maybe "[  T1]" (CONFIG_PRINTK_CALLER) after it.
_PRINTK_TIME = re.compile(r"\[\s*(\d{1,10})\.(\d{6})\](?:\[\s*[TC]\d{1,10}\])? ?")
# Extended netconsole: /dev/kmsg's header (Documentation/ABI/testing/dev-kmsg), maybe the release first ("r").
_KMSG = re.compile(rb"(?:([^,;\s]{1,64}),)?(\d{1,3}),(\d{1,20}),(\d{1,20}),([-+c])((?:,[^,;]*)*);")
_KMSG_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not tab, LF, CR
_TRAILING = "\r\n\0"
# RFC 5424 §6 header field limits (PRINTUSASCII, octets).
_LIMITS: Final = (("HOSTNAME", 255), ("APP-NAME", 48), ("PROCID", 128), ("MSGID", 32))
_SD_NAME = re.compile(rb"[!#-<>-\\^-~]{1,32}")  # PRINTUSASCII except '=', SP, ']', '"' (RFC 5424 §6.3)


def decode(datagram: bytes | bytearray | memoryview) -> SyslogMessage:
    """One syslog datagram as a :class:`SyslogMessage`; raises :class:`DecodeError` when it is none.

    ``<PRI>1 `` that is no valid RFC 5424 is read as RFC 3164 (as rsyslog does: an
    old-style message may begin with "1 "); :func:`decode_rfc5424` says what was wrong with it.
    """
    raw = bytes(datagram)
    if not raw.strip(b"\r\n\0 "):
        raise DecodeError("empty datagram")
    if raw[:1] != b"<":
        return _netconsole(raw)
    facility, severity, start = _pri(raw)
    if raw[start : start + 2] == b"1 ":
        try:
            return _rfc5424(facility, severity, raw[start + 2 :], start + 2)
        except DecodeError:
            pass
    return _rfc3164(facility, severity, raw[start:])


def decode_rfc5424(datagram: bytes | bytearray | memoryview) -> SyslogMessage:
    """One RFC 5424 message, strictly: :class:`DecodeError` names the field that is not RFC 5424 (§6)."""
    raw = bytes(datagram)
    facility, severity, start = _pri(raw)
    if raw[start : start + 2] != b"1 ":
        raise DecodeError(f"RFC 5424 VERSION: expected '1 ' at offset {start}")
    return _rfc5424(facility, severity, raw[start + 2 :], start + 2)


def _pri(raw: bytes) -> tuple[Facility, Severity, int]:
    """``<PRI>`` (RFC 5424 §6.2.1, RFC 3164 §4.1.1): facility, severity, and the offset after it."""
    m = _PRI.match(raw)
    if m is None:
        raise DecodeError("malformed PRI: expected <0-191> at offset 0")
    pri = int(m.group(1))
    if pri > MAX_PRI:
        raise DecodeError(f"PRI {pri} out of range (0-191, RFC 5424 §6.2.1)")
    return Facility(pri >> 3), Severity(pri & 7), m.end()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip(_TRAILING)


def _rfc5424(facility: Facility, severity: Severity, rest: bytes, offset: int) -> SyslogMessage:
    """After ``<PRI>1 ``: the five header fields, the structured data, the MSG (RFC 5424 §6)."""
    parts = rest.split(b" ", 5)
    if len(parts) < 6:
        raise DecodeError(f"RFC 5424 header: {len(parts)} of the 6 fields after VERSION at offset {offset}")
    *header, tail = parts
    try:
        timestamp, *names = (p.decode("ascii") for p in header)
    except UnicodeDecodeError:
        raise DecodeError("RFC 5424 header: non-ASCII octet (the header is PRINTUSASCII, §6)") from None
    if timestamp != "-" and not _TIME_5424.fullmatch(timestamp):
        raise DecodeError(f"RFC 5424 TIMESTAMP {timestamp[:40]!r} is not an RFC 3339 time (§6.2.3)")
    values: list[str | None] = []
    for (field, limit), value in zip(_LIMITS, names, strict=True):
        if not value or len(value) > limit or not value.isprintable():
            raise DecodeError(f"RFC 5424 {field} {value[:40]!r}: 1-{limit} printable ASCII characters (§6.2)")
        values.append(None if value == "-" else value)
    structured, msg = _structured(tail)
    if msg.startswith(BOM):
        msg = msg[len(BOM) :]
    hostname, app, procid, msgid = values
    return SyslogMessage(
        "rfc5424", facility, severity, _text(msg), app, hostname, procid, msgid,
        None if timestamp == "-" else timestamp, structured,
    )  # fmt: skip


def _structured(data: bytes) -> tuple[tuple[SdElement, ...], bytes]:
    """STRUCTURED-DATA (``-`` or SD-ELEMENTs, RFC 5424 §6.3) and the MSG octets after it."""
    if data[:1] == b"-":
        if len(data) > 1 and data[1:2] != b" ":
            raise DecodeError("RFC 5424 STRUCTURED-DATA: '-' must be followed by SP or the end")
        return (), data[2:]
    elements: list[SdElement] = []
    i = 0
    while data[i : i + 1] == b"[":
        m = _SD_NAME.match(data, i + 1)
        if m is None:
            raise DecodeError(f"RFC 5424 SD-ID missing or malformed at SD offset {i + 1}")
        sd_id, i = m.group().decode("ascii"), m.end()
        params: list[tuple[str, str]] = []
        while data[i : i + 1] == b" ":
            m = _SD_NAME.match(data, i + 1)
            if m is None or data[m.end() : m.end() + 2] != b'="':
                raise DecodeError(f"RFC 5424 SD-PARAM of [{sd_id}] malformed at SD offset {i + 1}")
            name = m.group().decode("ascii")
            value, i = _param_value(data, m.end() + 2, sd_id)
            params.append((name, value))
        if data[i : i + 1] != b"]":
            raise DecodeError(f"RFC 5424 SD-ELEMENT [{sd_id}] not closed by ']' at SD offset {i}")
        elements.append(SdElement(sd_id, tuple(params)))
        i += 1
    if not elements:
        raise DecodeError("RFC 5424 STRUCTURED-DATA: expected '-' or '['")
    if i < len(data) and data[i : i + 1] != b" ":
        raise DecodeError(f"RFC 5424 STRUCTURED-DATA: SP or the end expected at SD offset {i}")
    return tuple(elements), data[i + 1 :]


def _param_value(data: bytes, i: int, sd_id: str) -> tuple[str, int]:
    """A PARAM-VALUE from just after its opening quote; returns it and the offset after the closing one."""
    out = bytearray()
    while i < len(data):
        c = data[i]
        if c == 0x5C and data[i + 1 : i + 2] in (b'"', b"\\", b"]"):  # §6.3.3: \" \\ \] escape one octet
            out += data[i + 1 : i + 2]
            i += 2
        elif c == 0x22:
            return out.decode("utf-8", "replace"), i + 1
        else:  # any other backslash is an ordinary character (§6.3.3)
            out.append(c)
            i += 1
    raise DecodeError(f"RFC 5424 PARAM-VALUE in [{sd_id}] lacks its closing quote")


def _rfc3164(facility: Facility, severity: Severity, rest: bytes) -> SyslogMessage:
    """After ``<PRI>``: [TIMESTAMP SP] [HOSTNAME SP] [TAG[pid]: ] message (RFC 3164 §4.1, as sent)."""
    content = rest.decode("utf-8", "replace")
    timestamp = hostname = app = procid = None
    m = _TIME_3164.match(content)
    if m is not None:
        timestamp, content = m.group(1), content[m.end() :]
    tag = _TAG.match(content)
    if tag is None:
        host = _TOKEN_SP.match(content)
        if host is not None and (timestamp is not None or _TAG.match(content, host.end())):
            hostname, content = host.group(1), content[host.end() :]  # RFC 3164: HOSTNAME follows TIMESTAMP
            tag = _TAG.match(content)
    if tag is not None:
        app, procid, content = tag.group(1), tag.group(2), content[tag.end() :]
    return SyslogMessage("rfc3164", facility, severity, content.rstrip(_TRAILING), app, hostname, procid,
                         timestamp=timestamp)  # fmt: skip


def _netconsole(raw: bytes) -> SyslogMessage:
    """A datagram without PRI: extended netconsole's /dev/kmsg record, or plain console text."""
    m = _KMSG.match(raw)
    if m is not None:
        pri = int(m.group(2))
        if pri > MAX_PRI:
            raise DecodeError(f"netconsole level {pri} out of range (0-191)")
        first, _, more = raw[m.end() :].partition(b"\n")
        fields: list[tuple[str, str]] = []
        extra: list[str] = []
        for line in more.split(b"\n"):
            text = _kmsg_unescape(line.removeprefix(b" ")).rstrip(_TRAILING)
            name, eq, value = text.partition("=")
            if eq and name:
                fields.append((name, value))
            elif text:
                extra.append(text)
        text = "\n".join([_kmsg_unescape(first).rstrip(_TRAILING), *extra])
        return SyslogMessage("netconsole", Facility(pri >> 3), Severity(pri & 7), text, NETCONSOLE_APP,
                             fields=tuple(fields), sequence=int(m.group(3)), uptime_us=int(m.group(4)))  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"no <PRI> and not UTF-8 text (octet {exc.start}): neither syslog nor netconsole") from None
    bad = _TEXT_CONTROL.search(text.rstrip(_TRAILING))
    if bad is not None:
        raise DecodeError(f"no <PRI> and a control character at {bad.start()}: neither syslog nor netconsole")
    uptime = None
    t = _PRINTK_TIME.match(text)
    if t is not None:
        uptime, text = int(t.group(1)) * 1_000_000 + int(t.group(2)), text[t.end() :]
    return SyslogMessage("netconsole", Facility.KERN, None, text.rstrip(_TRAILING), NETCONSOLE_APP,
                         uptime_us=uptime)  # fmt: skip


def _kmsg_unescape(raw: bytes) -> str:
    """/dev/kmsg text: ``\\xNN`` stands for the octet NN (non-printable ones and the backslash)."""
    return _KMSG_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw).decode("utf-8", "replace")


# --------------------------------------------------------------------------- encoding


def encode(message: SyslogMessage) -> bytes:
    """The datagram :func:`decode` reads back as ``message`` (tests, and clients written in Python).

    RFC 5424 MSGs get the BOM; netconsole records with a ``sequence`` are written
    in the extended form. Raises :class:`ValueError` for a record the form cannot carry.
    """
    if message.format == "rfc5424":
        return _encode_5424(message)
    if message.format == "rfc3164":
        return _encode_3164(message)
    return _encode_netconsole(message)


def _encode_5424(m: SyslogMessage) -> bytes:
    if m.severity is None:
        raise ValueError("an RFC 5424 message has a severity")
    header = " ".join(v or "-" for v in (m.timestamp, m.hostname, m.app, m.procid, m.msgid))
    sd = (
        "".join(f"[{e.id}" + "".join(f' {n}="{_sd_escape(v)}"' for n, v in e.params) + "]" for e in m.structured) or "-"
    )
    out = f"<{m.pri}>1 {header} {sd}".encode()
    return out + b" " + BOM + m.text.encode() if m.text else out


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _encode_3164(m: SyslogMessage) -> bytes:
    if m.severity is None:
        raise ValueError("an RFC 3164 message has a severity")
    if m.procid is not None and m.app is None:
        raise ValueError("an RFC 3164 [pid] belongs to a TAG")
    out = f"<{m.pri}>"
    if m.timestamp is not None:
        out += m.timestamp + " "
    if m.hostname is not None:
        out += m.hostname + " "
    if m.app is not None:
        out += m.app + (f"[{m.procid}]" if m.procid is not None else "") + ": "
    return (out + m.text).encode()


def _encode_netconsole(m: SyslogMessage) -> bytes:
    if m.sequence is None:  # plain console text
        prefix = ""
        if m.uptime_us is not None:
            seconds, micro = divmod(m.uptime_us, 1_000_000)
            prefix = f"[{seconds:5d}.{micro:06d}] "
        return (prefix + m.text + "\n").encode()
    if m.severity is None or m.uptime_us is None:
        raise ValueError("an extended netconsole record has a level and a timestamp")
    body = _kmsg_escape(m.text)
    out = f"{m.pri},{m.sequence},{m.uptime_us},-;".encode() + body + b"\n"
    return out + b"".join(b" " + _kmsg_escape(f"{n}={v}") + b"\n" for n, v in m.fields)


def _kmsg_escape(text: str) -> bytes:
    """As the kernel writes /dev/kmsg text: octets below 0x20, from 0x7f, and the backslash as ``\\xNN``."""
    return b"".join(bytes((c,)) if 0x20 <= c < 0x7F and c != 0x5C else b"\\x%02x" % c for c in text.encode())
