"""The lab's network: one namespace, a bridge named ``tap0``, one tap per VM.

Inside a namespace ``bwlab-<pid>`` that only the lab uses::

    tap0 (bridge, 192.0.2.1/24, 2001:db8::1/64 nodad) ── bwkeep0 ═ bwkeep1 (veth, keeps carrier up)
      ├── bwtap0 ── VM 0          an IPv6 VM's port drops IPv4 and ARP
      ├── bwtap1 ── VM 1          (nftables, bridge family): that VM lives
      └── …                       on an IPv6-only link; IPv4 VMs see both

The bridge is named ``tap0`` so ``examples/quickstart.toml`` ("serves on the
interface tap0") works unchanged. The per-port filter is how one server run
boots BIOS over IPv6: SeaBIOS's iPXE ROM always tries DHCPv4 and IPv6
autoconfiguration together, and on an IPv6 VM's port the IPv4 half never
arrives, so iPXE (after its DHCPv4 attempt times out) boots from the DHCPv6
boot file URL. IPv4 VMs are left dual-stack, as on a real network: iPXE ranks
DHCPv4 settings above DHCPv6 ones, so they boot over IPv4, and filtering IPv6
would only make iPXE wait for its router solicitations to time out. The real
interfaces of the machine are never touched.

A run with a foreign DHCP server placed ``apart`` adds a second namespace,
``bwlab-<pid>-<n>``, joined to the bridge by a veth (:class:`PeerNamespace`)::

    tap0 (bridge) ── bwpeer0 ═ lan0 (192.0.2.254/24, in the peer namespace: the link's other DHCP server)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from bootwright.lab.proc import LabError, kill_pid, run

PREFIX = "bwlab-"
BRIDGE = "tap0"
ADDRESS4 = "192.0.2.1"
ADDRESS6 = "2001:db8::1"
PREFIX4 = 24
PREFIX6 = 64
NETNS_DIR = Path("/run/netns")


class Namespace:
    """A network namespace the lab created and will delete (with every process left in it)."""

    def __init__(self, name: str | None = None):
        self.name = name or _free_name()
        self.taps: list[str] = []
        self.created = False

    # -- commands --------------------------------------------------------------
    def exec_prefix(self) -> list[str]:
        """Prefix that runs a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def ip(self, *args: str, timeout: float = 10.0) -> str:
        """``ip -n NS …``; returns stdout."""
        return run(["ip", "-n", self.name, *args], timeout=timeout).stdout.decode()

    def sh(self, cmd: Sequence[str], timeout: float = 10.0, input_bytes: bytes | None = None) -> str:
        """Run a short command inside the namespace; returns stdout."""
        return run([*self.exec_prefix(), *cmd], timeout=timeout, input_bytes=input_bytes).stdout.decode()

    # -- life cycle ------------------------------------------------------------
    def create(self) -> None:
        """The namespace with ``lo``, the bridge ``tap0`` and its addresses, DAD off."""
        cleanup_stale()
        if (NETNS_DIR / self.name).exists():
            raise LabError(f"network namespace {self.name} already exists")
        run(["ip", "netns", "add", self.name])
        self.created = True
        for key, value in (
            ("net.ipv6.conf.default.accept_dad", "0"),  # no tentative addresses on anything new
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_ra", "0"),  # we are the router; never learn from VMs
        ):
            self.sh(["sysctl", "-q", "-w", f"{key}={value}"])
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0")
        self.ip("link", "add", "bwkeep0", "type", "veth", "peer", "name", "bwkeep1")
        self.sh(["sysctl", "-q", "-w", "net.ipv6.conf.bwkeep0.disable_ipv6=1"])
        self.sh(["sysctl", "-q", "-w", "net.ipv6.conf.bwkeep1.disable_ipv6=1"])
        self.ip("link", "set", "bwkeep0", "master", BRIDGE, "up")
        # bwkeep1 sits in the same namespace as tap0's 192.0.2.1: with the kernel's default
        # arp_ignore=0 it answers the VMs' ARP for 192.0.2.1 with its own MAC too (the request
        # reaches it through bwkeep0). A VM that keeps the later answer then sends to bwkeep1,
        # where the packet arrives on the wrong interface: the TFTP listener, bound to tap0,
        # is not found and the kernel answers ICMP port unreachable (OVMF then falls back to
        # IPv6). No ARP on bwkeep1, and answer ARP only on the interface owning the address.
        self.sh(["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1"])
        self.ip("link", "set", "bwkeep1", "arp", "off", "up")
        self.ip("link", "set", BRIDGE, "up")
        self.ip("addr", "add", f"{ADDRESS4}/{PREFIX4}", "dev", BRIDGE)
        self.ip("addr", "add", f"{ADDRESS6}/{PREFIX6}", "dev", BRIDGE, "nodad")
        self.sh(["nft", "add", "table", "bridge", "bwlab"])
        for hook in ("forward", "input", "output"):
            self.sh(["nft", f"add chain bridge bwlab {hook} {{ type filter hook {hook} priority 0; policy accept; }}"])
        self.wait_addresses()

    def wait_addresses(self, timeout: float = 10.0) -> None:
        """Wait until tap0 is up with both addresses usable (not tentative) and a link-local one."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.ip("-o", "addr", "show", "dev", BRIDGE)
            ok6 = re.search(rf"inet6 {re.escape(ADDRESS6)}/{PREFIX6} (?!.*(tentative|dadfailed))", text)
            ll = re.search(r"inet6 fe80::\S+ scope link (?!.*(tentative|dadfailed))", text)
            if f"inet {ADDRESS4}/{PREFIX4}" in text and ok6 and ll:
                return
            time.sleep(0.2)
        raise LabError(f"{BRIDGE} in {self.name} did not get usable addresses within {timeout:.0f} s:\n{text}")

    def add_tap(self, family: int | None) -> str:
        """A new tap port on the bridge; ``family`` 6 makes it an IPv6-only link (IPv4 and ARP dropped)."""
        tap = f"bwtap{len(self.taps)}"
        self.ip("tuntap", "add", tap, "mode", "tap")
        self.taps.append(tap)
        self.sh(["sysctl", "-q", "-w", f"net.ipv6.conf.{tap}.disable_ipv6=1"])
        self.ip("link", "set", tap, "master", BRIDGE, "up")
        if family == 6:
            drop = "{ ip, arp }"
            rules = [
                f"add rule bridge bwlab forward iifname {tap} ether type {drop} drop",
                f"add rule bridge bwlab forward oifname {tap} ether type {drop} drop",
                f"add rule bridge bwlab input iifname {tap} ether type {drop} drop",
                f"add rule bridge bwlab output oifname {tap} ether type {drop} drop",
            ]
            self.sh(["nft", "-f", "-"], input_bytes=("\n".join(rules) + "\n").encode())
        return tap

    def neighbours(self) -> dict[str, str]:
        """IP address → MAC from the namespace's neighbour tables (both families)."""
        table: dict[str, str] = {}
        try:
            text = run(["ip", "-n", self.name, "neigh", "show", "dev", BRIDGE], timeout=5).stdout.decode()
        except LabError:
            return table
        for line in text.splitlines():
            parts = line.split()
            if "lladdr" in parts:
                table[parts[0]] = parts[parts.index("lladdr") + 1].lower()
        return table

    def pids(self) -> list[int]:
        """Processes still running inside the namespace."""
        try:
            out = run(["ip", "netns", "pids", self.name], timeout=5, check=False).stdout.decode()
        except LabError:
            return []
        return [int(p) for p in out.split() if p.isdigit()]

    def delete(self) -> None:
        """Kill what is left inside, delete the namespace (taps and bridge go with it)."""
        if not self.created:
            return
        for pid in self.pids():
            kill_pid(pid)
        run(["ip", "netns", "del", self.name], timeout=10, check=False)
        self.created = False


class PeerNamespace(Namespace):
    """A second host on the lab's link: its own namespace, one veth end ``lan0`` on the lab's bridge."""

    IFACE = "lan0"

    def __init__(self, lab: Namespace, address: str):
        super().__init__()  # bwlab-<pid>-<n>: cleanup_stale() deletes it with the lab's namespace
        self.lab = lab
        self.address = address
        self.port = f"bwpeer{len(lab.taps)}"  # the bridge port in the lab's namespace

    def create(self) -> None:
        """The namespace, ``lo``, the veth pair (one end a port of the lab's bridge) and the address."""
        if (NETNS_DIR / self.name).exists():
            raise LabError(f"network namespace {self.name} already exists")
        run(["ip", "netns", "add", self.name])
        self.created = True
        self.ip("link", "set", "lo", "up")
        # IPv4 only: the foreign servers the lab runs here serve DHCPv4; no IPv6 chatter on the link.
        self.lab.ip("link", "add", self.port, "type", "veth", "peer", "name", self.IFACE, "netns", self.name)
        self.lab.sh(["sysctl", "-q", "-w", f"net.ipv6.conf.{self.port}.disable_ipv6=1"])
        self.lab.ip("link", "set", self.port, "master", BRIDGE, "up")
        self.sh(["sysctl", "-q", "-w", f"net.ipv6.conf.{self.IFACE}.disable_ipv6=1"])
        self.ip("addr", "add", f"{self.address}/{PREFIX4}", "dev", self.IFACE)
        self.ip("link", "set", self.IFACE, "up")


def cleanup_stale() -> list[str]:
    """Delete ``bwlab-<pid>`` namespaces whose lab process no longer exists; their names."""
    removed: list[str] = []
    if not NETNS_DIR.is_dir():
        return removed
    for entry in NETNS_DIR.iterdir():
        match = re.fullmatch(rf"{PREFIX}(\d+)(-\d+)?", entry.name)
        if not match or _alive(int(match.group(1))):
            continue
        stale = Namespace(entry.name)
        stale.created = True
        stale.delete()
        removed.append(entry.name)
    return removed


def _free_name() -> str:
    """``bwlab-<pid>``, or ``bwlab-<pid>-<n>`` when this process already runs a lab."""
    base = f"{PREFIX}{os.getpid()}"
    name, n = base, 1
    while (NETNS_DIR / name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
