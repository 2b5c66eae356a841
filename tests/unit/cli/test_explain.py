"""``bootwright explain`` is what the server sends: a differential test against the running engines.

For each client of the table, the server side is built the way ``serve``
builds it (``HotReload.start`` on a state store holding hosts added through
the inventory and a one-shot boot), a real packet is encoded by hand and
answered by the engine; ``explain --json`` with the matching flags must list
the same options, boot file and address. Packets are encoded here with the
wire codecs, not with explain's own builder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootwright.boot.documents import Documents, Transport
from bootwright.boot.policy import BootPolicy
from bootwright.cli.main import app
from bootwright.config import load_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.inventory.service import Inventory
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.runtime.reload import HotReload
from bootwright.store.sqlite import SqliteStore
from bootwright.wire import dhcp4 as wire4
from bootwright.wire import dhcp6 as wire6
from bootwright.wire.dhcp4_options import describe_option

CONFIG = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8:1::1"

[http]
port = 8080

[[subnet4]]
subnet = "192.0.2.0/25"
interface = "eth0"
pools = ["192.0.2.50-192.0.2.99"]
routers = ["192.0.2.1"]
dns = ["192.0.2.53"]

[[subnet4]]
subnet = "192.0.2.128/25"
pools = ["192.0.2.150-192.0.2.199"]
routers = ["192.0.2.129"]
domain_name = "b.example"

[[subnet4]]
subnet = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.99"]
routers = ["198.51.100.1"]
lease_time = 600
options = { "42" = "198.51.100.123" }

[[subnet6]]
prefix = "2001:db8:1::/64"
interface = "eth0"
pools = ["2001:db8:1::100-2001:db8:1::1ff"]
dns = ["2001:db8:1::53"]

[[subnet6]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::100-2001:db8:2::1ff"]
dns = ["2001:db8:2::53"]

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"
cmdline = "console=ttyS0"

[targets.rescue]
kernel = "{{ http }}/rescue"
cmdline = "rescue"

[[rule]]
name = "rack-b"
match = { subnet = ["192.0.2.128/25"], arch = [7] }
bootfile = "rack-b/ipxe.efi"
"""

MAC = "52:54:00:00:00:01"
STORED = "52:54:00:aa:00:01"  # added through the inventory, not in the config
ONESHOT = "52:54:00:aa:00:02"  # stored, with a one-shot boot of "rescue" pending
PXE7 = "PXEClient:Arch:00007:UNDI:003016"
# Option 55 of an EDK2 PXE client (RFC 2132 §9.8), 67 included.
PRL = bytes([1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128])

runner = CliRunner()


@dataclass(frozen=True)
class Server:
    """The engines and documents of a configuration as ``serve`` runs them, and the explain arguments."""

    config: Path
    state: Path
    policy: BootPolicy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("explain")
    path = tmp / "bootwright.toml"
    path.write_text(CONFIG)
    state = tmp / "state"
    config = load_config(path)
    store = SqliteStore(state / "state.db")
    store.open()
    try:
        inventory = Inventory(store.host_store(), config)
        inventory.add({"name": "stored", "mac": [STORED], "ipv4": "198.51.100.7", "ipv6": "2001:db8:1::7"})
        inventory.add({"name": "once", "mac": [ONESHOT], "target": "linux"})
        inventory.request_oneshot("once", "rescue")
        runtime = Runtime(config, path, tmp, state, store, EventSink(store), BootPolicy.from_config(config))
        HotReload(runtime).start()  # what serve does: config hosts synced, stored hosts and one-shots applied
        yield Server(path, state, runtime.policy)
    finally:
        store.close()


def explain(server: Server, family: int, mac: str, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["explain", "--config", str(server.config), "--state-dir", str(server.state),
                                 "--family", str(family), "--mac", mac, "--json", *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    got: dict[str, Any] = json.loads(result.stdout)
    return got


# ---------------------------------------------------------------------- DHCPv4


def discover(mac: str, *, arch: int | None = 7, vendor: str | None = PXE7, user: bytes | None = None,
             giaddr: str = "0.0.0.0", extra: dict[int, bytes] | None = None) -> wire4.Dhcp4Message:  # fmt: skip
    opts: dict[int, bytes] = {53: b"\x01", 55: PRL, 57: (1472).to_bytes(2, "big")}
    if arch is not None:
        opts[93] = arch.to_bytes(2, "big")  # RFC 4578 §2.1
    if vendor is not None:
        opts[60] = vendor.encode()
    if user is not None:
        opts[77] = bytes((len(user),)) + user  # RFC 3004 §4
    opts.update(extra or {})
    msg = wire4.Dhcp4Message(op=1, xid=0x42, chaddr=bytes.fromhex(mac.replace(":", "")),
                             giaddr=IPv4Address(giaddr), hops=1 if giaddr != "0.0.0.0" else 0, options=opts)  # fmt: skip
    return wire4.decode(wire4.encode(msg, max_size=1472))


ETH0 = RxContext("eth0", (IPv4Address("192.0.2.1"),))
LINK_SEL = bytes([5, 4, 192, 0, 2, 130])  # option 82 sub-option 5 (RFC 3527 §3): 192.0.2.130

CASES4 = [
    # (id, mac, discover kwargs, explain flags, expected subnet)
    ("direct", MAC, {}, ["--subnet", "192.0.2.0/25"], "192.0.2.0/25"),
    ("relayed-giaddr", MAC, {"giaddr": "198.51.100.1"}, ["--relay", "198.51.100.1"], "198.51.100.0/24"),
    (
        "option82-link-selection", MAC, {"giaddr": "198.51.100.1", "extra": {82: LINK_SEL}},
        ["--relay", "198.51.100.1", "--link-selection", "192.0.2.130"], "192.0.2.128/25",
    ),
    (
        "option118-subnet-selection", MAC, {"extra": {118: bytes([198, 51, 100, 0])}},
        ["--subnet", "192.0.2.0/25", "--subnet-selection", "198.51.100.0"], "198.51.100.0/24",
    ),
    # the host's reservation is in 198.51.100.0/24, behind a relay
    ("inventory-host", STORED, {"giaddr": "198.51.100.1"}, ["--relay", "198.51.100.1"], "198.51.100.0/24"),
    ("oneshot-ipxe", ONESHOT, {"arch": 7, "vendor": None, "user": b"iPXE"},
     ["--subnet", "192.0.2.0/25", "--user-class", "iPXE"], "192.0.2.0/25"),
]


def _flags(kwargs: dict[str, Any]) -> list[str]:
    out: list[str] = []
    arch = kwargs.get("arch", 7)
    if arch is not None:
        out += ["--arch", str(arch)]
    vendor = kwargs.get("vendor", PXE7)
    if vendor is not None:
        out += ["--vendor-class", vendor]
    return out


@pytest.mark.parametrize(("mac", "kwargs", "flags", "subnet"), [c[1:] for c in CASES4], ids=[c[0] for c in CASES4])
def test_explain4_equals_the_engine(server: Server, mac: str, kwargs: dict[str, Any], flags: list[str],
                                    subnet: str) -> None:  # fmt: skip
    engine = Dhcp4Engine(server.policy)
    msg = discover(mac, **kwargs)
    outcome = engine.handle(wire4.encode(msg), replace(ETH0, broadcast=msg.giaddr == IPv4Address(0)), 1000.0)
    assert outcome is not None and outcome.reply is not None
    offer = wire4.decode(outcome.reply)
    got = explain(server, 4, mac, *_flags(kwargs), *flags)
    assert got["reply"] == "offer"
    assert got["subnet"] == subnet
    assert got["address"] == str(offer.yiaddr)
    sent = {str(c): describe_option(c, raw) for c, raw in offer.options.items() if c != 53}
    assert set(got["options"]) == set(sent)
    assert {k: v for k, v in got["options"].items() if k != "175"} == {k: v for k, v in sent.items() if k != "175"}
    assert got["bootfile"] == offer.options[67].decode()
    assert got["next_server"] == (str(offer.siaddr) if int(offer.siaddr) else None)
    for key in ("family", "host", "rule", "bootfile", "next_server", "vendor_class", "options", "script", "warnings"):
        assert key in got  # the JSON contract


def test_inventory_host_is_known_with_its_reservation(server: Server) -> None:
    got = explain(server, 4, STORED, "--arch", "7", "--relay", "198.51.100.1")
    assert got["host"] == "stored"
    assert got["address"] == "198.51.100.7"
    assert got["options"]["12"] == "stored"


def test_link_selection_wins_over_giaddr(server: Server) -> None:
    got = explain(server, 4, MAC, "--arch", "7", "--relay", "198.51.100.1", "--link-selection", "192.0.2.130")
    assert got["rule"] == "rack-b" and got["bootfile"] == "rack-b/ipxe.efi"
    assert IPv4Address(got["address"]) in {IPv4Address(f"192.0.2.{i}") for i in range(150, 200)}


def test_oneshot_script_is_the_served_one_byte_for_byte(server: Server) -> None:
    got = explain(server, 4, ONESHOT, "--arch", "7", "--user-class", "iPXE", "--subnet", "192.0.2.0/25")
    assert got["host"] == "once"
    doc = Documents(server.policy).lookup(
        f"boot/{ONESHOT.replace(':', '-')}.ipxe", Transport.HTTP, "192.0.2.1", 8080, platform="efi", buildarch="x86_64"
    )
    assert doc is not None and doc.status == 200
    assert "rescue" in got["script"]
    assert got["script"].encode() == doc.body
    raw = runner.invoke(app, ["explain", "--config", str(server.config), "--state-dir", str(server.state), "--family", "4",
                              "--mac", ONESHOT, "--arch", "7", "--user-class", "iPXE", "--script"])  # fmt: skip
    assert raw.exit_code == 0 and raw.stdout.encode() == doc.body  # a redirected script is the served one


def test_missing_state_store_is_a_warning_and_never_created(tmp_path: Path, server: Server) -> None:
    empty = tmp_path / "none"
    result = runner.invoke(app, ["explain", "--config", str(server.config), "--state-dir", str(empty), "--family", "4",
                                 "--mac", STORED, "--arch", "7", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["host"] is None
    assert any("no state store" in w for w in got["warnings"])
    assert not empty.exists()


# ---------------------------------------------------------------------- DHCPv6


def solicit(mac: str, arch: int = 7, relay: str | None = None) -> tuple[bytes, IPv6Address]:
    raw = bytes.fromhex(mac.replace(":", ""))
    opts = (
        wire6.ClientId(wire6.DuidLL(wire6.HW_TYPE_ETHERNET, raw)),
        wire6.IaNa(1),  # explain asks with IAID 1: the pool address depends on DUID and IAID
        wire6.OptionRequest((23, 24, 59)),
        wire6.ClientArchType((arch,)),
    )
    msg = wire6.Dhcp6Message(wire6.MessageType.SOLICIT, 0x4242, opts)
    ll = IPv6Address(b"\xfe\x80" + bytes(6) + bytes((raw[0] ^ 2,)) + raw[1:3] + b"\xff\xfe" + raw[3:])
    if relay is None:
        return msg.encode(), ll
    fwd = wire6.Dhcp6Relay(wire6.MessageType.RELAY_FORW, 0, IPv6Address(relay), ll, (wire6.RelayMessage(msg),))
    return fwd.encode(), IPv6Address(relay)


CASES6 = [
    ("direct", MAC, None, ["--subnet", "2001:db8:1::/64"], "2001:db8:1::/64"),
    ("relayed", MAC, "2001:db8:2::1", ["--relay", "2001:db8:2::1"], "2001:db8:2::/64"),
    ("inventory-host", STORED, None, ["--subnet", "2001:db8:1::/64"], "2001:db8:1::/64"),
]


@pytest.mark.parametrize(("mac", "relay", "flags", "subnet"), [c[1:] for c in CASES6], ids=[c[0] for c in CASES6])
def test_explain6_equals_the_engine(server: Server, mac: str, relay: str | None, flags: list[str],
                                    subnet: str) -> None:  # fmt: skip
    config = server.policy.config
    engine = Dhcp6Engine(server.policy, bytes.fromhex("00030001020000000001"), {"eth0": config.subnet6[0]})
    data, src = solicit(mac, relay=relay)
    outcome = engine.handle(data, Received(src, "eth0", True), 1000.0)
    assert outcome is not None
    reply, _ = wire6.innermost(wire6.decode(outcome.reply))
    got = explain(server, 6, mac, "--arch", "7", *flags)
    assert got["subnet"] == subnet
    assert got["reply"] == "advertise"
    sent = {str(o.code): wire6.format_option(o.code, o) for o in reply.options
            if not isinstance(o, wire6.ClientId | wire6.ServerId | wire6.IaNa)}  # fmt: skip
    assert {k: v for k, v in got["options"].items() if k != "3"} == sent
    ia = reply.get(wire6.IaNa)
    assert ia is not None
    addr = ia.get(wire6.IaAddr)
    assert addr is not None and got["address"] == str(addr.address)
    url = reply.get(wire6.BootFileUrl)
    assert got["bootfile"] == (url.url if url is not None else None)
    if mac == STORED:
        assert got["address"] == "2001:db8:1::7" and got["host"] == "stored"


def test_bad_option_value_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace('options = { "42" = "198.51.100.123" }', 'options = { "abc" = "y" }'))
    result = runner.invoke(app, ["explain", "--config", str(path), "--state-dir", str(tmp_path / "s"), "--family", "4",
                                 "--mac", MAC, "--arch", "7", "--relay", "198.51.100.1"])  # fmt: skip
    assert result.exit_code in (0, 2), result.output
    assert "internal error" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
