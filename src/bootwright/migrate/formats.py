"""The importable formats by name, and how a file's format is recognised."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath

from bootwright.migrate.bird import import_bird
from bootwright.migrate.dnsmasq_conf import import_dnsmasq
from bootwright.migrate.isc_conf import import_dhcpd, import_dhcpd6
from bootwright.migrate.kea import import_kea
from bootwright.migrate.radvd import import_radvd
from bootwright.migrate.result import Imported, Reader

Importer = Callable[[str, str, Reader | None], Imported]

IMPORTERS: dict[str, Importer] = {
    "dhcpd": import_dhcpd,  # ISC dhcpd.conf (dhcpd -4)
    "dhcpd6": import_dhcpd6,  # ISC dhcpd6.conf (dhcpd -6)
    "radvd": import_radvd,  # radvd.conf
    "bird": import_bird,  # BIRD 2 `protocol radv`
    "dnsmasq": import_dnsmasq,  # dnsmasq.conf
    "kea": import_kea,  # kea-dhcp4.conf / kea-dhcp6.conf (JSON with comments)
}

# Kea's top-level object (its files allow comments, so they are not read as JSON to be recognised).
_KEA = re.compile(r'"Dhcp[46]"\s*:')
_DHCPD6 = re.compile(r"^\s*(subnet6|range6|prefix6|fixed-address6|option\s+dhcp6\.)", re.M)
_DHCPD = re.compile(r"^\s*(subnet\s+\S+\s+netmask|shared-network|host\s+\S+\s*\{|option\s+space|class\s+\")", re.M)
_RADVD = re.compile(r"\bAdvSendAdvert\b|^\s*interface\s+\S+\s*\{", re.M)
_BIRD = re.compile(r"^\s*protocol\s+radv\b", re.M)
_DNSMASQ = re.compile(r"^\s*(dhcp-range|dhcp-host|dhcp-boot|enable-ra|tftp-root|dhcp-match)\s*=", re.M)


def guess_import_format(filename: str, text: str) -> str | None:
    """The format of a config file by its content (the name only breaks a dhcpd/dhcpd6 tie), or None."""
    name = PurePath(filename).name.lower()
    if _KEA.search(text):
        return "kea"
    if _BIRD.search(text):
        return "bird"
    if _DNSMASQ.search(text):
        return "dnsmasq"
    if (_RADVD.search(text) and "AdvSendAdvert" in text) or "radvd" in name:
        return "radvd"
    if _DHCPD6.search(text) or "dhcpd6" in name:
        return "dhcpd6"
    if _DHCPD.search(text) or "dhcpd" in name:
        return "dhcpd"
    return None
