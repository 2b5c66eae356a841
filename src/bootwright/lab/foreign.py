"""A foreign DHCP server on the lab's link: it owns the addresses while bootwright serves in proxy mode.

``bootwright lab --foreign-dhcp dnsmasq|dhcpd --placement apart|together``
starts one of two real servers, configured as a home router or a site's
server would be — a range in 192.0.2.0/24 (:data:`RANGE`), a router and a DNS
server, and *no* boot options at all (no ``dhcp-boot``, no TFTP, no
``filename``/``next-server``) — so everything a machine learns about booting
comes from bootwright's proxy answers (PXE 2.1 §2.2.2):

* dnsmasq: ``dnsmasq --no-daemon --conf-file=…`` with ``port=0`` (no DNS) and
  its own lease file in the work directory. It binds the wildcard 0.0.0.0:67
  without ``bind-interfaces`` on purpose: with it (or ``bind-dynamic``)
  dnsmasq sets SO_REUSEPORT, and a second server could then share the port.
* ISC dhcpd (Debian ``isc-dhcp-server``): ``dhcpd -4 -f -d -cf … -lf … -pf …
  IFACE``; it reads and writes the link through a packet socket and holds
  0.0.0.0:67 with a "fallback" UDP socket.

Placements — what each proves:

* ``apart``: the server runs in a second namespace (``bwlab-<pid>-<n>``,
  :class:`~bootwright.lab.netns.PeerNamespace`) at :data:`FOREIGN_ADDRESS`,
  joined to the lab's bridge by a veth: another host on the link, as a home
  router or a site's DHCP server is. bootwright binds its ports as usual.
* ``together``: the server runs in the lab's namespace on the bridge ``tap0``
  itself (192.0.2.1) and has bound UDP 67 before bootwright starts — libvirt's
  dnsmasq on the host that runs bootwright. bootwright cannot bind 67 and must
  receive through a packet socket (its ready line says which).

Both are started inside their namespace as processes of the lab, logged to
``foreign-<server>.log`` in the work directory, and stopped by pid. Their
ACK lines teach the lab which address each VM got (:attr:`Timeline.address
<bootwright.lab.timeline.Timeline.address>`); the lease file is read at the end
(:meth:`ForeignDhcp.leases`). When tcpdump is installed, a capture of UDP 67,
68 and 4011 on every interface of the lab's namespace goes to ``dhcp.pcap``.
"""

from __future__ import annotations

import re
from pathlib import Path

from bootwright.lab import tools
from bootwright.lab.netns import ADDRESS4, BRIDGE, Namespace, PeerNamespace
from bootwright.lab.proc import LabError, Managed
from bootwright.lab.servers import Observer, Service, Stack
from bootwright.lab.sources import MAC_RE, Observation

SERVERS = ("dnsmasq", "dhcpd")
PLACEMENTS = ("apart", "together")
FOREIGN_ADDRESS = "192.0.2.254"  # the foreign server's own address when it runs apart
RANGE = ("192.0.2.100", "192.0.2.199")
LEASE_SECONDS = 3600
CAPTURE_PACKETS = 20000  # tcpdump -c: the capture ends by itself even if nobody stops it


def check_choice(server: str, placement: str) -> None:
    """ValueError naming the flag when ``server`` or ``placement`` is not one the lab runs."""
    if server not in SERVERS:
        raise ValueError(f"--foreign-dhcp {server!r} is not one of {', '.join(SERVERS)}")
    if placement not in PLACEMENTS:
        raise ValueError(f"--placement {placement!r} is not one of {', '.join(PLACEMENTS)}")


def dnsmasq_config(iface: str, router: str, work: Path) -> str:
    """dnsmasq as a home router runs it: addresses, router and DNS server, nothing about booting."""
    return f"""# foreign DHCP server of a bootwright lab proxy run (written by bootwright.lab.foreign)
# Addresses only: no dhcp-boot, no enable-tftp, no pxe-service. bootwright answers the boot part.
port=0
interface={iface}
log-facility=-
log-dhcp
user=root
pid-file=
dhcp-leasefile={work}/foreign-dnsmasq.leases
dhcp-range={RANGE[0]},{RANGE[1]},255.255.255.0,{LEASE_SECONDS}
dhcp-option=option:router,{router}
dhcp-option=option:dns-server,{router}
"""


def dhcpd_config(router: str) -> str:
    """ISC dhcpd as a site runs it: one subnet with a range, router and DNS, no filename or next-server."""
    return f"""# foreign DHCP server of a bootwright lab proxy run (written by bootwright.lab.foreign)
# Addresses only: no filename, no next-server, no option 60. bootwright answers the boot part.
authoritative;
ddns-update-style none;
default-lease-time {LEASE_SECONDS};
max-lease-time {LEASE_SECONDS};

subnet 192.0.2.0 netmask 255.255.255.0 {{
  range {RANGE[0]} {RANGE[1]};
  option routers {router};
  option domain-name-servers {router};
}}
"""


# "DHCPACK(lan0) 192.0.2.118 52:54:00:b0:00:04" (dnsmasq), "DHCPACK on 192.0.2.199 to 52:54:00:b0:00:04" (dhcpd)
_ACK = re.compile(r"DHCPACK(?:\([^)]*\) (?P<ip1>\S+) | on (?P<ip2>\S+) to )(?P<mac>[0-9a-f:]{17})", re.I)
_DHCPD_LEASE = re.compile(r"^lease (\S+) \{(.*?)^\}", re.S | re.M)  # a closing brace at a line start


class ForeignDhcp(Stack):
    """The foreign DHCP server (dnsmasq or ISC dhcpd) in its namespace, and the capture."""

    def __init__(self, server: str, placement: str, lab: Namespace, work: Path, observe: Observer):
        check_choice(server, placement)
        self.server = server
        self.placement = placement
        self.label = f"foreign-{server}"
        self.peer = PeerNamespace(lab, FOREIGN_ADDRESS) if placement == "apart" else None
        super().__init__(self.peer or lab, work, observe)
        self.lab = lab
        self.iface = PeerNamespace.IFACE if self.peer else BRIDGE
        self.router = FOREIGN_ADDRESS if self.peer else ADDRESS4
        self.services = [Service("dhcp4", f"DHCPv4 ({server}, {placement})", "udp", 67)]
        self.capture: Managed | None = None

    @property
    def title(self) -> str:
        """For people: ``dnsmasq in its own namespace at 192.0.2.254``."""
        where = f"in its own namespace at {FOREIGN_ADDRESS}" if self.peer else f"beside bootwright on {BRIDGE}"
        return f"{self.server} {where}"

    @property
    def lease_file(self) -> Path:
        """The server's lease file in the work directory."""
        return self.work / f"foreign-{self.server}.leases"

    async def start(self) -> None:
        """The peer namespace (``apart``), the capture, then the server; wait until it holds UDP 67."""
        if self.peer is not None:
            self.peer.create()
        await self._start_capture()
        if self.server == "dnsmasq":
            conf = self.work / "foreign-dnsmasq.conf"
            conf.write_text(dnsmasq_config(self.iface, self.router, self.work))
            await self._spawn("dnsmasq", [str(tools.find("dnsmasq")), "--no-daemon", f"--conf-file={conf}"])
        else:
            conf = self.work / "foreign-dhcpd.conf"
            conf.write_text(dhcpd_config(self.router))
            self.lease_file.touch()
            cmd = [
                str(tools.find("dhcpd")), "-4", "-f", "-d", "-cf", str(conf), "-lf", str(self.lease_file),
                "-pf", str(self.work / "foreign-dhcpd.pid"), self.iface,
            ]  # fmt: skip
            await self._spawn("dhcpd", cmd)
        if await self.wait_ready(timeout=15.0):
            raise LabError(f"{self.title} did not bind UDP 67 within 15 s (see {self.log.name})")

    async def _start_capture(self) -> None:
        """tcpdump of DHCP and the PXE boot server port on every interface of the lab's namespace."""
        found = tools.REQUIREMENTS["tcpdump"].find()
        if found is None:
            return
        cmd = [
            *self.lab.exec_prefix(), str(found), "-i", "any", "-n", "-U", "-c", str(CAPTURE_PACKETS),
            "-w", str(self.work / "dhcp.pcap"), "udp port 67 or udp port 68 or udp port 4011",
        ]  # fmt: skip
        log = (self.work / "dhcp.pcap.log").open("wb")
        try:
            self.capture = await Managed.start("tcpdump", cmd, stdout=log, stderr=log)
        finally:
            log.close()  # the child has its own descriptor

    def parse(self, source: str, line: str, now: float) -> Observation | None:
        """An ACK names the address the VM got from this server; nothing else is a boot stage."""
        if source == "tcpdump" or not (m := _ACK.search(line)):
            return None
        ip, mac = m.group("ip1") or m.group("ip2"), m.group("mac").lower()
        return Observation(now, None, mac, ip, learned=((ip, mac),), leased_by=self.server)

    def leases(self) -> dict[str, str]:
        """MAC → address from the server's lease file (empty before the first lease)."""
        try:
            text = self.lease_file.read_text(errors="replace")
        except OSError:
            return {}
        found: dict[str, str] = {}
        if self.server == "dnsmasq":
            for line in text.splitlines():  # "expiry mac ip hostname client-id"
                fields = line.split()
                if len(fields) >= 3 and MAC_RE.fullmatch(fields[1]):
                    found[fields[1].lower()] = fields[2]
            return found
        for ip, body in _DHCPD_LEASE.findall(text):  # appended in order: the last record of an address wins
            if (m := re.search(r"hardware ethernet ([0-9a-f:]{17});", body, re.I)) and "binding state active" in body:
                found[m.group(1).lower()] = ip
        return found

    async def stop(self) -> None:
        """Stop the server and the capture (by pid), delete the peer namespace."""
        await super().stop()
        if self.capture is not None:
            await self.capture.stop()
            self.capture = None
        if self.peer is not None:
            self.peer.delete()
