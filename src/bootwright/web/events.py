"""One event per HTTP request, and one per completed file download.

aiohttp calls the access logger after a response was written (or the client
went away); :class:`EventAccessLogger` turns that into events:

``http.request``
    every request: ``method``, ``path``, ``status``, ``bytes`` (body octets
    sent), ``duration`` (seconds), ``client`` (address), keyed by MAC (from
    the URL, else ``Runtime.client_mac``: leases, then the neighbour table)
    and host name where known. ``source`` names the file outside the root a
    built-in boot program was sent from (the iPXE package's, ``boot/programs.py``).
    When an iPXE script (or GRUB/pxelinux config) for a boot target or menu
    was served with 200, it also carries ``script`` (the target or menu name)
    and ``platform`` (``efi``/``pcbios`` when iPXE said).
``http.script``
    the same fact as its own kind, for live listeners only (one-shot boots
    move from pending to booting on it, ``bootwright.boot.oneshot.SCRIPT_EVENTS``):
    ``script``, ``platform``, ``path``. It is not logged or stored a second
    time; the log and the history have it in ``http.request``.
``http.download_complete``
    a ``GET`` answered 200 whose whole file body was sent — what one-shot
    boots count ("the host fully downloaded kernel and initrd"): ``path``,
    ``bytes``, ``duration``, ``client``, ``outcome=ok``.
``http.download_failed``
    a file body (200 or 206) that was cut short: the client went away or
    stalled past ``http.timeout``: ``path``, ``bytes`` sent, ``error``.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bootwright.model import Event, EventKind
from bootwright.runtime.events import EventSink
from bootwright.runtime.hostfacts import MacResolver
from bootwright.web.api.routes import API_PREFIX
from bootwright.web.files import FileSend
from bootwright.web.metrics import METRICS_PATH
from bootwright.web.ui.routes import UI_PREFIX

_MAX_PATH_SHOWN = 200
_NOTHING: dict[str, str] = {}
_MAX_AGENT_SHOWN = 64


class RequestEvents:
    """Builds the events of one finished request (held by every connection's logger)."""

    def __init__(self, sink: EventSink, macs: MacResolver, host_of: Callable[[str], str | None]) -> None:
        """Emit into ``sink``; ``macs`` (``Runtime.client_mac``) and ``host_of`` name the client."""
        self.sink = sink
        self.macs = macs
        self.host_of = host_of

    def record(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        """Emit ``http.request`` (and the script / download events that apply)."""
        remote = request.remote
        # The path as sent (still %-encoded, without the query): what the client asked for.
        path = request.raw_path.partition("?")[0]
        mac: str | None = getattr(response, "mac", None)
        if path.startswith((API_PREFIX, UI_PREFIX)) or path == METRICS_PATH:
            # An operator's API call, UI page or scrape: logged and stored, but never keyed to the caller's
            # MAC, so it does not show up in the boot timeline of a machine the operator works from.
            mac = None
        elif mac is None:
            mac = self.macs(remote)
        host: str | None = getattr(response, "host", None)
        if host is None and mac is not None:
            host = self.host_of(mac)
        method = request.method
        status = response.status
        packaged = _NOTHING  # ``source`` only when there is one: not a null on every request
        if isinstance(response, FileSend):
            sent = response.bytes_sent
            if response.source is not None:
                packaged = {"source": response.source}
        elif method == "HEAD" or not response.prepared:
            sent = 0
        else:
            sent = response.content_length or 0
        if len(path) > _MAX_PATH_SHOWN:
            path = path[:_MAX_PATH_SHOWN] + "…"
        agent = request.headers.get("User-Agent")
        if agent is not None:
            agent = agent[:_MAX_AGENT_SHOWN]
        emit = self.sink.emit
        script = getattr(response, "script", None)
        if script is None:
            emit(
                EventKind.HTTP_REQUEST, mac=mac, host=host, method=method, path=path, status=status, bytes=sent,
                duration=round(duration, 6), client=remote, agent=agent, **packaged,
            )  # fmt: skip
        else:
            platform = getattr(response, "platform", None)
            event = emit(
                EventKind.HTTP_REQUEST, mac=mac, host=host, method=method, path=path, status=status, bytes=sent,
                duration=round(duration, 6), client=remote, agent=agent, script=script, platform=platform,
                script_kind=getattr(response, "kind", None),
            )  # fmt: skip
            listeners = self.sink.listeners
            if listeners:
                # Its content is already in the http.request event: live listeners (one-shot
                # boots) get it as its own kind, without a second log line and stored row.
                facts = {"script": script, "platform": platform, "path": path}
                notice = Event(event.at, EventKind.HTTP_SCRIPT, mac, host, facts)
                for listener in listeners:
                    listener(notice)
            return
        if isinstance(response, FileSend) and method == "GET" and status in (200, 206):
            if response.complete:
                if status == 200:
                    emit(
                        EventKind.HTTP_DOWNLOAD_COMPLETE,
                        mac=mac,
                        host=host,
                        path=path,
                        bytes=sent,
                        duration=round(duration, 6),
                        client=remote,
                        outcome="ok",
                        **packaged,
                    )
            else:
                error = response.error or "connection closed before the whole body was sent"
                emit(
                    EventKind.HTTP_DOWNLOAD_FAILED,
                    mac=mac,
                    host=host,
                    path=path,
                    bytes=sent,
                    client=remote,
                    error=error,
                    **packaged,
                )


class EventAccessLogger(AbstractAccessLogger):
    """aiohttp access logger whose "logger" is a :class:`RequestEvents`."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Called by aiohttp once per request with its duration."""
        events: RequestEvents = self.logger  # type: ignore[assignment]
        events.record(request, response, time)
