"""``ntp_servers`` (option 56, RFC 5908) and ``[dhcp6] options`` in the DHCPv6 engine's replies, on bytes.

Rule under test (boot/reply.dhcp6_requested_only, RFC 8415 §21.7): these options reach a
client whose Option Request names them; options a client never requests (§24 Table 4)
are sent anyway; a subnet's value wins over the global one.
"""

from __future__ import annotations

import json
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.boot.policy import BootPolicy
from bootwright.cli.main import app
from bootwright.config import ConfigError, parse_config
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.wire.dhcp6 import (
    HW_TYPE_ETHERNET,
    ClientId,
    Dhcp6Message,
    DuidLL,
    DuidLLT,
    IaNa,
    MessageType,
    NtpServer,
    OptionRequest,
    UnknownOption,
    decode,
)

A = IPv6Address
SERVER_DUID = DuidLLT(HW_TYPE_ETHERNET, 1000, bytes.fromhex("020000000001")).encode()
NOW = 1_000_000.0

CONFIG = """
[server]
interfaces = ["eth0", "eth1"]
address6 = "2001:db8::1"

[dhcp6]
ntp_servers = ["2001:db8::123", "ntp.example.com"]
options = { "65001" = "site-wide", "15" = "00:04:74:65:73:74" }

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::1ff"]
options = { "65001" = "0a:0b:0c", "82" = "3600" }

[[subnet6]]
prefix = "2001:db8:2::/64"
interface = "eth1"
pools = ["2001:db8:2::10-2001:db8:2::11"]
ntp_servers = ["2001:db8:2::123"]

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"
"""


def engine() -> Dhcp6Engine:
    cfg = parse_config(CONFIG)
    links = {"eth0": cfg.subnet6[0], "eth1": cfg.subnet6[1]}
    return Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, links, (), NOW)


def solicit(oro: tuple[int, ...] | None, mac: int = 1) -> bytes:
    opts: list = [ClientId(DuidLL(HW_TYPE_ETHERNET, bytes.fromhex(f"5254000000{mac:02x}"))), IaNa(1)]
    if oro is not None:
        opts.append(OptionRequest(oro))
    return Dhcp6Message(MessageType.SOLICIT, 0x1234, tuple(opts)).encode()


def advertise(eng: Dhcp6Engine, oro: tuple[int, ...] | None, link: str = "eth0") -> dict[int, object]:
    out = eng.handle(solicit(oro), Received(A("fe80::5054:ff:fe00:1"), link, True), NOW)
    assert out is not None and out.reply is not None
    msg = decode(out.reply)
    assert isinstance(msg, Dhcp6Message) and msg.msg_type == MessageType.ADVERTISE
    return {o.code: o for o in msg.options}


def test_requested_options_are_sent_with_the_subnets_value_first() -> None:
    got = advertise(engine(), (23, 56, 65001, 82))
    assert got[56] == NtpServer(((1, A("2001:db8::123")), (3, "ntp.example.com")))
    assert got[56].payload() == (  # type: ignore[attr-defined]
        bytes.fromhex("00010010 20010db8000000000000000000000123".replace(" ", ""))
        + bytes.fromhex("00030011") + b"\x03ntp\x07example\x03com\x00"
    )  # fmt: skip
    assert got[65001] == UnknownOption(65001, b"\x0a\x0b\x0c")  # the subnet's value over "site-wide"
    assert got[82].payload() == (3600).to_bytes(4, "big")  # type: ignore[attr-defined]


def test_unrequested_options_are_left_out_except_those_no_client_requests() -> None:
    eng = engine()
    got = advertise(eng, (23,))
    assert 56 not in got and 65001 not in got and 82 not in got
    # User Class (15) is never in an ORO (RFC 8415 §24 Table 4): sent unrequested.
    assert got[15].payload() == bytes.fromhex("000474657374")  # type: ignore[attr-defined]
    assert 56 not in advertise(eng, None)  # no ORO at all
    assert 56 in advertise(eng, (56,))  # the same plan, now asked for (the tail caches per ORO)
    assert 56 not in advertise(eng, (24,))


def test_a_subnets_ntp_servers_replace_the_global_ones_and_global_options_reach_it() -> None:
    got = advertise(engine(), (56, 65001), link="eth1")
    assert got[56] == NtpServer(((1, A("2001:db8:2::123")),))
    assert got[65001] == UnknownOption(65001, b"site-wide")


@pytest.mark.parametrize(
    ("snippet", "path", "needle"),
    [
        ('options = { "23" = "2001:db8::53" }', "dhcp6.options.23", "use dhcp6.dns"),
        ('options = { "24" = "example.com" }', "dhcp6.options.24", "use dhcp6.domain_search"),
        ('options = { "56" = "2001:db8::1" }', "dhcp6.options.56", "use dhcp6.ntp_servers"),
        ('options = { "59" = "http://x/" }', "dhcp6.options.59", "[[rule]]"),
        ('options = { "2" = "01" }', "dhcp6.options.2", "server identifier"),
        ('options = { "ntp" = "x" }', "dhcp6.options.ntp", "decimal code"),
        ('options = { "70000" = "x" }', "dhcp6.options.70000", "1..65535"),
        ('options = { "83" = "5" }', "dhcp6.options.83", "60..86400"),
        ('ntp_servers = ["192.0.2.123"]', "dhcp6.ntp_servers[0]", "IPv4 address"),
    ],
)
def test_config_problems_name_the_key(snippet: str, path: str, needle: str) -> None:
    text = CONFIG.replace(
        'ntp_servers = ["2001:db8::123", "ntp.example.com"]\noptions = { "65001" = "site-wide", "15" = "00:04:74:65:73:74" }',
        snippet,
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    found = [p for p in info.value.problems if p.path == path]
    assert found and needle in found[0].message, info.value.problems


def test_subnet_option_problems_name_the_subnet() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(CONFIG.replace('"82" = "3600"', '"13" = "00"'))
    assert [p.path for p in info.value.problems] == ["subnet6[0].options.13"]


def test_explain_lists_the_options_a_client_asking_for_them_gets(tmp_path: Path) -> None:
    path = tmp_path / "bootwright.toml"
    path.write_text(CONFIG.replace('interfaces = ["eth0", "eth1"]\n', ""))
    args = ["explain", "--config", str(path), "--family", "6", "--mac", "52:54:00:00:00:01", "--json"]
    result = CliRunner().invoke(app, [*args, "--relay", "2001:db8::1"])
    assert result.exit_code == 0, result.output
    options = json.loads(result.stdout)["options"]
    assert options["56"] == "2001:db8::123, ntp.example.com"
    assert options["65001"] == "0x0a0b0c" and options["82"] == "3600 s" and options["15"] == "test"
