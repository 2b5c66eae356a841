"""The one request handler: access check, path check, then document or file.

For a clean path (see ``docs/http.md``) the handler asks
:meth:`bootwright.boot.documents.Documents.lookup` — the module TFTP asks too —
what the name is. A document that wins over files (the entry script, a
configured ``http.scripts`` path, ``boot/<mac>.ipxe``) is sent as it is; else a
regular file under the root — or under an ``[http] aliases`` directory
(:class:`bootwright.web.paths.Aliases`, applied to the file step only:
documents keep their URL names) — is sent if there is one (``sendfile``), else a
built-in boot program from the system's iPXE package
(:func:`bootwright.boot.programs.fallback_file`, the rule TFTP asks too), else
the document (the host's own target, GRUB/pxelinux configs), else 404. Which
names are documents, and which of them win over files, is decided there, not
here.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bootwright.boot.documents import Document, Documents, Transport, ipxe_error, parse_mac
from bootwright.boot.policy import BootPolicy
from bootwright.boot.programs import fallback_file, ipxe_dir
from bootwright.runtime.hostfacts import MacResolver, plain_address
from bootwright.web import ranges
from bootwright.web.access import AllowList
from bootwright.web.files import FileSend, meta_for, new_boundary, open_file
from bootwright.web.paths import Aliases, BadPath, NotServed, clean_path, open_in_root

_CLIENT_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL, errno.EISDIR})
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
        macs: MacResolver,
        timeout: float = 30.0,
        default_port: int = 80,
    ) -> None:
        """Serve ``root`` and the documents of ``policy()`` (read per request: reloads apply at once).

        ``macs`` finds a client's MAC from its address (``Runtime.client_mac``);
        ``default_port`` is the port named in URLs when the socket cannot tell.
        """
        self._policy = policy
        self.root = os.path.realpath(root)
        self.macs = macs
        self.timeout = timeout
        self.default_port = default_port
        current = policy()
        self.docs = Documents(current)
        self.allow = AllowList(current.config.http.allow)
        self.ipxe_dir = ipxe_dir(current.config)
        self.aliases = Aliases.build(self.root, current.config.http.aliases)

    def _current(self) -> Documents:
        policy = self._policy()
        docs = self.docs
        if policy is not docs.policy:  # the config was reloaded: new documents, new allow list
            docs = self.docs = Documents(policy)
            self.allow = AllowList(policy.config.http.allow)
            self.ipxe_dir = ipxe_dir(policy.config)
            self.aliases = Aliases.build(self.root, policy.config.http.aliases)
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
        local, port = self._local(request)
        known = docs.by_target.get((local, port, target))
        if known is not None:  # a repeat of an entry or per-host script request: nothing to parse
            return DocResponse(known)
        try:
            rel = clean_path(target)
        except BadPath as exc:
            return TextResponse(400, f"bad request path: {exc}")
        query = request.query

        def client_mac() -> str | None:  # only names that carry no MAC ask, so only they pay for it
            return parse_mac(query.get("mac") or "") or self.macs(request.remote)

        doc = docs.lookup(
            rel, Transport.HTTP, local, port, client_mac, query.get("platform"), query.get("buildarch"), target
        )
        if doc is not None and doc.over_files:
            return DocResponse(doc)
        response = self._file(request, rel)
        if response is not None:
            return response
        if doc is not None:
            return DocResponse(doc)
        return _error(404, rel, "not found")

    def _file(self, request: web.BaseRequest, rel: str) -> web.StreamResponse | None:
        """A static file response, an error for something not served, or ``None`` if absent.

        ``rel`` is the clean URL path (named so in the events); the aliases say which root holds it.
        """
        root, path, outside = self.aliases.locate(rel)
        try:
            fd, st = open_in_root(root, path)
        except FileNotFoundError:
            # The iPXE package stands in for the HTTP root only, not for a directory aliased outside it.
            return None if outside else self._packaged(request, rel, path)
        except NotADirectoryError:
            return None
        except NotServed as exc:
            # Debug only: anyone on the network can ask for ../etc/passwd; the request is an http.request
            # event (status 403/404) already, and this line must not let a stranger fill the log.
            log.debug("refused %s: %s", rel, exc.reason)
            return TextResponse(exc.status, "not found" if exc.status == 404 else "forbidden")
        except PermissionError:
            return TextResponse(403, "forbidden")
        except OSError as exc:  # ELOOP, ENAMETOOLONG, EIO, …
            # A name the client chose (too long, a symlink loop) is its problem: debug; an I/O error is ours.
            level = logging.DEBUG if exc.errno in _CLIENT_ERRNOS else logging.WARNING
            log.log(level, "cannot open %s: %s", rel, exc)
            return TextResponse(404, "not found")
        return self._send(request, rel, fd, st)

    def _packaged(self, request: web.BaseRequest, rel: str, name: str) -> web.StreamResponse | None:
        """The iPXE package's file for a built-in boot program the root lacks (``boot/programs.py``), or ``None``.

        ``name`` is ``rel`` relative to the root (after an alias into the root: ``/tftpboot/ipxe.efi`` → ``ipxe.efi``).
        """
        path = fallback_file(name, self.ipxe_dir)
        if path is None:
            return None
        try:
            fd, st = open_file(path)
        except FileNotFoundError:
            return None
        except OSError as exc:  # unreadable, not a regular file: answered as absent; `check` shows it MISSING
            log.debug("cannot open %s for %s: %s", path, rel, exc)  # debug: any client may repeat the request
            return None
        return self._send(request, rel, fd, st, path)

    def _send(
        self, request: web.BaseRequest, rel: str, fd: int, st: os.stat_result, source: str | None = None
    ) -> FileSend:
        """The planned response for an open file (``source``: where it came from when not the root)."""
        plan = ranges.plan(request.method, request.headers, meta_for(rel, st), new_boundary())
        response = FileSend(fd, plan, self.timeout)
        response.path = rel
        response.source = source
        return response


BOOT_HANDLER = web.AppKey("bootwright_boot_handler", BootHandler)
"""The HTTP service's boot handler in its application (``web/service.py``): the UI's ``GET /`` asks its root."""


def _error(status: int, path: str, message: str) -> web.Response:
    """An error body the asker can read: a ``#!ipxe`` script for script paths, else text."""
    if path.split("?", 1)[0].endswith(".ipxe"):
        return DocResponse(ipxe_error(status, message))
    return TextResponse(status, "forbidden" if status == 403 else message)
