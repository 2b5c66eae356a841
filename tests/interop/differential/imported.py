"""bootwright-from-the-import: a case's (rewritten) texts through ``bootwright.migrate``'s importers, merged.

The same path ``bootwright import`` takes (importer per file, :func:`merge.merge`,
:func:`render.clean_config`), with the hosts as ``[[host]]`` tables instead of an
inventory CSV, so one config file carries everything ``bootwright serve`` needs.
:func:`round_trip_config` is import(export(x)) for a hand translation x: its
dhcpd.conf, dhcpd6.conf and radvd.conf as ``bootwright export`` writes them, read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tomli_w

from bootwright.boot.policy import hosts_from_config
from bootwright.config import Config, parse_model
from bootwright.migrate import bird, dnsmasq_conf, isc_conf, kea, merge, radvd, render
from bootwright.migrate.export_dhcpd import export_dhcpd, export_dhcpd6
from bootwright.migrate.export_kea import export_kea4, export_kea6
from bootwright.migrate.export_radvd import export_radvd
from bootwright.migrate.exported import Exported
from bootwright.migrate.result import Imported, Reader
from bootwright.model import Host

from .harness import Seed, Sources

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

Exporter = Callable[[Config, list[Host], Sequence[str]], Exported]


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


# The peer formats a hand translation goes out and comes back through: (file name, exporter) per family.
ROUND_TRIPS: dict[str, tuple[tuple[str, Exporter], tuple[str, Exporter]]] = {
    "dhcpd": (("dhcpd.conf", export_dhcpd), ("dhcpd6.conf", export_dhcpd6)),
    "kea": (("kea-dhcp4.conf", export_kea4), ("kea-dhcp6.conf", export_kea6)),
}


def round_trip_config(seed: Seed, config: dict[str, Any], through: str = "dhcpd") -> dict[str, Any]:
    """import(export(``config``)): the seed's hand translation written in ``through``'s format (dhcpd.conf +
    dhcpd6.conf, or Kea's two JSON files) and radvd.conf, with the seed's server addresses for ``{server}``,
    and read back."""
    model = parse_model(tomli_w.dumps(config), seed.example)
    hosts = hosts_from_config(model)
    servers = [seed.server4.split("/")[0], seed.server6.split("/")[0]]
    (name4, export4), (name6, export6) = ROUND_TRIPS[through]
    texts: dict[str, str] = {}
    if model.subnet4:
        texts[name4] = export4(model, hosts, servers).text
    if model.subnet6:
        texts[name6] = export6(model, hosts, servers).text
    if any(s.ra is not None for s in model.subnet6):
        texts["radvd.conf"] = export_radvd(model, hosts).text
    return imported_config(Sources(texts=texts))
