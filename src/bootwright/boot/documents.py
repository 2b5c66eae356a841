"""Documents by name: every dynamic name HTTP and TFTP serve is decided here, once.

Rule: a transport never decides what a name means. HTTP (:mod:`bootwright.web.handlers`)
and TFTP (:mod:`bootwright.net.tftp.service`) both ask :meth:`Documents.lookup`
with the requested name, the transport, the local address (and HTTP port) the
request reached and the client's MAC if known, as pixiecore's HTTP and TFTP
servers both ask its ``Booter``. The answer is a :class:`Document` or ``None``
("not a dynamic name": serve a file or say not found).

Names (relative to the root, after the transport's own path checks), in order:

1. ``boot.ipxe`` — the entry script (:func:`bootwright.boot.ipxe.render_entry_script`);
2. a configured ``[http] scripts`` path — its target or menu, rendered for the
   client (its MAC from the request if it says, else the one the caller
   resolves: leases, then the neighbour table);
3. ``boot/<mac>.ipxe`` — the per-host script, ``<mac>`` in any usual spelling;
   a MAC no host or rule knows gets ``boot.default``;
4. ``<script path>-<mac>`` — the host's own target, else 404 so seed 002's
   per-host ``chain`` falls through to the menu;
5. ``…grub.cfg-01-<mac>`` / ``…grub.cfg-<mac>`` and ``…pxelinux.cfg/01-<mac>`` —
   GRUB / pxelinux configs from the same decision, 404 when the loader can
   boot nothing of it (it then reads its default config);
6. ``…/grub.cfg`` — the config Debian's network GRUB reads (``grub/grub.cfg``,
   no MAC in the name: under Secure Boot shim loads that GRUB), rendered for the
   requester's MAC as the caller resolves it (leases, then the neighbour table),
   as for an unknown client when none is found; it fetches our files over HTTP
   when that GRUB can load ``http`` (Debian's has no HTTP and Secure Boot
   forbids modules), else over the protocol the config came by.

Files and documents: over HTTP names 1–3 win over a file of the same name
(the config owns them); 4–6 and every name over TFTP yield to a real file,
so an operator can override one machine by hand (:attr:`Document.over_files`).

Every answer is computed by the same code as DHCP and ``bootwright explain``
(:meth:`BootPolicy.decide`, :mod:`bootwright.boot.ipxe`, :mod:`bootwright.boot.loaders`);
this module turns a request into a :class:`~bootwright.model.ClientInfo` and a
:class:`~bootwright.boot.policy.ServerContext`, and caches the rendered bytes.

Cache: a rendered document depends on the policy (config and hosts), the
server context (which of our addresses the request reached, and the HTTP port
its URLs name) and the client facts the request carries (MAC, ``platform``,
``buildarch``). The key is exactly that (and whether the answer wins over a
file), so the same name asked over HTTP on ``[http] port`` and over TFTP
renders the same bytes. The cache
belongs to one :class:`BootPolicy` object and is dropped with it
(:meth:`Documents.for_policy`), and is bounded.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, Literal

from bootwright.boot.ipxe import RenderError, render_entry_script, render_script
from bootwright.boot.loaders import Loader, is_grub_config, parse_config_path, render_config
from bootwright.boot.policy import ENTRY_SCRIPT, HOST_SCRIPT_PREFIX, BootPolicy, ServerContext
from bootwright.boot.reply import server_context
from bootwright.boot.subnets import local_subnet
from bootwright.config import Config
from bootwright.model import ClientInfo, Family, Host, InvalidMac, Platform, normalize_mac

__all__ = [
    "CACHE_SIZE",
    "IPXE_TYPE",
    "Document",
    "Documents",
    "MacSource",
    "Transport",
    "client_facts",
    "ipxe_client",
    "ipxe_error",
    "is_document_name",
    "parse_mac",
    "script_kind",
]

log = logging.getLogger("bootwright.boot")

CACHE_SIZE: Final = 8192
"""Rendered documents kept per policy (the working set is one entry per booting host)."""
IPXE_TYPE: Final = "text/plain"
_IPXE_SUFFIX: Final = ".ipxe"
_PLATFORMS: dict[str, Platform] = {"efi": "efi", "pcbios": "pcbios"}
# iPXE ${platform} + ${buildarch} → IANA processor architecture type (RFC 4578
# §2.1 / RFC 5970 §3.3), so rules matching ``arch`` decide as they did in DHCP.
_ARCH_CODES: dict[tuple[str, str], int] = {
    ("efi", "i386"): 6,
    ("efi", "x86_64"): 7,
    ("efi", "arm32"): 10,
    ("efi", "arm64"): 11,
    ("efi", "riscv32"): 25,
    ("efi", "riscv64"): 27,
    ("efi", "loong64"): 39,
}
_BUILDARCHES = frozenset({"i386", "x86_64", "arm32", "arm64", "riscv32", "riscv64", "loong64"})

MacSource = str | None | Callable[[], str | None]
"""The client's MAC, or a function that finds it (called only for a name that needs one and carries none)."""


class Transport(StrEnum):
    """Which server asks: decides only whether a document wins over a file of the same name."""

    HTTP = "http"
    TFTP = "tftp"


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered answer: status, body and who it was for (for the request event and the timeline)."""

    status: int
    body: bytes
    content_type: str = IPXE_TYPE
    mac: str | None = None
    host: str | None = None
    target: str | None = None  # the target or menu an iPXE script boots (``http.script`` event)
    platform: Platform | None = None
    kind: str | None = None  # what that script does: "menu", or the target's kind ("kernel", "exit", …)
    error: str | None = None  # why the status is not 200, for transports without an error body (TFTP)
    over_files: bool = False  # served even when a file of the same name exists (module docstring)


def script_kind(config: Config, name: str | None, platform: Platform | None) -> str | None:
    """What the script rendered for target or menu ``name`` does (:meth:`Target.kind`, or "menu").

    The target as rendered for ``platform`` (its variant applied) decides; the
    timeline uses this to tell "the script said exit" (a boot from local disk,
    finished) from "no kernel fetched" (stalled).
    """
    if name is None:
        return None
    if name in config.menus:
        return "menu"
    target = config.targets.get(name)
    if target is None:
        return None
    return target.for_platform(platform).kind()


def ipxe_error(status: int, message: str, mac: str | None = None) -> Document:
    """An error iPXE can show: a ``#!ipxe`` script that echoes the problem and fails."""
    text = message.replace("\n", " ")
    body = f"#!ipxe\n# bootwright: {text}\necho bootwright: {text}\nexit 1\n"
    return Document(status, body.encode(), IPXE_TYPE, mac, error=text)


def parse_mac(text: str) -> str | None:
    """A MAC in any usual form (``aa-bb-…``, ``aa:bb:…``), or ``None``."""
    try:
        return normalize_mac(text)
    except InvalidMac:
        return None


@dataclass(frozen=True, slots=True)
class _Name:
    """A dynamic name read: which kind, and what its form carries (one reading for lookup and check)."""

    kind: Literal["entry", "script", "host", "own", "loader", "grub"]
    mac: str | None = None  # host (None: not a MAC, answered 404), own, loader
    path: str = ""  # script, own: the [http] scripts path
    loader: Loader | None = None


def _read_name(name: str, script_paths: Collection[str]) -> _Name | None:
    """Which dynamic name ``name`` is; ``None``: a file's name. Read by :meth:`Documents.lookup`
    and :func:`is_document_name` alike."""
    if name == ENTRY_SCRIPT:
        return _Name("entry")
    if name in script_paths:
        return _Name("script", path=name)
    if name.startswith(HOST_SCRIPT_PREFIX) and name.endswith(_IPXE_SUFFIX):
        return _Name("host", parse_mac(name[len(HOST_SCRIPT_PREFIX) : -len(_IPXE_SUFFIX)]))
    for path in script_paths:
        if name.startswith(path) and name[len(path) : len(path) + 1] == "-":
            own_mac = parse_mac(name[len(path) + 1 :])
            if own_mac is not None:
                return _Name("own", own_mac, path)
    wanted = parse_config_path(name)
    if wanted is not None:
        return _Name("loader", wanted[1], loader=wanted[0])
    if is_grub_config(name):
        return _Name("grub")
    return None


def is_document_name(config: Config, name: str) -> bool:
    """Whether ``name`` (relative to the root) is one of the dynamic names above: it needs no file.

    Read as :meth:`Documents.lookup` reads it, without rendering (``bootwright
    check`` asks, for boot files missing from the root). A per-host script
    needs a real MAC in its name, else ``lookup`` answers 404.
    """
    found = _read_name(name, [path.lstrip("/") for path in config.http.scripts])
    return found is not None and not (found.kind == "host" and found.mac is None)


def client_facts(platform: str | None, buildarch: str | None) -> tuple[Platform | None, str | None]:
    """Keep only values iPXE can really send for ``${platform}`` and ``${buildarch}``."""
    return _PLATFORMS.get(platform or ""), buildarch if buildarch in _BUILDARCHES else None


def ipxe_client(family: Family, mac: str | None, platform: Platform | None, buildarch: str | None) -> ClientInfo:
    """The ClientInfo of an iPXE script request (user class ``iPXE``, arch from platform/buildarch)."""
    arches: tuple[int, ...] = ()
    if platform == "pcbios":
        arches = (0,)
    elif platform is not None and buildarch is not None:
        code = _ARCH_CODES.get((platform, buildarch))
        arches = (code,) if code is not None else ()
    return ClientInfo(
        family=family,
        mac=mac,
        arches=arches,
        user_classes=("iPXE",),
        platform=platform,
        buildarch=buildarch,
    )


class Documents:
    """Answers and caches the dynamic names (module docstring) for one :class:`BootPolicy`."""

    def __init__(self, policy: BootPolicy) -> None:
        """Documents of ``policy`` (``runtime.policy``); build a new one per policy (:meth:`for_policy`)."""
        self.policy = policy
        self.config = policy.config
        self.script_paths: dict[str, str] = dict(policy.scripts)
        self._contexts: dict[tuple[str, int], ServerContext] = {}
        self._cache: dict[tuple[Any, ...], Document] = {}
        # Documents whose every input is in the request target and the local
        # address (entry and per-host scripts), by (local address, port, raw target):
        # a repeat HTTP request skips path, query and MAC parsing altogether.
        self.by_target: dict[tuple[str, int, str], Document] = {}
        self.hits = 0
        self.misses = 0

    def for_policy(self, policy: BootPolicy) -> Documents:
        """This object if ``policy`` is the one it was built for, else a fresh one (config reload)."""
        return self if policy is self.policy else Documents(policy)

    # ------------------------------------------------------------------ the one question

    def lookup(
        self,
        name: str,
        transport: Transport,
        local: str,
        port: int | None = None,
        mac: MacSource = None,
        platform: str | None = None,
        buildarch: str | None = None,
        target: str | None = None,
    ) -> Document | None:
        """The document for ``name``, or ``None`` if it is not a dynamic name (serve a file or 404).

        ``name``: the path relative to the root; ``local``: our address the
        request reached; ``port``: the HTTP port it reached (``None``: not
        over HTTP, URLs name ``[http] port``); ``mac``: the client's MAC as
        the caller knows it (used by names that carry none); ``platform`` and
        ``buildarch``: what iPXE said in the query. ``target``: the raw HTTP
        request target, to answer its repeats from :meth:`remembered`.
        """
        if "%" in local:  # an IPv6 zone (fe80::1%eth0) is no part of the address URLs name
            local = local.split("%", 1)[0]
        key = (local, self.config.http.port if port is None else port)
        owned = transport is Transport.HTTP  # the config's own names win over files on HTTP only
        found = _read_name(name, self.script_paths)
        if found is None:
            return None
        if found.kind == "entry":
            return self._remember(key, target, self._entry(key, owned))
        if found.kind == "script":
            facts = client_facts(platform, buildarch)
            return self._named_script(key, owned, self.script_paths[name], mac() if callable(mac) else mac, *facts)
        if found.kind == "host":
            if found.mac is None:
                why = f"{name}: not a MAC address (expected boot/aa-bb-cc-dd-ee-ff.ipxe)"
                return replace(ipxe_error(404, why), over_files=owned)
            doc = self._host_script(key, owned, found.mac, *client_facts(platform, buildarch))
            return self._remember(key, target, doc)
        if found.kind == "own":
            assert found.mac is not None  # _read_name reads an own target only with a MAC
            return self._own_target(key, found.path, found.mac)
        if found.kind == "loader":
            assert found.loader is not None
            return self._loader_config(key, found.loader, found.mac)
        return self._loader_config(key, "grub", mac() if callable(mac) else mac, probe=name)  # grub/grub.cfg

    def remembered(self, local: str, port: int, target: str) -> Document | None:
        """The document an earlier :meth:`lookup` gave this raw request target on ``local``:``port``."""
        return self.by_target.get((local, port, target))

    def _remember(self, key: tuple[str, int], target: str | None, doc: Document) -> Document:
        if target is not None:
            if len(self.by_target) >= CACHE_SIZE:
                self.by_target.clear()
            self.by_target[(key[0], key[1], target)] = doc
        return doc

    # ------------------------------------------------------------------ server context

    def context(self, local: str, port: int) -> ServerContext:
        """Our context for a request that reached ``local`` (HTTP URLs naming ``port``).

        The family and subnet come from the local address (the subnet whose
        network holds it); the address is the configured one for that subnet
        (:func:`bootwright.boot.reply.server_context`), else the local address
        itself, and the port is the one really bound, so URLs in scripts lead back here.
        """
        key = (local, port)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._make_context(local, port)
            if len(self._contexts) > 256:
                self._contexts.clear()
            self._contexts[key] = ctx
        return ctx

    def _make_context(self, local: str, port: int) -> ServerContext:
        try:
            version = ipaddress.ip_address(local).version
        except ValueError:
            version = 4
        ctx = server_context(self.config, version, local_subnet(self.config, local))
        address = ctx.address
        if address is None or ipaddress.ip_address(address).version != version:
            address = local
        return replace(ctx, address=address, http_port=port)

    # ------------------------------------------------------------------ cache

    def _cached(self, key: tuple[Any, ...]) -> Document | None:
        doc = self._cache.get(key)
        if doc is not None:
            self.hits += 1
        return doc

    def _store(self, key: tuple[Any, ...], doc: Document) -> Document:
        self.misses += 1
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()  # crude but O(1) amortised; the working set is one entry per booting host
        self._cache[key] = doc
        return doc

    def _render(
        self, name: str | None, client: ClientInfo, ctx: ServerContext, host: Host | None, owned: bool = False
    ) -> Document:
        try:
            text = render_script(self.config, name, client, ctx, host)
        except RenderError as exc:
            log.error("rendering %s for %s: %s", name, client.mac, exc)
            return replace(ipxe_error(500, f"cannot render {name}: {exc}", client.mac), over_files=owned)
        kind = script_kind(self.config, name, client.platform)
        return Document(200, text.encode(), IPXE_TYPE, client.mac, host.name if host else None, name, client.platform,
                        kind, over_files=owned)  # fmt: skip

    # ------------------------------------------------------------------ documents

    # ``owned`` (the document wins over a file, :attr:`Document.over_files`) is part of
    # the cache key so a hit is returned as stored, never copied per request.

    def _entry(self, key: tuple[str, int], owned: bool) -> Document:
        """``boot.ipxe``: the entry script that sends iPXE to its own per-host script."""
        cache_key = ("entry", key, owned)
        doc = self._cached(cache_key)
        if doc is None:
            body = render_entry_script(self.context(*key)).encode()
            doc = self._store(cache_key, Document(200, body, IPXE_TYPE, over_files=owned))
        return doc

    def _host_script(
        self, key: tuple[str, int], owned: bool, mac: str, platform: Platform | None, buildarch: str | None
    ) -> Document:
        """``boot/<mac>.ipxe``: the policy's decision for this client, rendered (``boot.default`` if none)."""
        cache_key = ("host", key, owned, mac, platform, buildarch)
        doc = self._cached(cache_key)
        if doc is not None:
            return doc
        ctx = self.context(*key)
        client = ipxe_client(_family(key), mac, platform, buildarch)
        host = self.policy.hosts.find(client)
        answer = self.policy.decide(client, ctx, host)
        script = answer.script or self.config.boot.default
        return self._store(cache_key, self._render(script, client, ctx, host, owned))

    def _named_script(
        self,
        key: tuple[str, int],
        owned: bool,
        name: str,
        mac: str | None,
        platform: Platform | None,
        buildarch: str | None,
    ) -> Document:
        """A configured ``[http] scripts`` path: its target or menu, for this client if known."""
        cache_key = ("named", key, owned, name, mac, platform, buildarch)
        doc = self._cached(cache_key)
        if doc is not None:
            return doc
        client = ipxe_client(_family(key), mac, platform, buildarch)
        host = self.policy.hosts.find(client) if mac else None
        return self._store(cache_key, self._render(name, client, self.context(*key), host, owned))

    def _own_target(self, key: tuple[str, int], path: str, mac: str) -> Document:
        """``<scriptpath>-<mac>``: the host's own target, or 404 so the menu's fallback runs."""
        cache_key = ("own", key, path, mac)
        doc = self._cached(cache_key)
        if doc is not None:
            return doc
        client = ipxe_client(_family(key), mac, None, None)
        host = self.policy.hosts.find(client)
        if host is None or host.target is None:
            why = "no host with this MAC" if host is None else f"host {host.name} has no own target"
            doc = ipxe_error(404, f"{path}-{mac}: {why}; using the menu", mac)
            return self._store(cache_key, replace(doc, host=host.name if host else None))
        return self._store(cache_key, self._render(host.target, client, self.context(*key), host))

    def _loader_config(
        self, key: tuple[str, int], loader: Loader, mac: str | None, probe: str | None = None
    ) -> Document:
        """A GRUB or pxelinux config for ``mac`` from the same decision, or 404 when nothing fits.

        ``mac`` is ``None`` for a plain ``grub.cfg`` whose requester's MAC is unknown:
        the config is then what an unknown client boots. ``probe``: the plain config's own
        name; GRUB reads our files over HTTP if it can open it there, else from the device it
        read the config from (:func:`bootwright.boot.loaders.grub_files_head`).
        """
        cache_key = ("loader", key, loader, mac, probe)
        doc = self._cached(cache_key)
        if doc is not None:
            return doc
        ctx = self.context(*key)
        client = ClientInfo(family=_family(key), mac=mac)
        host = self.policy.hosts.find(client)
        answer = self.policy.decide(client, ctx, host)
        name = answer.script or self.config.boot.default
        hostname = host.name if host else None
        try:
            text = render_config(loader, self.config, name, client, ctx, host, probe)
        except RenderError as exc:
            log.error("rendering %s config %s for %s: %s", loader, name, mac, exc)
            why = f"cannot render {loader} config {name}: {exc}"
            return self._store(cache_key, Document(500, f"# bootwright: {exc}\n".encode(), IPXE_TYPE, mac, hostname,
                                                   error=why))  # fmt: skip
        if text is None:
            why = f"nothing in {name!r} that {loader} can boot for {mac or 'an unknown client'}"
            return self._store(cache_key, Document(404, f"# bootwright: {why}\n".encode(), IPXE_TYPE, mac, hostname,
                                                   error=why))  # fmt: skip
        return self._store(cache_key, Document(200, text.encode(), IPXE_TYPE, mac, hostname, name))


def _family(key: tuple[str, int]) -> Family:
    """4 or 6 from the local address of a context key."""
    return 6 if ":" in key[0] else 4
