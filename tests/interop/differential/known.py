"""Where bootwright answers the seeds' clients differently from ISC dhcpd, radvd, BIRD, Kea and dnsmasq — on purpose.

Keys are ``(seed, client/mode, field)`` with shell wildcards (``*``, ``[234]``);
the value is the reason, written for docs/migrate.md's reader (an operator
comparing the two servers' packets). Every difference the differential tests
find must match an entry here; a new difference fails the test until it is
either fixed in bootwright or explained here. A reason starting ``BUG:`` is
not intended: a known fault of bootwright or an importer, listed so the tests
stay green until it is fixed (then the entry goes).
"""

from __future__ import annotations

OPT67 = (
    "bootwright puts the boot file name in option 67 as well as in the header's `file` field when the client "
    "asks for option 67 (its parameter request list names it); dhcpd's `filename` and Kea's `boot-file-name` fill "
    "only the `file` field. "
    "Firmware reads one or the other (RFC 2132 §9.5, PXE 2.1 §2.2), so both answers boot the same program."
)
OPT28 = (
    "bootwright always sends the subnet's broadcast address (option 28, RFC 2132 §5.3); dhcpd and Kea send it "
    "only when `broadcast-address` is configured. A client derives the same address from the subnet mask."
)
T1T2 = (
    "bootwright states the renewal (T1, option 58) and rebinding (T2, option 59) times explicitly, at the "
    "RFC 2131 §4.4.5 defaults of 0.5 and 0.875 times the lease time; dhcpd leaves them out unless "
    "`option dhcp-renewal-time`/`dhcp-rebinding-time` are set (Kea: `renew-timer`/`rebind-timer`; dnsmasq to "
    "an infinite lease), and clients then compute the same values."
)
OPT61 = (
    "bootwright echoes the client identifier (option 61) in its replies, as RFC 6842 §3 requires; "
    "ISC dhcpd 4.4 does so only with `echo-client-id on;`, dnsmasq not at all (Kea does by default)."
)
OPT12 = (
    "bootwright tells a host from the inventory its name (option 12, RFC 2132 §3.14); dhcpd does so only with "
    "`use-host-decl-names on;` or an explicit `option host-name` in the host block."
)
OPT175 = (
    "bootwright sends the configured iPXE settings (option 175, here `no-pxedhcp`) to every client; dhcpd only "
    "to clients that list 175 in their parameter request list, which only iPXE does. Other firmware ignores "
    "an iPXE option it did not ask for."
)
ORO6 = (
    "bootwright sends the configured DHCPv6 options whether or not the client's Option Request (option 6) names "
    "them; dhcpd6 sends only what was requested. RFC 8415 §18.3 allows a server to add options, and the "
    "firmware of the client set ignores the ones it did not ask for (EDK2 does not request 24, the domain "
    "search list; an OS client does not request 59, the boot file URL)."
)
PREFERENCE = (
    "dhcpd6 repeats the Preference option (7) in its Reply; bootwright sends it in the Advertise only, the one "
    "message where a client reads it, to choose among servers (RFC 8415 §18.2.1, §21.8)."
)
RA_DNS = (
    "bootwright advertises the subnet's DNS servers and search list in its RAs too (RDNSS and DNSSL, "
    "RFC 8106), so hosts that configure by SLAAC alone get them; radvd sends them only from RDNSS/DNSSL "
    "blocks, which seed 001's radvd.conf does not have (its DNS comes from DHCPv6 only)."
)

PRL = (
    "dhcpd and Kea send an option only to a client whose parameter request list (option 55) names it "
    "(RFC 2132 §9.8; Kea's `always-send` aside): NTP servers (42), the TFTP server name (66), the root path (17), "
    "the domain search list (119), the iPXE settings (175) and site options (209) reach only firmware that asks "
    "for them. bootwright sends every configured option; a client ignores the ones it did not ask for."
)
DNSMASQ_SIADDR = (
    "dnsmasq puts its own address in siaddr (the next server) of every reply; bootwright, like ISC dhcpd, sends "
    "siaddr 0.0.0.0 unless a next server is configured (its proxy replies and the built-in table excepted). The "
    "import cannot know the server's address from dnsmasq.conf, so it reports each bare `dhcp-boot` file with "
    "what to do: set `[dhcp4] next_server` (or `server.address4`) to this server's address."
)
DNSMASQ_PXE_MENU = (
    "dnsmasq's `pxe-service`/`pxe-prompt` make it a PXE boot server: its offer to PXE firmware (vendor class "
    "PXEClient) carries option 43 (the boot menu and prompt), option 60 `PXEClient`, the client's UUID (97) and the "
    "server name (`dhcp-boot`'s `boot`, option 66), and firmware with a matching menu entry fetches its file in a "
    "second exchange on port 4011 (BIOS: `undionly.0`). bootwright has no PXE menus: the import gives the "
    "matching entry's file in the offer itself (its findings name each `pxe-service` and the server name)."
)
DNSMASQ_FILE = (
    "dnsmasq sends the boot file name in option 67 alone when the client asks for 67, leaving the header's `file` "
    "field empty; bootwright fills both. Firmware reads one or the other (RFC 2132 §9.5, PXE 2.1 §2.2)."
)
DNSMASQ_FORCE = (
    "The import leaves out `dhcp-option-force=tag:ipxe,209,…` (its finding: bootwright rules carry no DHCP "
    "options beyond 60, 66, 67 and iPXE's; give the option to the subnet or the hosts); dnsmasq sends it to iPXE."
)
DNSMASQ_HOST_LEASE = (
    "`dhcp-host=…,infinite` gives one host an infinite lease; bootwright has no per-host lease time and gives the "
    "subnet's (the import reports it)."
)
DNSMASQ_T2 = (
    "dnsmasq sets T2 to 0.875 × the lease time in DHCPv6 as in DHCPv4; bootwright uses RFC 8415 §21.4's "
    "recommended 0.8 × the preferred lifetime. T1 is 0.5 × in both; clients renew from T1."
)
DNSMASQ_STATUS = (
    "dnsmasq puts a Status Code option SUCCESS in its Reply; bootwright leaves it out, which means success "
    "(RFC 8415 §21.13: a message without a Status Code is successful)."
)
DNSMASQ_RA = (
    "dnsmasq builds its RAs from the interface's own prefixes: a `dhcp-range` prefix the interface has no address "
    "in is not advertised (here only 2001:db8:1::/64 is on the link), a `constructor:` range adds the interface's "
    "prefixes with SLAAC (the A flag), the lifetimes count down from the range's lease time, and it adds the link "
    "MTU and an RDNSS lifetime of the lease time. The import advertises every range's prefix with bootwright's RA "
    "defaults and reports each range for review (`[subnet6.ra]`), the constructor range as untranslated."
)
DNSMASQ_175_V6 = (
    "BUG: importer (migrate/dnsmasq_tags.py): `dhcp-match=set:ipxe,175` is a DHCPv4 match (option 175 exists in "
    "DHCPv4 only), but the tag's condition (user class iPXE or gPXE) also applies to the DHCPv6 rule "
    "`dhcp-option=tag:ipxe,option6:bootfile-url,…`, so a DHCPv6 client with user class gPXE gets boot.ipxe; "
    "dnsmasq tags it only through `dhcp-userclass=set:ipxe,iPXE`. Harmless in practice: gPXE has no DHCPv6 client."
)
SEED000_ORDER = (
    "examples/seed000-ipv6-ipxe.toml checks iPXE's user class before the architecture, on purpose (its comment): "
    "iPXE's EFI build sends architecture 7 and user class iPXE together, so the seed's order (architecture first) "
    "hands iPXE ipxe.efi again and it loops; the example gives it the demo script."
)

KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {
    # Before the general entries: for dnsmasq these differences have other reasons.
    ("own-dnsmasq", "seabios-pxe/v4*", "opt67"): DNSMASQ_PXE_MENU,
    ("own-dnsmasq", "*/v4*", "opt209"): DNSMASQ_FORCE,
    ("own-dnsmasq", "uefi-x64-pxe/v4*", "opt66"): DNSMASQ_PXE_MENU,
    ("*", "*/v4*", "opt67"): OPT67,
    ("*", "*/v4*", "opt28"): OPT28,
    ("*", "*/v4*", "opt58"): T1T2,
    ("*", "*/v4*", "opt59"): T1T2,
    ("*", "*/v4*", "opt61"): OPT61,
    ("seed003", "known-*/v4", "opt12"): OPT12,
    ("seed004", "*/v4*", "opt175"): OPT175,
    ("seed000", "ipxe-efi/v6*", "opt59"): SEED000_ORDER,
    ("seed001", "*/v6*", "opt24"): ORO6,
    ("seed002", "plain/v6*", "opt59"): ORO6,
    ("seed001", "*/v6*", "opt7"): PREFERENCE,
    ("seed001", "rdisc6/ra", "rdnss*"): RA_DNS,
    ("seed001", "rdisc6/ra", "dnssl*"): RA_DNS,
    # The importer's own configs (tests/data/migrate/own, harness.CASES).
    ("own-isc", "known-*/v4", "opt12"): OPT12,
    ("own-*", "*/v4*", "ntp"): PRL,
    ("own-*", "*/v4*", "opt17"): PRL,
    ("own-*", "*/v4*", "opt66"): PRL,
    ("own-*", "*/v4*", "opt119"): PRL,
    ("own-*", "*/v4*", "opt175"): PRL,
    ("own-*", "*/v4*", "opt209"): PRL,
    ("own-*", "*/v6*", "opt24"): ORO6,
    ("own-isc", "*/v6*", "opt7"): PREFERENCE,
    ("own-dnsmasq", "*/v4*", "siaddr"): DNSMASQ_SIADDR,
    ("own-dnsmasq", "seabios-pxe/v4*", "file"): DNSMASQ_PXE_MENU,
    ("own-dnsmasq", "*/v4*", "opt43"): DNSMASQ_PXE_MENU,
    ("own-dnsmasq", "*/v4*", "opt60"): DNSMASQ_PXE_MENU,
    ("own-dnsmasq", "*/v4*", "opt97"): DNSMASQ_PXE_MENU,
    ("own-dnsmasq", "*/v4*", "file"): DNSMASQ_FILE,
    ("own-dnsmasq", "known-52:54:00:12:34:57/v4", "lease-time"): DNSMASQ_HOST_LEASE,
    ("own-dnsmasq", "*/v6", "ia_times"): DNSMASQ_T2,
    ("own-dnsmasq", "*/v6", "status"): DNSMASQ_STATUS,
    ("own-dnsmasq", "gpxe/v6", "opt59"): DNSMASQ_175_V6,
    ("own-dnsmasq", "rdisc6/ra", "[LA]"): DNSMASQ_RA,
    ("own-dnsmasq", "rdisc6/ra", "prefix"): DNSMASQ_RA,
    ("own-dnsmasq", "rdisc6/ra", "valid"): DNSMASQ_RA,
    ("own-dnsmasq", "rdisc6/ra", "preferred"): DNSMASQ_RA,
    ("own-dnsmasq", "rdisc6/ra", "mtu"): DNSMASQ_RA,
    ("own-dnsmasq", "rdisc6/ra", "rdnss-lifetime"): DNSMASQ_RA,
}
"""Every intended difference, by (seed, client/mode, field) pattern, with its reason."""
