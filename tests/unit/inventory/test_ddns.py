"""The pure part of live DNS (inventory/ddns.py): names, DHCID, zones, the secret, and the UPDATE messages."""

from __future__ import annotations

import base64
from pathlib import Path

import dns.message
import dns.name
import dns.opcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest

from bootwright.config import ConfigError, parse_config
from bootwright.inventory.ddns import (
    SecretError,
    Want,
    dhcid,
    forward_steps,
    host_wants,
    lease_claim,
    lease_fqdn,
    parse_secret,
    read_secret,
    reverse_steps,
    reverse_zone_for,
    reverse_zones,
    settings,
)
from bootwright.model import Host, Lease, LeaseState

N = dns.name.from_text
SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BASE = """
[[subnet4]]
subnet = "192.0.2.0/26"
[[subnet6]]
prefix = "2001:db8:1::/64"
[ddns]
enabled = true
server = "192.0.2.53"
forward_zone = "Lab.Example"
key_name = "bootwright."
key_secret_env = "DDNS_KEY"
"""


def _settings(extra: str = ""):  # type: ignore[no-untyped-def]
    return settings(parse_config(BASE + extra), base64.b64decode(SECRET))


# ---------------------------------------------------------------- DHCID: RFC 4701 §3.6's examples


def test_dhcid_matches_rfc_4701_examples() -> None:
    duid = bytes.fromhex("000100064 12df166010203040506".replace(" ", ""))
    v6 = dhcid(6, duid + b"\0\0\0\1", None, N("chi6.example.com"))
    assert base64.b64encode(v6).decode() == "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="
    v4 = dhcid(4, b"\x01\x01\x02\x03\x04\x05\x06", "01:02:03:04:05:06", N("client.example.com"))
    assert base64.b64encode(v4).decode() == "AAABxLmlskllE0MVjd57zHcWmEH3pCQ6VytcKD//7es/deY="
    cid = dhcid(4, bytes.fromhex("0107080 90a0b0c".replace(" ", "")), None, N("chi.example.com"))
    assert base64.b64encode(cid).decode() == "AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="


def test_a_dual_stack_machine_has_one_dhcid_for_both_families() -> None:
    name = N("web1.lab.example")
    mac = "52:54:00:00:00:01"
    assert dhcid(4, b"\x01" + bytes(6), mac, name) == dhcid(6, b"\x00\x03\x00\x01" + bytes(10), mac, name)


# ---------------------------------------------------------------- names and zones


def test_lease_names_go_into_the_forward_zone() -> None:
    zone = N("lab.example")
    assert lease_fqdn("web1", zone) == N("web1.lab.example")
    assert lease_fqdn("WEB1.lab.example", zone) == N("web1.lab.example")  # inside it: as sent, lower case
    assert lease_fqdn("web1.corp.example", zone) == N("web1.lab.example")  # outside: its first label
    assert lease_fqdn("under_score", zone) is None  # no DNS host name (RFC 1123 §2.1)
    assert lease_fqdn("", zone) is None and lease_fqdn(None, zone) is None


def test_reverse_zones_come_from_the_subnets_on_octet_and_nibble_boundaries() -> None:
    s = _settings()
    assert [z.to_text() for z in s.reverse] == ["0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2.0.192.in-addr.arpa."]
    assert reverse_zone_for("192.0.2.5", s) == N("2.0.192.in-addr.arpa")
    assert reverse_zone_for("198.51.100.5", s) is None
    configured = parse_config(BASE + 'reverse_zones = ["0.192.in-addr.arpa", "2.0.192.in-addr.arpa."]\n')
    assert [z.to_text() for z in reverse_zones(configured)] == ["2.0.192.in-addr.arpa.", "0.192.in-addr.arpa."]


def test_leases_of_inventory_hosts_and_unbound_leases_claim_nothing() -> None:
    s = _settings()
    lease = Lease(4, "192.0.2.10", b"\x01" + bytes(6), "52:54:00:00:00:01", 0.0, "web1", LeaseState.BOUND)
    claim = lease_claim(lease, s)
    assert claim is not None and claim.name == N("web1.lab.example") and claim.owner == "52:54:00:00:00:01"
    names, ptrs = host_wants([Host("db1", ipv4="192.0.2.20", ipv6="2001:db8:1::20"), Host("nameless")], s)
    assert names == {N("db1.lab.example"): Want(frozenset({"192.0.2.20"}), frozenset({"2001:db8:1::20"}))}
    reserved = frozenset((*names, *ptrs))
    assert lease_claim(Lease(4, "192.0.2.20", b"k", None, 0.0, "other", LeaseState.BOUND), s, reserved) is None
    assert lease_claim(Lease(4, "192.0.2.30", b"k", None, 0.0, "db1", LeaseState.BOUND), s, reserved) is None
    for state in (LeaseState.RELEASED, LeaseState.EXPIRED, LeaseState.DECLINED):
        assert lease_claim(Lease(4, "192.0.2.10", b"k", None, 0.0, "web1", state), s) is None


# ---------------------------------------------------------------- the secret


def test_the_secret_is_base64_or_a_tsig_keygen_clause(tmp_path: Path) -> None:
    assert parse_secret(SECRET + "\n") == b"0123456789abcdef0123456789abcdef"
    clause = f'key "bootwright." {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n'
    assert parse_secret(clause) == b"0123456789abcdef0123456789abcdef"
    with pytest.raises(ValueError, match="not base64"):
        parse_secret("not base64!")
    config = parse_config(BASE)
    assert read_secret(config.ddns, Path.read_text, {"DDNS_KEY": SECRET}) == b"0123456789abcdef0123456789abcdef"
    with pytest.raises(SecretError, match="DDNS_KEY is not set"):
        read_secret(config.ddns, Path.read_text, {})
    on_file = parse_config(BASE.replace('key_secret_env = "DDNS_KEY"', f'key_secret_file = "{tmp_path}/none"'))
    with pytest.raises(SecretError) as err:
        read_secret(on_file.ddns, Path.read_text, {})
    assert err.value.problem.path == "ddns.key_secret_file" and "cannot read" in err.value.problem.message


def test_the_section_is_checked_whole() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config('[ddns]\nenabled = true\nreverse_zones = ["lab.example"]\nkey_name = "k."\n')
    text = str(err.value)
    for expected in ("ddns.server", "ddns.forward_zone", "is no reverse zone", "exactly one of key_secret_file"):
        assert expected in text


# ---------------------------------------------------------------- the updates, on the wire


def _wire(update: dns.update.UpdateMessage) -> dns.update.UpdateMessage:
    """The message as a server reads it (signed: the keyring verifies it)."""
    keyring = dns.tsigkeyring.from_text({"bootwright.": ("hmac-sha256", SECRET)})
    msg = dns.message.from_wire(update.to_wire(), keyring=keyring)
    assert isinstance(msg, dns.update.UpdateMessage) and msg.opcode() == dns.opcode.UPDATE
    assert msg.had_tsig  # RFC 8945: every update is signed with the key
    return msg


def _text(rrsets: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(line for r in rrsets for line in r.to_text().splitlines())


def test_a_lease_name_is_added_where_unused_else_replaced_where_its_dhcid_is() -> None:
    s = _settings()
    name = N("web1.lab.example")
    want = Want(frozenset({"192.0.2.10"}), frozenset(), b"\x00\x00\x01" + bytes(32))
    first, second = forward_steps(name, want, None, s)
    m1 = _wire(first.update)
    assert m1.zone[0].name == N("lab.example")
    assert _text(m1.prerequisite) == ["web1.lab.example. NONE ANY"]  # RFC 2136 §2.4.5: name is not in use
    assert _text(m1.update) == [
        "web1.lab.example. 300 IN A 192.0.2.10",
        "web1.lab.example. 300 IN DHCID AAABAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAA=",
    ]
    assert dns.rcode.YXDOMAIN in first.then
    m2 = _wire(second.update)
    assert _text(m2.prerequisite) == [
        "web1.lab.example. 0 IN DHCID AAABAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAA="
    ]  # §2.4.2: RRset exists, value dependent
    # §2.5.2 "delete an RRset" (class ANY), then the addresses.
    assert _text(m2.update) == [
        "web1.lab.example. 300 IN A 192.0.2.10",
        "web1.lab.example. ANY A",
        "web1.lab.example. ANY AAAA",
    ]
    assert dns.rcode.NXRRSET in second.conflict


def test_a_lease_name_is_removed_only_while_its_dhcid_is_there() -> None:
    s = _settings()
    name = N("web1.lab.example")
    had = Want(frozenset({"192.0.2.10"}), frozenset(), b"\x00\x00\x01" + bytes(32))
    (step,) = forward_steps(name, None, had, s)
    m = _wire(step.update)
    assert _text(m.prerequisite) == ["web1.lab.example. 0 IN DHCID AAABAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAA="]
    assert _text(m.update) == ["web1.lab.example. ANY A", "web1.lab.example. ANY AAAA", "web1.lab.example. ANY DHCID"]
    assert forward_steps(name, None, None, s) == ()  # nothing written, nothing to remove
    (loose,) = forward_steps(name, None, had, _settings('conflict = "check-exists-with-dhcid"\n'))
    assert _text(_wire(loose.update).prerequisite) == [
        "web1.lab.example. ANY DHCID"
    ]  # §2.4.1: RRset exists (value independent)


def test_an_inventory_host_is_replaced_unconditionally_and_removed_record_by_record() -> None:
    s = _settings()
    name = N("db1.lab.example")
    (step,) = forward_steps(
        name, Want(frozenset({"192.0.2.20"})), Want(frozenset({"192.0.2.21"}), frozenset({"2001:db8:1::21"})), s
    )
    m = _wire(step.update)
    assert _text(m.prerequisite) == []
    # §2.5.4 "delete an RR from an RRset" (class NONE) for the address the host lost.
    assert _text(m.update) == [
        "db1.lab.example. 0 NONE AAAA 2001:db8:1::21",
        "db1.lab.example. 300 IN A 192.0.2.20",
        "db1.lab.example. ANY A",
    ]
    (gone,) = forward_steps(name, None, Want(frozenset({"192.0.2.20"})), s)
    assert _text(_wire(gone.update).update) == ["db1.lab.example. 0 NONE A 192.0.2.20"]


def test_ptr_records_are_replaced_and_removed_only_while_they_name_what_was_written() -> None:
    s = _settings()
    (step,) = reverse_steps("192.0.2.20", N("db1.lab.example"), None, s)
    m = _wire(step.update)
    assert m.zone[0].name == N("2.0.192.in-addr.arpa")
    assert _text(m.update) == [
        "20.2.0.192.in-addr.arpa. 300 IN PTR db1.lab.example.",
        "20.2.0.192.in-addr.arpa. ANY PTR",
    ]
    (gone,) = reverse_steps("2001:db8:1::20", None, N("db1.lab.example"), s)
    assert _text(_wire(gone.update).update)[0].endswith("ip6.arpa. 0 NONE PTR db1.lab.example.")
    assert reverse_steps("198.51.100.1", N("x.lab.example"), None, s) == ()  # in no zone of ours
