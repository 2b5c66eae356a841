"""Which ``[[subnet4]]`` or ``[[subnet6]]`` a DHCP request is answered in.

Rule: every subnet choice happens here. The DHCPv4 and DHCPv6 engines,
``bootwright explain`` (which runs those engines) and the documents (the
server context of an HTTP or TFTP request) call these functions; no other
module decides which subnet a client, a relay or a local address belongs to.

DHCPv4, :func:`select4`, first match wins:

1. Relay agent information (option 82) sub-option 5, link selection, only in
   a relayed request (``giaddr`` set; RFC 3527 §3, §4).
2. Option 118, subnet selection (RFC 3011 §3).
3. ``giaddr``: the relay's link (RFC 2131 §4.3.1).
4. ``ciaddr`` inside one of our subnets: a client renewing or informing from a
   routed network (RFC 2131 §4.3.2 RENEWING: the server "will trust the value
   in 'ciaddr'"; ISC dhcpd locates such clients the same way). A REBINDING
   request heard on a link does not trust it (§4.3.2 "SHOULD check 'ciaddr'
   for correctness"): there the link's subnet wins.
5. The receiving link (:func:`on_link4`): the subnets that name its
   interface, then those holding one of our addresses on it.

A selector (1-3) that names an address outside every subnet ends the search
with ``None``: the request is for a network this server does not serve.

DHCPv6, :func:`select6`: a relayed message is placed by the link-address of
the relay closest to the client that set a global one (RFC 8415 §13.1); a
direct one by the receiving link (:func:`on_link6`).

The v4 functions work on anything with integer ``network`` and ``mask``
attributes (:class:`Subnet4Key`), so the engine passes its compiled subnets and
pays no allocation per packet; :func:`compile4` builds such keys from a config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Final, Protocol, TypeVar

from bootwright.config import Config, Subnet4, Subnet6
from bootwright.wire.dhcp4_options import RelaySubOption

__all__ = [
    "Subnet4Entry",
    "Subnet4Key",
    "compile4",
    "find4",
    "link_selection",
    "local_subnet",
    "on_link4",
    "on_link6",
    "select4",
    "select6",
    "subnet4_of_address",
    "subnet6_of_address",
]

_LINK_SELECTION: Final = int(RelaySubOption.LINK_SELECTION)  # RFC 3527 §3: sub-option 5 of option 82


class Subnet4Key(Protocol):
    """What :func:`select4` needs of a subnet: network and mask as integers, the configured interface."""

    @property
    def network(self) -> int:
        """The network address as an integer."""
        ...

    @property
    def mask(self) -> int:
        """The netmask as an integer."""
        ...

    @property
    def interface(self) -> str | None:
        """The ``interface`` the subnet names in the config, if any."""
        ...


S = TypeVar("S", bound=Subnet4Key)


@dataclass(frozen=True, slots=True)
class Subnet4Entry:
    """One ``[[subnet4]]`` of a config with its network and mask as integers (see :func:`compile4`)."""

    network: int
    mask: int
    subnet: Subnet4

    @property
    def interface(self) -> str | None:
        """The subnet's configured ``interface``."""
        return self.subnet.interface


def compile4(config: Config) -> tuple[Subnet4Entry, ...]:
    """The config's subnets as :class:`Subnet4Entry`, in config order."""
    return tuple(Subnet4Entry(int(s.subnet.network_address), int(s.subnet.netmask), s) for s in config.subnet4)


def find4(subnets: Sequence[S], addr: int) -> S | None:
    """The subnet containing ``addr`` (an integer address); config validation rules out overlaps."""
    for sub in subnets:
        if (addr & sub.mask) == sub.network:
            return sub
    return None


def link_selection(relay_info: bytes) -> int | None:
    """The RFC 3527 link selection address inside option 82 octets, or ``None``.

    Sub-options are ``code, length, value`` with no PAD/END (RFC 3046 §2.0);
    malformed octets yield ``None`` (the option is then ignored, RFC 3527 §4).
    """
    i, n = 0, len(relay_info)
    while i + 2 <= n:
        code, length = relay_info[i], relay_info[i + 1]
        j = i + 2 + length
        if j > n:
            return None
        if code == _LINK_SELECTION:
            return int.from_bytes(relay_info[i + 2 : j], "big") if length == 4 else None
        i = j
    return None


def on_link4(subnets: Sequence[S], interface: str | None, addresses: Iterable[int]) -> tuple[S, ...]:
    """The subnets served on a receiving link, in the order :func:`select4` tries them.

    First the subnets whose ``interface`` is the link's, then those holding
    one of our ``addresses`` (integers) on the link.
    """
    named = [s for s in subnets if interface is not None and s.interface == interface]
    mine = tuple(addresses)
    held = [s for s in subnets if s not in named and any((a & s.mask) == s.network for a in mine)]
    return (*named, *held)


def select4(
    subnets: Sequence[S],
    on_link: Sequence[S],
    giaddr: int,
    ciaddr: int,
    relay_info: bytes | None,
    subnet_selection: bytes | None,
    trust_ciaddr: bool = True,
) -> S | None:
    """The subnet a DHCPv4 request is answered in, or ``None`` (stay silent); see the module rules.

    ``on_link`` is :func:`on_link4` of the receiving link; ``trust_ciaddr``
    is False for a REBINDING request heard on a link (RFC 2131 §4.3.2).
    """
    if giaddr and relay_info:
        link = link_selection(relay_info)
        if link is not None:  # RFC 3527 §4: the link selection address, not giaddr, names the subnet
            return find4(subnets, link)
    if subnet_selection is not None:  # RFC 3011 §3
        if len(subnet_selection) != 4:
            return None
        return find4(subnets, int.from_bytes(subnet_selection, "big"))
    if giaddr:  # RFC 2131 §4.3.1
        return find4(subnets, giaddr)
    if ciaddr:
        sub = find4(subnets, ciaddr)
        if sub is not None and (trust_ciaddr or not on_link or sub in on_link):
            return sub
    return on_link[0] if on_link else None


def subnet4_of_address(config: Config, address: IPv4Address) -> Subnet4 | None:
    """The ``[[subnet4]]`` holding one of our local addresses: step 5 of :func:`select4`.

    Documents served over HTTP/TFTP use it to know which subnet's settings
    (server address, next server) a request that reached ``address`` gets.
    """
    entries = compile4(config)
    found = select4(entries, on_link4(entries, None, (int(address),)), 0, 0, None, None)
    return found.subnet if found is not None else None


def on_link6(subnets: Sequence[Subnet6], interface: str | None, addresses: Iterable[IPv6Address]) -> Subnet6 | None:
    """The subnet6 of clients attached directly to a link.

    The subnet that names the interface, else the first one without an
    interface whose prefix holds one of our addresses on the link.
    """
    if interface is not None:
        for sub in subnets:
            if sub.interface == interface:
                return sub
    mine = tuple(addresses)
    for sub in subnets:
        if sub.interface is None and any(a in sub.prefix for a in mine):
            return sub
    return None


def select6(
    subnets: Sequence[Subnet6], relayed: bool, link_address: IPv6Address | None, link_subnet: Subnet6 | None
) -> Subnet6 | None:
    """The subnet6 a DHCPv6 message is answered in, or ``None`` (only global options, no addresses).

    Relayed: the subnet holding the relay's ``link_address`` (RFC 8415 §13.1),
    ``None`` when the relays set none we can place. Direct: ``link_subnet``,
    the receiving link's (:func:`on_link6`).
    """
    if relayed:
        if link_address is None:
            return None
        for sub in subnets:
            if link_address in sub.prefix:
                return sub
        return None
    return link_subnet


def subnet6_of_address(config: Config, address: IPv6Address) -> Subnet6 | None:
    """The ``[[subnet6]]`` whose prefix holds one of our local addresses (documents' server context)."""
    for sub in config.subnet6:
        if address in sub.prefix:
            return sub
    return None


def local_subnet(config: Config, local: str) -> Subnet4 | Subnet6 | None:
    """The subnet of the link a request reached us on, from our local address (text, ``%zone`` allowed).

    HTTP and TFTP know only the address a request was sent to; it names the
    subnet whose settings (server address, next server) the documents use.
    ``None`` for an address in no subnet (or not an address).
    """
    try:
        addr = ip_address(local.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, IPv4Address):
        return subnet4_of_address(config, addr)
    return subnet6_of_address(config, addr)
