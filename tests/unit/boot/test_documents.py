"""Documents by name without sockets: server context, client facts, caching, errors, HTTP and TFTP alike."""

from __future__ import annotations

import pytest

from bootwright.boot.documents import Documents, Transport, client_facts, ipxe_client
from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.web.access import AllowList

CONFIG = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[[subnet4]]
subnet = "198.51.100.0/24"
server = "198.51.100.1"

[[subnet6]]
prefix = "2001:db8:1::/64"
server = "2001:db8:1::1"

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"

[targets.arm]
kernel = "{{ http }}/arm64/vmlinuz"

[targets.broken]
kernel = "{{ http }}/{{ vars.missing }}"

[[rule]]
name = "arm64"
match = { arch = 11 }
script = "arm"

[[host]]
name = "b"
mac = "52:54:00:00:00:0b"
target = "broken"
"""


@pytest.fixture
def docs() -> Documents:
    return Documents(BootPolicy.from_config(parse_config(CONFIG)))


@pytest.mark.parametrize(
    ("local", "port", "http"),
    [
        ("198.51.100.1", 8080, "http://198.51.100.1:8080"),  # in subnet4[0]: its server
        ("198.51.100.77", 80, "http://198.51.100.1"),
        ("127.0.0.1", 8080, "http://192.0.2.1:8080"),  # no subnet: server.address4
        ("2001:db8:1::1", 8080, "http://[2001:db8:1::1]:8080"),
        ("::1", 80, "http://[2001:db8::1]"),
    ],
)
def test_context_from_the_local_address_and_bound_port(docs: Documents, local: str, port: int, http: str) -> None:
    assert docs.context(local, port).http == http


def test_context_falls_back_to_the_local_address_without_configured_ones() -> None:
    docs = Documents(BootPolicy.from_config(parse_config("")))
    assert docs.context("192.0.2.50", 8080).http == "http://192.0.2.50:8080"
    assert docs.context("2001:db8::5", 80).http == "http://[2001:db8::5]"


@pytest.mark.parametrize(
    ("platform", "buildarch", "facts", "arches"),
    [
        ("efi", "x86_64", ("efi", "x86_64"), (7,)),
        ("efi", "arm64", ("efi", "arm64"), (11,)),
        ("efi", "i386", ("efi", "i386"), (6,)),
        ("pcbios", "i386", ("pcbios", "i386"), (0,)),
        ("efi", None, ("efi", None), ()),
        ("${platform}", "../x", (None, None), ()),  # unexpanded or junk values are dropped
    ],
)
def test_client_facts_and_arch(
    platform: str | None, buildarch: str | None, facts: tuple[str | None, str | None], arches: tuple[int, ...]
) -> None:
    got = client_facts(platform, buildarch)
    assert got == facts
    client = ipxe_client(4, "52:54:00:00:00:01", *got)  # type: ignore[arg-type]
    assert client.arches == arches and client.is_ipxe


HTTP, TFTP = Transport.HTTP, Transport.TFTP


def test_rules_see_the_architecture_ipxe_reports(docs: Documents) -> None:
    arm = docs.lookup("boot/52-54-00-00-00-01.ipxe", HTTP, "198.51.100.1", 80, None, "efi", "arm64")
    x86 = docs.lookup("boot/52-54-00-00-00-01.ipxe", HTTP, "198.51.100.1", 80, None, "efi", "x86_64")
    assert arm is not None and arm.target == "arm" and b"arm64/vmlinuz" in arm.body
    assert x86 is not None and x86.target == "linux"


def test_documents_are_cached_by_their_inputs(docs: Documents) -> None:
    def host(mac: str) -> object:
        return docs.lookup(f"boot/{mac}.ipxe", HTTP, "198.51.100.1", 80, None, "efi", "x86_64")

    first, again, other = host("52-54-00-00-00-01"), host("52:54:00:00:00:01"), host("52-54-00-00-00-02")
    assert first is again and other is not first
    assert (docs.hits, docs.misses) == (1, 2)
    assert docs.for_policy(docs.policy) is docs
    assert docs.for_policy(BootPolicy.from_config(docs.config)) is not docs


def test_a_repeated_request_target_is_remembered(docs: Documents) -> None:
    target = "/boot/52-54-00-00-00-01.ipxe?platform=efi"
    doc = docs.lookup("boot/52-54-00-00-00-01.ipxe", HTTP, "198.51.100.1", 80, None, "efi", None, target)
    assert doc is not None and docs.remembered("198.51.100.1", 80, target) is doc
    assert docs.remembered("198.51.100.1", 8080, target) is None  # another port names other URLs


def test_a_template_error_is_an_ipxe_script_with_500(docs: Documents) -> None:
    doc = docs.lookup("boot/52-54-00-00-00-0b.ipxe", HTTP, "127.0.0.1", 80)
    assert doc is not None and doc.status == 500
    assert doc.body.startswith(b"#!ipxe\n") and b"echo bootwright: cannot render broken" in doc.body
    assert doc.error is not None and doc.error.startswith("cannot render broken")  # what TFTP sends instead


SCRIPTS = (
    CONFIG
    + """
[http]
scripts = { "/menu.ipxe" = "linux" }
"""
)


@pytest.mark.parametrize(
    "name",
    [
        "boot.ipxe",
        "boot/52-54-00-00-00-01.ipxe",
        "boot/52:54:00:00:00:0b.ipxe",  # a broken template: the same 500 both ways
        "menu.ipxe",
        "menu.ipxe-52:54:00:00:00:0b",
        "menu.ipxe-52:54:00:00:00:01",  # no such host: 404 both ways
        "pxelinux.cfg/01-52-54-00-00-00-01",
        "efi/grub.cfg-01-52-54-00-00-00-01",
        "grub.cfg-52:54:00:00:00:02",
    ],
)
@pytest.mark.parametrize("local", ["198.51.100.1", "127.0.0.1", "2001:db8:1::1"])
def test_the_same_name_over_http_and_tftp_is_the_same_document(name: str, local: str) -> None:
    """One module answers both: over TFTP, URLs name [http] port, as an HTTP request on that port does."""
    docs = Documents(BootPolicy.from_config(parse_config(SCRIPTS)))
    over_http = docs.lookup(name, HTTP, local, docs.config.http.port, "52:54:00:00:00:0b")
    over_tftp = docs.lookup(name, TFTP, local, None, "52:54:00:00:00:0b")
    assert over_http is not None and over_tftp is not None
    assert (over_http.status, over_http.body, over_http.content_type) == (
        over_tftp.status, over_tftp.body, over_tftp.content_type,
    )  # fmt: skip
    assert (over_http.mac, over_http.host, over_http.target) == (over_tftp.mac, over_tftp.host, over_tftp.target)
    fresh = Documents(BootPolicy.from_config(parse_config(SCRIPTS)))
    first_tftp = fresh.lookup(name, TFTP, local, None, "52:54:00:00:00:0b")  # TFTP first, then HTTP: same
    assert first_tftp is not None and first_tftp.body == over_http.body


def test_which_documents_win_over_files() -> None:
    docs = Documents(BootPolicy.from_config(parse_config(SCRIPTS)))
    owned = ["boot.ipxe", "menu.ipxe", "boot/52-54-00-00-00-01.ipxe", "boot/not-a-mac.ipxe"]
    yielding = ["menu.ipxe-52:54:00:00:00:0b", "pxelinux.cfg/01-52-54-00-00-00-01", "grub.cfg-52:54:00:00:00:01"]
    for name in owned + yielding:
        over_http, over_tftp = docs.lookup(name, HTTP, "127.0.0.1", 80), docs.lookup(name, TFTP, "127.0.0.1")
        assert over_http is not None and over_tftp is not None
        assert over_http.over_files is (name in owned), name  # HTTP: the config's own names win
        assert not over_tftp.over_files, name  # TFTP: a file always wins
    for name in ("vmlinuz", "pxelinux.cfg/default", "grub.cfg", "menu.ipxe-junk", "boot/x.efi"):
        assert docs.lookup(name, HTTP, "127.0.0.1", 80) is None and docs.lookup(name, TFTP, "127.0.0.1") is None


def test_the_client_mac_is_asked_for_only_when_the_name_carries_none() -> None:
    docs = Documents(BootPolicy.from_config(parse_config(SCRIPTS)))
    asked: list[int] = []

    def mac() -> str | None:
        asked.append(1)
        return "52:54:00:00:00:0b"

    for name in ("boot.ipxe", "boot/52-54-00-00-00-01.ipxe", "grub.cfg-52:54:00:00:00:01", "vmlinuz"):
        docs.lookup(name, HTTP, "127.0.0.1", 80, mac)
    assert asked == []
    doc = docs.lookup("menu.ipxe", HTTP, "127.0.0.1", 80, mac)
    assert asked == [1] and doc is not None and doc.host == "b" and doc.mac == "52:54:00:00:00:0b"


def test_a_zone_on_the_local_address_is_ignored() -> None:
    docs = Documents(BootPolicy.from_config(parse_config("")))
    doc = docs.lookup("boot.ipxe", TFTP, "fe80::1%eth0")
    assert doc is not None and b"http://[fe80::1]/boot/" in doc.body


def test_allow_list() -> None:
    allow = AllowList(parse_config('[http]\nallow = ["127.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]').http.allow)
    assert allow.allows("127.0.0.1") and allow.allows("192.168.2.14") and allow.allows("2001:db8::5")
    assert allow.allows("::ffff:192.168.2.14")  # IPv4-mapped counts as IPv4
    assert not allow.allows("10.0.0.1") and not allow.allows("::1") and not allow.allows(None)
    assert not allow.allows("not an address")
    assert AllowList([]).allows("10.0.0.1")
