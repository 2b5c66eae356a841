"""ISC dhcpd.conf (``dhcpd -4``) and dhcpd6.conf (``dhcpd -6``) as a bootwright config, its hosts and findings.

Rule: every statement of the file (and of the files it includes) is either
translated — counted in ``Imported.translated`` — or reported as a
:class:`~bootwright.migrate.result.Finding` with its file and line; nothing is
dropped silently. Where a statement goes:

* parameters of the global scope → ``[dhcp4]``/``[dhcp6]``; of a subnet (and
  of the shared-network or group around it) → that ``[[subnet4]]``/``[[subnet6]]``
  (lease times, ``authoritative``, ``next-server``, routers, DNS, domain,
  NTP, option 175 ``ipxe.*`` settings, any other option by code);
* ``range``/``range6``/``pool``/``allow``/``deny`` → pools with ``allow``/``deny``;
* ``host`` blocks → :class:`~bootwright.model.Host` records, read by the
  inventory's own reader (:mod:`bootwright.inventory.isc`);
* ``filename``, ``next-server`` and the boot options inside ``if`` chains and
  ``class`` blocks → ``[[rule]]``s, in dhcpd's order (:mod:`.isc_rules`);
  ``[boot] builtin = false``, because dhcpd answers only what its file says.

dhcpd defaults that differ from bootwright's are written out: ``allow_bootp``
(dhcpd answers BOOTP by default) and ``[dhcp6] rapid_commit`` (dhcpd6 commits
rapidly only with ``option dhcp6.rapid-commit``).

The importer is one object (:class:`~.isc_state.ImportState`); its parts live in
sibling modules by topic: :mod:`.isc_scopes` (the walk), :mod:`.isc_statements`,
:mod:`.isc_options`, :mod:`.isc_conditions` (with :mod:`.isc_parse` and
:mod:`.isc_rules`) and :mod:`.isc_assemble` (the result).
"""

from __future__ import annotations

from bootwright.migrate.isc_assemble import Assembly
from bootwright.migrate.isc_scopes import ScopeWalk
from bootwright.migrate.isc_state import Scope
from bootwright.migrate.result import Imported, Reader


class _Importer(ScopeWalk, Assembly):
    """One dhcpd.conf or dhcpd6.conf, with its includes."""

    def run(self, text: str) -> Imported:
        """Walk ``text`` (the file) from the global scope and assemble the result."""
        top = Scope("global")
        self.scope_units.append((None, top.program))
        self.walk_text(text, top)
        self.finish(top)
        return self.out


def import_dhcpd(text: str, file: str, read: Reader | None = None) -> Imported:
    """An ISC dhcpd.conf (``dhcpd -4``) as bootwright config, hosts and findings; ``read`` reads includes."""
    return _Importer(4, file, read).run(text)


def import_dhcpd6(text: str, file: str, read: Reader | None = None) -> Imported:
    """An ISC dhcpd6.conf (``dhcpd -6``) as bootwright config, hosts and findings; ``read`` reads includes."""
    return _Importer(6, file, read).run(text)
