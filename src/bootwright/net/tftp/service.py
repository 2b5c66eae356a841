"""The TFTP service: listening sockets, admission, one :class:`Transfer` per request.

RFC 1350 with RFC 2347 (options), 2348 (blksize), 2349 (timeout, tsize) and
7440 (windowsize); the protocol is the sans-I/O engine in
:mod:`bootwright.engine.tftp.transfer`, this module only moves datagrams.

Listening (what a deployment gets):

* With ``[server] interfaces`` (or subnets naming an ``interface``), one
  socket per interface and family on ``[tftp] port``, each bound to its
  interface with ``SO_BINDTODEVICE``: nothing is answered on any other
  interface (a management network never sees the service).
* Without, one wildcard socket per family (``0.0.0.0`` and ``::`` with
  ``IPV6_V6ONLY``); IPv6 is skipped with a warning on a host without it.
* Either way the request's local address comes from ``IP_PKTINFO`` /
  ``IPV6_PKTINFO`` and every reply — the transfer's TID socket and refusals —
  leaves from that address, so multi-homed hosts and secondary addresses work.

Per request, in order: decode (malformed RRQ/WRQ → ERROR 4), drop a repeated
request of a transfer already running, admission (:mod:`.limits`:
rate with pause, total, per client → ERROR 0 naming the reason), refusal of
mail mode / uploads (:func:`bootwright.engine.tftp.transfer.refusal`), remap rules
(tftp-hpa ``-m`` syntax from ``[tftp] remap`` and ``remap_file``, :mod:`.remap`), the root sandbox
(:mod:`bootwright.engine.tftp.paths`, :mod:`bootwright.net.tftp.files`),
then the file, else a built-in boot program from the system's iPXE package
(:func:`bootwright.boot.programs.fallback_file`, the rule HTTP asks too), else a
document (:meth:`bootwright.boot.documents.Documents.lookup`, the module HTTP
asks too) when none exists: a real file always wins over TFTP, so an operator
can override one machine by hand.

Each transfer reports ``tftp.start`` and then one ``tftp.done`` or
``tftp.failed`` event with client, MAC (``Runtime.client_mac``: leases, then
the neighbour table; or the one the document's name carries), file, size,
blksize, windowsize, duration and outcome; ``source`` names the packaged file
when the root had none (which binary booted).  Packet-level oddities are
counted in :attr:`TftpService.counters` and logged at debug level.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from bootwright.boot.documents import Document, Documents, Transport
from bootwright.boot.policy import BootPolicy
from bootwright.boot.programs import fallback_file, ipxe_dir
from bootwright.engine.tftp.paths import (
    PathRefused,
    RemapRule,
    RemapSyntaxError,
    apply_remap,
    resolve_request_path,
)
from bootwright.engine.tftp.source import BlockSource, InMemorySource
from bootwright.engine.tftp.transfer import (
    DELIVERED,
    MAX_WINDOWSIZE,
    OutcomeKind,
    ReadTransfer,
    TftpSettings,
    TransferOutcome,
    error_for_exception,
    max_blksize_for_mtu,
    refusal,
)
from bootwright.engine.tftp.write import WriteTransfer
from bootwright.model import EventKind
from bootwright.net.tftp.files import FileSource, open_file, open_in_root
from bootwright.net.tftp.limits import Admission
from bootwright.net.tftp.poll import Dispatcher, native_pump
from bootwright.net.tftp.remap import load_rules
from bootwright.net.tftp.sockets import Arrival, listening_socket, path_mtu, recv_request, send_from, transfer_sockets
from bootwright.net.tftp.transfer import Transfer, TransferEngine
from bootwright.net.tftp.upload import open_upload
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading
from bootwright.wire import DecodeError
from bootwright.wire.tftp import ErrorCode, Opcode, Request, decode, encode_error

__all__ = ["TftpService", "create_service"]

log = logging.getLogger("bootwright.tftp")

REQUESTS_PER_WAKEUP: Final = 64
"""Requests read from one listening socket per loop wakeup (bounded work per callback)."""
BUSY_POLL: Final = 0.0002
"""Seconds to keep polling transfer sockets after the last event before sleeping (:mod:`.poll`)."""
_REQUEST_OPCODES: Final = (bytes([0, Opcode.RRQ]), bytes([0, Opcode.WRQ]))
_monotonic = time.monotonic


class TftpService:
    """The ``tftp`` service of :mod:`bootwright.app`."""

    name = "tftp"

    def __init__(self, runtime: Runtime) -> None:
        """Prepare from ``runtime.config.tftp``; sockets are bound in :meth:`run`."""
        cfg = runtime.config.tftp
        self.runtime = runtime
        self.port = cfg.port
        self.dispatcher = Dispatcher(BUSY_POLL, pump=native_pump())
        self._pump_send_errors = 0  # the pump's count already folded into counters["send_error"]
        self.admission = Admission(cfg.per_client, cfg.max_transfers, cfg.rate, cfg.rate_pause)
        self.counters: dict[str, int] = {}
        """Packet-level oddities and refusals by kind (all logged at debug level; read by ``/metrics``)."""
        self.transfers: dict[tuple[Any, ...], Transfer] = {}
        """Live transfers by client address and port (including uploads still dallying)."""
        self.bound: list[str] = []
        """``address:port%interface`` of every listening socket, once running."""
        self._listeners: list[socket.socket] = []
        self._settings_by_mtu: dict[int, TftpSettings] = {}
        self._policy: BootPolicy | None = None
        self.documents = Documents(runtime.policy)
        """The names served from memory when no file has them (followed to each new policy)."""
        try:
            self._apply(runtime.policy)
        except RemapSyntaxError as exc:  # in.tftpd -m also refuses to start on a bad line
            raise _service_error(str(exc)) from None

    def _apply(self, policy: BootPolicy) -> None:
        """Take settings from ``policy.config`` (start-up, and after a hot reload).

        Everything but the listening sockets follows a reload: root, limits,
        options, remap rules, upload directories, documents.  Raises
        :class:`RemapSyntaxError` for broken remap rules.
        """
        cfg = policy.config.tftp
        remap = load_rules(cfg)  # [tftp] remap, then remap_file (read again on every reload)
        self.root = str(Path(cfg.root or self.runtime.root).resolve())
        self.ipxe_dir = ipxe_dir(policy.config)
        self.settings = TftpSettings(
            max_blksize=cfg.max_blksize,
            max_windowsize=min(cfg.max_windowsize, MAX_WINDOWSIZE),
            timeout=cfg.timeout,
            max_retries=cfg.retries,
            writable_dirs=tuple(cfg.write_dirs),
        )
        self.blksize_mtu = cfg.blksize_mtu
        self.remap: tuple[RemapRule, ...] = remap
        adm = self.admission
        adm.per_client, adm.max_transfers, adm.rate, adm.rate_pause = (
            cfg.per_client, cfg.max_transfers, cfg.rate, cfg.rate_pause,
        )  # fmt: skip
        self.documents = self.documents.for_policy(policy)
        self._settings_by_mtu.clear()
        self._policy = policy

    def _current(self) -> None:
        """Follow a hot reload (``runtime.policy`` replaced); a broken remap keeps the old rules."""
        policy = self.runtime.policy
        if policy is self._policy:
            return
        if policy.config.tftp.port != self.port:
            log.warning("tftp: [tftp] port changed to %d; restart to listen there", policy.config.tftp.port)
        try:
            self._apply(policy)
        except RemapSyntaxError as exc:
            log.error("tftp: the reloaded remap table is broken, keeping the previous rules: %s", exc)
            self._policy = policy

    def _mac(self, client: str, since: float | None = None) -> str | None:
        """The client's MAC (:meth:`Runtime.client_mac`); ``since``: when the transfer started."""
        return self.runtime.client_mac(client, since)

    def _host(self, mac: str | None) -> str | None:
        host = self.runtime.policy.hosts.by_mac.get(mac) if mac else None
        return host.name if host is not None else None

    @property
    def live(self) -> int:
        """Transfers whose sockets are still open."""
        return len(self.transfers)

    # -- life cycle ---------------------------------------------------------

    async def run(self) -> None:
        """Bind, report ready, serve until cancelled; close every socket on the way out."""
        loop = asyncio.get_running_loop()
        try:
            self._bind()
            self.dispatcher.open()
            log.debug("tftp: lock-step blocks sent by %s", "the native pump" if self.dispatcher.pump else "Python")
            for sock in self._listeners:
                loop.add_reader(sock.fileno(), self._on_request, sock)
            self.runtime.mark_ready(self.name, f"{', '.join(self.bound)} root {self.root}")
            self.runtime.metrics.add_source(self.name, self.reading)
            await asyncio.Event().wait()
        finally:
            self.runtime.metrics.remove_source(self.name, self.reading)
            self.close()

    def reading(self, now: float) -> Reading:
        """:attr:`counters` and the live transfers, for ``/metrics`` (read at scrape time)."""
        pump = self.dispatcher.pump
        counters = dict(self.counters)
        if pump is not None and pump.send_errors != self._pump_send_errors:  # not yet folded in by _finished
            counters["send_error"] = counters.get("send_error", 0) + pump.send_errors - self._pump_send_errors
        return Reading(counters=counters, gauges={"transfers": len(self.transfers)})

    def close(self) -> None:
        """Stop listening and end every transfer (reported as failed: ``shutdown``)."""
        loop = asyncio.get_running_loop()
        for sock in self._listeners:
            if sock.fileno() >= 0:
                loop.remove_reader(sock.fileno())
            sock.close()
        self._listeners.clear()
        for xfer in list(self.transfers.values()):
            xfer.abort(TransferOutcome(OutcomeKind.SERVER_ERROR, "shutdown"))
        self.dispatcher.close()

    def _interfaces(self) -> list[str]:
        cfg = self.runtime.config
        names = list(cfg.server.interfaces)
        if not names:
            for interface in [s.interface for s in cfg.subnet4] + [s.interface for s in cfg.subnet6]:
                if interface and interface not in names:
                    names.append(interface)
        return names

    def _bind(self) -> None:
        devices: list[str | None] = list(self._interfaces()) or [None]
        for dev in devices:
            if dev is not None:
                try:
                    socket.if_nametoindex(dev)
                except OSError:
                    raise _service_error(
                        f"tftp: interface {dev!r} does not exist (check [server] interfaces)"
                    ) from None
            for family in (socket.AF_INET, socket.AF_INET6):
                wildcard = "::" if family == socket.AF_INET6 else "0.0.0.0"
                try:
                    sock = listening_socket(family, self.port, dev)
                except OSError as exc:
                    if family == socket.AF_INET6 and exc.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                        log.warning("tftp: IPv6 unavailable (%s); serving IPv4 only", exc.strerror)
                        continue
                    where = f"[{wildcard}]:{self.port}" + (f" on {dev}" if dev else "")
                    raise _service_error(
                        f"tftp: cannot listen on {where}: {exc.strerror} "
                        "(another TFTP server running? port below 1024 needs root; see [tftp] port)"
                    ) from None
                self._listeners.append(sock)
                self.bound.append(f"{wildcard}:{self.port}" + (f"%{dev}" if dev else ""))

    # -- requests -------------------------------------------------------------

    def _count(self, kind: str) -> None:
        self.counters[kind] = self.counters.get(kind, 0) + 1

    def _on_request(self, sock: socket.socket) -> None:
        for _ in range(REQUESTS_PER_WAKEUP):
            try:
                got = recv_request(sock)
            except OSError as exc:
                self._count("recv_error")
                log.debug("tftp: receive failed: %s", exc)
                return
            if got is None:
                return
            data, arrival = got
            try:
                self._request(sock, data, arrival)
            except Exception:  # a bug must not stop the listener
                self._count("internal_error")
                log.exception("tftp: request from %s failed", arrival.peer)

    def _request(self, sock: socket.socket, data: bytes, arrival: Arrival) -> None:
        try:
            request = decode(data)
        except DecodeError as exc:
            self._count("malformed")
            log.debug("tftp: malformed datagram from %s: %s", arrival.peer, exc)
            if data[:2] in _REQUEST_OPCODES:  # a broken request deserves an answer; stray garbage none
                send_from(sock, encode_error(ErrorCode.ILLEGAL_OPERATION, _ascii(f"Malformed request: {exc}")), arrival)
            return
        if not isinstance(request, Request):
            self._count("not_a_request")
            log.debug("tftp: %s on the request port from %s ignored", type(request).__name__, arrival.peer)
            return
        self._current()
        key = tuple(arrival.peer[:2])
        current = self.transfers.get(key)
        if current is not None and current.info.get("raw") == data:
            self._count("repeated_request")  # the client retransmitted its request; our reply is on its way
            log.debug("tftp: repeated request from %s ignored", arrival.peer)
            return
        client = arrival.client_ip
        reason = self.admission.check(client, _monotonic())
        if reason is not None:
            self._count("refused")
            send_from(sock, encode_error(ErrorCode.NOT_DEFINED, reason), arrival)
            if self.admission.last != "paused":  # no event per request while paused: floods stay quiet
                self._refused(request, arrival, reason)
            return
        error = refusal(request, self.settings)
        if error is not None:
            send_from(sock, encode_error(error.code, error.message), arrival)
            self._refused(request, arrival, error.message)
            return
        try:
            self._start(request, data, arrival)
        except DocumentError as exc:  # logged where it was rendered (boot.documents)
            send_from(sock, encode_error(ErrorCode.NOT_DEFINED, _ascii(exc.reason)), arrival)
            self._refused(request, arrival, exc.reason)
        except (OSError, PathRefused) as exc:
            err = error_for_exception(exc)
            code, message = (err.code, err.message) if err else (ErrorCode.NOT_DEFINED, "Internal error")
            log.debug("tftp: %r from %s refused: %s", request.filename, arrival.peer, exc)
            send_from(sock, encode_error(code, message), arrival)
            self._refused(request, arrival, _reason(exc, message))

    def _start(self, request: Request, raw: bytes, arrival: Arrival) -> None:
        ipv6 = arrival.family == socket.AF_INET6
        client = arrival.client_ip
        name = apply_remap(self.remap, request.filename, write=request.is_write, client_address=client, ipv6=ipv6)
        relative = resolve_request_path(self.root, name)
        mac = self._mac(client)
        undo: list[Callable[[], None]] = []  # releases what is held if the start fails half way
        try:
            source: BlockSource | None = None
            resource = sink = None
            packaged: str | None = None
            if request.is_write:
                error = refusal(request, self.settings, relative)
                if error is not None:
                    raise PathRefused(f"{relative!r} is outside [tftp] write_dirs", error.message)
                sink = open_upload(self.root, relative)
                undo.append(sink.abort)
            else:
                try:
                    resource, packaged = self._open(relative)
                    source = resource
                    undo.append(resource.close)
                except FileNotFoundError:
                    doc = self.documents.lookup(relative, Transport.TFTP, arrival.local, mac=mac)
                    if doc is None or doc.status == 404:
                        raise
                    source = InMemorySource(_served(doc))
                    mac = mac or doc.mac
            conn, stranger = transfer_sockets(arrival)
            undo += [conn.close, stranger.close]
            settings = self._settings_for(conn)
            engine: TransferEngine
            if sink is not None:
                engine = WriteTransfer(request, sink, settings)
            else:
                assert source is not None
                engine = ReadTransfer(request, source, settings)
            size = source.size if source is not None else None
            info = {
                "raw": raw,
                "client": client,
                "mac": mac,
                "file": request.filename,
                "path": relative,
                "size": size,
                "write": request.is_write,
                "started": _monotonic(),
                "source": packaged,
            }
            xfer = Transfer(
                engine,
                conn,
                stranger,
                arrival,
                on_finish=self._finished,
                on_close=self._forget,
                counters=self.counters,
                dispatcher=self.dispatcher,
                resource=resource,
                sink=sink,
                info=info,
            )
        except BaseException:
            for release in reversed(undo):
                release()
            raise
        key = tuple(arrival.peer[:2])
        old = self.transfers.pop(key, None)
        if old is not None:  # the same client port asks again: it gave up on the old transfer
            old.abort(TransferOutcome(OutcomeKind.CLIENT_ERROR, "superseded by a new request"))
        self.transfers[key] = xfer
        self.admission.started(client)
        neg = engine.negotiated
        self.runtime.events.emit(
            EventKind.TFTP_START,
            mac=mac,
            host=self._host(mac),
            client=client,
            file=request.filename,
            path=relative if relative != request.filename else None,
            source=packaged,
            size=size,
            blksize=neg.blksize,
            windowsize=neg.windowsize,
            write=True if request.is_write else None,
        )
        xfer.start()

    def _settings_for(self, conn: socket.socket) -> TftpSettings:
        """The engine settings, with ``max_blksize`` lowered to the path MTU when configured."""
        if not self.blksize_mtu:
            return self.settings
        mtu = path_mtu(conn)
        if mtu is None:
            return self.settings
        cached = self._settings_by_mtu.get(mtu)
        if cached is None:
            cap = min(self.settings.max_blksize, max_blksize_for_mtu(mtu, ipv6=conn.family == socket.AF_INET6))
            cached = self._settings_by_mtu[mtu] = replace(self.settings, max_blksize=cap)
        return cached

    def _finished(self, xfer: Transfer, outcome: TransferOutcome) -> None:
        """A transfer ended: release its admission slot, report it."""
        info = xfer.info
        client = info["client"]
        self.admission.finished(client)
        stats = xfer.engine.stats
        started = stats.started if stats.started is not None else info["started"]
        finished = stats.finished if stats.finished is not None else _monotonic()
        mac = info["mac"] or self._mac(client, started)
        ok = outcome.kind in DELIVERED
        pump = self.dispatcher.pump
        if pump is not None and pump.send_errors != self._pump_send_errors:  # sends lost inside lock-step runs
            self.counters["send_error"] = self.counters.get("send_error", 0) + pump.send_errors - self._pump_send_errors
            self._pump_send_errors = pump.send_errors
        if stats.duplicate_acks or stats.ignored:
            self.counters["ignored"] = self.counters.get("ignored", 0) + stats.ignored
            self.counters["duplicate_ack"] = self.counters.get("duplicate_ack", 0) + stats.duplicate_acks
            log.debug(
                "tftp: %s %s: %d duplicate ACKs, %d datagrams ignored",
                client, info["file"], stats.duplicate_acks, stats.ignored,
            )  # fmt: skip
        self.runtime.events.emit(
            EventKind.TFTP_DONE if ok else EventKind.TFTP_FAILED,
            mac=mac,
            host=self._host(mac),
            client=client,
            file=info["file"],
            size=stats.file_bytes if stats.file_bytes is not None else info["size"],
            blksize=stats.blksize,
            windowsize=stats.windowsize,
            duration=round(max(0.0, finished - started), 6),
            outcome=str(outcome),
            retransmits=stats.retransmits or None,
            write=True if info["write"] else None,
            source=info["source"],
        )

    def _open(self, relative: str) -> tuple[FileSource, str | None]:
        """The root's file at ``relative``, else the iPXE package's (``boot/programs.py``) and its path.

        Raises ``FileNotFoundError`` when neither has it (a document may still answer).
        """
        try:
            return open_in_root(self.root, relative), None
        except FileNotFoundError:
            packaged = fallback_file(relative, self.ipxe_dir)
            if packaged is None:
                raise
        return open_file(packaged), packaged

    def _forget(self, xfer: Transfer) -> None:
        """A transfer closed its sockets (after an upload's dally period too)."""
        key = tuple(xfer.arrival.peer[:2])
        if self.transfers.get(key) is xfer:
            del self.transfers[key]

    def _refused(self, request: Request, arrival: Arrival, reason: str) -> None:
        mac = self._mac(arrival.client_ip)
        self.runtime.events.emit(
            EventKind.TFTP_FAILED,
            mac=mac,
            host=self._host(mac),
            client=arrival.client_ip,
            file=request.filename,
            size=None,
            blksize=None,
            windowsize=None,
            duration=0.0,
            outcome=f"refused: {reason}",
            write=True if request.is_write else None,
        )


class DocumentError(Exception):
    """A document that could not be rendered (a broken template): refused with its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _served(doc: Document) -> bytes:
    """The body of a document TFTP can serve; raises :class:`DocumentError` for a failed render."""
    if doc.status != 200:
        raise DocumentError(doc.error or f"cannot render {doc.target or 'the document'}")
    return doc.body


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()


def _reason(exc: BaseException, message: str) -> str:
    if isinstance(exc, PathRefused):
        return exc.reason
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    return message


def _service_error(message: str) -> Exception:

    return ServiceError(message)


def create_service(runtime: Runtime) -> TftpService | None:
    """Service factory for :mod:`bootwright.app`: ``None`` when ``[tftp] enabled = false``."""
    if not runtime.config.tftp.enabled:
        return None
    return TftpService(runtime)
