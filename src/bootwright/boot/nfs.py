"""NFS roots: which export serves a kernel's ``nfsroot=``, and the NFS servers' configurations (pure).

Rule: every decision "this path is exported, by this entry, to these
clients" is made here. The NFS service (``net/nfs.py``) writes what
:func:`ganesha_config` and :func:`exportfs_commands` return; ``check``,
``explain`` and the validation warnings ask :func:`covering` and
:func:`nfs_root_problems`.

What clients mount is the absolute server path, ``<root>/<path>`` — the
directory itself: seed 002 writes ``nfsroot=local-server:/srv/tftp/gparted``
with ``root = "/srv/tftp"``, as ``/etc/exports`` of the kernel's nfsd names
directories. Ganesha is configured so that the same path works over NFSv3
(its ``Path``) and NFSv4 (``Pseudo`` is the same path), and a path below an
export (``/srv/tftp/grml/live``) is served by that export, as both servers do.

The kernel command-line parameters read (:data:`ROOT_PARAMETERS`):
``nfsroot=[<server>:]<dir>[,<options>]`` (Linux
Documentation/admin-guide/nfs/nfsroot.rst; casper and live-boot read it too)
and SystemRescue's ``nfsboot=<server>:<dir>``.

Pure: paths are compared as written (the caller passes the resolved root);
nothing is read from disk here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import PurePath, PurePosixPath

from bootwright.boot.reply import server_context
from bootwright.config import Config, NfsExport, Problem, Target

ROOT_PARAMETERS = ("nfsroot", "nfsboot")
_PARAMETER = re.compile(r"(?:^|\s)(nfsroot|nfsboot)=(\S+)")
_DYNAMIC = ("{{", "{%", "${")  # a Jinja2 template or an iPXE setting: known only when rendered

# The ports Ganesha listens on (TCP): NFS (RFC 1813 §1, RFC 7530 §3.1: 2049) and MOUNT (fixed
# here rather than left to the portmapper, so that a firewall can name it; 20048 as Linux's mountd).
NFS_PORT = 2049
MOUNT_PORT = 20048

ANY_CLIENT = "*"


@dataclass(frozen=True, slots=True)
class NfsRoot:
    """One ``nfsroot=`` / ``nfsboot=`` of a kernel command line."""

    parameter: str  # nfsroot or nfsboot
    text: str  # as written, "local-server:/srv/tftp/gparted,vers=3"
    server: str | None  # "local-server"; None: the kernel takes it from DHCP (nfsroot.rst, root-path/siaddr)
    path: str  # "/srv/tftp/gparted"

    @property
    def dynamic(self) -> bool:
        """True when the path is a template or iPXE setting: it is known only per client."""
        return any(mark in self.path for mark in _DYNAMIC) or "%s" in self.path


def nfs_roots(cmdline: str) -> list[NfsRoot]:
    """The NFS roots a command line names (``nfsroot=``, ``nfsboot=``), in order."""
    found = []
    for parameter, value in _PARAMETER.findall(cmdline):
        spec = value.split(",", 1)[0]  # nfsroot.rst: options follow the directory after a comma
        server: str | None = None
        path = spec
        if not spec.startswith("/"):
            # <server>:<dir>; an IPv6 server is bracketed ([2001:db8::1]:/srv), as mount.nfs takes it.
            head, sep, tail = spec.rpartition(":/")
            if sep:
                server, path = head.strip("[]"), "/" + tail
        found.append(NfsRoot(parameter, value, server, path))
    return found


@dataclass(frozen=True, slots=True)
class Export:
    """An ``[nfs] exports`` entry resolved against the root: what the NFS server is told."""

    index: int  # position in nfs.exports (its key path)
    path: str  # as configured, relative to the root
    directory: PurePosixPath  # <root>/<path>: the path clients mount
    read_only: bool
    clients: tuple[str, ...]  # networks as text, or ("*",) for any client

    @property
    def key(self) -> str:
        """``nfs.exports[0]``."""
        return f"nfs.exports[{self.index}]"


def exports(config: Config, root: PurePath | str) -> list[Export]:
    """The configured exports with their absolute directories and client lists."""
    base = PurePosixPath(root)
    return [
        Export(i, e.path, _join(base, e.path), e.read_only, default_clients(config, e))
        for i, e in enumerate(config.nfs.exports)
    ]


def _join(base: PurePosixPath, path: str) -> PurePosixPath:
    joined = base / path if path not in ("", ".") else base
    return PurePosixPath(*[p for p in joined.parts if p != "."])


def default_clients(config: Config, export: NfsExport) -> tuple[str, ...]:
    """An export's clients: its own ``clients``, else the networks bootwright boots (subnet4, subnet6), else any."""
    nets: Sequence[IPv4Network | IPv6Network] = export.clients or [
        *(s.subnet for s in config.subnet4),
        *(s.prefix for s in config.subnet6),
    ]
    return tuple(str(n) for n in nets) or (ANY_CLIENT,)


def covering(found: Sequence[Export], path: str) -> Export | None:
    """The export that serves ``path``: the one whose directory is ``path`` or its nearest parent."""
    wanted = PurePosixPath(path)
    best: Export | None = None
    for export in found:
        serves = wanted == export.directory or export.directory in wanted.parents
        if serves and (best is None or len(export.directory.parts) > len(best.directory.parts)):
            best = export
    return best


def is_foreign(config: Config, root: NfsRoot) -> bool:
    """True when the root names another server by address (a name like ``local-server`` may be us)."""
    if root.server is None:
        return False
    try:
        addr = ip_address(root.server)
    except ValueError:
        return False
    return str(addr) not in server_context(config, addr.version, None).own_addresses


def target_roots(config: Config) -> Iterator[tuple[str, str, NfsRoot]]:
    """(target name, key path of its command line, root) for every target and platform variant."""
    for name, target in config.targets.items():
        yield from _roots_of(name, target)


def _roots_of(name: str, target: Target) -> Iterator[tuple[str, str, NfsRoot]]:
    for root in nfs_roots(target.cmdline):
        yield name, f"targets.{name}.cmdline", root
    for platform, variant in target.variants.items():
        for root in nfs_roots(variant.cmdline or ""):
            yield name, f"targets.{name}.variants.{platform}.cmdline", root


def describe(config: Config, root_dir: PurePath | str | None, root: NfsRoot) -> tuple[str, str | None]:
    """What serves ``root``: a one-line description, and a warning (None when it is served here)."""
    prefix = f"{root.parameter}={root.text}"
    if is_foreign(config, root):
        return f"{prefix}: another server ({root.server}), not checked", None
    if root.dynamic:
        return f"{prefix}: the path is filled in per client, not checked", None
    if not config.nfs.enabled:
        return f"{prefix}: NFS is off", (
            f"{prefix}: NFS is off here ([nfs] enabled = false): the kernel finds no root at {root.path} "
            "unless another server exports it (docs/nfs.md)"
        )
    if root_dir is None:
        return f"{prefix}: the root is not known here, not checked", None
    found = exports(config, root_dir)
    export = covering(found, root.path)
    if export is not None:
        mode = "read-only" if export.read_only else "read-write"
        return f"{prefix}: {export.key} ({export.directory}, {mode}, clients {', '.join(export.clients)})", None
    return f"{prefix}: not exported", f"{prefix}: {root.path} is not exported: {_advice(root_dir, root.path, found)}"


def _advice(root_dir: PurePath | str, path: str, found: Sequence[Export]) -> str:
    listed = ", ".join(str(e.directory) for e in found) or "none"
    base = PurePosixPath(root_dir)
    wanted = PurePosixPath(path)
    if base in wanted.parents:
        hint = f'add {{ path = "{wanted.relative_to(base)}" }} to nfs.exports'
    else:
        hint = f"it is outside the root {base}: exports are directories under the root"
    return f"no nfs.exports entry covers it (exported: {listed}); {hint}"


def nfs_root_problems(config: Config, root_dir: PurePath | str | None) -> Iterator[Problem]:
    """Warnings for targets whose ``nfsroot=`` this server does not export (NFS off, or no export covers it)."""
    for _name, where, root in target_roots(config):
        _, warning = describe(config, root_dir, root)
        if warning is not None:
            yield Problem(where, warning)


# --------------------------------------------------------------------------- the servers' configurations


def _quoted(value: str) -> str:
    # Ganesha's config grammar: a double-quoted string; the config model refuses '"', '\' and newlines in paths.
    return f'"{value}"'


def ganesha_config(found: Sequence[Export], recovery_dir: str, source: str = "") -> str:
    """NFS-Ganesha's configuration: VFS exports over NFSv3 and v4, TCP, each export's path as its pseudo path.

    NLM and RQUOTA are off (clients mount with ``nolock``, as an NFS root does;
    NLM would also need rpc.statd). The NFSv4 grace period is skipped
    (``Graceless``): exports are read-mostly boot roots, and a restart should
    serve at once. ``root`` keeps its identity (``No_Root_Squash``): a booting
    system reads its root as uid 0, as the seeds' ``/etc/exports`` allow.
    """
    lines = [
        f"# Written by bootwright{f' from {source}' if source else ''} ([nfs], docs/nfs.md); rewritten at every",
        "# start and config reload: edit the bootwright config, not this file.",
        "NFS_CORE_PARAM {",
        "    Protocols = 3, 4;",
        f"    NFS_Port = {NFS_PORT};",
        f"    MNT_Port = {MOUNT_PORT};",
        "    Enable_NLM = false;",
        "    Enable_RQUOTA = false;",
        "}",
        "NFSV4 {",
        "    Graceless = true;",
        "    RecoveryBackend = fs;",
        f"    RecoveryRoot = {_quoted(recovery_dir)};",
        "}",
        "EXPORT_DEFAULTS {",
        "    Access_Type = None;",
        "}",
    ]
    for export in found:
        access = "RO" if export.read_only else "RW"
        lines += [
            f"# {export.key}: {export.path or '.'}",
            "EXPORT {",
            f"    Export_Id = {export.index + 1};",  # 0 is the NFSv4 pseudo root's
            f"    Path = {_quoted(str(export.directory))};",
            f"    Pseudo = {_quoted(str(export.directory))};",
            "    Protocols = 3, 4;",
            "    Transports = TCP;",
            "    Access_Type = None;",
            "    Squash = No_Root_Squash;",
            "    SecType = sys;",
            "    FSAL {",
            "        Name = VFS;",
            "    }",
            "    CLIENT {",
            f"        Clients = {', '.join(export.clients)};",
            f"        Access_Type = {access};",
            "    }",
            "}",
        ]
    lines += ["LOG {", "    Default_Log_Level = EVENT;", "}"]
    return "\n".join(lines) + "\n"


def exportfs_options(export: Export) -> str:
    """The kernel nfsd's options for an export (exports(5)), matching what Ganesha is told."""
    return ",".join(("ro" if export.read_only else "rw", "no_subtree_check", "no_root_squash"))


def exportfs_commands(found: Sequence[Export]) -> list[list[str]]:
    """``exportfs`` argument lists that add each export for each client network (exportfs(8) ``-i -o``)."""
    return [["exportfs", "-i", "-o", exportfs_options(e), _spec(c, e)] for e in found for c in e.clients]


def unexportfs_commands(found: Sequence[Export]) -> list[list[str]]:
    """``exportfs -u`` argument lists that remove what :func:`exportfs_commands` added."""
    return [["exportfs", "-u", _spec(c, e)] for e in found for c in e.clients]


def _spec(client: str, export: Export) -> str:
    # exportfs(8): client:path, an IPv6 client in square brackets.
    return f"[{client}]:{export.directory}" if ":" in client else f"{client}:{export.directory}"
