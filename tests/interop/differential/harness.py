"""Run a seed's real daemons and ``bootwright serve`` in namespaces, send both the client set, compare.

The API (what the tests and the lead's "bootwright-from-the-import" cases call):

- :func:`load_sources` — the seed's own config texts (``tests/data/migrate/seedNNN/``),
  rewritten by :data:`REWRITES` to documentation addresses and the namespace's ``srv0``;
- :func:`run_reference` — ISC ``dhcpd -4`` / ``dhcpd -6``, ``radvd`` and BIRD on those
  texts in one namespace pair; the client set's replies as :data:`~.compare.Observations`;
- :func:`example_config` — the hand translation ``examples/seedNNN-*.toml``, rewritten
  the same way, as a dict; any other config dict in TOML shape (an importer's) works too;
- :func:`run_bootwright` — ``bootwright serve`` on such a dict in a fresh pair, same clients
  (:func:`serving` starts it and yields ``observe()``, so the server boots while the daemons answer);
- :func:`~.compare.compare` and :class:`~.compare.Report` — the field-by-field differences.

Each daemon starts once per seed and answers every client (clients run in
parallel, :mod:`.exchange`), so a seed costs a few seconds. Addresses come from
192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32 only; namespaces and every
process in them are removed on exit (:class:`netns.NetnsPair`).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from netns import BOOTWRIGHT, REPO, NetnsPair, wait_udp_port

from .clientset import CLIENTS, RELAYED, Client, client_mac, known_host
from .compare import AddressClasses, Observations, observe4, observe6, observe_ra

MIGRATE_DATA = REPO / "tests" / "data" / "migrate"
"""The seeds' config files, verbatim from /work/shared/seeds (one directory per seed)."""
EXAMPLES = REPO / "examples"
EXCHANGE = Path(__file__).with_name("exchange.py")

REWRITES: tuple[tuple[str, str], ...] = (
    # Seeds 003 and 004 live in private IPv4 ranges, seed 001 in the long-gone 6bone (3ffe::/16):
    # the tests may only put documentation addresses on a link (RFC 5737, RFC 3849).
    ("192.168.2.", "192.0.2."),
    ("10.1.1.", "198.51.100."),
    ("3ffe:501:ffff:", "2001:db8:"),
    # The daemons' interface names; the namespace's server side is srv0.
    ("interface eth0", "interface srv0"),
    ('interface "vlan123"', 'interface "srv0"'),
)
"""Applied, in order, to the real daemons' texts and to bootwright's TOML alike."""

SOURCE_FILES = ("dhcpd.conf", "dhcpd6.conf", "radvd.conf", "bird.conf")

# BIRD needs a router id and the device protocol (it finds interfaces through it) beside the
# seed's `protocol radv`, which is all the seed shows of its bird.conf.
BIRD_PREAMBLE = """log stderr all;
router id 192.0.2.1;
protocol device { scan time 10; }
"""


def rewrite(text: str) -> str:
    """The text with every :data:`REWRITES` pair applied."""
    for old, new in REWRITES:
        text = text.replace(old, new)
    return text


@dataclass(frozen=True, slots=True)
class Seed:
    """A seed: its name, hand translation and the server's addresses on the test link (after rewriting)."""

    name: str  # "seed003": the directory under tests/data/migrate and the allow-list key
    example: str  # file name under examples/
    server4: str = "192.0.2.1/24"
    server6: str = "2001:db8::1/64"
    relay4: str = "192.0.2.3"  # the relay agent's address (giaddr), outside every pool of the seeds

    @property
    def client4(self) -> str:
        """The client namespace's address: the relay's (direct clients send from 0.0.0.0 anyway)."""
        return f"{self.relay4}/{self.server4.split('/')[1]}"

    @property
    def client6(self) -> str:
        """An address in the server's prefix, outside every pool (``::2``)."""
        net = self.server6.split("/")[0].rsplit(":", 1)[0]
        return f"{net}:2/{self.server6.split('/')[1]}"


SEEDS: tuple[Seed, ...] = (
    Seed("seed000", "seed000-ipv6-ipxe.toml", server6="2001:db8::69/64"),
    Seed("seed001", "seed001-ipv6-menu.toml", server6="2001:db8:100::1/64"),
    Seed("seed002", "seed002-showmax.toml"),
    Seed("seed003", "seed003-home-lab.toml", server4="192.0.2.10/24"),
    Seed("seed004", "seed004-chainload.toml", server4="198.51.100.1/24", relay4="198.51.100.3"),
)


@dataclass
class Sources:
    """A seed's real-daemon configs, rewritten; ``includes`` maps an ``include`` path to its text."""

    texts: dict[str, str] = field(default_factory=dict)  # file name (SOURCE_FILES) -> text
    includes: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The rewritten text of ``dhcpd.conf`` etc., or ``None`` when the seed has none."""
        return self.texts.get(name)

    def classes(self) -> AddressClasses:
        """The pools and fixed addresses of the dhcpd configs and their includes."""
        return AddressClasses.from_configs(self.get("dhcpd.conf"), self.get("dhcpd6.conf"), *self.includes.values())

    def host_macs(self) -> list[str]:
        """``hardware ethernet`` MACs of the host declarations: each becomes a known-host client."""
        text = "\n".join([self.get("dhcpd.conf") or "", *self.includes.values()])
        return re.findall(r"hardware\s+ethernet\s+([0-9a-fA-F:]{17})\s*;", text)


def load_sources(seed: Seed, data: Path = MIGRATE_DATA) -> Sources:
    """Read ``data/<seed>/`` (missing files: the seed has no such daemon) and rewrite every text.

    An ``include "…/name";`` is served from ``data/<seed>/name`` when that exists, else empty
    (a generated file the seed does not show).
    """
    d = data / seed.name
    out = Sources()
    for name in SOURCE_FILES:
        if (d / name).is_file():
            out.texts[name] = rewrite((d / name).read_text())
    for text in list(out.texts.values()):
        for path in re.findall(r'^\s*include\s+"([^"]+)"\s*;', text, re.M):
            inc = d / Path(path).name
            out.includes[path] = rewrite(inc.read_text()) if inc.is_file() else ""
    return out


# --------------------------------------------------------------------------- the clients


def _client_lists(sources: Sources) -> dict[str, list[tuple[Client, bytes]]]:
    """Clients per mode: every client direct, a few relayed (v4), every v6-capable one over v6."""
    hosts = [known_host(mac) for mac in sources.host_macs()]
    out: dict[str, list[tuple[Client, bytes]]] = {}
    if sources.get("dhcpd.conf") is not None:
        v4 = [*CLIENTS, *hosts]
        out["v4"] = [(c, client_mac(c, i, 0)) for i, c in enumerate(v4)]
        out["v4-relay"] = [(c, client_mac(c, i, 1)) for i, c in enumerate(CLIENTS) if c.name in RELAYED]
    if sources.get("dhcpd6.conf") is not None:
        out["v6"] = [(c, client_mac(c, i, 2)) for i, c in enumerate(CLIENTS) if c.v6]
    return out


def _exchange(link: NetnsPair, seed: Seed, mode: str, clients: list[tuple[Client, bytes]]) -> subprocess.Popen[str]:
    """Start the exchange script for one mode in the client namespace (the modes use distinct sockets)."""
    args: dict[str, Any] = {"family": 6 if mode == "v6" else 4, "interface": link.client_if,
                            "clients": [[c.name, mac.hex()] for c, mac in clients], "wait": 6.0}  # fmt: skip
    if mode == "v4-relay":
        args.update(relay=seed.relay4, server=link.server_addr4)
    return link.spawn_client([sys.executable, str(EXCHANGE), json.dumps(args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip


def _replies(proc: subprocess.Popen[str], mode: str) -> dict[str, list[bytes]]:
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"the {mode} exchange failed:\n{err}")
    return {r["client"]: [bytes.fromhex(h) for h in r["replies"]] for r in map(json.loads, out.splitlines())}


def observe(link: NetnsPair, seed: Seed, sources: Sources, ra: bool) -> Observations:
    """Send the client set over the link, all modes at once (and ``rdisc6`` when ``ra``); every client's fields."""
    classes = sources.classes()
    lists = _client_lists(sources)
    running = {mode: _exchange(link, seed, mode, clients) for mode, clients in lists.items()}
    rdisc6 = (
        link.run_client(["rdisc6", "-1", "-w", "3000", "-r", "3", link.client_if], timeout=30, text=True)
        if ra
        else None
    )
    obs: Observations = {}
    for mode, clients in lists.items():
        replies = _replies(running[mode], mode)
        for c, _ in clients:
            seen = replies.get(c.name, [])
            obs[f"{c.name}/{mode}"] = observe6(seen, classes) if mode == "v6" else observe4(seen, classes)
    if rdisc6 is not None:
        obs["rdisc6/ra"] = observe_ra(rdisc6.stdout)
    return obs


def _pair(seed: Seed, tag: str) -> NetnsPair:
    return NetnsPair(
        tag, server4=seed.server4, client4=seed.client4, server6=seed.server6, client6=seed.client6, dad=False
    )


# --------------------------------------------------------------------------- the real daemons


def _dhcpd_conf(text: str, sources: Sources, work: Path, leases: Path) -> str:
    """The config with every include pointing at its text written into ``work``, the lease file in ``work``.

    A ``[dhcpv6-]lease-file-name`` statement (seed 001) wins over ``-lf``: it is pointed at ``leases``.
    """
    text = re.sub(r'^(\s*(?:dhcpv6-)?lease-file-name\s+)"[^"]*"', rf'\1"{leases}"', text, flags=re.M)
    for path, body in sources.includes.items():
        local = work / Path(path).name
        local.write_text(body)
        text = text.replace(f'"{path}"', f'"{local}"')
    return text


def _start_dhcpd(link: NetnsPair, family: int, text: str, sources: Sources, work: Path) -> None:
    conf, leases = work / f"dhcpd{family}.conf", work / f"dhcpd{family}.leases"
    conf.write_text(_dhcpd_conf(text, sources, work, leases))
    leases.touch()
    log = work / f"dhcpd{family}.log"
    proc = link.spawn_server(
        ["dhcpd", f"-{family}", "-f", "-d", "-cf", str(conf), "-lf", str(leases), "-pf", str(work / f"dhcpd{family}.pid"),
         link.server_if], stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_udp_port(link, 67 if family == 4 else 547, proc, f"dhcpd -{family}", log)


def _start_ra(link: NetnsPair, sources: Sources, work: Path) -> bool:
    """radvd or BIRD on the seed's RA config (radvd when both); whether one runs."""
    if (text := sources.get("radvd.conf")) is not None:
        conf = work / "radvd.conf"
        conf.write_text(text)
        cmd = ["radvd", "-n", "-m", "stderr", "-C", str(conf), "-p", str(work / "radvd.pid")]
        log = work / "radvd.log"
    elif (text := sources.get("bird.conf")) is not None:
        conf = work / "bird.conf"
        conf.write_text(BIRD_PREAMBLE + text)
        cmd = ["bird", "-f", "-c", str(conf), "-s", str(work / "bird.ctl"), "-P", str(work / "bird.pid")]
        log = work / "bird.log"
    else:
        return False
    proc = link.spawn_server(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    time.sleep(0.3)  # a config error ends the daemon at once: say so rather than "no RA"
    if proc.poll() is not None:
        raise AssertionError(f"{cmd[0]} did not start:\n{log.read_text(errors='replace')}")
    return True


def run_reference(seed: Seed, sources: Sources, work: Path) -> Observations:
    """The real daemons on the seed's configs, in a fresh namespace pair: every client's fields."""
    work.mkdir(parents=True, exist_ok=True)
    with _pair(seed, f"dr{seed.name[-1]}") as link:
        for family, name in ((4, "dhcpd.conf"), (6, "dhcpd6.conf")):
            if (text := sources.get(name)) is not None:
                _start_dhcpd(link, family, text, sources, work)
        ra = _start_ra(link, sources, work)
        return observe(link, seed, sources, ra)


# --------------------------------------------------------------------------- bootwright


def example_config(seed: Seed) -> dict[str, Any]:
    """The hand translation ``examples/<seed.example>``, rewritten like the daemons' texts."""
    return tomllib.loads(rewrite((EXAMPLES / seed.example).read_text()))


def for_namespace(config: dict[str, Any], base: Path = EXAMPLES) -> dict[str, Any]:
    """A copy of ``config`` that runs in the test namespace: interface ``srv0``, no NFS, paths absolute.

    Only where it runs changes, never what it answers: interface names (the seeds' eth0, vlan123),
    the NFS server (not under test, and it would start Ganesha), the root and state directories
    (given on the command line) and relative files (``[tftp] remap_file``, relative to ``base``).
    """
    cfg = copy.deepcopy(config)
    cfg.pop("root", None)
    cfg.pop("state_dir", None)
    cfg.setdefault("server", {})["interfaces"] = ["srv0"]
    for key in ("subnet4", "subnet6"):
        for subnet in cfg.get(key, []):
            if "interface" in subnet:
                subnet["interface"] = "srv0"
    if "nfs" in cfg:
        cfg["nfs"] = {"enabled": False}
    tftp = cfg.get("tftp", {})
    if isinstance(tftp.get("remap_file"), str) and not Path(tftp["remap_file"]).is_absolute():
        tftp["remap_file"] = str(base / tftp["remap_file"])
    return cfg


@contextmanager
def serving(seed: Seed, sources: Sources, config: dict[str, Any], work: Path, base: Path = EXAMPLES,
            ) -> Iterator[Callable[[], Observations]]:  # fmt: skip
    """Start ``bootwright serve`` on ``config`` (TOML shape) in a fresh namespace pair; yield ``observe()``.

    ``observe()`` waits until every service is ready and sends the client set; the server starts
    while the caller does something else (the real daemons' run). RA is asked for exactly when the
    seed has an RA daemon, so both sides answer the same questions.
    """
    work.mkdir(parents=True, exist_ok=True)
    (work / "root").mkdir(exist_ok=True)
    path = work / "bootwright.toml"
    path.write_text(tomli_w.dumps(for_namespace(config, base)))
    ra = sources.get("radvd.conf") is not None or sources.get("bird.conf") is not None
    with _pair(seed, f"db{seed.name[-1]}") as link:
        log = work / "serve.log"
        proc = link.spawn_server(
            [str(BOOTWRIGHT), "serve", "--config", str(path), "--root", str(work / "root"), "--state-dir",
             str(work / "state")], stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

        def observe_served() -> Observations:
            deadline = time.monotonic() + 60
            while not re.search(r"bootwright \S+ ready:", log.read_text(errors="replace")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"bootwright serve did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.05)
            return observe(link, seed, sources, ra)

        yield observe_served


def run_bootwright(seed: Seed, sources: Sources, config: dict[str, Any], work: Path, base: Path = EXAMPLES,
                   ) -> Observations:  # fmt: skip
    """``bootwright serve`` on ``config`` in a fresh namespace pair: the client set's fields."""
    with serving(seed, sources, config, work, base) as observe_served:
        return observe_served()
