"""One lab VM: its QEMU process, its serial console, its timeline.

A VM can boot more than once (:meth:`VM.next_boot`): the same machine — MAC,
bridge port, SMBIOS UUID — with a fresh timeline and its own files
(``bios4.serial.log`` for the first boot, ``bios4-2.serial.log`` for the second …).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import IO

from bootwright.lab import qemu
from bootwright.lab.netns import Namespace
from bootwright.lab.proc import Managed
from bootwright.lab.scenarios import Scenario
from bootwright.lab.sources import SerialParser
from bootwright.lab.timeline import Timeline

POLL = 0.25  # seconds between serial console reads


class VM:
    """A scenario's QEMU guest on its own bridge port."""

    def __init__(self, scenario: Scenario, ns: Namespace, work: Path, marker: str, accel: str):
        self.scenario = scenario
        self.ns = ns
        self.work = work
        self.accel = accel
        self.marker = marker
        self.tap = ns.add_tap(scenario.family)
        self.boots = 0
        self.proc: Managed | None = None
        self.next_boot()

    def next_boot(self) -> Timeline:
        """Make the next :meth:`boot` a new boot of this machine: a fresh timeline, serial log and parser."""
        if self.proc is not None and self.proc.running:
            raise RuntimeError(f"{self.scenario.name} is still running")
        self.boots += 1
        s = self.scenario
        self.stem = s.name if self.boots == 1 else f"{s.name}-{self.boots}"
        self.serial_log = self.work / f"{self.stem}.serial.log"
        title = s.title if self.boots == 1 else f"{s.title}, boot {self.boots}"
        self.timeline = Timeline(s.name, title, s.mac, s.has_boot_program)
        self.parser = SerialParser(self.marker)
        self.proc = None
        self._offset = 0
        return self.timeline

    async def boot(self, timeout: float, stall: float) -> Timeline:
        """Start QEMU and watch until the marker, QEMU's exit, ``timeout`` seconds in all, or
        ``stall`` seconds without a new stage after the first one; then stop it."""
        if self.timeline.started is not None:
            raise RuntimeError(f"{self.scenario.name} booted already: call next_boot() first")
        # One variable store per machine, kept across its boots (as its NVRAM would be).
        vars_copy = qemu.vars_copy_path(self.work, self.scenario.name) if self.scenario.firmware != "bios" else None
        cmd = qemu.command(self.scenario, self.tap, self.serial_log, vars_copy, self.accel)
        (self.work / f"{self.stem}.qemu.cmd").write_text(" ".join(cmd) + "\n")
        self.serial_log.touch()
        qemu_log = (self.work / f"{self.stem}.qemu.log").open("wb")
        try:
            self.timeline.started = time.time()
            await self.power_on(cmd, qemu_log)
            deadline = time.monotonic() + timeout
            progress, last_count = time.monotonic(), 0
            while True:
                self.read_serial()
                if self.timeline.ok:
                    # The init powers off; give QEMU a moment to exit on its own.
                    exited = await self.wait_off(5.0)
                    self.timeline.outcome = "booted" if exited else "booted (QEMU stopped)"
                    break
                if not self.running:
                    self.read_serial()
                    if not self.timeline.ok:
                        self.timeline.outcome = self.off_reason()
                    break
                if self.parser.dead_end:
                    await asyncio.sleep(1.0)  # let the last server lines arrive
                    self.timeline.outcome = f"firmware gave up ({self.parser.dead_end})"
                    break
                now = time.monotonic()
                if len(self.timeline.seen) != last_count:
                    progress, last_count = now, len(self.timeline.seen)
                if now > deadline:
                    self.timeline.outcome = f"timed out after {timeout:.0f} s"
                    break
                if last_count and now - progress > stall:
                    self.timeline.outcome = f"no progress for {stall:.0f} s"
                    break
                await asyncio.sleep(POLL)
        finally:
            await self.stop()
            qemu_log.close()
            self.read_serial()
            self.timeline.finished = time.time()
        return self.timeline

    # -- the power button: QEMU started and stopped by the lab (a BMC-powered VM overrides these) --
    async def power_on(self, cmd: list[str], log: IO[bytes]) -> None:
        """Start the machine: QEMU inside the namespace."""
        self.proc = await Managed.start(
            f"qemu {self.scenario.name}", [*self.ns.exec_prefix(), *cmd], stdout=log, stderr=log
        )

    @property
    def running(self) -> bool:
        """Whether the machine is (still) on."""
        return self.proc is not None and self.proc.running

    async def wait_off(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the machine to power itself off; whether it did."""
        return self.proc is not None and await _wait(self.proc, seconds) is not None

    def off_reason(self) -> str:
        """Why the machine stopped before the marker."""
        code = self.proc.proc.returncode if self.proc is not None else None
        return f"QEMU exited with code {code}"

    def read_serial(self) -> None:
        """Feed new console output to the parser and the timeline."""
        try:
            with self.serial_log.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return
        if not data:
            return
        self._offset += len(data)
        stages, problems = self.parser.feed(data.decode(errors="replace"))
        now = time.time()
        for stage, detail in stages:
            self.timeline.mark(stage, now, detail)
        for problem in problems:
            self.timeline.note(problem)

    async def stop(self) -> None:
        """Stop QEMU if it still runs."""
        if self.proc is not None:
            await self.proc.stop()

    async def close(self) -> None:
        """Stop the machine and whatever else belongs to it (the lab session ends)."""
        await self.stop()


async def _wait(proc: Managed, seconds: float) -> int | None:
    try:
        return await asyncio.wait_for(proc.proc.wait(), seconds)
    except TimeoutError:
        return None
