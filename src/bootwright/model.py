"""Plain records shared by every layer: who is booting and what they are told.

These are frozen dataclasses with no behaviour beyond small derived values, so
the wire codecs, engines, policy, renderer and store can all exchange them
without importing each other.

The vocabulary the layers exchange is typed here too: :class:`EventKind`
(every event kind any part of bootwright emits, one home) and
:class:`RequestState` (the client states of a DHCPREQUEST). Both are
:class:`~enum.StrEnum`: a member *is* its string, so the stored, logged and
JSON forms of events are the same strings as before, and events read back from
the store (plain strings) compare equal to the members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Family = Literal[4, 6]
Platform = Literal["pcbios", "efi"]

_MAC_SEPARATORS = re.compile(r"[-:.]")
_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")


class InvalidMac(ValueError):
    """A text that is not an Ethernet MAC address."""


def normalize_mac(text: str) -> str:
    """Return ``text`` as a lower-case, colon-separated 48-bit MAC address.

    Accepts ``00:16:3E:C2:16:B7``, ``00-16-3e-c2-16-b7``, ``0016.3ec2.16b7``
    and ``00163ec216b7``; raises :class:`InvalidMac` naming the text otherwise.
    """
    digits = _MAC_SEPARATORS.sub("", text.strip().lower())
    if not _MAC_HEX.match(digits):
        raise InvalidMac(f"{text!r} is not a MAC address (expected six hex octets like 52:54:00:12:34:56)")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def mac_from_bytes(raw: bytes) -> str:
    """Format six link-layer address bytes as ``aa:bb:cc:dd:ee:ff``."""
    return ":".join(f"{b:02x}" for b in raw)


class EventKind(StrEnum):
    """Every event kind bootwright emits: ``<service>.<step>`` (docs/hosts.md lists the detail keys).

    The value is the stored and serialised form (the SQLite event history,
    ``--log-format json``'s ``event``, ``bootwright events``, the API): a
    contract, never renamed. Emitters pass members; consumers (the boot
    timeline, one-shot tracking, the lab) compare against members.
    """

    # DHCPv4 (engine/dhcp4/server.py; RFC 2131 §4.3). A request answered is reported by its reply's kind;
    # one left unanswered by its own kind with a ``reason`` (an ``ignore = true`` rule: ``ignored=rule``).
    DHCP4_DISCOVER = "dhcp4.discover"  # a DHCPDISCOVER was not answered (no subnet, no free address); reason=
    DHCP4_OFFER = "dhcp4.offer"  # a DHCPOFFER was sent (§4.3.1): yiaddr=, bootfile=, rule=
    DHCP4_REQUEST = "dhcp4.request"  # a DHCPREQUEST was not answered (§4.3.2 silence, another server chosen)
    DHCP4_ACK = "dhcp4.ack"  # a DHCPACK (or a BOOTP reply, bootp=true) bound an address: yiaddr=, state=
    DHCP4_NAK = "dhcp4.nak"  # a DHCPNAK refused a DHCPREQUEST (§4.3.2): requested=, reason=, state=
    DHCP4_DECLINE = "dhcp4.decline"  # a client declined its address, now quarantined (§4.3.3), or was ignored
    DHCP4_RELEASE = "dhcp4.release"  # a client released its lease (§4.3.4), or the release was ignored
    DHCP4_INFORM = "dhcp4.inform"  # a DHCPINFORM got configuration without a lease (§4.3.5), or none
    DHCP4_BOOTP = "dhcp4.bootp"  # a BOOTP request (RFC 951) was not answered; answered ones are dhcp4.ack
    # proxyDHCP (a ``mode = "proxy"`` subnet; PXE 2.1 §2.2): the address comes from another server.
    DHCP4_PROXY_OFFER = "dhcp4.proxy_offer"  # a proxy offer (yiaddr 0) answered a booting DISCOVER: bootfile=, vendor=
    DHCP4_PROXY_ACK = "dhcp4.proxy_ack"  # a DHCPACK answered a boot server REQUEST (port 4011): bootfile=, ciaddr=
    # DHCPv6 (engine/dhcp6/server.py; RFC 8415 §18.3): msg= names the client's message.
    DHCP6_ADVERTISE = "dhcp6.advertise"  # an Advertise answered a Solicit (§18.3.1): address=, bootfile=
    DHCP6_REPLY = "dhcp6.reply"  # a Reply answered a Request/Renew/Rebind/Confirm/Release/Decline/Info-request
    DHCP6_IGNORED = "dhcp6.ignored"  # a rule with ignore = true matched: no reply at all; msg=, rule=
    # Router advertisements (net/ra.py; RFC 4861 §6.2).
    RA_SENT = "ra.sent"  # a multicast Router Advertisement was sent: interface=, flags=
    RA_FINAL = "ra.final"  # a final RA with router lifetime 0 was sent on shutdown (§6.2.5)
    RA_SOLICITED = "ra.solicited"  # an RA answered one host's Router Solicitation (§6.2.6): source=, delay=
    # TFTP (net/tftp/service.py; RFC 1350).
    TFTP_START = "tftp.start"  # a read (or write) request was accepted: file=, blksize=, windowsize=
    TFTP_DONE = "tftp.done"  # a transfer completed: file=, size=, duration=, outcome=
    TFTP_FAILED = "tftp.failed"  # a transfer failed or a request was refused: file=, outcome=
    # HTTP (web/events.py).
    HTTP_REQUEST = "http.request"  # one HTTP request answered: method=, path=, status=, bytes=, script=
    HTTP_SCRIPT = "http.script"  # an iPXE script was rendered (live listeners only, never stored): script=
    HTTP_DOWNLOAD_COMPLETE = "http.download_complete"  # a whole file body was sent: path=, bytes=, outcome=ok
    HTTP_DOWNLOAD_FAILED = "http.download_failed"  # a file body was cut short: path=, bytes=, error=
    HTTP_READY = "http.ready"  # the lab's reference HTTP server (lab/refhttp.py) listens: port=
    # Syslog (net/syslog.py; RFC 5424, RFC 3164, netconsole): one line a machine logged, keyed by the MAC of its
    # source address (leases, then the neighbour table).
    SYSLOG_MESSAGE = "syslog.message"  # source=, severity=, facility=, app= ("ipxe", "kernel"), text=
    # One-shot boots (runtime/reload.py, boot/oneshot.py): the state a host's one-shot boot moved to.
    ONESHOT_PENDING = "oneshot.pending"  # waiting for the target's script to be served
    ONESHOT_BOOTING = "oneshot.booting"  # the target's script was served; its files are being fetched
    ONESHOT_DONE = "oneshot.done"  # every file of the target was fetched: the host boots its own target again
    ONESHOT_FAILED = "oneshot.failed"  # a download failed or timed out: the host boots its own target again
    # Out-of-band control (bmc/control.py; docs/power.md): keyed by the host's first MAC, so a machine's
    # timeline runs from the button press to the initrd.
    BMC_BOOTDEV = "bmc.bootdev"  # the BMC accepted the next boot device: device= (e.g. "UEFI PXE"), once=, note=
    BMC_POWER = "bmc.power"  # the BMC accepted a power action: action= (on, off, soft, cycle, reset)
    BMC_ERROR = "bmc.error"  # a BMC step failed: step=, error= (unreachable, refused, bad credentials)
    # Configuration (runtime/reload.py).
    CONFIG_RELOADED = "config.reloaded"  # a reload applied a new configuration: reason=, hosts=
    CONFIG_RELOAD_FAILED = "config.reload_failed"  # a reload was refused, the previous config runs on: error=


class LeaseState(StrEnum):
    """Where an address stands with its client (RFC 2131 §4.3, RFC 8415 §18.3); the stored form is the value."""

    OFFERED = "offered"  # held between OFFER/Advertise and REQUEST (RFC 2131 §4.3.1, RFC 8415 §18.3.1)
    BOUND = "bound"  # leased until ``expires`` (RFC 2131 §4.3.2, RFC 8415 §18.3.2)
    RELEASED = "released"  # given back by the client (RFC 2131 §4.3.4, RFC 8415 §18.3.7), remembered for it
    DECLINED = "declined"  # in use by another machine: quarantined (RFC 2131 §4.3.3, RFC 8415 §18.3.8)
    EXPIRED = "expired"  # ran out unrenewed; free, remembered for its last client (RFC 2131 §4.3.1)


class RequestState(StrEnum):
    """The client state a DHCPREQUEST is sent in, as a server tells it (RFC 2131 §4.3.2, figure 5).

    The ``state`` detail of ``dhcp4.request``, ``dhcp4.ack`` and ``dhcp4.nak`` events.
    """

    SELECTING = "selecting"  # server identifier (option 54) present: answering a DHCPOFFER
    INIT_REBOOT = "init-reboot"  # requested address (option 50), no server identifier, ciaddr 0
    RENEWING = "renewing"  # ciaddr set, unicast to the server that granted the lease (T1)
    REBINDING = "rebinding"  # ciaddr set, broadcast (or relayed) to any server (T2)


@dataclass(frozen=True, slots=True)
class RelayInfo:
    """What a relay agent told us about where a request came from.

    v4: ``giaddr`` plus option 82 sub-options (RFC 3046), link selection
    (RFC 3527 sub-option 5) and subnet selection (RFC 3011 option 118).
    v6: the Relay-Forward ``link_address``, interface-id (option 18, RFC 8415 §21.18) and
    remote-id (option 37, RFC 4649 §3, without its enterprise number).
    """

    address: str | None = None
    link_selection: str | None = None
    circuit_id: bytes | None = None
    remote_id: bytes | None = None
    interface_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Everything the boot decision may look at about one client request.

    Built by the DHCP engines from a decoded packet, by the HTTP layer from a
    script request, or by ``bootwright explain`` from its flags.
    """

    family: Family
    mac: str | None = None
    duid: bytes | None = None
    # DHCPv4 option 93 (RFC 4578 §2.1) / DHCPv6 option 61 (RFC 5970 §3.3): a list.
    arches: tuple[int, ...] = ()
    # DHCPv4 option 60 / DHCPv6 option 16 data, as text.
    vendor_class: str | None = None
    # DHCPv6 option 16 enterprise number (RFC 8415 §21.16), e.g. 343 for EDK2.
    vendor_enterprise: int | None = None
    # DHCPv4 option 77 (RFC 3004) / DHCPv6 option 15 (RFC 8415 §21.15), decoded entries.
    user_classes: tuple[str, ...] = ()
    relay: RelayInfo | None = None
    interface: str | None = None
    hostname: str | None = None
    # Known only when iPXE itself tells us (script requests): ${platform}, ${buildarch}.
    platform: Platform | None = None
    buildarch: str | None = None
    # DHCPv4 option 61 octets as sent, type octet included (RFC 2132 §9.14); DHCPv6: the DUID (RFC 8415 §11).
    client_id: bytes | None = None
    # iPXE feature indicators the client announced in option 175 (names of wire/ipxe_options.IPXE_FEATURES).
    ipxe_features: frozenset[str] = frozenset()

    @property
    def is_ipxe(self) -> bool:
        """True when the client says it is iPXE (or its predecessor gPXE)."""
        return any(uc in ("iPXE", "gPXE") for uc in self.user_classes)


@dataclass(frozen=True, slots=True)
class Host:
    """A known machine: one or more MACs, fixed addresses and boot settings."""

    name: str
    macs: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    duid: bytes | None = None
    groups: tuple[str, ...] = ()
    # Name of a boot target or menu to serve this host instead of the rules' one.
    target: str | None = None
    # Per-host DHCP overrides, as ISC dhcpd allows inside host { } blocks.
    next_server: str | None = None
    bootfile: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    # The machine's baseboard management controller, for power and next-boot control (docs/power.md).
    bmc: Bmc | None = None
    # Per-host DHCPv4 options by code, values as text (``[dhcp4] options`` syntax); they win over
    # the subnet's and the global ones (boot/reply.py), as options inside an ISC dhcpd host block do.
    options: tuple[tuple[int, str], ...] = ()
    # The item of its iPXE menu preselected for this host (``choose --default``, boot/ipxe.py).
    menu_default: str | None = None


BmcDriver = Literal["ipmi", "redfish"]


@dataclass(frozen=True, slots=True)
class Bmc:
    """How to reach a host's BMC (``bmc = {…}`` of a host; docs/power.md).

    At most one secret source is set: ``password`` (given through the CLI or
    API, kept in the state store, never shown), ``password_file`` (read each
    time it is used) or ``password_env`` (an environment variable of the
    process that talks to the BMC). ``repr`` never shows the password.
    """

    driver: BmcDriver
    address: str
    port: int | None = None  # default: 623 (IPMI), 443 or the URL's (Redfish)
    username: str = ""
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None
    password_env: str | None = None
    system: str | None = None  # Redfish: /redfish/v1/Systems/<id>; default: the only system
    cipher_suite: int = 3  # IPMI RMCP+ cipher suite (IPMI 2.0 table 22-20)
    verify_tls: bool = True  # Redfish over https: check the BMC's certificate

    @property
    def has_secret(self) -> bool:
        """Whether any password source is set."""
        return bool(self.password or self.password_file or self.password_env)


@dataclass(frozen=True, slots=True)
class IpxeSetting:
    """One iPXE encapsulated option (DHCPv4 option 175 sub-option, iPXE dhcp.h)."""

    code: int
    name: str
    value: int | str


@dataclass(frozen=True, slots=True)
class BootAnswer:
    """What a client is told about booting, before it is put on the wire.

    ``bootfile`` is the v4 ``file`` field / option 67, or the v6 option 59 URL.
    ``script`` names the boot target or menu the HTTP server renders for this
    client when it is iPXE. ``warnings`` explain surprising outcomes (unknown
    architecture, a rule that matched but set nothing, …).
    """

    family: Family
    rule: str | None = None
    host: str | None = None
    bootfile: str | None = None
    next_server: str | None = None
    tftp_server: str | None = None
    vendor_class: str | None = None
    vendor_enterprise: int | None = None
    ipxe: tuple[IpxeSetting, ...] = ()
    script: str | None = None
    warnings: tuple[str, ...] = ()
    # A rule with ``ignore = true`` decided (``rule`` names it): the client gets no DHCP reply at all.
    ignored: bool = False
    # Every rule whose conditions this client meets, final or not, in config order (pool ``rule:NAME`` permits).
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lease:
    """An address bound to a client until ``expires`` (seconds since the epoch)."""

    family: Family
    address: str
    client_key: bytes
    mac: str | None
    expires: float
    hostname: str | None = None
    state: LeaseState = LeaseState.BOUND


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """How full one subnet's dynamic pools are now (the DHCP engines count it for ``/metrics``).

    ``size - used - free`` pool addresses are reserved for a host (or the server's own) and not held now.
    """

    family: Family
    subnet: str  # the subnet4 network or subnet6 prefix, as configured
    size: int  # addresses in the subnet's pools
    used: int  # pool addresses held now: offered, leased or declined (RFC 2131 §4.3.3 quarantine), not expired
    free: int  # pool addresses a new client could be given now
    leases: dict[LeaseState, int] = field(default_factory=dict)  # live leases in the subnet (pools or fixed), by state


@dataclass(slots=True)
class Event:
    """One protocol step, keyed by MAC where known, for logs and timelines.

    Not frozen: one is built per packet or request on hot paths, and a frozen
    dataclass's ``__init__`` costs several times more. Treat it as immutable.
    """

    at: float
    kind: str  # an :class:`EventKind` value (events read from the store hold the plain string)
    mac: str | None = None
    host: str | None = None
    detail: dict[str, str | int | float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HostRow:
    """One stored host: ``source`` is ``config`` (from the config file) or ``local`` (CLI, API, import).

    ``record`` is the host in config key names; ``overrides`` holds changes made
    through CLI/API to a config host, applied on top of its record.
    """

    name: str
    source: str
    record: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)
    updated: float = 0.0
    # The file (or API origin) a ``local`` host was imported from; "" when added by hand.
    # ``hosts import --sync`` adds, updates and removes only the hosts of its own origin.
    origin: str = ""


@dataclass(frozen=True, slots=True)
class OneShotRow:
    """One stored one-shot boot; ``detail`` holds the state machine's extra fields."""

    host: str
    target: str
    state: str
    requested: float
    updated: float
    detail: dict[str, Any] = field(default_factory=dict)
