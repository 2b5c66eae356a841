"""The one request handler: access check, path check, then document or file.

Order of resolution for a clean path (see ``docs/http.md``):

1. ``boot.ipxe`` — the entry script (dynamic);
2. a configured ``http.scripts`` path (e.g. seed 002's ``script.ipxe``) — its
   target or menu, rendered for the client (dynamic, wins over a file);
3. ``boot/<mac>.ipxe`` — the per-host script (dynamic);
4. a regular file under the root (static, ``sendfile``);
5. ``<script path>-<mac>`` — the host's own target, else 404 so seed 002's
   per-host ``chain`` falls through to the menu;
6. ``…grub.cfg-01-<mac>`` / ``…grub.cfg-<mac>`` and
   ``…pxelinux.cfg/01-<mac>`` — GRUB / pxelinux configs from the decision;
7. 404.

Files win over 5 and 6, so hand-written per-MAC files keep working.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bootwright.boot.documents import Document, Documents, client_facts, ipxe_error, parse_mac
from bootwright.boot.loaders import parse_config_path
from bootwright.boot.policy import ENTRY_SCRIPT, HOST_SCRIPT_PREFIX, BootPolicy
from bootwright.web import ranges
from bootwright.web.access import AllowList
from bootwright.web.files import FileSend, meta_for, new_boundary
from bootwright.web.neighbours import MacLookup, plain_address
from bootwright.web.paths import BadPath, NotServed, clean_path, open_in_root

log = logging.getLogger("bootwright.http")

_NO_STORE = "no-store"  # dynamic documents follow the config and host table (RFC 9111 §5.2.2.5)


class DocResponse(web.Response):
    """A rendered document, remembering which client it was for (for the request event)."""

    def __init__(self, doc: Document) -> None:
        super().__init__(
            body=doc.body,
            status=doc.status,
            headers={"Content-Type": doc.content_type, "Cache-Control": _NO_STORE},
        )
        self.mac = doc.mac
        self.host = doc.host
        self.script = doc.target if doc.status == 200 else None
        self.platform = doc.platform
        self.kind = doc.kind if doc.status == 200 else None


class TextResponse(web.Response):
    """A short plain-text error for non-script paths (no HTML: iPXE and curl read these)."""

    def __init__(self, status: int, text: str, mac: str | None = None) -> None:
        super().__init__(body=(text + "\n").encode(), status=status, headers={"Content-Type": "text/plain"})
        self.mac = mac
        self.host: str | None = None


class BootHandler:
    """Serves the root and the dynamic boot documents for the current policy."""

    def __init__(
        self,
        policy: Callable[[], BootPolicy],
        root: Path,
        macs: MacLookup,
        timeout: float = 30.0,
        default_port: int = 80,
    ) -> None:
        self._policy = policy
        self.root = os.path.realpath(root)
        self.macs = macs
        self.timeout = timeout
        self.default_port = default_port
        current = policy()
        self.docs = Documents(current)
        self.allow = AllowList(current.config.http.allow)

    def _current(self) -> Documents:
        policy = self._policy()
        docs = self.docs
        if policy is not docs.policy:  # the config was reloaded: new documents, new allow list
            docs = self.docs = Documents(policy)
            self.allow = AllowList(policy.config.http.allow)
        return docs

    def _local(self, request: web.BaseRequest) -> tuple[str, int]:
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        if isinstance(sockname, tuple):
            return plain_address(sockname[0]), sockname[1]
        return "127.0.0.1", self.default_port

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one GET or HEAD (aiohttp adds HEAD for GET routes and 405s other methods)."""
        docs = self._current()
        allow = self.allow
        target = request.raw_path
        if not allow.open and not allow.allows(request.remote):
            return _error(403, target, f"{request.remote} is not in http.allow")
        local = self._local(request)
        known = docs.by_target.get((local[0], local[1], target))
        if known is not None:
            return DocResponse(known)
        try:
            rel = clean_path(target)
        except BadPath as exc:
            return TextResponse(400, f"bad request path: {exc}")
        if rel == ENTRY_SCRIPT:
            doc = docs.entry(docs.context(*local), local)
            docs.remember_target(local, target, doc)
            return DocResponse(doc)
        name = docs.script_paths.get(rel)
        if name is not None:
            query = request.query
            platform, buildarch = client_facts(query.get("platform"), query.get("buildarch"))
            mac = parse_mac(query.get("mac") or "") or self.macs(request.remote)
            return DocResponse(docs.named_script(docs.context(*local), local, name, mac, platform, buildarch))
        if rel.startswith(HOST_SCRIPT_PREFIX) and rel.endswith(".ipxe"):
            mac = parse_mac(rel[len(HOST_SCRIPT_PREFIX) : -5])
            if mac is None:
                return DocResponse(ipxe_error(404, f"{rel}: not a MAC address (expected boot/aa-bb-cc-dd-ee-ff.ipxe)"))
            query = request.query
            platform, buildarch = client_facts(query.get("platform"), query.get("buildarch"))
            doc = docs.host_script(docs.context(*local), local, mac, platform, buildarch)
            docs.remember_target(local, target, doc)
            return DocResponse(doc)
        response = self._file(request, rel)
        if response is not None:
            return response
        return self._per_mac(docs, local, rel)

    def _file(self, request: web.BaseRequest, rel: str) -> web.StreamResponse | None:
        """A static file response, an error for something not served, or ``None`` if absent."""
        try:
            fd, st = open_in_root(self.root, rel)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except NotServed as exc:
            log.info("refused %s: %s", rel, exc.reason)
            return TextResponse(exc.status, "not found" if exc.status == 404 else "forbidden")
        except PermissionError:
            return TextResponse(403, "forbidden")
        except OSError as exc:  # ELOOP, ENAMETOOLONG, EIO, …
            log.info("cannot open %s: %s", rel, exc)
            return TextResponse(404, "not found")
        plan = ranges.plan(request.method, request.headers, meta_for(rel, st), new_boundary())
        response = FileSend(fd, plan, self.timeout)
        response.path = rel
        return response

    def _per_mac(self, docs: Documents, local: tuple[str, int], rel: str) -> web.StreamResponse:
        """Steps 5–7: per-host target, GRUB/pxelinux config, or not found."""
        for path in docs.script_paths:
            if rel.startswith(path) and rel[len(path) : len(path) + 1] == "-":
                mac = parse_mac(rel[len(path) + 1 :])
                if mac is not None:
                    return DocResponse(docs.own_target(docs.context(*local), local, path, mac))
        wanted = parse_config_path(rel)
        if wanted is not None:
            loader, mac = wanted
            return DocResponse(docs.loader_config(docs.context(*local), local, loader, mac))
        return _error(404, rel, "not found")


def _error(status: int, path: str, message: str) -> web.Response:
    """An error body the asker can read: a ``#!ipxe`` script for script paths, else text."""
    if path.split("?", 1)[0].endswith(".ipxe"):
        return DocResponse(ipxe_error(status, message))
    return TextResponse(status, "forbidden" if status == 403 else message)
