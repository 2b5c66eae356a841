"""nginx (Debian nginx-light) as the reference HTTP server of the benchmark.

One worker process (bootwright is one process with one event loop), ``daemon
off``, ``sendfile on`` with ``tcp_nopush``, the access log written to a file
as nginx does by default, keep-alive connections allowed as many requests as
aiohttp allows (unlimited for a 5 s wrk run).
"""

from __future__ import annotations

from pathlib import Path

from http_netns import SERVER4, SERVER6

NGINX_PORT = 8081


def write_config(workdir: Path, root: Path, port: int = NGINX_PORT) -> Path:
    """An nginx.conf serving ``root`` on ``port`` (both families) with its state under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {workdir}/logs/access.log;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 30s;
    server {{
        listen {SERVER4}:{port};
        listen [{SERVER6}]:{port};
        root {root};
        autoindex off;
    }}
}}
"""
    )
    return conf


def command(conf: Path) -> list[str]:
    """The nginx command line for ``conf`` (foreground, single process)."""
    return ["nginx", "-c", str(conf), "-p", str(conf.parent)]
