"""End-to-end: real firmware boots through bootwright in the lab (issue 7).

BIOS (SeaBIOS + iPXE ROM), UEFI PXE (OVMF) and UEFI HTTP boot (OVMF), each over
IPv4 and IPv6, served by ``bootwright serve --config examples/quickstart.toml``;
every VM must reach the marker its initrd prints on the serial console, and
fetch its boot program, script, kernel and initrd over the scenario's family. Plus seed 002's menu,
which must boot its default entry by itself once its 5 s timeout runs out.
"""

from __future__ import annotations

import pytest
from labrun import REPO, LabRun

from bootwright.lab import scenarios
from bootwright.lab.runner import LabOptions
from bootwright.lab.timeline import LABELS, Stage

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", [s.name for s in scenarios.ALL])
def test_scenario_boots(bootwright_run: LabRun, name: str) -> None:
    timeline = bootwright_run.timeline(name)
    assert timeline.ok, f"{timeline.title}: {timeline.stopped_at()}"
    family = scenarios.by_name(name).family
    # The firmware may fall back to the other family (OVMF tries PXE over IPv6 when
    # IPv4 fails): every file must have come over the scenario's own family.
    for stage in (Stage.BOOTPROG, Stage.SCRIPT, Stage.KERNEL, Stage.INITRD):
        if stage in timeline.via:
            assert timeline.via[stage] == family, (
                f"{timeline.title}: {LABELS[stage]} fetched over IPv{timeline.via[stage]}, "
                f"the firmware fell back from IPv{family} {timeline.notes}"
            )


@pytest.fixture(scope="module")
def seed002_run() -> LabRun:
    return LabRun(
        LabOptions(
            config=REPO / "examples" / "seed002-showmax.toml",
            scenarios=[scenarios.by_name("bios4")],
            live=False,
            skip_unserved=True,
        )
    )


def test_seed002_menu_boots_its_default_after_the_timeout(seed002_run: LabRun) -> None:
    timeline = seed002_run.timeline("bios4")
    assert timeline.ok, f"seed 002 menu: {timeline.stopped_at()}"
    assert timeline.detail.get(Stage.KERNEL) == "showmax/vmlinuz", "the default entry 'showmax' was not booted"
    waited = timeline.seen[Stage.KERNEL] - timeline.seen[Stage.SCRIPT]
    assert waited >= 4.5, f"the kernel came {waited:.1f} s after the menu script: the 5 s menu timeout did not run"
