"""The HTTP service: an aiohttp application on IPv4 and IPv6 in the shared loop.

Listening: by default two sockets, ``0.0.0.0`` and ``::`` with ``IPV6_V6ONLY``
set, rather than one dual-stack ``::`` socket. IPv4 clients then appear with
their real address (no ``::ffff:`` mapping) to the access list and the
neighbour lookup, the result does not depend on the ``net.ipv6.bindv6only``
sysctl, and a host with IPv6 disabled still serves IPv4 (the ``::`` socket is
skipped with a warning). ``http.listen`` names explicit addresses instead.

TLS (``http.tls_cert``/``tls_key``, :mod:`.tls`): the same application is
also served over HTTPS on ``http.tls_port``, on the same addresses, with the
same limits (and ``http.timeout`` for the handshake). Plain HTTP stays: iPXE
and UEFI HTTP boot mostly cannot check a certificate.

Limits against slow or greedy clients:

* ``http.timeout`` seconds: an idle keep-alive connection, or one still
  sending its request headers, is closed (aiohttp's keep-alive timer runs from
  accept); a file transfer whose current chunk makes no progress is aborted
  (:class:`~bootwright.web.files.FileSend`);
* ``http.max_connections``: further connections get ``503`` and are closed;
* request line and header fields over 8190 octets, or more than 100 header
  fields, are refused by aiohttp's parser (400).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.hostfacts import MacResolver
from bootwright.runtime.metrics import Reading
from bootwright.web.api.routes import mount_api
from bootwright.web.events import EventAccessLogger, RequestEvents
from bootwright.web.handlers import BOOT_HANDLER, BootHandler
from bootwright.web.logfilter import quiet_malformed_requests
from bootwright.web.metrics import mount_metrics
from bootwright.web.tls import TlsError, server_context
from bootwright.web.ui.routes import mount_ui

log = logging.getLogger("bootwright.http")

BACKLOG = 1024
MAX_LINE = 8190
MAX_FIELD = 8190
MAX_HEADERS = 100
SHUTDOWN_TIMEOUT = 2.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    b"Connection: close\r\n\r\nbusy\n"
)


class _Busy(asyncio.Protocol):
    """Answers a connection over the limit with 503 and closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()


class LimitedSite(web.SockSite):
    """A ``SockSite`` that turns away connections beyond ``max_connections``."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, max_connections: int,
                 ssl_context: ssl.SSLContext | None = None, handshake_timeout: float | None = None) -> None:
        super().__init__(runner, sock, backlog=BACKLOG, ssl_context=ssl_context)
        self._listen_sock = sock
        self._max = max_connections
        # TLS: seconds a client may take over its handshake (asyncio refuses the setting without TLS).
        self._handshake_timeout = handshake_timeout if ssl_context is not None else None
        self.refused = 0

    async def start(self) -> None:
        """Register with the runner and start accepting through the limiting factory."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        limit = self._max

        def factory() -> asyncio.Protocol:
            if len(server.connections) >= limit:
                self.refused += 1
                return _Busy()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(factory, sock=self._listen_sock, backlog=BACKLOG,
                                                ssl=self._ssl_context, ssl_handshake_timeout=self._handshake_timeout)


def bind_sockets(addresses: list[str], port: int) -> list[socket.socket]:
    """Listening sockets for ``addresses`` (default: ``0.0.0.0`` and ``::``) on ``port``.

    With ``port`` 0 the first socket's ephemeral port is reused for the others.
    Raises :class:`~bootwright.runtime.ServiceError` naming the address when one cannot be bound;
    only the default ``::`` may be missing (IPv6 disabled).
    """
    optional_v6 = not addresses
    wanted = addresses or ["0.0.0.0", "::"]
    out: list[socket.socket] = []
    try:
        for address in wanted:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError as exc:
                if optional_v6 and family == socket.AF_INET6:
                    log.warning("HTTP: no IPv6 socket (%s); serving IPv4 only", exc.strerror)
                    continue
                raise
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, port))
                sock.listen(BACKLOG)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                if optional_v6 and family == socket.AF_INET6 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    log.warning("HTTP: cannot listen on [::] (%s); serving IPv4 only", exc.strerror)
                    continue
                shown = f"[{address}]" if ":" in address else address
                hint = " (another web server? change http.port)" if exc.errno == errno.EADDRINUSE else ""
                raise ServiceError(f"HTTP: cannot listen on {shown}:{port}: {exc.strerror}{hint}") from None
            if port == 0:
                port = sock.getsockname()[1]
            out.append(sock)
    except BaseException:
        for sock in out:
            sock.close()
        raise
    return out


# Further parts of the same application (the REST API, the metrics, later the UI)
# add their routes here: each is called with the app and the runtime before the
# boot handler's catch-all route is added. aiohttp resolves longer path prefixes
# first, so ``/api/...`` routes win over the catch-all whatever the order.
APP_EXTENSIONS: list[Callable[[web.Application, Runtime], None]] = [mount_api, mount_metrics, mount_ui]


def build_app(runtime: Runtime, root: Path, port: int) -> tuple[web.Application, BootHandler]:
    """The aiohttp application with the boot handler mounted at every path (GET and HEAD)."""
    macs: MacResolver = runtime.client_mac
    handler = BootHandler(lambda: runtime.policy, root, macs, timeout=runtime.config.http.timeout, default_port=port)
    app = web.Application()
    app[BOOT_HANDLER] = handler
    for extend in APP_EXTENSIONS:
        extend(app, runtime)
    app.router.add_get("/{path:.*}", handler.handle)
    return app, handler


_METHODS = ("GET", "HEAD")


def install_fast_path(runner: web.BaseRunner, app: web.Application, handler: BootHandler) -> None:
    """Send boot requests straight to ``handler``, the rest through the application.

    Every boot request would otherwise pay for the router and for the
    middleware chain aiohttp builds once any sub-application (the API) has
    middlewares. Paths under the prefixes the extensions registered go to the
    application as usual; everything else — files and boot documents — goes
    to the boot handler directly, with the same GET/HEAD-only rule (405). Call
    after ``runner.setup()`` and before the first connection is accepted.
    """
    server = runner.server
    assert server is not None
    through_app = server.request_handler
    exact: set[str] = set()
    for resource in app.router.resources():
        canonical = resource.canonical
        static = canonical.split("{", 1)[0].rstrip("/")
        if static:  # the boot handler's own "/{path}" route has no static prefix
            exact.add(static)
        elif canonical == "/":  # the bare root, when an extension answers it (the UI's redirect)
            exact.add("/")
    prefixes = tuple(p + c for p in exact - {"/"} for c in ("/", "?")) + (("/?",) if "/" in exact else ())

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        target = request.raw_path
        if target.startswith(prefixes) or target in exact:
            return await through_app(request)
        if request.method not in _METHODS:
            return web.Response(status=405, text="405: Method Not Allowed", headers={"Allow": "GET, HEAD"})
        return await handler.handle(request)

    server.request_handler = dispatch


def runner_options(runtime: Runtime) -> dict[str, Any]:
    """``AppRunner`` settings: events as the access log, timeouts and parser limits."""

    def host_of(mac: str) -> str | None:
        host = runtime.policy.hosts.by_mac.get(mac)
        return host.name if host is not None else None

    return {
        "access_log_class": EventAccessLogger,
        "access_log": RequestEvents(runtime.events, runtime.client_mac, host_of),
        "keepalive_timeout": runtime.config.http.timeout,
        "max_line_size": MAX_LINE,
        "max_field_size": MAX_FIELD,
        "max_headers": MAX_HEADERS,
        "shutdown_timeout": SHUTDOWN_TIMEOUT,
    }


class HttpService:
    """Files, per-host scripts and UEFI HTTP boot on ``http.port`` (both families)."""

    name = "http"

    def __init__(self, runtime: Runtime, port: int | None = None, tls_port: int | None = None) -> None:
        self.runtime = runtime
        cfg = runtime.config.http
        self.port = cfg.port if port is None else port
        self.tls_port = cfg.tls_port if tls_port is None else tls_port  # used with http.tls_cert/tls_key
        self.root = cfg.root.resolve() if cfg.root is not None else runtime.root
        self.addresses: list[tuple[str, int]] = []
        self.tls_addresses: list[tuple[str, int]] = []  # HTTPS (empty without TLS)
        self.sites: list[LimitedSite] = []
        self.handler: BootHandler | None = None
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Bind, report ready, serve until cancelled, then close every connection."""
        runtime = self.runtime
        cfg = runtime.config.http
        if not self.root.is_dir():
            raise ServiceError(f"HTTP: the root {self.root} is not a directory (set http.root or root)")
        try:
            context = server_context(cfg)
        except TlsError as exc:
            raise ServiceError(f"HTTPS: {exc} (bootwright check shows the same)") from None
        socks = bind_sockets([str(a) for a in cfg.listen], self.port)
        self.port = socks[0].getsockname()[1] if socks else self.port
        tls_socks: list[socket.socket] = []
        if context is not None:
            try:
                tls_socks = bind_sockets([str(a) for a in cfg.listen], self.tls_port)
            except BaseException:
                for sock in socks:
                    sock.close()
                raise
            self.tls_port = tls_socks[0].getsockname()[1] if tls_socks else self.tls_port
        runner: web.AppRunner | None = None
        quiet_malformed_requests(log)  # aiohttp's parser refusals: rate-limited debug lines (web/logfilter.py)
        try:
            app, self.handler = build_app(runtime, self.root, self.port)
            runner = web.AppRunner(app, **runner_options(runtime))
            await runner.setup()
            install_fast_path(runner, app, self.handler)
            for sock in socks:
                site = LimitedSite(runner, sock, cfg.max_connections)
                await site.start()
                self.sites.append(site)
            for sock in tls_socks:  # the same application over TLS: API, metrics and files
                site = LimitedSite(runner, sock, cfg.max_connections, context, cfg.timeout)
                await site.start()
                self.sites.append(site)
            self.addresses = [s.getsockname()[:2] for s in socks]
            self.tls_addresses = [s.getsockname()[:2] for s in tls_socks]
            shown = ", ".join(f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in self.addresses)
            if tls_socks:
                shown += ", HTTPS on " + ", ".join(f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
                                                  for a, p in self.tls_addresses)
            runtime.mark_ready("http", f"listening on {shown}, root {self.root}")
            runtime.metrics.add_source(self.name, self.reading)
            self.started.set()
            await asyncio.Future()  # serve until cancelled
        finally:
            runtime.metrics.remove_source(self.name, self.reading)
            if runner is not None:
                with contextlib.suppress(Exception):
                    await runner.cleanup()
            for sock in socks + tls_socks:
                sock.close()


    def reading(self, now: float) -> Reading:
        """Connections turned away over ``http.max_connections``, for ``/metrics``."""
        return Reading(counters={"refused": sum(site.refused for site in self.sites)})


def create_service(runtime: Runtime) -> HttpService | None:
    """Service factory for ``app._load_factories``: ``None`` when ``http.enabled`` is false."""
    if not runtime.config.http.enabled:
        return None
    return HttpService(runtime)
