"""Fixtures of the lab's end-to-end tests: one lab run per stack, shared by its tests."""

from __future__ import annotations

import pytest
from labrun import PARALLEL, REPO, LabRun

from bootwright.lab import scenarios
from bootwright.lab.runner import LabOptions


@pytest.fixture(scope="session")
def bootwright_run() -> LabRun:
    """The six scenarios against ``bootwright serve --config examples/quickstart.toml``."""
    return LabRun(
        LabOptions(
            config=REPO / "examples" / "quickstart.toml",
            scenarios=list(scenarios.ALL),
            parallel=PARALLEL,
            live=False,
            skip_unserved=True,
        )
    )


@pytest.fixture(scope="session")
def reference_run() -> LabRun:
    """The six scenarios against dnsmasq + a plain HTTP server (validates the lab itself)."""
    return LabRun(LabOptions(reference=True, scenarios=list(scenarios.ALL), parallel=PARALLEL, live=False))
