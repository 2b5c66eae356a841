"""ISC dhclient -6 sees ``ntp_servers`` (option 56, RFC 5908) and ``[dhcp6] options`` from ``bootwright serve``.

One server in its own namespace pair (``bwt-d6o…``, addresses from 2001:db8::/32 only),
removed afterwards. dhclient is told the options as opaque strings, so its hook shows
the octets as received; the rule under test is RFC 8415 §21.7: the options reach a
client that lists them in its Option Request, and not one that does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import NetnsPair, require_module, start_bootwright, wait_link_local
from test_dhcp6 import DEBUG, Served, _pair, dhclient

pytestmark = pytest.mark.interop

require_module(("dhclient",))

CONFIG = """
[server]
interfaces = ["srv0"]
address6 = "2001:db8:1::1"

[dhcp4]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[dhcp6]
preference = 255
ntp_servers = ["2001:db8:9::123"]     # replaced by the subnet's
options = { "65001" = "site-wide", "65002" = "0a:0b:0c" }

[[subnet6]]
prefix = "2001:db8:1::/64"
interface = "srv0"
pools = ["2001:db8:1::100-2001:db8:1::1ff"]
ntp_servers = ["2001:db8:1::123", "ntp.example.test"]
options = { "65001" = "subnet-value" }

[boot]
builtin = false
"""
# dhclient knows neither option: taken as strings, its hook prints the octets colon-separated.
ASK = """
option dhcp6.ntp-server code 56 = string;
option dhcp6.site-one code 65001 = string;
option dhcp6.site-two code 65002 = string;
also request dhcp6.ntp-server, dhcp6.site-one, dhcp6.site-two;
"""
KNOW = ASK.split("also request")[0]  # the same names, not requested

# RFC 5908 §4: sub-option 1 (the address), sub-option 3 (the name in DNS wire format).
NTP_OCTETS = (
    bytes.fromhex("00010010") + bytes.fromhex("20010db8000100000000000000000123")
    + bytes.fromhex("00030012") + b"\x03ntp\x07example\x04test\x00"
)  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with _pair("d6o") as pair:
        wait_link_local(pair, True, "srv0")
        wait_link_local(pair, False, "cli0")
        served = _serve(pair, tmp_path_factory.mktemp("d6o"))
        yield served
        served.stop()


def _serve(link: NetnsPair, work: Path) -> Served:
    (work / "root").mkdir()
    cfg = work / "bootwright.toml"
    cfg.write_text(CONFIG)
    proc = start_bootwright(link, cfg, work / "root", work / "state", work / "serve.log",
                            ready=("dhcp6 ready",), flags=DEBUG)  # fmt: skip
    return Served(link, work, proc)


def octets(value: str) -> bytes:
    """dhclient's rendering of a string option: quoted text when printable, else colon hex."""
    value = value.strip().strip('"')
    if all(len(p) in (1, 2) for p in value.split(":")) and ":" in value:
        return bytes(int(p, 16) for p in value.split(":"))
    return value.encode()


def test_dhclient_gets_ntp_and_site_options_it_asks_for(served: Served, tmp_path: Path) -> None:
    env = dhclient(served.link, tmp_path, conf_extra=ASK)
    assert octets(env["new_dhcp6_ntp_server"]) == NTP_OCTETS  # the subnet's, not the global one
    assert octets(env["new_dhcp6_site_one"]) == b"subnet-value"
    assert octets(env["new_dhcp6_site_two"]) == b"\x0a\x0b\x0c"


def test_dhclient_that_does_not_ask_gets_none_of_them(served: Served, tmp_path: Path) -> None:
    env = dhclient(served.link, tmp_path, conf_extra=KNOW, tag="n")
    assert env["new_ip6_address"].startswith("2001:db8:1::")
    assert not {"new_dhcp6_ntp_server", "new_dhcp6_site_one", "new_dhcp6_site_two"} & set(env), env
