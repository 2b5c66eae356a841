"""``bootwright serve``: every configured service in one process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from bootwright.boot.policy import BootPolicy
from bootwright.cli.check import load_validated_or_exit
from bootwright.cli.common import EXIT_USAGE, ConfigOpt, err

if TYPE_CHECKING:
    import logging
    from collections.abc import Coroutine

    from bootwright.runtime.events import EventWriter


def serve(
    config: ConfigOpt,
    root: Annotated[
        Path | None, typer.Option("--root", help="Directory served over TFTP and HTTP (overrides the config).")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Directory for leases and events (overrides the config).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    log_json: Annotated[bool, typer.Option(
        "--log-json", help="Every line one JSON object (ts, level, logger, msg; events with their fields).")] = False,
    log_target: Annotated[str, typer.Option(
        "--log-target", help="auto (the journal when stderr is journald's, else stderr), stderr, journal or "
                             "syslog.")] = "auto",
    syslog_address: Annotated[str, typer.Option(
        "--syslog-address", help="With --log-target syslog: a socket path or HOST:PORT (UDP).")] = "/dev/log",
) -> None:
    """Run every configured service (DHCP, RA, TFTP, HTTP) in one process until stopped."""
    import asyncio
    import logging

    from bootwright.app import run_services
    from bootwright.runtime import Runtime, ServiceError, resolve_paths
    from bootwright.runtime.events import EventSink
    from bootwright.runtime.logbuffer import LineBufferHandler
    from bootwright.store.base import StoreError
    from bootwright.store.sqlite import SqliteStore

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter(f"{log_level!r} is not one of debug, info, warning, error", param_hint="--log-level")
    if log_target not in LOG_TARGETS:
        raise typer.BadParameter(f"{log_target!r} is not one of {', '.join(LOG_TARGETS)}", param_hint="--log-target")
    # The validation ``bootwright check`` runs, with the paths of these flags (state_dir inside root: refused).
    cfg = load_validated_or_exit(config, root, state_dir)
    # Every protocol step is a log line: skip what the format never shows (logging docs,
    # "Optimization": caller lookup, thread and process names).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    fmt = "json" if log_json or cfg.server.log_format == "json" else "text"
    log_handler, event_writer = _log_output(log_target, fmt == "json", syslog_address)
    logging.basicConfig(level=level, handlers=[log_handler])
    root_dir, state = resolve_paths(cfg, root, state_dir)
    if not root_dir.is_dir():
        err.print(f"[red]error:[/red] the file root {root_dir} is not a directory (set --root or 'root' in {config})")
        raise typer.Exit(EXIT_USAGE)
    store = SqliteStore(state / "state.db")
    try:
        store.open()
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    line_writer = log_handler.event_line if isinstance(log_handler, LineBufferHandler) else None
    runtime = Runtime(
        config=cfg,
        config_path=config.resolve(),
        root=root_dir,
        state_dir=state,
        store=store,
        events=EventSink(store, fmt, line_writer=line_writer, event_writer=event_writer),
        policy=BootPolicy.from_config(cfg),
    )
    # The config, policy and codec tables live for the whole run: keep them out of the
    # cyclic GC's generations so collections during packet bursts stay short.
    import gc

    gc.collect()
    gc.freeze()
    failures: list[BaseException] = []
    try:
        asyncio.run(_serve_with_log(run_services(runtime), log_handler))
    except* (ServiceError, StoreError, OSError) as group:
        failures += group.exceptions
    if failures:  # exit outside except*: an exception raised inside one is wrapped in a new ExceptionGroup
        for failure in failures:
            err.print(f"[red]error:[/red] {escape(str(failure))}", highlight=False, soft_wrap=True)
        if any(lacks_privilege(f) for f in failures):
            err.print(f"  {escape(PRIVILEGE_HINT)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


LOG_TARGETS = ("auto", "stderr", "journal", "syslog")


def _log_output(target: str, json_lines: bool, syslog_address: str) -> tuple[logging.Handler, EventWriter | None]:
    """The log handler for ``--log-target`` (and the journal's structured event writer)."""
    import logging.handlers
    import os

    from bootwright.net.journal import JOURNAL_SOCKET, JournalHandler, journal_wanted
    from bootwright.runtime.logbuffer import JOURNAL_FORMAT, LOG_FORMAT, LineBufferHandler

    to_journal = journal_wanted()
    if target == "journal" or (target == "auto" and to_journal and Path(JOURNAL_SOCKET).exists()):
        journal = JournalHandler()
        return journal, journal.event
    if target == "syslog":
        host, colon, port = syslog_address.rpartition(":")
        address: str | tuple[str, int] = (host, int(port)) if colon and port.isdigit() else syslog_address
        try:
            handler: logging.Handler = logging.handlers.SysLogHandler(
                address, facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        except OSError as exc:
            raise typer.BadParameter(f"cannot open syslog at {syslog_address}: {exc.strerror or exc}",
                                     param_hint="--syslog-address") from None
        # The pid is put in once: serve turns logging's per-record process lookup off (logProcesses).
        handler.setFormatter(logging.Formatter(f"bootwright[{os.getpid()}]: %(name)s %(levelname)s %(message)s"))
        return handler, None
    # Lines are written in batches, one write per event-loop turn (logbuffer.py); journald stamps its own time.
    return LineBufferHandler(sys.stderr, JOURNAL_FORMAT if to_journal else LOG_FORMAT, json_lines), None


PRIVILEGE_HINT = (
    "bootwright serve needs root, or CAP_NET_BIND_SERVICE for ports below 1024 (DHCPv4 67, DHCPv6 547, "
    "TFTP 69, HTTP 80) and CAP_NET_RAW for raw sockets (router advertisements, DHCPv4 replies to clients "
    "without an address): run it as root, or give it AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW "
    "in its systemd unit"
)


def lacks_privilege(failure: BaseException) -> bool:
    """True when a start-up failure comes from a ``PermissionError`` (EACCES/EPERM binding or opening a socket)."""
    cause: BaseException | None = failure
    while cause is not None and not isinstance(cause, PermissionError):
        # A ServiceError is raised "from None" inside the except block: the OSError is its __context__.
        cause = cause.__cause__ or cause.__context__
    return cause is not None


async def _serve_with_log(main: Coroutine[Any, Any, None], handler: logging.Handler) -> None:
    """Run ``main``; a batching ``handler`` batches log lines on this loop, everything written at the end."""
    import asyncio

    from bootwright.runtime.logbuffer import LineBufferHandler

    if not isinstance(handler, LineBufferHandler):
        await main
        return
    handler.attach(asyncio.get_running_loop())
    try:
        await main
    finally:
        handler.detach()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main command."""
    app.command("serve")(serve)
