"""End-to-end: proxyDHCP — real firmware boots with its address from another server (issue 15).

The link's DHCP server is a real foreign server that knows nothing about
booting — dnsmasq or ISC dhcpd with a range, a router and DNS, no boot options
(:mod:`bootwright.lab.foreign`) — and ``bootwright serve --config
examples/proxy.toml`` answers only the boot part (``mode = "proxy"``). Each
foreign server runs in both placements:

* ``apart``: in its own namespace on the lab's bridge (another host on the link);
* ``together``: in the lab's namespace, holding UDP 67 before bootwright starts
  (libvirt's dnsmasq on bootwright's host): bootwright must receive through a
  packet socket.

In each of the four runs (one lab run each, two VMs at a time) SeaBIOS + iPXE,
OVMF UEFI PXE and OVMF UEFI HTTP boot must reach the lab marker over IPv4, the
foreign server's lease file must name each VM's MAC with the address it got,
and bootwright must have sent it proxy answers only — no ``dhcp4.offer`` or
``dhcp4.ack``. The pure parts (configs, log and lease parsing, the timeline's
proxy stage) are checked first, without root.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from labrun import PARALLEL, REPO, LabRun, foreign_problem

from bootwright.lab import scenarios
from bootwright.lab.foreign import PLACEMENTS, RANGE, SERVERS, ForeignDhcp, check_choice, dhcpd_config, dnsmasq_config
from bootwright.lab.netns import Namespace
from bootwright.lab.options import PROXY_CONFIG, config_problems
from bootwright.lab.runner import LabOptions
from bootwright.lab.sources import parse_event_line
from bootwright.lab.timeline import Stage, Timeline
from bootwright.lab.tracker import Tracker
from bootwright.model import EventKind

MAC = "52:54:00:b0:01:04"
RUNS = [(server, placement) for server in SERVERS for placement in PLACEMENTS]


# -- the pure parts ------------------------------------------------------------------------------------------


def test_the_foreign_servers_know_nothing_about_booting(tmp_path: Path) -> None:
    conf = dnsmasq_config("lan0", "192.0.2.254", tmp_path)
    keys = {line.split("=", 1)[0] for line in conf.splitlines() if line and not line.startswith("#")}
    assert {"dhcp-boot", "enable-tftp", "pxe-service", "dhcp-option-force", "bind-interfaces"}.isdisjoint(keys)
    assert "port=0" in conf and f"dhcp-range={RANGE[0]},{RANGE[1]}," in conf
    assert f"dhcp-leasefile={tmp_path}/foreign-dnsmasq.leases" in conf
    isc = dhcpd_config("192.0.2.1")
    body = [line for line in isc.splitlines() if not line.lstrip().startswith("#")]
    assert not any(word in line for line in body for word in ("filename", "next-server", "vendor-class"))
    assert f"range {RANGE[0]} {RANGE[1]};" in isc and "option routers 192.0.2.1;" in isc


def test_only_the_known_servers_and_placements() -> None:
    check_choice("dnsmasq", "together")
    with pytest.raises(ValueError, match="--foreign-dhcp 'kea'"):
        check_choice("kea", "apart")
    with pytest.raises(ValueError, match="--placement 'beside'"):
        check_choice("dhcpd", "beside")


def test_the_foreign_logs_and_lease_files_name_the_address(tmp_path: Path) -> None:
    lab = Namespace("bwlab-test")
    dnsmasq = ForeignDhcp("dnsmasq", "apart", lab, tmp_path, lambda obs: None)
    ack = dnsmasq.parse("dnsmasq", "dnsmasq-dhcp[9]: 3 DHCPACK(lan0) 192.0.2.118 52:54:00:B0:01:04 ", 5.0)
    assert ack is not None and (ack.stage, ack.mac, ack.ip, ack.leased_by) == (None, MAC, "192.0.2.118", "dnsmasq")
    assert dnsmasq.parse("dnsmasq", "dnsmasq-dhcp[9]: 3 DHCPOFFER(lan0) 192.0.2.118 52:54:00:b0:01:04", 5.0) is None
    (tmp_path / "foreign-dnsmasq.leases").write_text(f"1796297647 {MAC} 192.0.2.118 * 01:52:54:00:b0:01:04\n")
    assert dnsmasq.leases() == {MAC: "192.0.2.118"}
    dhcpd = ForeignDhcp("dhcpd", "together", lab, tmp_path, lambda obs: None)
    assert dhcpd.peer is None and dhcpd.iface == "tap0" and dhcpd.router == "192.0.2.1"
    ack = dhcpd.parse("dhcpd", f"DHCPACK on 192.0.2.101 to {MAC} via tap0", 6.0)
    assert ack is not None and (ack.mac, ack.ip, ack.leased_by) == (MAC, "192.0.2.101", "dhcpd")
    (tmp_path / "foreign-dhcpd.leases").write_text(
        "lease 192.0.2.100 {\n  binding state free;\n  hardware ethernet 52:54:00:b0:00:04;\n}\n"
        f'lease 192.0.2.101 {{\n  binding state active;\n  hardware ethernet {MAC};\n  uid "\\001RT}}";\n}}\n'
    )
    assert dhcpd.leases() == {MAC: "192.0.2.101"}
    dnsmasq.log.close()
    dhcpd.log.close()


def test_a_proxy_answer_is_the_dhcp_stage(tmp_path: Path) -> None:
    timeline = Timeline("efi4", "UEFI PXE v4", MAC)
    timeline.started = 1000.0
    tracker = Tracker([timeline], Namespace("bwlab-test"))
    record = {"at": 1001.5, "event": EventKind.DHCP4_PROXY_OFFER, "mac": MAC, "host": None, "bootfile": "ipxe.efi"}
    offer = parse_event_line("INFO " + json.dumps(record), 0.0)
    assert offer is not None and offer.stage is Stage.OFFER
    assert offer.detail == "dhcp4.proxy_offer ipxe.efi, address from another server"
    tracker.observe(offer)
    lab = Namespace("bwlab-test")
    dhcpd = ForeignDhcp("dhcpd", "together", lab, tmp_path, lambda obs: None)
    ack = dhcpd.parse("dhcpd", f"DHCPACK on 192.0.2.101 to {MAC} via tap0", 1001.7)
    dhcpd.log.close()
    assert ack is not None
    tracker.observe(ack)
    assert timeline.seen[Stage.OFFER] == pytest.approx(1.5) and timeline.events == ["dhcp4.proxy_offer"]
    assert timeline.address == "192.0.2.101 from dhcpd" and tracker.ip_mac["192.0.2.101"] == MAC


def test_proxy_runs_boot_ipv4_and_want_a_proxy_config() -> None:
    assert [s.name for s in scenarios.select(proxy=True)] == ["bios4", "efi4", "efihttp4"]
    assert [s.name for s in scenarios.select("efi", "all", proxy=True)] == ["efi4"]
    with pytest.raises(ValueError, match="IPv4 only"):
        scenarios.select("all", "6", proxy=True)
    assert config_problems(PROXY_CONFIG, "dnsmasq") == []
    assert any("--foreign-dhcp" in p for p in config_problems(PROXY_CONFIG))  # nobody else gives addresses
    full = config_problems(REPO / "examples" / "quickstart.toml", "dhcpd")
    assert any('must set mode = "proxy"' in p for p in full), full


# -- real firmware -------------------------------------------------------------------------------------------


class ProxyRun(LabRun):
    """One lab run of the three IPv4 scenarios beside a foreign DHCP server, or why it could not run."""

    def __init__(self, server: str, placement: str):
        self.server, self.placement = server, placement
        missing = foreign_problem(server)
        if missing is not None:
            self.report, self.skip = None, missing
            return
        options = LabOptions(
            config=PROXY_CONFIG,
            foreign_dhcp=server,
            placement=placement,
            scenarios=list(scenarios.PROXY),
            parallel=PARALLEL,
            live=False,
        )
        super().__init__(options)


_RUNS: dict[tuple[str, str], ProxyRun] = {}  # one lab run per server × placement, however pytest orders the tests


@pytest.fixture(scope="module", params=RUNS, ids=[f"{s}-{p}" for s, p in RUNS])
def proxy_run(request: pytest.FixtureRequest) -> ProxyRun:
    key: tuple[str, str] = request.param
    if key not in _RUNS:
        _RUNS[key] = ProxyRun(*key)
    return _RUNS[key]


@pytest.mark.e2e
@pytest.mark.parametrize("name", [s.name for s in scenarios.PROXY])
def test_firmware_boots_through_the_proxy(proxy_run: ProxyRun, name: str) -> None:
    timeline = proxy_run.timeline(name)
    where = f"{timeline.title} beside {proxy_run.server} ({proxy_run.placement})"
    assert timeline.ok, f"{where}: {timeline.stopped_at()}"
    for stage in (Stage.BOOTPROG, Stage.SCRIPT, Stage.KERNEL, Stage.INITRD):
        assert timeline.via.get(stage, 4) == 4, f"{where}: {stage.name.lower()} fetched over IPv6"


@pytest.mark.e2e
@pytest.mark.parametrize("name", [s.name for s in scenarios.PROXY])
def test_the_address_came_from_the_foreign_server(proxy_run: ProxyRun, name: str) -> None:
    timeline = proxy_run.timeline(name)
    report = proxy_run.report
    assert report is not None
    leased = report.leases.get(timeline.mac)
    assert leased is not None, f"{proxy_run.server}'s lease file does not name {timeline.mac}: {report.leases}"
    assert ipaddress.ip_address(RANGE[0]) <= ipaddress.ip_address(leased) <= ipaddress.ip_address(RANGE[1])
    assert timeline.address is not None and timeline.address.endswith(f"from {proxy_run.server}"), timeline.address
    own = [k for k in timeline.events if k in (EventKind.DHCP4_OFFER, EventKind.DHCP4_ACK)]
    assert not own, f"bootwright gave {timeline.mac} an address in proxy mode: {own}"
    assert EventKind.DHCP4_PROXY_OFFER in timeline.events, timeline.events
    if name == "efi4":  # UEFI PXE gets no option 43 and asks the boot server port (PXE 2.1 §2.2.3)
        assert EventKind.DHCP4_PROXY_ACK in timeline.events, timeline.events


@pytest.mark.e2e
def test_bootwright_says_how_it_receives(proxy_run: ProxyRun) -> None:
    if proxy_run.skip is not None:
        pytest.skip(proxy_run.skip)
    assert proxy_run.report is not None
    ready = proxy_run.report.ready.get("dhcp4", "")
    assert "4011" in ready, ready
    if proxy_run.placement == "apart":
        assert "port 67 bound" in ready, ready
    else:  # beside a server holding UDP 67 on the same host, only a packet socket hears the clients
        assert "packet socket" in ready and "port 67 bound" not in ready, ready
