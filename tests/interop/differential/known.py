"""Where bootwright answers the seeds' clients differently from ISC dhcpd, radvd and BIRD — on purpose.

Keys are ``(seed, client/mode, field)`` with shell wildcards (``*``, ``[234]``);
the value is the reason, written for docs/migrate.md's reader (an operator
comparing the two servers' packets). Every difference the differential tests
find must match an entry here; a new difference fails the test until it is
either fixed in bootwright or explained here.
"""

from __future__ import annotations

OPT67 = (
    "bootwright puts the boot file name in option 67 as well as in the header's `file` field when the client "
    "asks for option 67 (its parameter request list names it); dhcpd's `filename` fills only the `file` field. "
    "Firmware reads one or the other (RFC 2132 §9.5, PXE 2.1 §2.2), so both answers boot the same program."
)
OPT28 = (
    "bootwright always sends the subnet's broadcast address (option 28, RFC 2132 §5.3); dhcpd sends it only "
    "when `option broadcast-address` is configured. A client derives the same address from the subnet mask."
)
T1T2 = (
    "bootwright states the renewal (T1, option 58) and rebinding (T2, option 59) times explicitly, at the "
    "RFC 2131 §4.4.5 defaults of 0.5 and 0.875 times the lease time; dhcpd leaves them out unless "
    "`option dhcp-renewal-time`/`dhcp-rebinding-time` are set, and clients then compute the same values."
)
OPT61 = (
    "bootwright echoes the client identifier (option 61) in its replies, as RFC 6842 §3 requires; "
    "ISC dhcpd 4.4 does so only with `echo-client-id on;`."
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

KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("*", "*/v4*", "opt67"): OPT67,
    ("*", "*/v4*", "opt28"): OPT28,
    ("*", "*/v4*", "opt58"): T1T2,
    ("*", "*/v4*", "opt59"): T1T2,
    ("*", "*/v4*", "opt61"): OPT61,
    ("seed003", "known-host/v4", "opt12"): OPT12,
    ("seed004", "*/v4*", "opt175"): OPT175,
    ("seed001", "*/v6", "opt24"): ORO6,
    ("seed002", "plain/v6", "opt59"): ORO6,
    ("seed001", "*/v6", "opt7"): PREFERENCE,
    ("seed001", "rdisc6/ra", "rdnss*"): RA_DNS,
    ("seed001", "rdisc6/ra", "dnssl*"): RA_DNS,
}
"""Every intended difference, by (seed, client/mode, field) pattern, with its reason."""
