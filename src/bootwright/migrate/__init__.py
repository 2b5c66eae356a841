"""Taking over an existing set-up: other servers' configs in, bootwright's config out, and back.

Pure (no sockets, no clocks, no file system: a reader callback reaches
included files). Each importer turns one peer's configuration text (ISC
dhcpd/dhcpd6, radvd, BIRD ``protocol radv``, dnsmasq, Kea) into an
:class:`~bootwright.migrate.result.Imported` — a config in the shape of
bootwright's TOML, the hosts, and a :class:`~bootwright.migrate.result.Finding`
for every statement that was not translated exactly. :mod:`.merge` joins the
parts of one site (dhcpd.conf + dhcpd6.conf + radvd.conf) into one config;
:mod:`.render` writes it as TOML. The exporters (``export_*``) write a config
and its inventory back in the peers' formats.
"""
