"""Run a seed's real daemons and ``bootwright serve`` in namespaces, send both the client set, compare.

The API (what the tests and the lead's "bootwright-from-the-import" cases call):

- :func:`load_sources` — the seed's own config texts (``tests/data/migrate/seedNNN/``),
  rewritten by :data:`REWRITES` to documentation addresses and the namespace's ``srv0``;
- :func:`run_reference` — ISC ``dhcpd -4`` / ``dhcpd -6``, ``kea-dhcp4`` / ``kea-dhcp6``,
  dnsmasq, ``radvd`` and BIRD on those texts in one namespace pair (:mod:`.peers` starts Kea
  and dnsmasq); the client set's replies as :data:`~.compare.Observations`;
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w
from netns import BOOTWRIGHT, REPO, NetnsPair, wait_udp_port

from .clientset import (
    ALL_CLIENTS,
    CIRCUIT_ID,
    CLIENTS,
    INTERFACE_ID,
    RELAYED,
    RELAYED6,
    REMOTE_ID,
    Client,
    client_mac,
    known_host,
)
from .compare import AddressClasses, Observations, observe4, observe6, observe_ra
from .peers import start_dnsmasq, start_kea

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
"""The files of a seed; a case may name others (``Seed.files``): Kea's and dnsmasq's."""
V4_SERVERS = ("dhcpd.conf", "kea-dhcp4.conf", "dnsmasq.conf")
V6_SERVERS = ("dhcpd6.conf", "kea-dhcp6.conf")
# What a file includes, by format: ISC `include "…";`, Kea `<?include "…"?>`, dnsmasq `conf-file=…`.
INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;|<\?include\s+"([^"]+)"\s*\?>|^conf-file=(\S+)', re.M)

# BIRD needs a router id and the device protocol (it finds interfaces through it) beside the
# seed's `protocol radv`, which is all the seed shows of its bird.conf.
BIRD_PREAMBLE = """log stderr all;
router id 192.0.2.1;
protocol device { scan time 10; }
"""


def rewrite(text: str, more: tuple[tuple[str, str], ...] = ()) -> str:
    """The text with every :data:`REWRITES` pair applied, then ``more`` (a case's own, ``Seed.rewrites``)."""
    for old, new in (*REWRITES, *more):
        text = text.replace(old, new)
    return text


@dataclass(frozen=True, slots=True)
class Seed:
    """A seed (or another set of configs): its name, files and the server's addresses on the test link (rewritten).

    ``agents`` are option 82 identities (label, circuit id, remote id) a case's config matches on:
    v4 clients are relayed once more with each (mode ``v4-relay-LABEL``), beside the
    default identity that matches nothing (mode ``v4-relay``); every client goes with the first,
    the :data:`~.clientset.RELAYED` few with the others. ``extra_clients`` name clients of
    :data:`~.clientset.EXTRA_CLIENTS` the case adds to its v4 modes (fixed-MAC ones to the first
    relayed mode with an agent of the case's only, so one MAC is never in flight twice).
    With ``relay6`` the :data:`~.clientset.RELAYED6` clients also go through a DHCPv6 relay
    (mode ``v6-relay``) whose link-address is :attr:`client6`, in the link's subnet6; ``links6``
    (label, link-address) relay them once more each from another link (mode ``v6-relay-LABEL``):
    a subnet6 the server reaches only through relays.
    """

    name: str  # "seed003": the allow-list key (and the directory under tests/data/migrate unless `data`)
    example: str = ""  # file name under examples/ ("" for configs without a hand translation)
    server4: str = "192.0.2.1/24"
    server6: str = "2001:db8::1/64"
    relay4: str = "192.0.2.3"  # the relay agent's address (giaddr), outside every pool of the seeds
    data: str = ""  # the directory under tests/data/migrate, when not `name`
    files: tuple[str, ...] = SOURCE_FILES
    rewrites: tuple[tuple[str, str], ...] = ()  # applied after REWRITES (interface names of the case's files)
    agents: tuple[tuple[str, bytes, bytes], ...] = ()
    extra_clients: tuple[str, ...] = ()
    wait: float = 6.0  # seconds an exchange phase waits for replies (every one missing costs all of it)
    client_link_mac: str | None = None  # the client veth's MAC (its link-local address), when a config lists it
    serial: bool = False  # clients one after the other (``wait`` is then per client), for dnsmasq
    relay6: bool = True  # relayed DHCPv6 too (when a DHCPv6 server runs)
    links6: tuple[tuple[str, str], ...] = ()  # further relayed DHCPv6 modes: (label, the relay's link-address)

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

OWN = (("eth1", "srv0"),)  # the importer's own test files name the link eth1 (and radvd.conf an unused eth2)

CASES: tuple[Seed, ...] = (
    # dhcpd.conf's "relayed" class matches circuit id "eth0/1" or remote id "rack-4" (RFC 3046 §2.0);
    # its if/elsif chain singles out MAC prefix 00:00:5e, client id 01:02:00:00:5e:00:53 and iPXE's https feature.
    # radvd.conf answers only the clients it lists: fe80::21f:16ff:fe06:3aab is the EUI-64 of 00:1f:16:06:3a:ab.
    # dhcpd6.conf's second subnet6, 2001:db8:2::/64, is on no interface: only a relay on that link reaches it.
    Seed("own-isc", server6="2001:db8:1::1/64", data="own", rewrites=OWN, wait=5.0, client_link_mac="00:1f:16:06:3a:ab",
         agents=(("circuit", b"eth0/1", REMOTE_ID), ("remote", CIRCUIT_ID, b"rack-4")),
         extra_clients=("ipxe-https", "oui-00005e", "cid-02005e"), links6=(("far", "2001:db8:2::1"),)),
    Seed("own-kea", server6="2001:db8:1::1/64", data="own", files=("kea-dhcp4.conf", "kea-dhcp6.conf"),
         rewrites=OWN, wait=5.0, relay6=False),
    # dnsmasq.conf ignores MACs 02:00:00:*:*:* (dhcp-mac, dhcp-ignore) and boots by tags of option 175 and 77.
    # dnsmasq does not hold an address it offered: clients in flight together would all be offered the same one
    # and NAKed ("address in use") but one, so they go one at a time (2 s for each one that gets no answer).
    Seed("own-dnsmasq", server6="2001:db8:1::1/64", data="own", files=("dnsmasq.conf",), rewrites=OWN,
         wait=2.0, serial=True, extra_clients=("ipxe-https", "cid-02005e"), relay6=False),
)  # fmt: skip
"""The importer's own test configs (tests/data/migrate/own), run in their real daemons: only the import is compared."""


@dataclass
class Sources:
    """A seed's real-daemon configs, rewritten; ``includes`` maps an ``include`` path to its text."""

    texts: dict[str, str] = field(default_factory=dict)  # file name (SOURCE_FILES) -> text
    includes: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The rewritten text of ``dhcpd.conf`` etc., or ``None`` when the seed has none."""
        return self.texts.get(name)

    @property
    def v4(self) -> bool:
        """Whether a DHCPv4 server runs (dhcpd, Kea or dnsmasq)."""
        return any(name in self.texts for name in V4_SERVERS)

    @property
    def v6(self) -> bool:
        """Whether a DHCPv6 server runs (dhcpd -6, Kea, dnsmasq with an IPv6 ``dhcp-range``)."""
        dnsmasq = re.search(r"^dhcp-range=[^\n]*:[0-9a-fA-F]*:", self.get("dnsmasq.conf") or "", re.M)
        return any(name in self.texts for name in V6_SERVERS) or dnsmasq is not None

    @property
    def ra(self) -> bool:
        """Whether router advertisements are sent (radvd, BIRD, dnsmasq's ``enable-ra``): ``rdisc6`` asks for one."""
        dnsmasq = re.search(r"^enable-ra\b", self.get("dnsmasq.conf") or "", re.M)
        return "radvd.conf" in self.texts or "bird.conf" in self.texts or dnsmasq is not None

    def classes(self) -> AddressClasses:
        """The pools and fixed addresses of the DHCP servers' configs and their includes."""
        texts = [self.get(name) for name in (*V4_SERVERS, *V6_SERVERS)]
        return AddressClasses.from_configs(*texts, *self.includes.values())

    def host_macs(self) -> list[str]:
        """MACs of the host declarations (dhcpd ``hardware ethernet``, Kea ``hw-address``, dnsmasq ``dhcp-host``).

        Each becomes a known-host client.
        """
        text = "\n".join([*(self.get(name) or "" for name in V4_SERVERS), *self.includes.values()])
        mac = r"([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
        found = re.findall(rf'hardware\s+ethernet\s+{mac}\s*;|"hw-address"\s*:\s*"{mac}"|^dhcp-host={mac},', text, re.M)
        return list(dict.fromkeys(m.lower() for groups in found for m in groups if m))


def load_sources(seed: Seed, data: Path = MIGRATE_DATA) -> Sources:
    """Read the seed's files from ``data/<seed>/`` (missing files: no such daemon) and rewrite every text.

    An include (:data:`INCLUDE`) of ``…/name`` is served from ``data/<seed>/name`` when that exists,
    else empty (a generated file the seed does not show).
    """
    d = data / (seed.data or seed.name)
    out = Sources()
    for name in seed.files:
        if (d / name).is_file():
            out.texts[name] = rewrite((d / name).read_text(), seed.rewrites)
    for text in list(out.texts.values()):
        for path in (next(p for p in m.groups() if p) for m in INCLUDE.finditer(text)):
            inc = d / Path(path).name
            out.includes[path] = rewrite(inc.read_text(), seed.rewrites) if inc.is_file() else ""
    return out


# --------------------------------------------------------------------------- the clients


Send = tuple[str, Client, bytes, bytes, bytes]
"""One client to send in one mode: its label (``name/mode``, the observation key), kind, MAC, option 82 ids."""


def _client_lists(seed: Seed, sources: Sources) -> dict[str, list[Send]]:
    """Clients per mode: every client direct, a few relayed (v4, v6), every v6-capable one over v6.

    With ``seed.agents``, the v4 clients are also relayed with each agent identity the config
    matches (``v4-relay-LABEL``: every client with the first, a few with the others); the seed's
    extra clients join the v4 modes (fixed MACs once only).
    """
    hosts = [replace(known_host(mac), name=f"known-{mac}") for mac in sources.host_macs()]
    extras = [ALL_CLIENTS[name] for name in seed.extra_clients]
    roaming = [c for c in extras if c.mac is None]  # generated MACs: one per mode, so in every mode
    fixed = [c for c in extras if c.mac is not None]
    out: dict[str, list[Send]] = {}

    def entries(mode: str, index: int, clients: list[Client], circuit: bytes = CIRCUIT_ID,
                remote: bytes = REMOTE_ID) -> list[Send]:  # fmt: skip
        return [(f"{c.name}/{mode}", c, client_mac(c, i, index), circuit, remote) for i, c in enumerate(clients)]

    if sources.v4:
        out["v4"] = entries("v4", 0, [*CLIENTS, *roaming, *hosts, *([] if seed.agents else fixed)])
        out["v4-relay"] = entries("v4-relay", 1, [c for c in CLIENTS if c.name in RELAYED])
        for k, (label, circuit, remote) in enumerate(seed.agents):  # the first: every client; the others: a few
            clients = [*CLIENTS, *roaming, *fixed] if k == 0 else [c for c in CLIENTS if c.name in RELAYED]
            out[f"v4-relay-{label}"] = entries(f"v4-relay-{label}", 3 + k, clients, circuit, remote)
    if sources.v6:
        out["v6"] = entries("v6", 2, [c for c in (*CLIENTS, *roaming) if c.v6])
        # Interface-Id for all, a Remote-Id (option 37) for every other one: both kinds of relay agent.
        for k, (mode, _) in enumerate(_links6(seed)):
            out[mode] = [(f"{name}/{mode}", ALL_CLIENTS[name], client_mac(ALL_CLIENTS[name], i, 9 + k),
                          INTERFACE_ID, REMOTE_ID if i % 2 else b"") for i, name in enumerate(RELAYED6)]  # fmt: skip
    return out


def _links6(seed: Seed) -> list[tuple[str, str]]:
    """The relayed DHCPv6 modes and their link-addresses: the relay's own on the test link, then ``seed.links6``."""
    if not seed.relay6:
        return []
    return [("v6-relay", seed.client6.split("/")[0]), *((f"v6-relay-{label}", la) for label, la in seed.links6)]


def _exchange(link: NetnsPair, seed: Seed, family: int, clients: list[Send], relay: bool) -> subprocess.Popen[str]:
    """Start the exchange script for one socket (direct v4, relayed v4, v6, relayed v6) in the client namespace."""
    args: dict[str, Any] = {"family": family, "interface": link.client_if, "wait": seed.wait, "serial": seed.serial,
                            "clients": [[c.name, mac.hex(), label, circuit.hex(), remote.hex()]
                                        for label, c, mac, circuit, remote in clients]}  # fmt: skip
    if relay and family == 4:
        args.update(relay=seed.relay4, server=link.server_addr4)
    elif relay:  # the relay is the client namespace's address on the link (routable, as the v4 relay's)
        links = dict(_links6(seed))
        args.update(relay=seed.client6.split("/")[0], server=seed.server6.split("/")[0],
                    links={label: links[label.split("/")[1]] for label, *_ in clients})  # fmt: skip
    return link.spawn_client([sys.executable, str(EXCHANGE), json.dumps(args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip


def _replies(proc: subprocess.Popen[str], what: str) -> dict[str, list[bytes]]:
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"the {what} exchange failed:\n{err}")
    return {r["client"]: [bytes.fromhex(h) for h in r["replies"]] for r in map(json.loads, out.splitlines())}


def observe(link: NetnsPair, seed: Seed, sources: Sources, ra: bool) -> Observations:
    """Send the client set over the link, all modes at once (and ``rdisc6`` when ``ra``); every client's fields.

    Each socket is one exchange process: direct v4, every relayed v4 mode together (one relay
    address and port), v6, relayed v6; with ``seed.serial`` the two v4 ones run one after the other.
    """
    classes = sources.classes()
    lists = _client_lists(seed, sources)
    groups = {
        "v4": (4, False, lists.get("v4", [])),
        "relayed v4": (4, True, [s for mode, sends in lists.items() if mode.startswith("v4-relay") for s in sends]),
        "v6": (6, False, lists.get("v6", [])),
        "relayed v6": (6, True, [s for mode, sends in lists.items() if mode.startswith("v6-relay") for s in sends]),
    }
    running = {
        what: _exchange(link, seed, family, sends, relay)
        for what, (family, relay, sends) in groups.items()
        if sends and not (seed.serial and family == 4)
    }
    replies: dict[str, list[bytes]] = {}
    for what, (family, relay, sends) in groups.items():  # serial: one v4 socket after the other too
        if sends and seed.serial and family == 4:
            replies |= _replies(_exchange(link, seed, family, sends, relay), what)
    rdisc6 = (
        link.run_client(["rdisc6", "-1", "-w", "3000", "-r", "3", link.client_if], timeout=30, text=True)
        if ra
        else None
    )
    obs: Observations = {}
    for what, proc in running.items():
        replies |= _replies(proc, what)
    for family, _, sends in groups.values():
        for label, *_ in sends:
            seen = replies.get(label, [])
            obs[label] = observe6(seen, classes) if family == 6 else observe4(seen, classes)
    if rdisc6 is not None:
        obs["rdisc6/ra"] = observe_ra(rdisc6.stdout)
    return obs


def _pair(seed: Seed, tag: str) -> NetnsPair:
    """The namespace pair of one side; ``tag`` tells the sides and the seeds apart (``ip netns`` names)."""
    return NetnsPair(tag, server4=seed.server4, client4=seed.client4, server6=seed.server6, client6=seed.client6,
                     dad=False, client_mac=seed.client_link_mac)  # fmt: skip


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
    with _pair(seed, f"dr{seed.name[-2:]}") as link:
        for family, name in ((4, "dhcpd.conf"), (6, "dhcpd6.conf")):
            if (text := sources.get(name)) is not None:
                _start_dhcpd(link, family, text, sources, work)
        for family, name in ((4, "kea-dhcp4.conf"), (6, "kea-dhcp6.conf")):
            if (text := sources.get(name)) is not None:
                start_kea(link, family, text, sources.includes, work)
        if (text := sources.get("dnsmasq.conf")) is not None:
            start_dnsmasq(link, text, sources.includes, work)
        _start_ra(link, sources, work)
        return observe(link, seed, sources, sources.ra)


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
    with _pair(seed, f"db{seed.name[-2:]}") as link:
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
            return observe(link, seed, sources, sources.ra)

        yield observe_served


def run_bootwright(seed: Seed, sources: Sources, config: dict[str, Any], work: Path, base: Path = EXAMPLES,
                   ) -> Observations:  # fmt: skip
    """``bootwright serve`` on ``config`` in a fresh namespace pair: the client set's fields."""
    with serving(seed, sources, config, work, base) as observe_served:
        return observe_served()
