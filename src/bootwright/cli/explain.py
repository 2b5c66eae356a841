"""``bootwright explain`` and ``entry-script``: what a client is told, without a server.

``explain`` does not re-derive the answer: it builds the packet the client
would send (a DHCPv4 DISCOVER, a DHCPv6 SOLICIT or, on a stateless link,
Information-request), encodes it, and hands the octets to the same sans-I/O
engine ``serve`` runs, built from the same config with the hosts and active
one-shot boots of the state store (read only, never created). The reply's
octets are decoded and reported: what ``explain`` prints is what the server
sends.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bootwright.boot import nfs as boot_nfs
from bootwright.boot.ipxe import RenderError, render_entry_script, render_script
from bootwright.boot.oneshot import OneShot, hosts_with_oneshots
from bootwright.boot.policy import ARCH_TABLE, BootPolicy
from bootwright.boot.reply import dhcp6_configured_codes, server_context
from bootwright.boot.subnets import local_subnet, select6, subnet4_of_address, subnet6_of_address
from bootwright.cli.common import EXIT_USAGE, ConfigOpt, err, load_config_or_exit, out
from bootwright.config import Config, Pool4, Pool6, Subnet4, Subnet6, match_octets
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.model import BootAnswer, ClientInfo, EventKind, Host, InvalidMac, Lease, RelayInfo, normalize_mac
from bootwright.wire import DecodeError
from bootwright.wire import dhcp4 as wire4
from bootwright.wire import dhcp6 as wire6
from bootwright.wire.dhcp4_options import (
    CLIENT_ARCH,
    IPXE_ENCAP,
    IPXE_SUBOPTIONS,
    RELAY_AGENT_INFO,
    USER_CLASS_OPTION,
    VENDOR_CLASS,
    MessageType,
    RelaySubOption,
    describe_option,
)
from bootwright.wire.ipxe_options import IPXE_FEATURES, decode_ipxe_value

_XID = 0x0B0071  # any transaction id: the engine only echoes it
_MAX_SIZE = 1472  # option 57 of a PXE ROM (RFC 2132 §9.10): room for every option
# Option 55 (RFC 2132 §9.8): explain asks for every option, so the reply carries all the server would give.
_PRL4 = bytes(c for c in range(1, 255) if c not in (53, 55, 57))
# Option 6 ORO (RFC 8415 §21.7): what UEFI and iPXE ask for.
_ORO6 = (23, 24, 59, 60)
_FAKE_DUID = bytes.fromhex("0003000102000000b007")  # DUID-LL of a made-up MAC: explain's server identifier
_RELAY_ENTERPRISE = 0  # enterprise number of explain's remote-id (RFC 4649 §3): rules compare the id without it


def _parse_arch(values: list[str]) -> tuple[int, ...]:
    codes: list[int] = []
    for value in values:
        for part in value.split(","):
            text = part.strip().lower()
            try:
                if text.startswith("0x"):
                    code = int(text, 16)
                elif ":" in text:
                    code = int(text.replace(":", ""), 16)  # dhcpd style 00:07
                else:
                    code = int(text, 10)
            except ValueError:
                raise typer.BadParameter(
                    f"{part!r} is not an architecture code (decimal like 7, hex like 0x07 or 00:07)",
                    param_hint="--arch",
                ) from None
            if not 0 <= code <= 0xFFFF:
                raise typer.BadParameter(f"{code} is outside 0–65535", param_hint="--arch")
            codes.append(code)
    return tuple(codes)


def _parse_mac(value: str) -> str:
    try:
        return normalize_mac(value)
    except InvalidMac as exc:
        raise typer.BadParameter(str(exc), param_hint="--mac") from None


def _parse_ip(value: str | None, family: int, flag: str) -> Any:
    if value is None:
        return None
    try:
        addr = ip_address(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an IPv{family} address", param_hint=flag) from None
    if addr.version != family:
        raise typer.BadParameter(f"{value!r} is not an IPv{family} address", param_hint=flag)
    return addr


# ---------------------------------------------------------------------- the inventory


@dataclass
class _Inventory:
    """What ``serve`` would take from the state store: hosts, one-shots, leases."""

    hosts: list[Host]
    oneshots: list[OneShot] = field(default_factory=list)
    leases4: list[Lease] = field(default_factory=list)
    leases6: list[Lease] = field(default_factory=list)
    store: str | None = None
    notes: list[str] = field(default_factory=list)


def _read_inventory(cfg: Config, state_dir: Path | None) -> _Inventory:
    """The stored hosts and one-shots, read as ``serve`` reads them; the config's hosts without a store.

    Read only: a missing ``state.db`` is reported, never created, and nothing is
    written to the store. The config file's hosts are merged into the stored
    rows and validated by the same functions ``check`` and ``serve`` use
    (:func:`~bootwright.inventory.service.synced_rows`,
    :func:`~bootwright.inventory.service.validate_rows`), in memory.
    """
    # Lazy imports (start-up time of the other commands): the store and inventory are only needed here.
    from bootwright.boot.policy import hosts_from_config
    from bootwright.inventory.service import synced_rows, validate_rows
    from bootwright.runtime.core import resolve_paths
    from bootwright.store.base import StoreError
    from bootwright.store.sqlite import SqliteStore

    file_hosts = hosts_from_config(cfg)
    _, state = resolve_paths(cfg, None, state_dir)
    path = state / "state.db"
    if not path.is_file():
        note = f"no state store at {path}: only the config file's hosts are considered (no inventory, no one-shots)"
        return _Inventory(file_hosts, notes=[note])
    store = SqliteStore(path)
    try:
        store.open()
    except StoreError as exc:
        return _Inventory(file_hosts, notes=[f"{exc}: only the config file's hosts are considered"])
    try:
        rows, stored_shots = store.host_store().transact(
            lambda tx: ({r.name: r for r in tx.hosts()}, [OneShot.from_row(r) for r in tx.oneshots()])
        )
        leases4 = store.load_leases(4).leases
        leases6 = store.load_leases(6).leases
    except StoreError as exc:
        return _Inventory(file_hosts, notes=[f"cannot read {path}: {exc}; only the config file's hosts are considered"])
    finally:
        store.close()
    report, hosts = validate_rows(cfg, synced_rows(cfg, rows, time.time()).values())
    notes = [f"host {name!r} is skipped, as the server skips it: {'; '.join(str(p) for p in found)}"
             for name, found in report.skipped.items()]  # fmt: skip
    served = {h.name for h in hosts}
    shots = [s for s in stored_shots if s.host in served]
    return _Inventory(hosts, shots, leases4, leases6, str(path), notes)


def _policy(cfg: Config, inventory: _Inventory) -> BootPolicy:
    """The policy ``serve`` runs: the hosts, with an active one-shot's target in place of their own.

    The same steps as :meth:`bootwright.runtime.reload.HotReload.apply`, through the same tracker.
    """
    from bootwright.runtime.oneshots import OneShotTracker  # lazy: only explain needs it

    tracker = OneShotTracker(None, lambda old, new: None)
    tracker.reset(cfg, inventory.hosts, inventory.oneshots)
    return BootPolicy(cfg, hosts=hosts_with_oneshots(inventory.hosts, tracker.active_targets()))


# ---------------------------------------------------------------------- running the engine


class _Collect(logging.Handler):
    """Keeps the engine's log lines of one explain run."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _engine_log(name: str) -> Iterator[_Collect]:
    logger = logging.getLogger(name)
    handler = _Collect()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@dataclass
class _Result:
    """A reply as decoded from the engine's octets, and what explains it."""

    reply: str | None = None  # message type of the reply, None: the server stays silent
    address: str | None = None
    subnet: Subnet4 | Subnet6 | None = None
    bootfile: str | None = None
    next_server: str | None = None
    vendor_class: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    answer: BootAnswer | None = None
    warnings: list[str] = field(default_factory=list)


def _silence(records: list[logging.LogRecord], events: list[Any]) -> str:
    reasons = [str(e.get("reason")) for e in events if e.get("reason")]
    reasons += [r.getMessage() for r in records if "dropped" in r.getMessage() or "not answered" in r.getMessage()]
    return reasons[0] if reasons else "the request is dropped"


def _ipxe_text(raw: bytes) -> str:
    """Option 175 as ``name(code)=value``, decoded with the one sub-option table."""
    return ", ".join(
        f"{IPXE_SUBOPTIONS.get(code, f'option-{code}')}({code})={decode_ipxe_value(code, value)}"
        for code, value in IPXE_ENCAP.codec.decode(raw).items()
    )


def _option4_text(code: int, raw: bytes) -> str:
    if code == 175:
        try:
            return _ipxe_text(raw)
        except (DecodeError, ValueError):
            pass
    return describe_option(code, raw)


def _discover(mac: str, client: ClientInfo, relay: IPv4Address | None, link_selection: IPv4Address | None,
              subnet_selection: IPv4Address | None) -> bytes:  # fmt: skip
    """The octets of the DHCPDISCOVER this client sends (RFC 2131 §4.4.1), through a relay if given."""
    opts: dict[int, bytes] = {53: bytes((MessageType.DISCOVER,)), 55: _PRL4, 57: _MAX_SIZE.to_bytes(2, "big")}
    if client.arches:
        opts[93] = CLIENT_ARCH.codec.encode(tuple(client.arches))  # RFC 4578 §2.1
    if client.vendor_class is not None:
        opts[60] = VENDOR_CLASS.codec.encode(client.vendor_class)  # RFC 2132 §9.13
    if client.user_classes:
        opts[77] = USER_CLASS_OPTION.codec.encode(tuple(client.user_classes))  # RFC 3004 §4
    if client.client_id is not None:
        opts[61] = client.client_id  # RFC 2132 §9.14, type octet included
    if client.ipxe_features:  # iPXE dhcp.h DHCP_FEATURE: one sub-option of value 1 per feature
        opts[175] = IPXE_ENCAP.codec.encode({IPXE_FEATURES[n]: b"\x01" for n in sorted(client.ipxe_features)})
    if subnet_selection is not None:
        opts[118] = subnet_selection.packed  # RFC 3011 §3
    agent: dict[int, bytes] = {}  # option 82 sub-options (RFC 3046 §2.0), added by the relay
    info = client.relay
    if relay is not None and info is not None:
        if info.circuit_id is not None:
            agent[RelaySubOption.CIRCUIT_ID] = info.circuit_id  # RFC 3046 §3.1
        if info.remote_id is not None:
            agent[RelaySubOption.REMOTE_ID] = info.remote_id  # RFC 3046 §3.2
    if relay is not None and link_selection is not None:
        agent[RelaySubOption.LINK_SELECTION] = link_selection.packed  # RFC 3527 §3
    if agent:
        opts[82] = RELAY_AGENT_INFO.codec.encode(agent)
    msg = wire4.Dhcp4Message(
        op=wire4.BOOTREQUEST, xid=_XID, chaddr=bytes.fromhex(mac.replace(":", "")),
        hops=1 if relay is not None else 0, giaddr=relay or IPv4Address(0), options=opts,
    )  # fmt: skip
    return wire4.encode(msg, max_size=_MAX_SIZE)


def _link4(cfg: Config, subnet: Subnet4 | None) -> RxContext:
    """The link explain's client sits on: that of ``subnet``, with our configured address on it if any."""
    if subnet is None:
        return RxContext("explain", ())
    ctx = server_context(cfg, 4, subnet)
    own = IPv4Address(ctx.address) if ctx.address is not None else None
    address = own if own is not None and own in subnet.subnet else subnet.subnet.network_address
    return RxContext(subnet.interface or "explain", (address,))


def _run4(cfg: Config, policy: BootPolicy, inventory: _Inventory, mac: str, client: ClientInfo,
          link: Subnet4 | None, relay: IPv4Address | None, link_selection: IPv4Address | None,
          subnet_selection: IPv4Address | None, names: dict[str, tuple[IPv4Address, ...]]) -> _Result:  # fmt: skip
    """DISCOVER → the engine → the OFFER, decoded."""
    data = _discover(mac, client, relay, link_selection, subnet_selection)
    rx = _link4(cfg, link)
    with _engine_log("bootwright.dhcp4") as logged:
        now = time.time()  # the stored leases' clock
        engine = Dhcp4Engine(policy, names=names)
        engine.load(inventory.leases4, now)
        outcome = engine.handle(data, replace(rx, broadcast=relay is None), now)
    result = _Result(warnings=[r.getMessage() for r in logged.records if r.levelno >= logging.WARNING])
    if outcome is None or outcome.reply is None:
        events = [e.detail for e in outcome.events] if outcome is not None else []
        result.answer = outcome.answer if outcome is not None else None
        result.warnings.append(f"no reply: {_silence(logged.records, events)}")
        return result
    reply = wire4.decode(outcome.reply)
    kind = reply.message_type
    result.reply = kind.name.lower() if kind is not None else "bootreply"
    if outcome.events and outcome.events[0].kind == EventKind.DHCP4_PROXY_OFFER:
        # PXE 2.1 §2.2.2: a proxy subnet's offer; the address comes from the link's own DHCP server.
        result.reply = "proxy-offer"
        if 43 not in reply.options and reply.options.get(60) == b"PXEClient":
            result.warnings.append("UEFI PXE asks the boot server (port 4011) next: its ACK carries the boot file")
    result.answer = outcome.answer
    result.address = str(reply.yiaddr) if int(reply.yiaddr) else None
    result.subnet = subnet4_of_address(cfg, reply.yiaddr) if int(reply.yiaddr) else link
    result.options = {str(code): _option4_text(code, raw) for code, raw in sorted(reply.options.items())
                      if code != 53}  # fmt: skip
    if 67 in reply.options:
        result.bootfile = result.options["67"]
    elif reply.file:
        result.bootfile = reply.file.decode("utf-8", "replace")
        result.options["67"] = result.bootfile  # the ``file`` field carries it (RFC 2132 §9.5)
    result.next_server = str(reply.siaddr) if int(reply.siaddr) else None
    result.vendor_class = result.options.get("60")
    sid = reply.options.get(54)
    placeholder = rx.addresses[0].packed if rx.addresses else None
    if link is not None and sid == placeholder and server_context(cfg, 4, link).address is None:
        result.options["54"] = f"this server's address on {link.subnet}"
        result.warnings.append(
            f"option 54 is the receiving interface's address on {link.subnet}: set subnet4.server or "
            "server.address4 to know it here"
        )
    return result


def _solicit(client: ClientInfo, duid: bytes, stateful: bool, relay: IPv6Address | None,
             oro: tuple[int, ...] = _ORO6) -> tuple[bytes, IPv6Address]:  # fmt: skip
    """The octets of the Solicit (RFC 8415 §18.2.1) or Information-request (§18.2.6), relayed if asked."""
    opts: list[wire6.Dhcp6Option] = [wire6.ClientId(wire6.decode_duid(duid))]
    if stateful:
        opts.append(wire6.IaNa(1))
    opts.append(wire6.OptionRequest(oro))
    if client.arches:
        opts.append(wire6.ClientArchType(client.arches))  # RFC 5970 §3.3
    if client.vendor_class is not None:
        opts.append(wire6.VendorClass(0, (client.vendor_class.encode(),)))  # RFC 8415 §21.16
    if client.user_classes:
        opts.append(wire6.UserClass(tuple(u.encode() for u in client.user_classes)))  # RFC 8415 §21.15
    kind = wire6.MessageType.SOLICIT if stateful else wire6.MessageType.INFORMATION_REQUEST
    msg = wire6.Dhcp6Message(kind, _XID, tuple(opts))
    assert client.mac is not None
    octets = bytes.fromhex(client.mac.replace(":", ""))
    # The client's link-local address from its MAC (RFC 4291 Appendix A, modified EUI-64).
    ll = IPv6Address(b"\xfe\x80" + bytes(6) + bytes((octets[0] ^ 2,)) + octets[1:3] + b"\xff\xfe" + octets[3:])
    if relay is None:
        return msg.encode(), ll
    layer: list[wire6.Dhcp6Option] = [wire6.RelayMessage(msg)]
    info = client.relay
    if info is not None and info.interface_id is not None:
        layer.append(wire6.InterfaceId(info.interface_id))  # RFC 8415 §21.18
    if info is not None and info.remote_id is not None:
        layer.append(wire6.RemoteId(_RELAY_ENTERPRISE, info.remote_id))  # RFC 4649 §3
    forward = wire6.Dhcp6Relay(wire6.MessageType.RELAY_FORW, 0, relay, ll, tuple(layer))
    return forward.encode(), relay


def _ia_text(cfg: Config, ia: wire6.IaNa, host: Host | None) -> tuple[str, str | None]:
    addr = ia.get(wire6.IaAddr)
    if addr is None:
        status = ia.get(wire6.StatusCodeOption)
        return ("no address: " + wire6.format_option(13, status) if status else "no address"), None
    if host is not None and host.ipv6 and IPv6Address(host.ipv6) == addr.address:
        source = f"(host {host.name})"
    else:
        sub = subnet6_of_address(cfg, addr.address)
        pools = [f"{p.start}-{p.end}" for p in (sub.pools if sub else ()) if p.start <= addr.address <= p.end]
        source = f"from {', '.join(pools)}" if pools else ""
    text = (f"address {addr.address} {source}; T1 {ia.t1}, T2 {ia.t2}; "
            f"preferred {addr.preferred_lifetime}, valid {addr.valid_lifetime}")  # fmt: skip
    return text.replace("  ", " "), str(addr.address)


def _run6(cfg: Config, policy: BootPolicy, inventory: _Inventory, client: ClientInfo, duid: bytes,
          link: Subnet6 | None, relay: IPv6Address | None) -> _Result:  # fmt: skip
    """Solicit (or Information-request) → the engine → the Advertise or Reply, decoded."""
    host = policy.hosts.find(client)
    served = select6(cfg.subnet6, relay is not None, relay, link)  # where the server will place it
    stateful = served is not None and bool(served.pools or (host is not None and host.ipv6))
    # The ORO also names every option the config may send only on request (ntp_servers, [dhcp6] options),
    # so the reply shows all of them, as option 55 does for DHCPv4.
    oro = tuple(sorted({*_ORO6, *dhcp6_configured_codes(cfg)}))
    data, src = _solicit(client, duid, stateful, relay, oro)
    with _engine_log("bootwright.dhcp6") as logged:
        now = time.time()  # the stored leases' clock
        engine = Dhcp6Engine(policy, _FAKE_DUID, {"explain": link}, inventory.leases6, now)
        outcome = engine.handle(data, Received(src, "explain" if relay is None else None, True), now)
    result = _Result(warnings=[r.getMessage() for r in logged.records if r.levelno >= logging.WARNING])
    if outcome is not None and outcome.reply is None and outcome.answer is not None and outcome.answer.ignored:
        result.answer = outcome.answer
        result.warnings.append(f"no reply: ignored by rule {outcome.answer.rule!r}")
        return result
    if outcome is None or outcome.reply is None:
        result.warnings.append(f"no reply: {_silence(logged.records, [])} (see the DHCPv6 rules in docs/ipv6.md)")
        return result
    decoded = wire6.decode(outcome.reply)
    reply, _ = wire6.innermost(decoded)
    result.reply = wire6.message_name(reply.msg_type).lower()
    result.answer = outcome.answer
    result.subnet = served
    for option in reply.options:
        if isinstance(option, wire6.ClientId | wire6.ServerId):
            continue
        if isinstance(option, wire6.IaNa):
            text, result.address = _ia_text(cfg, option, host)
            result.options["3"] = text
            continue
        result.options[str(option.code)] = wire6.format_option(option.code, option)
    result.options = dict(sorted(result.options.items(), key=lambda kv: int(kv[0])))
    url = reply.get(wire6.BootFileUrl)
    result.bootfile = url.url if url is not None else None
    vc = reply.get(wire6.VendorClass)
    result.vendor_class = vc.data[0].decode("utf-8", "replace") if vc is not None and vc.data else None
    return result


# ---------------------------------------------------------------------- the command


def _link(cfg: Config, family: int, subnet: str | None, host: Host | None) -> Subnet4 | Subnet6 | None:
    """The subnet of the link the client is on: ``--subnet``, else its host's address, else the first."""
    if subnet is not None:
        try:
            net = ip_network(subnet, strict=False)
        except ValueError:
            raise typer.BadParameter(f"{subnet!r} is not an address or prefix", param_hint="--subnet") from None
        if net.version != family:
            raise typer.BadParameter(f"{subnet!r} is not IPv{family}", param_hint="--subnet")
        found = local_subnet(cfg, str(net.network_address))
        if found is None:
            raise typer.BadParameter(f"no subnet{family} of the config holds {subnet}", param_hint="--subnet")
        return found
    fixed = (host.ipv4 if family == 4 else host.ipv6) if host is not None else None
    if fixed:
        found = local_subnet(cfg, fixed)
        if found is not None:
            return found
    subnets: list[Any] = list(cfg.subnet4 if family == 4 else cfg.subnet6)
    return subnets[0] if subnets else None


def _resolve(cfg: Config) -> dict[str, tuple[IPv4Address, ...]]:
    """Host names in ``ntp_servers``, resolved as ``serve`` resolves them (unresolvable ones left out)."""
    import asyncio

    from bootwright.net.dhcp4 import OptionNames, option_names  # lazy: only explain resolves, and only v4

    wanted = option_names(cfg)
    if not wanted:
        return {}
    with _engine_log("bootwright.dhcp4"):
        return asyncio.run(OptionNames().refresh(wanted))


def explain(
    config: ConfigOpt,
    family: Annotated[int, typer.Option("--family", help="4 or 6.")],
    mac: Annotated[str, typer.Option("--mac", help="The client's MAC address.")],
    arch: Annotated[
        list[str] | None, typer.Option("--arch", help="Client architecture (option 93/61); repeat or comma-separate.")
    ] = None,
    vendor_class: Annotated[str | None, typer.Option("--vendor-class", help="Option 60 / option 16 text.")] = None,
    user_class: Annotated[
        list[str] | None, typer.Option("--user-class", help="Option 77 / option 15 entry, e.g. iPXE; repeatable.")
    ] = None,
    duid: Annotated[str | None, typer.Option("--duid", help="DHCPv6 client DUID in hex.")] = None,
    subnet: Annotated[
        str | None,
        typer.Option("--subnet", help="The client is directly on this subnet's link (an address or prefix in it)."),
    ] = None,
    relay: Annotated[
        str | None,
        typer.Option(
            "--relay", "--giaddr",
            help="Relayed: the relay's address (v4 giaddr, RFC 2131 §4.3.1; v6 link-address, RFC 8415 §13.1).",
        ),
    ] = None,
    link_selection: Annotated[
        str | None,
        typer.Option("--link-selection", help="v4: the relay adds option 82 link selection (RFC 3527); needs --relay."),
    ] = None,
    subnet_selection: Annotated[
        str | None, typer.Option("--subnet-selection", help="v4: the client sends option 118 (RFC 3011).")
    ] = None,
    circuit_id: Annotated[
        str | None,
        typer.Option("--circuit-id", help="Relayed: the circuit id (v4 option 82.1, RFC 3046; v6 interface-id, "
                                          "option 18), hex octets 01:02 or text; needs --relay."),
    ] = None,
    remote_id: Annotated[
        str | None,
        typer.Option("--remote-id", help="Relayed: the remote id (v4 option 82.2; v6 option 37, RFC 4649), hex "
                                         "octets or text; needs --relay."),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="v4: option 61 as sent, type octet first (01:52:54:…) or text; v6: the "
                                         "DUID, as --duid."),
    ] = None,
    ipxe_feature: Annotated[
        list[str] | None,
        typer.Option("--ipxe-feature", help="v4: an iPXE feature the client announces in option 175 (https, efi, "
                                            "…); repeatable."),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="State directory of the inventory (default: as serve: the config's, else "
                                         "/var/lib/bootwright). Read only."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    script_only: Annotated[
        bool, typer.Option("--script", help="Print only the iPXE script this client runs, byte for byte.")
    ] = False,
) -> None:
    """Show exactly what a client would be told, without sending anything."""
    if family not in (4, 6):
        raise typer.BadParameter(f"{family} is not 4 or 6", param_hint="--family")
    client_mac = _parse_mac(mac)
    arches = _parse_arch(arch or [])
    duid_bytes = None
    if duid is not None:
        try:
            duid_bytes = bytes.fromhex(duid.replace(":", "").replace("-", ""))
        except ValueError:
            raise typer.BadParameter(f"{duid!r} is not hex", param_hint="--duid") from None
        if len(duid_bytes) < 2:
            raise typer.BadParameter(f"{duid!r} is too short for a DUID (RFC 8415 §11)", param_hint="--duid")
    relay_addr = _parse_ip(relay, family, "--relay")
    if family == 6 and (link_selection or subnet_selection):
        raise typer.BadParameter("options 82 and 118 are DHCPv4 options", param_hint="--link-selection")
    link_sel = _parse_ip(link_selection, 4, "--link-selection") if family == 4 else None
    subnet_sel = _parse_ip(subnet_selection, 4, "--subnet-selection") if family == 4 else None
    if link_sel is not None and relay_addr is None:
        raise typer.BadParameter("a relay adds option 82: give --relay too (RFC 3527 §3)",
                                 param_hint="--link-selection")
    relay_info, cid, features = _match_facts(family, relay_addr, circuit_id, remote_id, client_id, ipxe_feature)
    if family == 6 and cid is not None:
        if duid_bytes is not None and duid_bytes != cid:
            raise typer.BadParameter(
                "a DHCPv6 client id is its DUID: give --duid or --client-id, not both", param_hint="--client-id"
            )
        duid_bytes = cid
    cfg = load_config_or_exit(config)
    inventory = _read_inventory(cfg, state_dir)
    policy = _policy(cfg, inventory)
    client = ClientInfo(
        family=family,  # type: ignore[arg-type]
        mac=client_mac,
        duid=duid_bytes,
        arches=arches,
        vendor_class=vendor_class,
        user_classes=tuple(user_class or ()),
        relay=relay_info,
        client_id=cid,
        ipxe_features=features,
    )
    host = policy.hosts.find(client)
    link = _link(cfg, family, subnet, host)
    try:
        if family == 4:
            names = _resolve(cfg)
            sub4 = link if isinstance(link, Subnet4) else None
            result = _run4(cfg, policy, inventory, client_mac, client, sub4, relay_addr, link_sel, subnet_sel, names)
        else:
            sub6 = link if isinstance(link, Subnet6) else None
            own = duid_bytes or bytes.fromhex("00030001" + client_mac.replace(":", ""))  # DUID-LL (RFC 8415 §11.4)
            result = _run6(cfg, policy, inventory, client, own, sub6, relay_addr)
    except (ValueError, TypeError) as exc:  # a value the engine cannot encode: say which, never a traceback
        err.print(f"[red]error:[/red] {escape(str(config))}: cannot build this client's reply: {escape(str(exc))}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    answer = result.answer
    script = _script(cfg, policy, client, answer, result, host, config)
    warnings = list(answer.warnings if answer is not None else ()) + result.warnings + inventory.notes
    if result.reply is not None and result.subnet is None:
        warnings.append(f"no subnet{family} holds this client's address: only global options are sent")
    nfs_roots = _nfs_roots(cfg, answer, state_dir)
    warnings += [w for _, _, w in nfs_roots if w is not None]
    data: dict[str, Any] = {
        "family": family,
        "mac": client_mac,
        "host": answer.host if answer is not None else (host.name if host is not None else None),
        "rule": answer.rule if answer is not None else None,
        "subnet": str(result.subnet.subnet if isinstance(result.subnet, Subnet4) else result.subnet.prefix)
        if result.subnet is not None else None,
        "address": result.address,
        "reply": result.reply,
        "bootfile": result.bootfile,
        "next_server": result.next_server,
        "vendor_class": result.vendor_class,
        "options": result.options,
        "script": script,
        "state_store": inventory.store,
        "nfs_roots": [{"key": key, "served": text} for key, text, _ in nfs_roots],
        "warnings": warnings,
        # Added keys only (the JSON is a contract): the ignore decision, the rules met, the pools open to it.
        "ignored": bool(answer is not None and answer.ignored),
        "matched_rules": list(answer.matched) if answer is not None else [],
        "pools": _pools(policy, answer, result.subnet or _answered_in(cfg, link, relay_addr, link_sel)),
    }
    if script_only:
        if script is None:
            err.print("[red]error:[/red] this client is not sent an iPXE script of this server", highlight=False)
            raise typer.Exit(1)
        sys.stdout.write(script)
        return
    for w in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False, soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    _print_explain(data, arches)


def _match_facts(family: int, relay: Any, circuit_id: str | None, remote_id: str | None, client_id: str | None,
                 features: list[str] | None) -> tuple[RelayInfo | None, bytes | None, frozenset[str]]:  # fmt: skip
    """The relay ids, client id and iPXE features of the flags, as rules compare them (config.match_octets)."""
    for flag, value in (("--circuit-id", circuit_id), ("--remote-id", remote_id)):
        if value is not None and relay is None:
            raise typer.BadParameter(
                "a relay adds it: give --relay too (RFC 3046 §2.0, RFC 8415 §19.1)", param_hint=flag
            )
    for flag, value in (("--circuit-id", circuit_id), ("--remote-id", remote_id), ("--client-id", client_id)):
        if value is not None and not value:
            raise typer.BadParameter("empty", param_hint=flag)
    unknown = [f for f in features or () if f not in IPXE_FEATURES]
    if unknown:
        raise typer.BadParameter(
            f"unknown iPXE feature {unknown[0]!r} (known: {', '.join(sorted(IPXE_FEATURES))})",
            param_hint="--ipxe-feature",
        )
    if features and family == 6:
        raise typer.BadParameter("iPXE announces its features only in DHCPv4 option 175", param_hint="--ipxe-feature")
    circuit = match_octets(circuit_id) if circuit_id is not None else None
    remote = match_octets(remote_id) if remote_id is not None else None
    info = None
    if circuit is not None or remote is not None:
        info = (RelayInfo(circuit_id=circuit, remote_id=remote) if family == 4
                else RelayInfo(interface_id=circuit, remote_id=remote))  # fmt: skip
    cid = match_octets(client_id) if client_id is not None else None
    if family == 6 and cid is not None and len(cid) < 2:
        raise typer.BadParameter("too short for a DUID (RFC 8415 §11)", param_hint="--client-id")
    return info, cid, frozenset(features or ())


def _answered_in(cfg: Config, link: Subnet4 | Subnet6 | None, relay: Any, link_selection: Any
                 ) -> Subnet4 | Subnet6 | None:  # fmt: skip
    """The subnet a request is answered in when no reply names it: link selection, relay, else the link."""
    for address in (link_selection, relay):
        if address is not None:
            found = local_subnet(cfg, str(address))
            if found is not None:
                return found
    return link


def _pools(policy: BootPolicy, answer: BootAnswer | None, subnet: Subnet4 | Subnet6 | None) -> list[str] | None:
    """The pools of ``subnet`` this client may take an address from (pool allow/deny); None: no pools to judge."""
    if answer is None or answer.ignored or subnet is None or not subnet.pools:
        return None
    pools: list[Pool4 | Pool6] = list(subnet.pools)
    usable = policy.usable_pools(pools, answer)
    return [f"{p.start}-{p.end}" for i, p in enumerate(pools) if i in usable]


def _nfs_roots(cfg: Config, answer: BootAnswer | None, state_dir: Path | None) -> list[tuple[str, str, str | None]]:
    """The NFS roots of the target (or the menu's targets) this client is served: (key path, what serves it, warning).

    The export is looked up under the root ``serve`` would use (the config's, else the default; boot/nfs.py).
    """
    if answer is None or answer.script is None:
        return []
    names = [answer.script] if answer.script in cfg.targets else []
    menu = cfg.menus.get(answer.script)
    if menu is not None:
        names = list(dict.fromkeys(item.target for item in menu.items if item.target in cfg.targets))
    if not names:
        return []
    from bootwright.runtime.core import resolve_paths  # lazy, as in _read_inventory

    root, _ = resolve_paths(cfg, None, state_dir)
    found = []
    for name, key, nfs_root in boot_nfs.target_roots(cfg):
        if name in names:
            text, warning = boot_nfs.describe(cfg, root, nfs_root)
            found.append((key, text, f"{key}: {warning}" if warning else None))
    return found


def _script(cfg: Config, policy: BootPolicy, client: ClientInfo, answer: BootAnswer | None, result: _Result,
            host: Host | None, config: Path) -> str | None:  # fmt: skip
    """The iPXE script the HTTP server renders for this client, when its boot file is one of ours."""
    if answer is None or not client.is_ipxe:
        return None
    ctx = server_context(cfg, client.family, result.subnet)
    if not policy.is_own_script_url(answer.bootfile, ctx):
        return None
    try:
        return render_script(cfg, answer.script, client, ctx, host)
    except RenderError as exc:
        err.print(f"[red]error:[/red] {escape(str(config))}: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _print_explain(result: dict[str, Any], arches: tuple[int, ...]) -> None:
    table = Table(title=f"bootwright explain: IPv{result['family']} client {result['mac']}", show_header=False)
    arch_names = ", ".join(f"{a} ({ARCH_TABLE[a].name if a in ARCH_TABLE else 'unknown'})" for a in arches)
    silent = "none: the server stays silent"
    if result["ignored"]:
        silent = f"none — ignored by rule {result['rule']!r}"
    rows = [
        ("architecture", arch_names or "not sent"),
        ("reply", result["reply"] or silent),
        ("host", result["host"] or "unknown"),
        ("rule", result["rule"] or "no rule matched"),
        ("subnet", result["subnet"] or "none"),
        ("address", result["address"] or ("from the link's own DHCP server" if result["reply"] == "proxy-offer"
                                           else "none")),
        ("boot file", result["bootfile"] or "none"),
        ("next server", result["next_server"] or "-"),
        ("vendor class echo", result["vendor_class"] or "-"),
    ]
    pools = result["pools"]
    if pools is not None:
        rows.append(("pools", ", ".join(pools) or "no pool allows this client"))
    if result["matched_rules"]:
        rows.append(("rules matched", ", ".join(result["matched_rules"])))
    for key, value in rows:
        table.add_row(f"[bold]{key}[/bold]", escape(str(value)))
    for code, value in result["options"].items():
        table.add_row(f"option {code}", escape(value))
    for nfs_root in result["nfs_roots"]:
        table.add_row(f"[bold]NFS root[/bold] {escape(nfs_root['key'])}", escape(nfs_root["served"]))
    out.print(table)
    if result["script"]:
        out.print("[bold]iPXE script served to this client:[/bold]")
        out.file.flush()
        # Written as is: a console would wrap long lines, and the script must be byte-identical.
        sys.stdout.write(result["script"])
        sys.stdout.flush()


def entry_script(
    config: ConfigOpt,
    family: Annotated[int, typer.Option("--family", help="4 or 6: the entry script of the first subnet4 or subnet6.")]
    = 4,
) -> None:
    """Print the entry script that the built-in rules point iPXE clients at."""
    if family not in (4, 6):
        raise typer.BadParameter(f"{family} is not 4 or 6", param_hint="--family")
    cfg = load_config_or_exit(config)
    subnets: list[Any] = list(cfg.subnet4 if family == 4 else cfg.subnet6)
    ctx = server_context(cfg, family, subnets[0] if subnets else None)
    sys.stdout.write(render_entry_script(ctx))


def register(app: typer.Typer) -> None:
    """Add ``explain``, ``entry-script`` to the main command."""
    app.command("explain")(explain)
    app.command("entry-script")(entry_script)
