"""bootwright-from-the-import: a case's (rewritten) texts through ``bootwright.migrate``'s importers, merged.

The same path ``bootwright import`` takes (importer per file, :func:`merge.merge`,
:func:`render.clean_config`), with the hosts as ``[[host]]`` tables instead of an
inventory CSV, so one config file carries everything ``bootwright serve`` needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bootwright.migrate import bird, dnsmasq_conf, isc_conf, kea, merge, radvd, render
from bootwright.migrate.result import Imported, Reader
from bootwright.model import Host

from .harness import Sources

IMPORTERS: dict[str, Callable[[str, str, Reader | None], Imported]] = {
    "dhcpd.conf": isc_conf.import_dhcpd,
    "dhcpd6.conf": isc_conf.import_dhcpd6,
    "radvd.conf": radvd.import_radvd,
    "bird.conf": bird.import_bird,
    "kea-dhcp4.conf": kea.import_kea,
    "kea-dhcp6.conf": kea.import_kea,
    "dnsmasq.conf": dnsmasq_conf.import_dnsmasq,
}
"""The importer of each source file, in the order the files are joined (the first file's values win)."""


def host_entry(host: Host) -> dict[str, Any]:
    """An imported inventory host as a ``[[host]]`` table of the config (``config.HostEntry``)."""
    entry: dict[str, Any] = {"name": host.name, "mac": list(host.macs)}
    for key in ("ipv4", "ipv6", "target", "next_server", "bootfile", "menu_default"):
        if (value := getattr(host, key)) is not None:
            entry[key] = value
    if host.duid is not None:
        entry["duid"] = host.duid.hex(":")
    if host.groups:
        entry["groups"] = list(host.groups)
    if host.options:
        entry["options"] = {str(code): text for code, text in host.options}
    if host.variables:
        entry["vars"] = dict(host.variables)
    return entry


def imported(sources: Sources) -> Imported:
    """The case's texts through their importers, merged (radvd's when a case has both RA daemons' files)."""

    def read(path: str) -> str:
        if path not in sources.includes:
            raise OSError(f"{path}: not part of the case")
        return sources.includes[path]

    names = [n for n in IMPORTERS if n in sources.texts and not (n == "bird.conf" and "radvd.conf" in sources.texts)]
    return merge.merge(IMPORTERS[name](sources.texts[name], name, read) for name in names)


def imported_config(sources: Sources) -> dict[str, Any]:
    """The merged import as one config dict in TOML shape, hosts as ``[[host]]``."""
    merged = imported(sources)
    config: dict[str, Any] = render.clean_config(merged.config)
    if merged.hosts:
        config["host"] = [*config.get("host", []), *map(host_entry, merged.hosts)]
    return config
