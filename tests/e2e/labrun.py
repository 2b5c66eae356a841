"""Helpers of the lab's end-to-end tests (real firmware in QEMU, in a network namespace).

Each stack boots all its scenarios in one lab run (a session fixture, two VMs
at a time); the tests then read the report. Everything that is not the code
under test being wrong turns into a skip with the reason: not root, a Debian
package missing, the payload not downloadable, or ``bootwright serve`` not
running a service a scenario needs yet.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from bootwright.lab import payload, tools
from bootwright.lab.proc import LabError
from bootwright.lab.runner import LabOptions, LabReport, run_lab
from bootwright.lab.servers import ServeUnavailable
from bootwright.lab.timeline import Timeline

REPO = Path(__file__).resolve().parents[2]
PARALLEL = int(os.environ.get("BOOTWRIGHT_LAB_PARALLEL", "2"))


def environment_problem() -> str | None:
    """Why the lab cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, taps)"
    try:
        tools.require(*tools.FOR_NETWORK, *tools.FOR_ROOT, *tools.FOR_BIOS, *tools.FOR_EFI)
    except LabError as exc:
        return str(exc)
    try:
        payload.prepare(payload.DEFAULT_CACHE, say=None)
    except LabError as exc:
        return f"the lab payload could not be prepared: {exc}"
    return None


class LabRun:
    """One lab run's report, or the reason it could not run."""

    def __init__(self, options: LabOptions):
        self.report: LabReport | None = None
        self.skip: str | None = environment_problem()
        if self.skip is None:
            try:
                self.report = run_lab(options, Console(width=160, force_terminal=False))
            except ServeUnavailable as exc:
                self.skip = str(exc)

    def timeline(self, name: str) -> Timeline:
        """The named scenario's timeline, or a skip saying why it did not boot."""
        if self.skip is not None:
            pytest.skip(self.skip)
        assert self.report is not None
        if name in self.report.skipped:
            pytest.skip(self.report.skipped[name])
        return self.report.by_name()[name]


def foreign_problem(server: str) -> str | None:
    """Why the foreign DHCP server ``server`` (dnsmasq, dhcpd) of a proxy run cannot run here, or None."""
    try:
        tools.require(*tools.FOR_FOREIGN[server])
    except LabError as exc:
        return str(exc)
    return None
