"""Start Kea (``kea-dhcp4``/``kea-dhcp6``) and dnsmasq on a case's own config texts, inside the server namespace.

Only where a daemon keeps its files changes, never what it answers: the lease
database becomes an in-memory memfile (``persist`` false), Kea's server DUID
(``data-directory``), pid and lock files, a control socket, dnsmasq's lease
file, pid file and TFTP root go to the work directory, includes are written
there and named by absolute path, and logs go to ``work``. Everything runs in
the foreground and is stopped with the namespace pair (:class:`netns.NetnsPair`).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from netns import NetnsPair, wait_udp_port

# Kea-ARM "Lease Storage": a memfile without persist keeps leases in memory only (nothing under /var/lib/kea).
KEA_LEASES = '"lease-database": { "type": "memfile", "persist": false }'


def _includes(text: str, includes: Mapping[str, str], work: Path) -> str:
    """Write every include into ``work`` and point ``text``'s quoted path at it (absolute)."""
    for path, body in includes.items():
        local = work / Path(path).name
        local.write_text(body)
        text = text.replace(f'"{path}"', f'"{local}"')
    return text


def kea_config(text: str, family: int, includes: Mapping[str, str], work: Path) -> str:
    """The Kea config placed in ``work``: leases in memory, server DUID and control socket under ``work``."""
    text = _includes(text, includes, work)
    text = re.sub(r'"lease-database"\s*:\s*\{[^{}]*\}', KEA_LEASES, text)
    text = re.sub(r'("socket-name"\s*:\s*)"[^"]*"', rf'\1"{work / f"kea{family}.sock"}"', text)
    if family == 4:
        return text
    # The server's DUID file (kea-dhcp6-serverid) lives in data-directory (Dhcp6 only), /var/lib/kea by default.
    text = re.sub(r'"data-directory"\s*:\s*"[^"]*"\s*,?', "", text)
    return re.sub(r'("Dhcp6"\s*:\s*\{)', rf'\1 "data-directory": "{work}",', text, count=1)


def start_kea(link: NetnsPair, family: int, text: str, includes: Mapping[str, str], work: Path) -> None:
    """``kea-dhcp{family} -c FILE`` in the foreground; returns once it listens on its port."""
    conf = work / f"kea-dhcp{family}.conf"
    conf.write_text(kea_config(text, family, includes, work))
    Path("/run/kea").mkdir(parents=True, exist_ok=True)  # Kea 2.2 puts its PID file there unless told otherwise
    env = {**os.environ, "KEA_PIDFILE_DIR": str(work), "KEA_LOCKFILE_DIR": str(work)}
    log = work / f"kea-dhcp{family}.log"
    proc = link.spawn_server([f"kea-dhcp{family}", "-c", str(conf)], stdout=log.open("wb"),
                             stderr=subprocess.STDOUT, env=env)  # fmt: skip
    wait_udp_port(link, 67 if family == 4 else 547, proc, f"kea-dhcp{family}", log)


def dnsmasq_config(text: str, includes: Mapping[str, str], work: Path) -> str:
    """The dnsmasq config placed in ``work``: includes and the TFTP root there."""
    _includes("", includes, work)
    (work / "tftp").mkdir(exist_ok=True)
    text = re.sub(r"^conf-file=(\S+)$", lambda m: f"conf-file={work / Path(m.group(1)).name}", text, flags=re.M)
    return re.sub(r"^tftp-root=.*$", f"tftp-root={work / 'tftp'}", text, flags=re.M)


def start_dnsmasq(link: NetnsPair, text: str, includes: Mapping[str, str], work: Path) -> None:
    """``dnsmasq --no-daemon -C FILE`` (its config says ``port=0``: no DNS); returns once it listens on port 67."""
    conf = work / "dnsmasq.conf"
    conf.write_text(dnsmasq_config(text, includes, work))
    log = work / "dnsmasq.log"
    # --no-ping: dnsmasq pings each address for 3 s before offering it, one client at a time; on a link with
    # nothing else on it the answer is the same, only 3 s × clients later.
    cmd = ["dnsmasq", "--no-daemon", "-C", str(conf), "--user=root", "--log-facility=-", "--no-ping",
           f"--dhcp-leasefile={work / 'dnsmasq.leases'}", f"--pid-file={work / 'dnsmasq.pid'}"]  # fmt: skip
    proc = link.spawn_server(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_udp_port(link, 67, proc, "dnsmasq", log)
