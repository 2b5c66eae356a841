"""The floor for dynamic scripts: a bare aiohttp handler returning fixed bytes (bench/http_bench.py).

Same Python, same aiohttp, same event loop as bootwright, no access log, one
route; it answers every GET with the body read from ``BODY_FILE``. Whatever
bootwright needs per request beyond this (the policy lookup, the cache, the
events) shows as the difference.

    python bench/http_bare_aiohttp.py ADDRESS PORT BODY_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    """Serve until killed."""
    address, port, body_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    body = body_file.read_bytes()

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{path:.*}", handle)
    web.run_app(app, host=address, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
