"""Proof by difference on the importer's own test configs: the real daemons and bootwright-from-the-import agree.

tests/data/migrate/own holds a config per daemon covering every construct the
importers translate. Each case (:data:`harness.CASES`) runs them in the real
daemons — ISC ``dhcpd -4``/``-6`` with ``radvd``; ``kea-dhcp4``/``kea-dhcp6``; dnsmasq —
and ``bootwright serve`` on their import (:mod:`.imported`), sends both the
client set (direct, relayed with and without the option 82 identities the
config matches, DHCPv6 direct and relayed, an RS) and compares field by field. Every difference
must be explained in :data:`known.KNOWN_DIFFERENCES`; a ``BUG:`` reason marks
one that is bootwright's or the importer's fault, not intended.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from netns import require_module

from .compare import Report, compare, unexplained
from .harness import CASES, Seed, load_sources, run_reference, serving
from .imported import imported_config
from .known import KNOWN_DIFFERENCES

pytestmark = pytest.mark.interop

require_module(("dhcpd", "radvd", "rdisc6", "kea-dhcp4", "kea-dhcp6", "dnsmasq"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_import_answers_as_the_daemons(case: Seed, tmp_path: Path) -> None:
    sources = load_sources(case)
    with serving(case, sources, imported_config(sources), tmp_path / "bootwright") as observe_bootwright:
        ref = run_reference(case, sources, tmp_path / "reference")  # bootwright starts meanwhile
        ours = observe_bootwright()
    report = Report(case.name, ref, ours, compare(case.name, ref, ours, KNOWN_DIFFERENCES))
    print(report.text())
    bad = unexplained(report.differences)
    assert not bad, f"{len(bad)} unexplained differences (fix bootwright or explain them in known.py):\n{report.text()}"
