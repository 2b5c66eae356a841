"""Proof by difference: each seed's real daemons and bootwright answer the same client set alike.

For every seed with config files in ``tests/data/migrate/seedNNN/``, ISC
``dhcpd -4``/``-6``, ``radvd`` or BIRD run on the seed's own text (addresses
rewritten to documentation ranges, :data:`harness.REWRITES`) and answer the
client set of :mod:`.clientset` (DHCPv4 and DHCPv6, direct and relayed, an RS via
``rdisc6``); then ``bootwright serve`` answers the same clients on

- the hand translation ``examples/seedNNN-*.toml``, and
- the import of the same texts (``bootwright.migrate``: ``import_dhcpd``,
  ``import_dhcpd6``, ``import_radvd``, ``import_bird``, merged), and
- import(export(hand translation)): the example written as dhcpd.conf +
  dhcpd6.conf, or as Kea's two JSON files, and radvd.conf by ``bootwright
  export`` and read back — the round trip answers as the seed's daemons, so as
  the example does.

Every field that differs must be explained in :data:`known.KNOWN_DIFFERENCES`;
the table of differences is printed either way (``pytest -s`` shows it). The
real daemons run once per seed (module-scoped cache) for both cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from netns import require_module

from .compare import Observations, Report, compare, unexplained
from .harness import (
    MIGRATE_DATA,
    SEEDS,
    Seed,
    Sources,
    example_config,
    load_sources,
    run_bootwright,
    run_reference,
    serving,
)
from .imported import imported_config, round_trip_config
from .known import KNOWN_DIFFERENCES

pytestmark = pytest.mark.interop

require_module(("dhcpd", "radvd", "bird", "rdisc6"))

Reference = Callable[[Seed], tuple[Sources, Observations]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """The real daemons' observations per seed, computed once for the module."""
    cache: dict[str, tuple[Sources, Observations]] = {}

    def get(seed: Seed) -> tuple[Sources, Observations]:
        if seed.name not in cache:
            sources = load_sources(seed)
            if not sources.texts:
                pytest.skip(f"no config files in {MIGRATE_DATA / seed.name}")
            cache[seed.name] = (sources, run_reference(seed, sources, tmp_path_factory.mktemp(seed.name)))
        return cache[seed.name]

    yield get


@pytest.fixture(scope="module")
def example_answers() -> dict[str, Observations]:
    """bootwright's observations on each seed's hand translation, kept for the round trip to compare with."""
    return {}


def _check(seed: Seed, reference: Reference, config: dict[str, Any], work: Path) -> Observations:
    sources = load_sources(seed)
    with serving(seed, sources, config, work) as observe_bootwright:  # starts while the daemons answer
        sources, ref = reference(seed)
        ours = observe_bootwright()
    report = Report(seed.name, ref, ours, compare(seed.name, ref, ours, KNOWN_DIFFERENCES))
    print(report.text())
    bad = unexplained(report.differences)
    assert not bad, f"{len(bad)} unexplained differences (fix bootwright or explain them in known.py):\n{report.text()}"
    return ours


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
def test_the_example_answers_as_the_seeds_daemons(
    seed: Seed, reference: Reference, example_answers: dict[str, Observations], tmp_path: Path
) -> None:
    example_answers[seed.name] = _check(seed, reference, example_config(seed), tmp_path)


# --------------------------------------------------------------------------- bootwright-from-the-import


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
def test_the_import_answers_as_the_seeds_daemons(seed: Seed, reference: Reference, tmp_path: Path) -> None:
    _check(seed, reference, imported_config(load_sources(seed)), tmp_path)


# --------------------------------------------------------------------------- import(export(example))


@pytest.mark.parametrize("through", ["dhcpd", "kea"])
@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
def test_the_example_exported_and_imported_back_answers_as_the_seeds_daemons(
    seed: Seed, through: str, reference: Reference, example_answers: dict[str, Observations], tmp_path: Path
) -> None:
    again = _check(seed, reference, round_trip_config(seed, example_config(seed), through), tmp_path / "trip")
    if seed.name not in example_answers:  # run alone (-k): the example's own answers first
        example_answers[seed.name] = run_bootwright(seed, load_sources(seed), example_config(seed), tmp_path / "x")
    # Not only explained: field for field what the example itself answers.
    example = example_answers[seed.name]
    differ = {
        (key, name): (example.get(key, {}).get(name), again.get(key, {}).get(name))
        for key in example.keys() | again.keys()
        for name in example.get(key, {}).keys() | again.get(key, {}).keys()
        if example.get(key, {}).get(name) != again.get(key, {}).get(name)
    }
    assert not differ, "\n".join(f"{k}: example {a!r}, round trip {b!r}" for k, (a, b) in sorted(differ.items()))
