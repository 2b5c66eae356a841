"""GRUB and pxelinux per-machine configs rendered from the boot decision (pure).

iPXE gets scripts from :mod:`bootwright.boot.ipxe`; the other two network boot
loaders of the seeds read a config file named after the client's MAC:

* GRUB (seed 003's ``efi-a64/grubaa64.efi``) looks in its prefix directory for
  ``grub.cfg-01-aa-bb-cc-dd-ee-ff``, then IP-based names, then ``grub.cfg``
  (GRUB manual, "Network"; ``grub_net_search_config_file``). Debian's signed
  network GRUB (``grubnetx64.efi``, what shim loads under Secure Boot) skips
  that search: its built-in config sources ``$prefix/x86_64-efi/grub.cfg`` if
  it exists, else ``$prefix/grub.cfg``, prefix ``/grub`` on the server it was
  loaded from (``(tftp,…)`` or ``(http,…)``). A plain ``grub.cfg`` name
  (:func:`is_grub_config`) carries no MAC, so the caller finds the requester's.
* pxelinux looks for ``pxelinux.cfg/01-aa-bb-cc-dd-ee-ff``, then the client's
  IP in hex shrinking, then ``pxelinux.cfg/default`` (syslinux wiki, PXELINUX).

Both are rendered from the same boot target or menu iPXE would get, with the
same template variables (:func:`bootwright.boot.ipxe.template_context`). Only what
the loader can do is rendered: kernels with initrds and command lines, EFI
programs (GRUB ``chainloader``) and ``exit`` (local disk). A target or menu
with nothing a loader can run renders as ``None`` so callers answer "not
found" and the loader falls back to its generic config.

The HTTP server serves these names; the TFTP service can reuse the same
functions. Nothing here touches files, sockets or clocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from bootwright.boot.ipxe import render_text, template_context
from bootwright.boot.policy import ServerContext, platform_of
from bootwright.config import Config, Target
from bootwright.model import ClientInfo, Host, InvalidMac, normalize_mac

Loader = Literal["grub", "pxelinux"]
GRUB_CONFIG = "grub.cfg"
GRUB_FILES_VAR = "bw_files"  # where a plain grub.cfg reads our files from (grub_files_head)
GRUB_FILES = "${" + GRUB_FILES_VAR + "}"

# ``grub.cfg-01-aa-bb-cc-dd-ee-ff`` (ARP hardware type 1 = Ethernet, RFC 1700) as
# GRUB asks for it; ``grub.cfg-<mac>`` with colons or hyphens as people write it.
_GRUB_NAME = re.compile(r"^grub\.cfg-(?:01-)?([0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5})$")
# ``pxelinux.cfg/01-aa-bb-cc-dd-ee-ff`` (syslinux doc/pxelinux.txt).
_PXELINUX_NAME = re.compile(r"^01-([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})$")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def hexhyp(mac: str) -> str:
    """``aa:bb:…`` as ``aa-bb-…`` (iPXE ``${mac:hexhyp}``, the per-MAC file name form)."""
    return mac.replace(":", "-")


def grub_config_name(mac: str) -> str:
    """The per-MAC file GRUB asks for first: ``grub.cfg-01-aa-bb-cc-dd-ee-ff``."""
    return f"grub.cfg-01-{hexhyp(normalize_mac(mac))}"


def pxelinux_config_name(mac: str) -> str:
    """The per-MAC file pxelinux asks for first: ``pxelinux.cfg/01-aa-bb-cc-dd-ee-ff``."""
    return f"pxelinux.cfg/01-{hexhyp(normalize_mac(mac))}"


def is_grub_config(path: str) -> bool:
    """Whether ``path`` is a prefix's GRUB config without a MAC in its name: ``<dir>/grub.cfg``.

    Debian's network GRUB reads ``grub/grub.cfg`` (module docstring). A
    ``grub.cfg`` at the top of the root is left to files, and a real file of
    either name wins over the rendered one.
    """
    directory, _, name = path.rpartition("/")
    return name == GRUB_CONFIG and directory.strip("/") != ""


def parse_config_path(path: str) -> tuple[Loader, str] | None:
    """Which loader asks for ``path`` and for which MAC, or ``None``.

    ``path`` is relative to the served root; any directory may precede the
    name (GRUB reads from its prefix, e.g. ``efi-a64/grub.cfg-01-…``).
    """
    directory, _, name = path.rpartition("/")
    match = _GRUB_NAME.match(name)
    if match:
        mac = _mac(match.group(1))
        # A NIC address is unicast (IEEE 802 I/G bit clear): "grub.cfg-01-…" with
        # five octets after "01-" is not read as the multicast MAC 01:….
        return ("grub", mac) if not int(mac[:2], 16) & 1 else None
    if directory == "pxelinux.cfg" or directory.endswith("/pxelinux.cfg"):
        match = _PXELINUX_NAME.match(name)
        if match:
            return "pxelinux", _mac(match.group(1))
    return None


def _mac(text: str) -> str:
    try:
        return normalize_mac(text)
    except InvalidMac:  # pragma: no cover - the patterns only admit valid MACs
        raise ValueError(text) from None


@dataclass(frozen=True, slots=True)
class Entry:
    """One bootable thing a loader can run, its strings already rendered."""

    id: str
    label: str
    kernel: str | None = None
    initrds: tuple[str, ...] = ()
    cmdline: str = ""
    efi: str | None = None
    exit: bool = False
    bootif: bool = False


@dataclass(frozen=True, slots=True)
class EntryList:
    """The entries of a target or menu with the menu's default and timeout."""

    title: str
    entries: tuple[Entry, ...]
    default: str | None
    timeout_ms: int | None  # None: wait for a choice (the menu sets no timeout)


def _entry(name: str, target: Target, label: str | None, context: dict[str, object]) -> Entry | None:
    def text(value: str, key: str) -> str:
        return render_text(value, context, f"targets.{name}.{key}")

    ident = _ID_UNSAFE.sub("_", name)
    shown = text(label or target.label or name, "label")
    if target.kernel:
        return Entry(
            id=ident,
            label=shown,
            kernel=text(target.kernel, "kernel"),
            initrds=tuple(text(i, f"initrd[{n}]") for n, i in enumerate(target.initrd)),
            cmdline=text(target.cmdline, "cmdline") if target.cmdline else "",
            bootif=target.bootif,
        )
    if target.efi:
        return Entry(id=ident, label=shown, efi=text(target.efi, "efi"))
    if target.exit:
        return Entry(id=ident, label=shown, exit=True)
    return None  # chain / sanboot / config / shell / raw iPXE lines: iPXE only


def entries(
    config: Config,
    name: str,
    client: ClientInfo | None,
    ctx: ServerContext,
    host: Host | None = None,
    platform: str = "efi",
) -> EntryList:
    """The loader-runnable entries of target or menu ``name`` for one client.

    A menu contributes its items that are targets (sub-menus are flattened,
    depth first) and are visible on ``platform``; a target contributes itself.
    Raises :class:`bootwright.boot.ipxe.RenderError` when a template fails.
    """
    context = template_context(client, host, ctx)
    menu = config.menus.get(name)
    if menu is None:
        target = config.targets.get(name)
        found = _entry(name, target.for_platform(platform), None, context) if target else None
        return EntryList(name, (found,) if found else (), found.id if found else None, None)
    out: list[Entry] = []
    seen: set[str] = set()

    def walk(mname: str) -> None:
        seen.add(mname)
        for item in config.menus[mname].items:
            if item.target is None or (item.platform is not None and item.platform != platform):
                continue
            if item.target in config.menus:
                if item.target not in seen:
                    walk(item.target)
            elif item.target not in {e.id for e in out}:
                found = _entry(item.target, config.targets[item.target].for_platform(platform), item.label, context)
                if found is not None:
                    out.append(found)

    walk(name)
    ids = {e.id for e in out}
    default = _ID_UNSAFE.sub("_", menu.default) if menu.default else None
    title = render_text(menu.title, context, f"menus.{name}.title") if menu.title else name
    return EntryList(title, tuple(out), default if default in ids else None, menu.timeout)


def _who(client: ClientInfo | None, host: Host | None) -> str:
    who = (client.mac if client else None) or "unknown client"
    return f"{who} ({host.name})" if host is not None else who


def _bootif(client: ClientInfo | None) -> str | None:
    # pxelinux's BOOTIF format (syslinux IPAPPEND 2): ARP type 01, then the MAC with hyphens.
    return f"BOOTIF=01-{hexhyp(client.mac)}" if client is not None and client.mac else None


# ----------------------------------------------------------------------------- GRUB


def grub_path(location: str, ctx: ServerContext, probe_http: bool = False) -> str:
    """A kernel/initrd location as a GRUB path: URLs become ``(http,host:port)/path``.

    Paths relative to the root are fetched over HTTP from us when our address
    is known (GRUB's ``(http,server)`` device), so kernels never go over TFTP.
    ``probe_http``: our own files — relative paths and URLs of our HTTP server —
    become ``${bw_files}/path``, which the config's head
    (:func:`grub_files_head`) sets to our HTTP device when this GRUB can load
    its ``http`` module, else to nothing: a path on GRUB's root device, the
    server and protocol GRUB read its config from.
    """
    parts = urlsplit(location)
    if probe_http and _own_file(parts, ctx):
        return GRUB_FILES + (parts.path or "/")
    if parts.scheme in ("http", "tftp") and parts.netloc:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return f"({parts.scheme},{parts.netloc}){path}"
    if location.startswith("("):
        return location  # already a GRUB device path
    path = "/" + location.lstrip("/")
    if probe_http:
        return GRUB_FILES + path
    if ctx.server is None:
        return path
    port = "" if ctx.http_port == 80 else f":{ctx.http_port}"
    return f"(http,{ctx.server}{port}){path}"


def _own_file(parts: SplitResult, ctx: ServerContext) -> bool:
    """Whether a parsed URL names a file of our root on our own HTTP server (no query)."""
    if parts.scheme != "http" or not parts.netloc or parts.query or ctx.address is None:
        return False
    try:
        port = parts.port or 80
    except ValueError:
        return False
    host = parts.hostname or ""
    return port == ctx.http_port and (host == ctx.address.lower() or host in ctx.own_addresses)


def grub_files_head(ctx: ServerContext, probe: str) -> list[str]:
    """The lines that set ``bw_files`` (see :func:`grub_path`): our HTTP device if GRUB has HTTP, else its root.

    Debian's network GRUB (``grubnet*.efi``) is built with ``tftp`` and no
    ``http`` module, and under Secure Boot it may load no module at all: it
    reads our files over TFTP from its root device. A GRUB that loads
    ``http.mod`` (from ``$prefix/<cpu>-<platform>/``, as ``grub-mknetdir`` lays
    it out) fetches kernels over HTTP. The test opens ``probe`` (this config's
    own path) over HTTP, which loads the module when it can; ``insmod`` cannot
    tell, it returns success even when the module did not load (GRUB 2.06
    ``grub_cmd_insmod``).
    """
    lines = ["# Our files over HTTP when this GRUB has HTTP, else from the server and protocol it read this file from"]
    if ctx.server is None:
        return [*lines, f"set {GRUB_FILES_VAR}="]
    port = "" if ctx.http_port == 80 else f":{ctx.http_port}"
    device = f"(http,{ctx.server}{port})"
    test = f"test -e {device}/{_grub_quote(probe.lstrip('/'))}"
    return [*lines, f"if {test}; then set {GRUB_FILES_VAR}={device}; else set {GRUB_FILES_VAR}=; fi"]


def _grub_quote(text: str) -> str:
    """Single-quote for GRUB's shell-like lexer (GRUB manual, "Quoting")."""
    return "'" + text.replace("'", "'\\''") + "'"


def _grub_entry(entry: Entry, client: ClientInfo | None, ctx: ServerContext, probe_http: bool) -> list[str]:
    lines = [f"menuentry {_grub_quote(entry.label)} --id {_grub_quote(entry.id)} {{"]
    if entry.kernel is not None:
        cmdline = entry.cmdline
        bootif = _bootif(client) if entry.bootif else None
        if bootif and "BOOTIF=" not in cmdline:
            cmdline = f"{cmdline} {bootif}".strip()
        lines.append(f"\tlinux {grub_path(entry.kernel, ctx, probe_http)} {cmdline}".rstrip())
        if entry.initrds:
            lines.append("\tinitrd " + " ".join(grub_path(i, ctx, probe_http) for i in entry.initrds))
    elif entry.efi is not None:
        lines.append(f"\tchainloader {grub_path(entry.efi, ctx, probe_http)}")
    else:
        lines.append("\texit")
    lines.append("}")
    return lines


def render_grub(
    config: Config,
    name: str | None,
    client: ClientInfo | None,
    ctx: ServerContext,
    host: Host | None = None,
    probe: str | None = None,
) -> str | None:
    """A ``grub.cfg`` for target or menu ``name``, or ``None`` when GRUB could boot nothing of it.

    ``probe``: the config's own path, read over HTTP to see whether this GRUB has
    HTTP; our files then come over HTTP, else from its root device (:func:`grub_files_head`).
    """
    if name is None:
        return None
    platform = (platform_of(client) if client else None) or "efi"
    found = entries(config, name, client, ctx, host, platform)
    if not found.entries:
        return None
    default = found.default or found.entries[0].id
    # GRUB: timeout=-1 waits for a key (GRUB manual, "timeout"); one entry boots at once.
    seconds = (-(-found.timeout_ms // 1000) if found.timeout_ms else -1) if len(found.entries) > 1 else 0
    lines = [
        f"# bootwright: {name} for {_who(client, host)}",
        f"set default={_grub_quote(default)}",
        f"set timeout={seconds}",
    ]
    if probe is not None:
        lines += grub_files_head(ctx, probe)
    for entry in found.entries:
        lines += _grub_entry(entry, client, ctx, probe is not None)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- pxelinux


def _pxelinux_entry(entry: Entry) -> list[str]:
    lines = [f"LABEL {entry.id}", f"  MENU LABEL {entry.label}"]
    if entry.kernel is not None:
        lines.append(f"  KERNEL {entry.kernel}")
        if entry.initrds:
            lines.append("  INITRD " + ",".join(entry.initrds))  # syslinux ≥ 4: comma-separated list
        if entry.cmdline:
            lines.append(f"  APPEND {entry.cmdline}")
        if entry.bootif and "BOOTIF=" not in entry.cmdline:
            lines.append("  IPAPPEND 2")  # appends BOOTIF=01-<mac> (syslinux doc/pxelinux.txt)
    else:
        lines.append("  LOCALBOOT 0")
    return lines


def render_pxelinux(
    config: Config, name: str | None, client: ClientInfo | None, ctx: ServerContext, host: Host | None = None
) -> str | None:
    """A ``pxelinux.cfg/01-<mac>`` for target or menu ``name``, or ``None`` when nothing fits.

    pxelinux runs under BIOS, so ``pcbios`` variants and menu items apply; EFI
    programs are left out. Relative paths stay relative (fetched next to
    ``pxelinux.0``); URLs work with ``lpxelinux.0``.
    """
    if name is None:
        return None
    found = entries(config, name, client, ctx, host, "pcbios")
    runnable = tuple(e for e in found.entries if e.efi is None)
    if not runnable:
        return None
    ids = {e.id for e in runnable}
    default = found.default if found.default in ids else runnable[0].id
    tenths = -(-(found.timeout_ms or 0) // 100) if len(runnable) > 1 else 0
    lines = [
        f"# bootwright: {name} for {_who(client, host)}",
        f"DEFAULT {default}",
        f"PROMPT {1 if len(runnable) > 1 else 0}",
        f"TIMEOUT {tenths}",  # tenths of a second; 0 waits forever only with PROMPT 1
        f"MENU TITLE {found.title}",
    ]
    for entry in runnable:
        lines += _pxelinux_entry(entry)
    return "\n".join(lines) + "\n"


def render_config(
    loader: Loader,
    config: Config,
    name: str | None,
    client: ClientInfo | None,
    ctx: ServerContext,
    host: Host | None = None,
    probe: str | None = None,
) -> str | None:
    """Dispatch to :func:`render_grub` (``probe``: see there) or :func:`render_pxelinux`."""
    if loader == "grub":
        return render_grub(config, name, client, ctx, host, probe)
    return render_pxelinux(config, name, client, ctx, host)
