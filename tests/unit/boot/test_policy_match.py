"""Rule conditions on relay ids, client id and iPXE features; ``ignore``; pool allow/deny (issue 16)."""

from __future__ import annotations

import pytest

from bootwright.boot.policy import BootPolicy, PoolAccess, ServerContext
from bootwright.boot.validation import validate
from bootwright.config import ConfigError, Pool4, match_octets, parse_config, parse_model
from bootwright.model import ClientInfo, RelayInfo
from bootwright.wire.ipxe_options import IPXE_FEATURES, ipxe_features

CTX4 = ServerContext(address="192.0.2.1")
CTX6 = ServerContext(address="2001:db8::1")

RULES = """
[boot]
builtin = false

[[rule]]
name = "quiet"
match = { mac = "52:54:00:ee" }
ignore = true

[[rule]]
name = "port1"
match = { circuit_id = ["eth0/1", "00:01:02"] }
final = false
next_server = "192.0.2.9"

[[rule]]
name = "dslam"
match = { remote_id = "de:ad:be:ef" }
bootfile = "dslam.efi"

[[rule]]
name = "by-cid"
match = { client_id = "01:52:54:00:00:00:07" }
bootfile = "cid.efi"

[[rule]]
name = "secure"
match = { ipxe_feature = ["https", "efi"] }
bootfile = "https://boot.example/secure.ipxe"

[[rule]]
name = "all"
bootfile = "plain.0"

[[host]]
name = "h1"
mac = "52:54:00:00:00:01"
groups = ["lab"]
"""


def policy(text: str = RULES) -> BootPolicy:
    return BootPolicy.from_config(parse_config(text))


def test_match_values_are_octets_when_written_as_hex_and_utf8_otherwise() -> None:
    assert match_octets("01:52:54") == b"\x01\x52\x54"
    assert match_octets("eth0/1") == b"eth0/1"
    assert match_octets("ab") == b"ab"  # one octet would be ambiguous with text: text


@pytest.mark.parametrize(("relay", "rule", "bootfile", "next_server"), [
    # port1 is not final: it sets next_server and the last rule decides
    (RelayInfo(circuit_id=b"eth0/1"), "all", "plain.0", "192.0.2.9"),
    (RelayInfo(circuit_id=b"\x00\x01\x02"), "all", "plain.0", "192.0.2.9"),  # hex form compared as octets
    (RelayInfo(circuit_id=b"eth0/2"), "all", "plain.0", None),
    (RelayInfo(remote_id=b"\xde\xad\xbe\xef"), "dslam", "dslam.efi", None),
    (RelayInfo(remote_id=b"de:ad:be:ef"), "all", "plain.0", None),  # the text is not the octets
    (None, "all", "plain.0", None),
])  # fmt: skip
def test_relay_ids_v4(relay: RelayInfo | None, rule: str, bootfile: str, next_server: str | None) -> None:
    ans = policy().decide(ClientInfo(family=4, mac="52:54:00:00:00:09", relay=relay), CTX4)
    assert (ans.rule, ans.bootfile, ans.next_server) == (rule, bootfile, next_server)
    assert ("port1" in ans.matched) == (next_server is not None)


def test_v6_circuit_id_is_the_relay_interface_id() -> None:
    """RFC 8415 §21.18: a DHCPv6 relay names the client's port in option 18, the v4 circuit id's role."""
    ans = policy().decide(ClientInfo(family=6, relay=RelayInfo(interface_id=b"eth0/1")), CTX6)
    assert ans.matched == ("port1", "all")


def test_client_id_v4_includes_the_type_octet_and_v6_is_the_duid() -> None:
    p = policy(RULES.replace('"01:52:54:00:00:00:07"', '["01:52:54:00:00:00:07", "00:03:00:01:52:54:00:00:00:08"]'))
    assert p.decide(ClientInfo(family=4, client_id=bytes.fromhex("01525400000007")), CTX4).rule == "by-cid"
    assert p.decide(ClientInfo(family=4, client_id=bytes.fromhex("525400000007")), CTX4).rule == "all"
    assert p.decide(ClientInfo(family=6, client_id=bytes.fromhex("00030001525400000008")), CTX6).rule == "by-cid"


def test_every_named_ipxe_feature_must_be_announced() -> None:
    p = policy()
    both = p.decide(ClientInfo(family=4, ipxe_features=frozenset({"https", "efi", "dns"})), CTX4)
    one = p.decide(ClientInfo(family=4, ipxe_features=frozenset({"https"})), CTX4)
    assert (both.rule, one.rule) == ("secure", "all")


def test_ipxe_features_decode_the_option_175_of_a_real_ipxe() -> None:
    """tests/data/ipxe-efi-v4.txt: Debian's ipxe.efi sends bus-id, version and its features (value 1)."""
    raw = bytes.fromhex("b1050 11af41000 eb03010000 170101 240101 130101 110101 270101 290101 150101 1b0101 120101"
                        .replace(" ", ""))  # fmt: skip
    assert ipxe_features(raw + b"\xff") == {"dns", "efi", "http", "iscsi", "menu", "nfs", "tftp", "srp", "aoe"}
    assert ipxe_features(bytes((IPXE_FEATURES["https"], 1, 0))) == frozenset()  # present but 0: not announced
    assert ipxe_features(b"\x14\x01\x01\x24\x05\x01") == {"https"}  # a truncated tail ends the walk


def test_ignore_is_final_and_answers_nothing() -> None:
    ans = policy().decide(ClientInfo(family=4, mac="52:54:00:ee:00:01", arches=(7,)), CTX4)
    assert ans.ignored and ans.rule == "quiet" and ans.bootfile is None and ans.matched == ("quiet",)
    ok = policy().decide(ClientInfo(family=4, mac="52:54:00:00:00:01"), CTX4)
    assert not ok.ignored and ok.host == "h1"


def test_an_ignore_rule_after_the_deciding_rule_does_not_apply() -> None:
    text = RULES.replace('name = "quiet"\nmatch = { mac = "52:54:00:ee" }', 'name = "quiet"\nmatch = { mac = "52:54" }')
    text = text.replace(
        '[[rule]]\nname = "quiet"', '[[rule]]\nname = "first"\nbootfile = "x"\n\n[[rule]]\nname = "quiet"'
    )
    ans = policy(text).decide(ClientInfo(family=4, mac="52:54:00:00:00:05"), CTX4)
    assert (ans.rule, ans.ignored) == ("first", False)
    assert "quiet" in ans.matched  # still a member of rule:quiet for pools


def test_members_are_known_unknown_rules_and_groups() -> None:
    p = policy()
    known = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:01", relay=RelayInfo(circuit_id=b"eth0/1")), CTX4)
    assert p.members(known) == {"known", "rule:port1", "rule:all", "group:lab"}
    stranger = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:02"), CTX4)
    assert p.members(stranger) == {"unknown", "rule:all"}


@pytest.mark.parametrize(("allow", "deny", "members", "ok"), [
    ([], [], {"unknown"}, True),
    (["known"], [], {"unknown"}, False),
    (["known", "rule:pxe"], [], {"unknown", "rule:pxe"}, True),  # allow: any one of them
    (["group:lab"], ["rule:pxe"], {"group:lab", "rule:pxe"}, False),  # deny wins
    ([], ["unknown"], {"known"}, True),
    ([], ["unknown"], {"unknown"}, False),
])  # fmt: skip
def test_pool_access(allow: list[str], deny: list[str], members: set[str], ok: bool) -> None:
    pool = Pool4(start="192.0.2.10", end="192.0.2.20", allow=allow, deny=deny)
    access = PoolAccess.of(pool)
    assert (access is None or access.permits(frozenset(members))) is ok
    assert (access is None) == (not allow and not deny)


def test_usable_pools() -> None:
    cfg = (
        RULES
        + """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = [{ start = "192.0.2.10", end = "192.0.2.19", allow = ["known"] },
         { start = "192.0.2.20", end = "192.0.2.29", deny = ["known"] },
         "192.0.2.30-192.0.2.39"]
"""
    )
    p = policy(cfg)
    pools = p.config.subnet4[0].pools
    known = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:01"), CTX4)
    unknown = p.decide(ClientInfo(family=4, mac="52:54:00:00:00:02"), CTX4)
    assert (p.usable_pools(pools, known), p.usable_pools(pools, unknown)) == ([0, 2], [1, 2])


@pytest.mark.parametrize(("fragment", "path", "words"), [
    ('match = { circuit_id = "01:2:03" }', "rule[0].match.circuit_id[0]", "two hex digits"),
    ('match = { client_id = "zz:01" }', "rule[0].match.client_id[0]", "looks like hex"),
    ('match = { remote_id = "" }', "rule[0].match.remote_id[0]", "empty"),
    ('match = { ipxe_feature = ["https", "warp"] }', "rule[0].match.ipxe_feature[1]", "unknown iPXE feature 'warp'"),
])  # fmt: skip
def test_malformed_match_values_are_config_errors(fragment: str, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f'[[rule]]\nname = "r"\n{fragment}\nbootfile = "x"\n')
    assert any(p.path == path and words in p.message for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(("member", "words"), [
    ("rule:nosuch", "no rule named 'nosuch' (r)"),
    ("members:x", "is not a pool member"),
    ("rule:", "is not a pool member"),
])  # fmt: skip
def test_pool_members_are_checked(member: str, words: str) -> None:
    text = f"""
[[rule]]
name = "r"
bootfile = "x"

[[subnet6]]
prefix = "2001:db8::/64"
pools = [{{ start = "2001:db8::10", end = "2001:db8::20", deny = ["known", "{member}"] }}]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert [(p.path, words in p.message) for p in info.value.problems] == [("subnet6[0].pools[0].deny[1]", True)]


def test_a_group_no_host_is_in_is_a_warning() -> None:
    text = (
        RULES
        + """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = [{ start = "192.0.2.10", end = "192.0.2.19", allow = ["group:lab", "group:racks"] }]
"""
    )
    report = validate(parse_model(text))
    assert report.ok
    found = [(p.path, p.message) for p in report.warnings if "group" in p.message]
    assert found == [
        ("subnet4[0].pools[0].allow[1]", "no host is in group 'racks' (yet): this permit matches no client")
    ]
