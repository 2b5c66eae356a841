"""What a lab run can be told, and the checks made before anything starts.

:class:`LabOptions` carries the CLI flags (and what tests set directly).
:func:`config_problems` refuses a config that ``bootwright check`` refuses or
the lab's network cannot serve (and, beside a foreign DHCP server, any subnet
that is not a proxy one); :func:`check_environment` wants root and every
program and firmware file the chosen scenarios need. Both run before a
namespace, a server or a VM exists.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import arm64, tools
from bootwright.lab import payload as payload_mod
from bootwright.lab.netns import ADDRESS4, ADDRESS6, BRIDGE
from bootwright.lab.proc import LabError
from bootwright.lab.scenarios import Scenario

DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "quickstart.toml"
# The BMC scenarios need a "rescue" target to boot once and a "local" one (exit to the disk).
BMC_CONFIG = DEFAULT_CONFIG.parent / "oneshot-rescue.toml"
# Beside a foreign DHCP server (--foreign-dhcp) bootwright serves in proxy mode.
PROXY_CONFIG = DEFAULT_CONFIG.parent / "proxy.toml"
# The arm64 scenarios (--firmware arm64|arm64http) boot Debian's network GRUB: Debian has no arm64 iPXE.
ARM64_CONFIG = DEFAULT_CONFIG.parent / "arm64-grub.toml"


@dataclass
class LabOptions:
    """Everything a lab run can be told (the CLI flags)."""

    firmware: str = "all"
    family: str = "all"
    config: Path | None = None
    reference: bool = False
    keep: bool = False
    cache: Path = payload_mod.DEFAULT_CACHE
    accel: str = "auto"  # auto, kvm or tcg
    timeout: float = 240.0  # per VM, seconds
    stall: float = 120.0  # stop a VM after this long without reaching a new stage
    parallel: int = 0  # VMs booting at once; 0: one per CPU
    live: bool | None = None  # None: redraw in place only on a terminal
    scenarios: list[Scenario] | None = None  # overrides firmware/family
    require_services: bool = False  # raise ServeUnavailable if a service never answers
    skip_unserved: bool = False  # do not boot scenarios needing a service that never answered
    serve_log_level: str = "info"  # bootwright serve --log-level (debug shows dropped datagrams)
    foreign_dhcp: str | None = None  # dnsmasq or dhcpd owns the addresses; bootwright is a proxy (lab/foreign.py)
    placement: str = "apart"  # the foreign server in its own namespace ("apart") or in the lab's ("together")


class ConfigRefused(LabError):
    """The config fails ``bootwright check`` (or cannot run in the lab); nothing was started."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def config_problems(path: Path, foreign_dhcp: str | None = None) -> list[str]:
    """What ``bootwright check`` would refuse, plus what the lab's network cannot serve.

    With ``foreign_dhcp`` another server owns the addresses: every IPv4 subnet must be a proxy one.
    """
    from bootwright.boot.ipxe import check_templates
    from bootwright.boot.policy import hosts_from_config
    from bootwright.config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError as exc:
        return exc.render().splitlines()
    problems = [f"{path}: {p}" for p in check_templates(cfg, hosts_from_config(cfg))]
    if cfg.server.interfaces and BRIDGE not in cfg.server.interfaces:
        problems.append(f"{path}: server.interfaces must include {BRIDGE!r}: the lab's link is called {BRIDGE}")
    for i, s4 in enumerate(cfg.subnet4):
        if ipaddress.ip_address(ADDRESS4) not in ipaddress.ip_network(str(s4.subnet)):
            problems.append(f"{path}: subnet4[{i}] {s4.subnet} does not hold the lab's address {ADDRESS4}")
        if not foreign_dhcp and s4.mode == "proxy":
            problems.append(
                f"{path}: subnet4[{i}] is a proxy subnet, and nothing else gives addresses on the "
                "lab's link: add --foreign-dhcp dnsmasq (or dhcpd)"
            )
        if foreign_dhcp and s4.mode != "proxy":
            problems.append(
                f'{path}: subnet4[{i}] must set mode = "proxy": {foreign_dhcp} gives the addresses '
                "on the lab's link (--foreign-dhcp); two servers handing out addresses is not a proxy run"
            )
    if foreign_dhcp and not cfg.subnet4:
        problems.append(f"{path}: no subnet4 to answer in proxy mode beside {foreign_dhcp} (see examples/proxy.toml)")
    for i, s6 in enumerate(cfg.subnet6):
        if ipaddress.ip_address(ADDRESS6) not in ipaddress.ip_network(str(s6.prefix)):
            problems.append(f"{path}: subnet6[{i}] {s6.prefix} does not hold the lab's address {ADDRESS6}")
    return problems


def check_environment(chosen: list[Scenario], reference: bool, foreign_dhcp: str | None = None) -> None:
    """Root, and every program and firmware file the chosen scenarios (and the foreign server) need."""
    if os.geteuid() != 0:
        raise LabError("bootwright lab needs root: it creates a network namespace and taps (run it with sudo)")
    needed = [*tools.FOR_NETWORK, *tools.FOR_ROOT]
    if any(s.firmware == "bios" for s in chosen):
        needed += tools.FOR_BIOS
    if any(s.firmware not in ("bios", *arm64.FIRMWARES) for s in chosen):
        needed += tools.FOR_EFI
    if arm64.chosen(chosen):
        needed += tools.FOR_ARM64
    if any(s.secure_boot for s in chosen):
        needed += tools.FOR_SECUREBOOT
    if reference:
        needed += tools.FOR_REFERENCE
    if any(s.name.startswith("bmc-") for s in chosen):
        needed += tools.FOR_BMC
    if foreign_dhcp:
        needed += tools.FOR_FOREIGN.get(foreign_dhcp, ())
    tools.require(*needed)
