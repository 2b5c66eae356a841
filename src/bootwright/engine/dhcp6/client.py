"""Who a DHCPv6 client is, and the reply options its boot answer turns into.

:func:`client_info` reads a decoded message (and its relay layers) into the
:class:`~bootwright.model.ClientInfo` the policy decides on; :class:`HttpBootMemory`
remembers UEFI HTTP-boot clients by DUID across an exchange; :func:`wire_options`
turns the option plan of :func:`bootwright.boot.reply.plan_reply` (the one
``bootwright explain`` prints) into DHCPv6 options.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from ipaddress import IPv6Address
from typing import Any, TypeVar

from bootwright.boot.policy import HTTP_CLIENT  # UEFI HTTP boot's vendor class prefix, echoed in option 16
from bootwright.model import ClientInfo, RelayInfo
from bootwright.wire.dhcp6 import (
    HW_TYPE_ETHERNET,
    BootFileParams,
    BootFileUrl,
    ClientArchType,
    ClientId,
    ClientLinkLayerAddr,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DnsServers,
    DomainList,
    HasOptions,
    InfoRefreshTime,
    NtpServer,
    Preference,
    RemoteId,
    UserClass,
    VendorClass,
    duid_mac,
    parse_config_option,
)

__all__ = [
    "HTTP_CLIENT", "HttpBootMemory", "client_info", "eui64_mac", "link_address", "option_index", "wire_options",
]

T = TypeVar("T")

log = logging.getLogger("bootwright.dhcp6")



def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class HttpBootMemory:
    """UEFI HTTP-boot clients seen recently, by DUID (bounded, oldest forgotten first).

    EDK2 (OVMF) sends two Solicits with one DUID, only one carrying option 16 (issue 7),
    and its Request may lack it too: what one message of the exchange said (vendor class,
    enterprise, architectures) holds for all of them.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._seen: dict[bytes, tuple[str, int, tuple[int, ...]]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def note(self, duid: bytes, vendor_class: str, enterprise: int, arches: tuple[int, ...]) -> None:
        """Remember that ``duid`` sent an ``HTTPClient`` vendor class (and these architectures)."""
        old = self._seen.pop(duid, None)
        if not arches and old is not None:
            arches = old[2]
        self._seen[duid] = (vendor_class, enterprise, arches)
        if len(self._seen) > self.capacity:
            del self._seen[next(iter(self._seen))]

    def get(self, duid: bytes) -> tuple[str, int, tuple[int, ...]] | None:
        """Vendor class, enterprise and architectures ``duid`` sent earlier, if it HTTP-boots."""
        return self._seen.get(duid)


def link_address(layers: Sequence[Dhcp6Relay]) -> IPv6Address | None:
    """The address naming the client's link (RFC 8415 §13.1): the link-address of the relay
    closest to the client that set a global one (a relay may leave it unspecified, §19.1.1)."""
    for relay in reversed(layers):
        la = relay.link_address
        if not (la.is_unspecified or la.is_link_local):
            return la
    return None


def _first(index: Mapping[type, list[Any]], kind: type[T]) -> T | None:
    found = index.get(kind)
    return found[0] if found else None


def eui64_mac(addr: IPv6Address | None) -> bytes | None:
    """The MAC in a link-local address formed from it (modified EUI-64, RFC 4291 Appendix A), if any.

    Hosts using stable-privacy or random interface identifiers (RFC 7217, RFC 8981) give none;
    a random identifier with ff:fe in the middle is a 1-in-65536 false match, which Kea's default
    ``mac-sources`` accepts too.
    """
    if addr is None:
        return None
    p = addr.packed
    if p[0] != 0xFE or p[1] & 0xC0 != 0x80 or p[11] != 0xFF or p[12] != 0xFE:  # fe80::/10, ..ff:fe..
        return None
    return bytes((p[8] ^ 0x02,)) + p[9:11] + p[13:16]  # flip the universal/local bit back


def _client_mac(
    inner: Dhcp6Message, layers: Sequence[Dhcp6Relay], index: Mapping[type, list[Any]], src: IPv6Address | None
) -> bytes | None:
    if layers:
        lla = layers[-1].get(ClientLinkLayerAddr)  # RFC 6939 §4: added by the first-hop relay
        if lla is not None and lla.link_type == HW_TYPE_ETHERNET and len(lla.address) == 6:
            return lla.address
    cid = _first(index, ClientId)
    mac = duid_mac(cid.duid) if cid is not None else None
    if mac is None:  # e.g. iPXE's DUID-UUID: the client's link-local address may still carry it
        mac = eui64_mac(layers[-1].peer_address if layers else src)
    return mac


def option_index(msg: HasOptions) -> dict[type, list[Any]]:
    """A message's options grouped by class, in wire order (one pass instead of many ``get``)."""
    index: dict[type, list[Any]] = {}
    for o in msg.options:
        index.setdefault(type(o), []).append(o)
    return index


def client_info(
    inner: Dhcp6Message,
    layers: Sequence[Dhcp6Relay],
    duid: bytes | None,
    interface: str | None,
    memory: HttpBootMemory | None = None,
    index: Mapping[type, list[Any]] | None = None,
    src: IPv6Address | None = None,
) -> ClientInfo:
    """The policy's view of a client message; ``duid`` is its Client Identifier's octets.

    The MAC comes from the first-hop relay's option 79 (RFC 6939), a DUID-LL/LLT, or else the
    client's EUI-64 link-local address (``src``, or the first relay's peer-address), so a host
    record with a MAC serves both families. A DUID that sent ``HTTPClient`` earlier in
    the exchange keeps that vendor class in every later message (see :class:`HttpBootMemory`);
    its architecture (option 61 = 16) alone already selects the HTTP boot answer in the policy.
    """
    idx = option_index(inner) if index is None else index
    mac_raw = _client_mac(inner, layers, idx, src)
    arch = _first(idx, ClientArchType)
    arches = arch.values if arch is not None else ()
    vendor_class: str | None = None
    enterprise: int | None = None
    vc = _first(idx, VendorClass)
    uc = _first(idx, UserClass)
    user_classes = tuple(_text(d) for d in uc.data) if uc is not None else ()
    if vc is not None and vc.data:
        vendor_class, enterprise = _text(vc.data[0]), vc.enterprise
        if memory is not None and duid is not None and vendor_class.startswith(HTTP_CLIENT):
            memory.note(duid, vendor_class, enterprise, arches)
            noted = memory.get(duid)
            if not arches and noted is not None:
                arches = noted[2]
    elif memory is not None and duid is not None and not user_classes and (seen := memory.get(duid)) is not None:
        # The same DUID said HTTPClient earlier in this exchange (a message with a user class,
        # such as iPXE's, speaks for itself).
        vendor_class, enterprise = seen[0], seen[1]
        arches = arches or seen[2]
    relay: RelayInfo | None = None
    if layers:
        first = layers[-1]  # the relay closest to the client (RFC 8415 §19.1.1)
        la = link_address(layers)
        rid = first.get(RemoteId)
        relay = RelayInfo(
            address=str(la) if la is not None else None,
            interface_id=first.interface_id,
            remote_id=rid.remote_id if rid is not None else None,
        )
    return ClientInfo(
        family=6,
        mac=mac_raw.hex(":") if mac_raw is not None else None,  # as model.mac_from_bytes
        duid=duid,
        arches=arches,
        vendor_class=vendor_class,
        vendor_enterprise=enterprise,
        user_classes=user_classes,
        relay=relay,
        interface=interface if not layers else None,
        client_id=duid,  # rules' client_id: the DUID (RFC 8415 §11)
    )


def _option(code: int, value: Any) -> Dhcp6Option | None:
    if code == 7:
        return Preference(int(value))  # RFC 8415 §21.8
    if code == 16:
        enterprise, text = value
        return VendorClass(int(enterprise), (str(text).encode(),))  # RFC 8415 §21.16
    if code == 23:
        return DnsServers(tuple(IPv6Address(str(a)) for a in value))  # RFC 3646 §3
    if code == 24:
        return DomainList(tuple(str(n).removesuffix(".") for n in value))  # RFC 3646 §4
    if code == 32:
        return InfoRefreshTime(int(value))  # RFC 8415 §21.23
    if code == 59:
        return BootFileUrl(str(value))  # RFC 5970 §3.1
    if code == 60:
        params = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        return BootFileParams(params)  # RFC 5970 §3.2
    if code == 56:
        return NtpServer.of(str(v) for v in value)  # RFC 5908 §4
    return parse_config_option(code, str(value))  # [dhcp6] options: text or hex octets


def wire_options(plan: Mapping[int, Any]) -> tuple[Dhcp6Option, ...]:
    """The options of a reply plan as DHCPv6 options, in code order.

    Option 3 (IA_NA) is built by the engine from the bindings, not from the plan text;
    codes that cannot be encoded are skipped (logged at debug).
    """
    out: list[Dhcp6Option] = []
    for code, value in plan.items():
        if code == 3:
            continue
        try:
            opt = _option(code, value)
        except (ValueError, TypeError) as e:
            log.debug("DHCPv6 option %s from the plan skipped: %s", code, e)
            continue
        if opt is not None:
            out.append(opt)
    return tuple(out)
