"""Dynamic boot documents: iPXE scripts and GRUB/pxelinux configs, cached.

Every answer is computed by the same code as DHCP and ``bootwright explain``
(:meth:`BootPolicy.decide`, :func:`bootwright.boot.ipxe.render_script`,
:mod:`bootwright.boot.loaders`); this module only turns a request into a
:class:`~bootwright.model.ClientInfo` and a
:class:`~bootwright.boot.policy.ServerContext`, and caches the rendered bytes.

Cache: a rendered document depends on the policy (config and hosts), the
server context (which of our addresses the request reached, and the port) and
the client facts the request carries (MAC, ``platform``, ``buildarch``). The
key is exactly that; the cache belongs to one :class:`BootPolicy` object and
is dropped with it (:meth:`Documents.for_policy`), and is bounded.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, replace
from typing import Any

from bootwright.boot.ipxe import RenderError, render_entry_script, render_script
from bootwright.boot.loaders import Loader, render_config
from bootwright.boot.policy import BootPolicy, ServerContext
from bootwright.boot.reply import select_subnet4, select_subnet6, server_context
from bootwright.config import Config
from bootwright.model import ClientInfo, Family, Host, InvalidMac, Platform, normalize_mac

log = logging.getLogger("bootwright.http")

CACHE_SIZE = 8192
IPXE_TYPE = "text/plain"
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


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered answer: status, body and who it was for (for the request event)."""

    status: int
    body: bytes
    content_type: str = IPXE_TYPE
    mac: str | None = None
    host: str | None = None
    target: str | None = None  # the target or menu an iPXE script boots (``http.script`` event)
    platform: Platform | None = None
    kind: str | None = None  # what that script does: "menu", or the target's kind ("kernel", "exit", …)


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
    return Document(status, body.encode(), IPXE_TYPE, mac)


def parse_mac(text: str) -> str | None:
    """A MAC in any usual form (``aa-bb-…``, ``aa:bb:…``), or ``None``."""
    try:
        return normalize_mac(text)
    except InvalidMac:
        return None


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
    """Renders and caches the dynamic documents for one :class:`BootPolicy`."""

    def __init__(self, policy: BootPolicy) -> None:
        self.policy = policy
        self.config = policy.config
        self.script_paths: dict[str, str] = dict(policy.scripts)
        self._contexts: dict[tuple[str, int], ServerContext] = {}
        self._cache: dict[tuple[Any, ...], Document] = {}
        # Documents whose every input is in the request target and the local
        # address (entry and per-host scripts), by (local address, port, raw target):
        # a repeat request skips path, query and MAC parsing altogether.
        self.by_target: dict[tuple[str, int, str], Document] = {}
        self.hits = 0
        self.misses = 0

    def for_policy(self, policy: BootPolicy) -> Documents:
        """This object if ``policy`` is the one it was built for, else a fresh one (config reload)."""
        return self if policy is self.policy else Documents(policy)

    # ------------------------------------------------------------------ server context

    def context(self, local: str, port: int) -> ServerContext:
        """Our context for a request that reached ``local``:``port``.

        The family and subnet come from the local address (the subnet whose
        network holds it); the address is the configured one for that subnet
        (``answer.server_context``), else the local address itself, and the
        port is the one really bound, so URLs in scripts lead back here.
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
        probe = ClientInfo(family=4 if version == 4 else 6)
        subnet = (
            select_subnet4(self.config, probe, None, hint=local)
            if version == 4
            else select_subnet6(self.config, probe, None, hint=local)
        )
        ctx = server_context(self.config, version, subnet)
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

    def remember_target(self, local: tuple[str, int], target: str, doc: Document) -> None:
        """Keep ``doc`` for repeats of exactly this request target on this local address."""
        if len(self.by_target) >= CACHE_SIZE:
            self.by_target.clear()
        self.by_target[(local[0], local[1], target)] = doc

    def _render(self, name: str | None, client: ClientInfo, ctx: ServerContext, host: Host | None) -> Document:
        try:
            text = render_script(self.config, name, client, ctx, host)
        except RenderError as exc:
            log.error("rendering %s for %s: %s", name, client.mac, exc)
            return ipxe_error(500, f"cannot render {name}: {exc}", client.mac)
        kind = script_kind(self.config, name, client.platform)
        return Document(200, text.encode(), IPXE_TYPE, client.mac, host.name if host else None, name, client.platform,
                        kind)  # fmt: skip

    # ------------------------------------------------------------------ documents

    def entry(self, ctx: ServerContext, ctx_key: tuple[str, int]) -> Document:
        """``/boot.ipxe``: the entry script that sends iPXE to its own per-host script."""
        key = ("entry", ctx_key)
        doc = self._cached(key)
        if doc is None:
            doc = self._store(key, Document(200, render_entry_script(ctx).encode(), IPXE_TYPE))
        return doc

    def host_script(
        self,
        ctx: ServerContext,
        ctx_key: tuple[str, int],
        mac: str,
        platform: Platform | None,
        buildarch: str | None,
    ) -> Document:
        """``/boot/<mac>.ipxe``: the policy's decision for this client, rendered.

        A MAC no host or rule knows gets ``boot.default`` (an iPXE script,
        never an error page).
        """
        key = ("host", ctx_key, mac, platform, buildarch)
        doc = self._cached(key)
        if doc is not None:
            return doc
        client = ipxe_client(ctx_key_family(ctx_key), mac, platform, buildarch)
        host = self.policy.hosts.find(client)
        answer = self.policy.decide(client, ctx, host)
        return self._store(key, self._render(answer.script or self.config.boot.default, client, ctx, host))

    def named_script(
        self,
        ctx: ServerContext,
        ctx_key: tuple[str, int],
        name: str,
        mac: str | None,
        platform: Platform | None,
        buildarch: str | None,
    ) -> Document:
        """A configured ``http.scripts`` path: its target or menu, for this client if known."""
        key = ("named", ctx_key, name, mac, platform, buildarch)
        doc = self._cached(key)
        if doc is not None:
            return doc
        client = ipxe_client(ctx_key_family(ctx_key), mac, platform, buildarch)
        host = self.policy.hosts.find(client) if mac else None
        return self._store(key, self._render(name, client, ctx, host))

    def own_target(self, ctx: ServerContext, ctx_key: tuple[str, int], path: str, mac: str) -> Document:
        """``<scriptpath>-<mac>``: the host's own target, or 404 so the menu's fallback runs."""
        key = ("own", ctx_key, path, mac)
        doc = self._cached(key)
        if doc is not None:
            return doc
        client = ipxe_client(ctx_key_family(ctx_key), mac, None, None)
        host = self.policy.hosts.find(client)
        if host is None or host.target is None:
            why = "no host with this MAC" if host is None else f"host {host.name} has no own target"
            doc = ipxe_error(404, f"{path}-{mac}: {why}; using the menu", mac)
            return self._store(key, replace(doc, host=host.name if host else None))
        return self._store(key, self._render(host.target, client, ctx, host))

    def loader_config(self, ctx: ServerContext, ctx_key: tuple[str, int], loader: Loader, mac: str) -> Document:
        """A GRUB or pxelinux per-MAC config from the same decision, or 404 when nothing fits."""
        key = ("loader", ctx_key, loader, mac)
        doc = self._cached(key)
        if doc is not None:
            return doc
        client = ClientInfo(family=ctx_key_family(ctx_key), mac=mac)
        host = self.policy.hosts.find(client)
        answer = self.policy.decide(client, ctx, host)
        name = answer.script or self.config.boot.default
        hostname = host.name if host else None
        try:
            text = render_config(loader, self.config, name, client, ctx, host)
        except RenderError as exc:
            log.error("rendering %s config %s for %s: %s", loader, name, mac, exc)
            return self._store(key, Document(500, f"# bootwright: {exc}\n".encode(), IPXE_TYPE, mac, hostname))
        if text is None:
            why = f"# bootwright: nothing in {name!r} that {loader} can boot for {mac}\n"
            return self._store(key, Document(404, why.encode(), IPXE_TYPE, mac, hostname))
        return self._store(key, Document(200, text.encode(), IPXE_TYPE, mac, hostname, name))


def ctx_key_family(ctx_key: tuple[str, int]) -> Family:
    """4 or 6 from the local address of a context key."""
    return 6 if ":" in ctx_key[0] else 4
