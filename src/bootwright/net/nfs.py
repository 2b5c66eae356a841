"""The NFS service: ``[nfs]`` exports served by a real NFS server that bootwright configures and supervises.

bootwright speaks no NFS itself. It tells an NFS server what to export
(:mod:`bootwright.boot.nfs` writes the configuration) and keeps it running:

* **NFS-Ganesha** (``backend = "ganesha"``; Debian ``nfs-ganesha``,
  ``nfs-ganesha-vfs``): a user-space server, so it works where the kernel has
  no nfsd. Its configuration goes to ``<state_dir>/nfs/ganesha.conf``, its log
  to ``<state_dir>/nfs/ganesha.log``. NFSv3 needs the portmapper: when nothing
  answers on TCP 111, bootwright starts its own ``rpcbind -w -f`` inside a
  private mount namespace with a tmpfs on ``/run`` (``unshare -m``), because
  rpcbind's socket ``/run/rpcbind.sock`` is per file system, not per network
  namespace — two bootwrights in two namespaces would otherwise share one
  portmapper. ``ganesha.nfsd -F`` then runs in that mount namespace
  (``nsenter -m``) and registers with it. When a portmapper already answers
  (the host's), Ganesha runs beside it and registers there. Both processes
  are children of bootwright (stopped by pid on shutdown; ``PR_SET_PDEATHSIG``
  stops them should bootwright die first). If one exits, both are stopped and
  started again after a delay that doubles from 1 s up to 30 s.
* **The kernel's nfsd** (``backend = "kernel"``): bootwright adds its exports
  with ``exportfs -i -o …`` (nothing is written to ``/etc/exports``) and
  removes them with ``exportfs -u`` when it stops. nfsd and mountd are the
  host's (``nfs-kernel-server``); bootwright checks only that port 2049
  answers. This path is not exercised by the tests (the machines they run on
  have no nfsd).
* ``auto``: the kernel's when ``/proc/fs/nfsd`` exists and ``exportfs`` is
  installed, else Ganesha.

The service is ready when TCP port 2049 answers. A config reload that
changes the exports rewrites the configuration and restarts Ganesha (NFSv3
clients retry; the exports are read-mostly boot roots) or re-runs exportfs.
Export directories that do not exist are left out, with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import IO

from bootwright.boot import nfs as exports_mod
from bootwright.boot.nfs import MOUNT_PORT, NFS_PORT, Export
from bootwright.runtime import Runtime, ServiceError

log = logging.getLogger("bootwright.nfs")

RPCBIND_PORT = 111  # the portmapper (RFC 1833 §3)
READY_TIMEOUT = 30.0  # seconds for the server to answer on NFS_PORT after a start
STOP_TIMEOUT = 10.0  # seconds after SIGTERM before SIGKILL
POLL = 1.0  # seconds between looks at the processes and the config
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0  # restart delays: doubling, capped
STABLE_AFTER = 60.0  # a server up this long starts the next backoff from BACKOFF_FIRST again
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PACKAGES = {"ganesha.nfsd": "nfs-ganesha nfs-ganesha-vfs", "rpcbind": "rpcbind", "unshare": "util-linux",
            "nsenter": "util-linux", "exportfs": "nfs-kernel-server"}  # fmt: skip


def program(name: str) -> str:
    """The path of ``name`` (PATH, then the sbin directories), or a ServiceError naming the Debian package."""
    found = shutil.which(name) or shutil.which(name, path=SEARCH_PATH)
    if found is None:
        raise ServiceError(f"nfs: {name} not found: install it with 'apt-get install {PACKAGES.get(name, name)}'")
    return found


def choose_backend(setting: str) -> str:
    """``kernel`` or ``ganesha`` for ``[nfs] backend`` (``auto``: the kernel's nfsd when the host has one)."""
    if setting != "auto":
        return setting
    has_nfsd = os.path.isdir("/proc/fs/nfsd")
    has_exportfs = (shutil.which("exportfs") or shutil.which("exportfs", path=SEARCH_PATH)) is not None
    return "kernel" if has_nfsd and has_exportfs else "ganesha"


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP connection to ``host:port`` is accepted (in this network namespace)."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when bootwright dies (prctl(2) PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class Child:
    """One supervised process, started in a session of its own, stopped by its pid."""

    def __init__(self, name: str, argv: list[str], output: IO[bytes]) -> None:
        self.name = name
        self.argv = argv
        self.output = output
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def start(self) -> None:
        """Start the process (its stdout and stderr go to ``output``)."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=self.output, stderr=self.output,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        self.started = time.monotonic()
        log.debug("nfs: started %s (pid %d): %s", self.name, self.proc.pid, " ".join(self.argv))

    @property
    def running(self) -> bool:
        """Whether the process runs."""
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int:
        """Its process id (0 before the start)."""
        return self.proc.pid if self.proc is not None else 0

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT` seconds; by pid, this process only."""
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning("nfs: %s (pid %d) did not stop within %.0f s: killed", self.name, proc.pid, STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


class Ganesha:
    """NFS-Ganesha (and, when no portmapper answers, its own rpcbind) as children of bootwright."""

    title = "NFS-Ganesha"

    def __init__(self, directory: Path, source: str) -> None:
        self.directory = directory
        self.source = source
        self.conf = directory / "ganesha.conf"
        self.logfile = directory / "ganesha.log"
        self.output: IO[bytes] | None = None
        self.rpcbind: Child | None = None
        self.ganesha: Child | None = None
        self.own_rpcbind = False

    def write(self, found: list[Export]) -> None:
        """Write ``ganesha.conf`` for ``found`` (atomically: a restart never reads half a file)."""
        recovery = self.directory / "recovery"
        recovery.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.conf.with_suffix(".tmp")
        tmp.write_text(exports_mod.ganesha_config(found, str(recovery), self.source))
        os.replace(tmp, self.conf)

    async def start(self) -> None:
        """rpcbind if none answers, then ganesha.nfsd in the foreground (``-F``)."""
        ganesha = program("ganesha.nfsd")
        if self.output is None:
            self.output = self.logfile.open("ab", buffering=0)
        prefix: list[str] = []
        if not answers(RPCBIND_PORT):
            # rpcbind's socket and lock live in /run, shared by every network namespace on the host:
            # a private tmpfs there gives this portmapper its own (PEERS.md, "NFS").
            script = 'mount -t tmpfs -o mode=0755 bootwright-nfs /run && exec "$0" -w -f'
            argv = [program("unshare"), "--mount", "--propagation", "private", "sh", "-c", script, program("rpcbind")]
            self.rpcbind = Child("rpcbind", argv, self.output)
            await self.rpcbind.start()
            self.own_rpcbind = True
            await self._wait_for(self.rpcbind, RPCBIND_PORT, 10.0)
            prefix = [program("nsenter"), "--target", str(self.rpcbind.pid), "--mount", "--"]
        pidfile = self.directory / "ganesha.pid"
        argv = [*prefix, ganesha, "-F", "-f", str(self.conf), "-L", str(self.logfile), "-p", str(pidfile)]
        self.ganesha = Child("ganesha.nfsd", argv, self.output)
        await self.ganesha.start()
        await self._wait_for(self.ganesha, NFS_PORT, READY_TIMEOUT)

    async def _wait_for(self, child: Child, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not answers(port):
            if not child.running:
                raise ServiceError(f"nfs: {child.name} exited at start: {self.tail()}")
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"nfs: {child.name} does not answer on TCP port {port} after {timeout:.0f} s: {self.tail()}"
                )
            await asyncio.sleep(0.1)

    def died(self) -> str | None:
        """Which process exited (with its code), or None while both run."""
        for child in (self.ganesha, self.rpcbind):
            if child is not None and not child.running and child.proc is not None:
                return f"{child.name} (pid {child.pid}) exited with code {child.proc.returncode}"
        return None

    @property
    def started(self) -> float:
        """When ganesha.nfsd was last started (monotonic)."""
        return self.ganesha.started if self.ganesha is not None else 0.0

    async def stop(self) -> None:
        """Stop ganesha.nfsd, then our rpcbind (by pid)."""
        for child in (self.ganesha, self.rpcbind):
            if child is not None:
                await child.stop()
        self.ganesha = self.rpcbind = None

    async def restart_server(self) -> None:
        """Stop and start ganesha.nfsd alone (a new configuration; the portmapper stays)."""
        if self.rpcbind is not None and not self.rpcbind.running:
            await self.stop()
            await self.start()
            return
        if self.ganesha is not None:
            await self.ganesha.stop()
            await self.ganesha.start()
            await self._wait_for(self.ganesha, NFS_PORT, READY_TIMEOUT)

    def close(self) -> None:
        """Close the log file."""
        if self.output is not None:
            self.output.close()
            self.output = None

    def tail(self, lines: int = 5) -> str:
        """The last lines of Ganesha's log, for error messages."""
        try:
            text = self.logfile.read_text(errors="replace").strip().splitlines()
        except OSError:
            return f"(no log at {self.logfile})"
        return " | ".join(line.split(" : ")[-1].strip() for line in text[-lines:]) or "(empty log)"

    def detail(self) -> str:
        """How it runs, for the ready line."""
        rpc = "its own rpcbind in a private /run" if self.own_rpcbind else "the running rpcbind"
        return f"NFS-Ganesha, NFSv3/TCP + v4 on port {NFS_PORT} (mount {MOUNT_PORT}), {rpc}"


class KernelNfsd:
    """The host's nfsd: exports added and removed with exportfs(8). Untested here: no nfsd on these machines."""

    title = "kernel nfsd"

    def __init__(self) -> None:
        self.applied: list[Export] = []

    async def apply(self, found: list[Export]) -> None:
        """Remove the previous exports, add ``found``."""
        await self.remove()
        program("exportfs")
        for argv in exports_mod.exportfs_commands(found):
            await _run(argv)
        self.applied = list(found)
        deadline = time.monotonic() + 10.0
        while not answers(NFS_PORT):
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"nfs: the kernel's nfsd does not answer on TCP port {NFS_PORT}: start it "
                    '(systemctl start nfs-kernel-server) or set [nfs] backend = "ganesha"'
                )
            await asyncio.sleep(0.2)

    async def remove(self) -> None:
        """``exportfs -u`` what :meth:`apply` added."""
        for argv in exports_mod.unexportfs_commands(self.applied):
            with contextlib.suppress(ServiceError):
                await _run(argv)
        self.applied = []


async def _run(argv: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        program(argv[0]), *argv[1:], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30.0)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ServiceError(f"nfs: {' '.join(argv)} did not finish within 30 s") from None
    if proc.returncode != 0:
        raise ServiceError(f"nfs: {' '.join(argv)} failed: {out.decode(errors='replace').strip()}")


class NfsService:
    """Configures and supervises the NFS server for ``[nfs]``."""

    name = "nfs"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.backend = choose_backend(runtime.config.nfs.backend)
        self.directory = runtime.state_dir / "nfs"
        self.restarts = 0

    def current(self) -> list[Export]:
        """The exports of the running config whose directories exist (the others are warned about)."""
        found = exports_mod.exports(self.runtime.config, self.runtime.root)
        present = []
        for export in found:
            if os.path.isdir(export.directory):
                present.append(export)
            else:
                log.warning(
                    "nfs: %s.path: %s is not a directory: not exported (create it, then reload)",
                    export.key,
                    export.directory,
                )
        return present

    async def run(self) -> None:
        """Start the server, report ready, keep it running and in step with the config until cancelled."""
        if os.geteuid() != 0:
            raise ServiceError(
                "nfs: serving NFS needs root (Ganesha's VFS backend opens files by handle; "
                "exportfs changes the kernel's export table)"
            )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.backend == "kernel":
            await self._run_kernel()
        else:
            await self._run_ganesha()

    def _configured(self) -> list[Export]:
        return exports_mod.exports(self.runtime.config, self.runtime.root)

    async def _run_ganesha(self) -> None:
        if answers(NFS_PORT):
            raise ServiceError(
                f"nfs: TCP port {NFS_PORT} is in use (another NFS server?): stop it, or use it with "
                '[nfs] backend = "kernel"'
            )
        server = Ganesha(self.directory, str(self.runtime.config_path))
        configured, found = self._configured(), self.current()
        server.write(found)
        try:
            await server.start()
            self.runtime.mark_ready("nfs", f"{server.detail()}, exports {_summary(found)}")
            await self._supervise(server, configured)
        finally:
            await server.stop()
            server.close()

    async def _supervise(self, server: Ganesha, configured: list[Export]) -> None:
        """Follow reloads (exports changed, NFS turned off or on) and restart a server that died."""
        delay = BACKOFF_FIRST
        running = True
        while True:
            await asyncio.sleep(POLL)
            if not self.runtime.config.nfs.enabled:
                if running:
                    log.info("nfs: [nfs] enabled = false after a reload: NFS-Ganesha stopped")
                    await server.stop()
                    running = False
                continue
            if not running or self._configured() != configured:
                configured, found = self._configured(), self.current()
                log.info(
                    "nfs: exports changed: %s NFS-Ganesha with %s",
                    "restarting" if running else "starting",
                    _summary(found),
                )
                server.write(found)
                again, running = running, True
                try:
                    await (server.restart_server() if again else server.start())
                except ServiceError as exc:  # left to the restart below, with its backoff
                    log.warning("%s", exc)
                continue
            why = server.died()
            if why is None:
                continue
            if time.monotonic() - server.started > STABLE_AFTER:
                delay = BACKOFF_FIRST
            self.restarts += 1
            log.warning("nfs: %s: %s; restarting in %.0f s", why, server.tail(3), delay)
            await server.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            try:
                await server.start()
            except ServiceError as exc:
                log.warning("%s", exc)
                continue
            log.info("nfs: NFS-Ganesha running again (restart %d)", self.restarts)

    async def _run_kernel(self) -> None:
        nfsd = KernelNfsd()
        configured = self._configured()
        found = self.current()
        try:
            await nfsd.apply(found)
            self.runtime.mark_ready("nfs", f"kernel nfsd (exportfs), exports {_summary(found)}")
            while True:
                await asyncio.sleep(POLL)
                if self._configured() != configured:
                    configured, found = self._configured(), self.current()
                    log.info("nfs: exports changed: exportfs %s", _summary(found))
                    await nfsd.apply(found)
        finally:
            await nfsd.remove()


def _summary(found: list[Export]) -> str:
    if not found:
        return "none"
    return "; ".join(f"{e.directory} ({'ro' if e.read_only else 'rw'}, {', '.join(e.clients)})" for e in found)


def create_service(runtime: Runtime) -> NfsService | None:
    """Service factory for ``app.SERVICE_FACTORIES``: ``None`` unless ``[nfs] enabled``."""
    if not runtime.config.nfs.enabled:
        return None
    return NfsService(runtime)
