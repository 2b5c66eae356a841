"""Everything a DHCP reply carries for one client: subnet, options and boot answer.

Pure glue between the config, the policy and the wire: the DHCP engines
build every reply from :func:`plan_reply` in the subnet
:mod:`bootwright.boot.subnets` chose, and ``bootwright explain`` runs those
engines, so the options ``explain`` lists are the options the server sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from bootwright.boot.policy import BootPolicy, ServerContext
from bootwright.config import Config, Subnet4, Subnet6
from bootwright.model import BootAnswer, ClientInfo, Host
from bootwright.wire.dhcp4_codecs import split_items
from bootwright.wire.dhcp6_types import NOT_IN_ORO

# RFC 2131 §4.4.5: T1 defaults to 0.5 × lease, T2 to 0.875 × lease.
T1_FRACTION = 0.5
T2_FRACTION = 0.875
DEFAULT_LEASE_TIME = 43200  # ISC dhcpd's default-lease-time
DEFAULT_VALID_LIFETIME = 43200
DEFAULT_PREFERRED_LIFETIME = 27000  # 0.625 × valid, as Kea and ISC dhcpd use


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """A reply's content before encoding: the boot answer and the options by code."""

    answer: BootAnswer
    subnet: IPv4Network | IPv6Network | None
    context: ServerContext
    options: dict[int, Any]
    # DHCPv6: codes of ``options`` sent only to a client whose Option Request names them
    # (:func:`dhcp6_requested_only`); the engine leaves the others out per request.
    requested_only: frozenset[int] = frozenset()


def server_context(config: Config, family: int, subnet: Subnet4 | Subnet6 | None) -> ServerContext:
    """Our address for a reply in ``subnet``: the subnet's ``server``, else the global one."""
    own = {str(a) for a in (config.server.address4, config.server.address6) if a is not None}
    own |= {str(s.server) for s in config.subnet4 if s.server is not None}
    own |= {str(s.server) for s in config.subnet6 if s.server is not None}
    address: IPv4Address | IPv6Address | None
    if family == 4:
        address = None
        if isinstance(subnet, Subnet4):
            address = subnet.server or config.server.address4 or subnet.next_server or config.dhcp4.next_server
        else:
            address = config.server.address4
        net: IPv4Network | IPv6Network | None = subnet.subnet if isinstance(subnet, Subnet4) else None
    else:
        address = subnet.server if isinstance(subnet, Subnet6) and subnet.server else config.server.address6
        net = subnet.prefix if isinstance(subnet, Subnet6) else None
    return ServerContext(
        address=str(address) if address is not None else None,
        http_port=config.http.port,
        tftp_port=config.tftp.port,
        subnet=net,
        own_addresses=frozenset(own),
    )


def _pick(sub: Any, glob: Any, key: str) -> Any:
    value = getattr(sub, key, None) if sub is not None else None
    return value if value is not None else getattr(glob, key)


def dhcp4_options(
    config: Config, subnet: Subnet4 | None, answer: BootAnswer, host: Host | None, ctx: ServerContext
) -> dict[int, Any]:
    """Options of a DHCPOFFER/ACK by code, in the order they are usually encoded."""
    g = config.dhcp4
    opts: dict[int, Any] = {}
    if subnet is not None:
        opts[1] = subnet.subnet.netmask  # RFC 2132 §3.3
    routers = _pick(subnet, g, "routers")
    if routers:
        opts[3] = list(routers)  # RFC 2132 §3.5
    dns = _pick(subnet, g, "dns")
    if dns:
        opts[6] = list(dns)  # RFC 2132 §3.8
    if host is not None:
        opts[12] = host.name  # RFC 2132 §3.14
    domain = _pick(subnet, g, "domain_name")
    if domain:
        opts[15] = domain  # RFC 2132 §3.17
    if subnet is not None:
        opts[28] = subnet.subnet.broadcast_address  # RFC 2132 §5.3
    ntp = _pick(subnet, g, "ntp_servers")
    if ntp:
        opts[42] = list(ntp)  # RFC 2132 §8.3
    lease = _pick(subnet, g, "lease_time") or DEFAULT_LEASE_TIME
    opts[51] = lease  # RFC 2132 §9.2
    if ctx.address is not None:
        opts[54] = IPv4Address(ctx.address)  # RFC 2132 §9.7 server identifier
    opts[58] = int(lease * T1_FRACTION)  # RFC 2132 §9.11
    opts[59] = int(lease * T2_FRACTION)  # RFC 2132 §9.12
    if answer.vendor_class is not None:
        opts[60] = answer.vendor_class  # echo, UEFI HTTP boot needs "HTTPClient"
    if answer.tftp_server is not None:
        opts[66] = answer.tftp_server  # RFC 2132 §9.4
    if answer.bootfile is not None:
        opts[67] = answer.bootfile  # RFC 2132 §9.5 (and the BOOTP file field)
    search = _pick(subnet, g, "domain_search")
    if search:
        opts[119] = list(search)  # RFC 3397
    if answer.ipxe:
        opts[175] = answer.ipxe  # iPXE encapsulated options
    extra = dict(g.options or {})
    if subnet is not None:
        extra.update(subnet.options or {})
    texts = [(int(code), text) for code, text in extra.items()]
    if host is not None:
        # A host's options win over the subnet's and the global ones (dhcpd.conf(5): the most
        # specific scope, the host declaration, wins).
        texts += list(host.options)
    for num, text in texts:
        # Option 42 is a list of addresses or names (resolved by the transport), like ``ntp_servers``.
        opts[num] = split_items(text) if num == 42 else text
    return dict(sorted(opts.items()))


def dhcp6_lifetimes(config: Config, subnet: Subnet6 | None) -> tuple[int, int, int, int]:
    """T1, T2, preferred and valid lifetime of an IA_NA address in ``subnet`` (RFC 8415 §21.4, §21.6).

    T1/T2 default to 0.5/0.8 × the preferred lifetime (RFC 8415 §21.4 recommendation);
    the DHCPv6 engine and :func:`dhcp6_options` (``explain``) both use this.
    """
    g = config.dhcp6
    valid = _pick(subnet, g, "valid_lifetime") or DEFAULT_VALID_LIFETIME
    preferred = _pick(subnet, g, "preferred_lifetime") or DEFAULT_PREFERRED_LIFETIME
    t1 = _pick(subnet, g, "renew_time") or int(preferred * T1_FRACTION)
    t2 = _pick(subnet, g, "rebind_time") or int(preferred * 0.8)
    return int(t1), int(t2), int(preferred), int(valid)


# DHCPv6 options sent whether the client asked for them or not, as bootwright always has: IA_NA
# and Preference (never in an ORO, RFC 8415 §24 Table 4), the vendor class echo, DNS (23, 24),
# the refresh time and the boot file URL and parameters (59, 60), which iPXE and EDK2 request anyway.
ALWAYS_SENT6 = frozenset({3, 7, 16, 23, 24, 32, 59, 60})


def dhcp6_requested_only(codes: Iterable[int]) -> frozenset[int]:
    """Which of ``codes`` a DHCPv6 reply carries only when the client's ORO asks for them.

    RFC 8415 §21.7/§18.3: a server sends the options a client requests in its Option Request;
    options a client never puts in an ORO (§24 Table 4, ``NOT_IN_ORO``, e.g. User Class 15)
    are sent unrequested, as are the options of :data:`ALWAYS_SENT6`. So ``ntp_servers``
    (option 56) and ``[dhcp6] options`` reach a client that asks for them.
    """
    return frozenset(c for c in codes if c not in ALWAYS_SENT6 and c not in NOT_IN_ORO)


def dhcp6_configured_codes(config: Config) -> frozenset[int]:
    """Every code ``ntp_servers`` and ``options`` give, globally or in any subnet (``explain`` asks for them)."""
    scopes = [config.dhcp6, *config.subnet6]
    codes = {56 for s in scopes if s.ntp_servers}
    codes |= {int(k) for s in scopes for k in (s.options or {}) if k.isdigit()}
    return frozenset(codes)


def dhcp6_options(
    config: Config, subnet: Subnet6 | None, answer: BootAnswer, host: Host | None, stateless: bool = False
) -> dict[int, Any]:
    """Options of an Advertise/Reply by code (RFC 8415 §18.3), subnet values over global ones.

    ``ntp_servers`` (56) and ``[dhcp6] options`` are here for every client; the engine sends
    them only when the client asks (:func:`dhcp6_requested_only`). Option values under
    ``options`` stay text (parsed by ``wire.dhcp6.parse_config_option``).
    """
    g = config.dhcp6
    opts: dict[int, Any] = {}
    has_pool = subnet is not None and bool(subnet.pools)
    if not stateless and (has_pool or (host is not None and host.ipv6)):
        t1, t2, preferred, valid = dhcp6_lifetimes(config, subnet)
        if host is not None and host.ipv6:
            source = f"address {host.ipv6} (host {host.name})"
        else:
            assert subnet is not None
            source = "address from " + ", ".join(f"{p.start}-{p.end}" for p in subnet.pools)
        opts[3] = f"{source}; T1 {t1}, T2 {t2}; preferred {preferred}, valid {valid}"  # RFC 8415 §21.4
    preference = _pick(subnet, g, "preference")
    if preference is not None:
        opts[7] = preference  # RFC 8415 §21.8
    if answer.vendor_class is not None:
        opts[16] = (answer.vendor_enterprise or 0, answer.vendor_class)  # RFC 8415 §21.16
    dns = _pick(subnet, g, "dns")
    if dns:
        opts[23] = list(dns)  # RFC 3646 §3
    search = _pick(subnet, g, "domain_search")
    if search:
        opts[24] = list(search)  # RFC 3646 §4
    refresh = _pick(subnet, g, "info_refresh_time")
    if refresh is not None and (stateless or not has_pool):
        opts[32] = refresh  # RFC 8415 §21.23, only in replies to Information-request
    ntp = _pick(subnet, g, "ntp_servers")
    if ntp:
        opts[56] = list(ntp)  # RFC 5908 §4
    if answer.bootfile is not None:
        opts[59] = answer.bootfile  # RFC 5970 §3.1
    extra = dict(g.options or {})
    if subnet is not None:
        extra.update(subnet.options or {})  # the subnet's value wins (as [dhcp4] options)
    for code, text in extra.items():
        if code.isdigit():  # config validation refuses the codes set above and any other key
            opts.setdefault(int(code), text)
    return dict(sorted(opts.items()))


def plan_reply(
    policy: BootPolicy,
    client: ClientInfo,
    subnet: Subnet4 | Subnet6 | None,
    host: Host | None = None,
    stateless: bool = False,
) -> ReplyPlan:
    """Decide a client's boot answer and the options of the reply that carries it.

    ``subnet`` is the one :mod:`bootwright.boot.subnets` chose for the request
    (``None``: no subnet, global settings only).
    """
    config = policy.config
    if host is None:
        host = policy.hosts.find(client)
    if client.family == 4:
        sub4 = subnet if isinstance(subnet, Subnet4) else None
        ctx = server_context(config, 4, sub4)
        answer = policy.decide(client, ctx, host)
        return ReplyPlan(answer, ctx.subnet, ctx, dhcp4_options(config, sub4, answer, host, ctx))
    sub6 = subnet if isinstance(subnet, Subnet6) else None
    ctx = server_context(config, 6, sub6)
    answer = policy.decide(client, ctx, host)
    options = dhcp6_options(config, sub6, answer, host, stateless)
    return ReplyPlan(answer, ctx.subnet, ctx, options, dhcp6_requested_only(options))
