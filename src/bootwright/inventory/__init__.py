"""The host inventory: records, checks, import/export formats and the store-backed :class:`Inventory`.

Pure parts (``records``, ``checks``, ``isc``, ``csvfmt``, ``dnsmasq``,
``zones``, ``formats``) never touch the store; ``service`` ties them to it.
"""

from __future__ import annotations

from bootwright.inventory.checks import check_inventory
from bootwright.inventory.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    IMPORT_KEYS,
    export_hosts,
    guess_format,
    parse_hosts,
    read_hosts,
)
from bootwright.inventory.records import HostInputError, host_from_dict, host_to_dict
from bootwright.inventory.service import HostView, ImportReport, Inventory, InventoryError, Snapshot
from bootwright.inventory.source import ImportedHost, ImportFormatError, ParsedFile

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "IMPORT_KEYS",
    "HostInputError",
    "HostView",
    "ImportFormatError",
    "ImportReport",
    "ImportedHost",
    "Inventory",
    "InventoryError",
    "ParsedFile",
    "Snapshot",
    "check_inventory",
    "export_hosts",
    "guess_format",
    "host_from_dict",
    "host_to_dict",
    "parse_hosts",
    "read_hosts",
]
