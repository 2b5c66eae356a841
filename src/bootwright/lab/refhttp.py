"""The reference stack's plain HTTP server: static files from a root, both families.

``python -m bootwright.lab.refhttp --root DIR [--port 80]`` serves ``DIR`` on
``[::]`` (dual-stack) with the standard library's threading HTTP server, and
writes one JSON line per request on stderr in the shape of bootwright's
``--log-json`` events (``at``, ``event`` = ``http.request``, ``client``,
``path``, ``status``, ``bytes``), so the lab reads both stacks the same way.
"""

from __future__ import annotations

import argparse
import functools
import json
import socket
import sys
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bootwright.model import EventKind


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as iPXE and UEFI HTTP boot expect of nginx

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        record = {
            "at": round(time.time(), 6),
            "event": EventKind.HTTP_REQUEST,
            "mac": None,
            "host": None,
            "client": self.client_address[0],
            "method": self.command,
            "path": self.path,
            "status": int(code) if str(code).isdigit() else code,
        }
        sys.stderr.write(json.dumps(record) + "\n")
        sys.stderr.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, default=80)
    args = parser.parse_args(argv)
    handler = functools.partial(_Handler, directory=args.root)
    with _DualStackServer(("::", args.port), handler) as server:
        sys.stderr.write(json.dumps({"at": time.time(), "event": EventKind.HTTP_READY, "port": args.port}) + "\n")
        sys.stderr.flush()
        server.serve_forever()


if __name__ == "__main__":
    main()
