"""What the person running the lab sees: a live table per VM, then the final table.

On a terminal the table is redrawn in place (rich ``Live``); otherwise (CI,
pytest, a pipe) each stage is printed once as a line when it is reached.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bootwright.lab.timeline import LABELS, NOT_SEEN, Stage, Timeline


def stage_cell(timeline: Timeline, stage: Stage) -> Text:
    """One cell: the time a stage was reached, or why it shows none."""
    if stage is Stage.BOOTPROG and not timeline.expects_bootprog:
        return Text("ROM", style="dim")  # SeaBIOS's option ROM is iPXE already
    if stage in timeline.seen:
        return Text(f"{timeline.seen[stage]:.1f} s", style="green")
    if timeline.finished is not None:
        return Text("✗", style="red") if not timeline.ok else Text("·", style="dim")
    return Text("…" if timeline.started is not None else "", style="dim")


def status_cell(timeline: Timeline, now: float) -> Text:
    """Booting/booted/failed, with the reason for a failure."""
    if timeline.started is None:
        return Text("waiting", style="dim")
    if timeline.finished is None:
        return Text(f"booting {now - timeline.started:.0f} s", style="yellow")
    if timeline.ok:
        return Text("booted", style="bold green")
    missing = next((s for s in timeline.stages if s not in timeline.seen), Stage.MARKER)
    return Text(NOT_SEEN[missing], style="bold red")


def table(timelines: list[Timeline], title: str) -> Table:
    """The table of every VM's stages."""
    now = time.time()
    grid = Table(title=title, title_justify="left")
    grid.add_column("VM", style="bold")
    grid.add_column("firmware")
    for stage in Stage:
        grid.add_column(LABELS[stage], justify="right")
    grid.add_column("status", overflow="fold")
    for t in timelines:
        grid.add_row(t.name, t.title, *(stage_cell(t, s) for s in Stage), status_cell(t, now))
    return grid


class LiveView:
    """Redraws the table while VMs boot, or prints stage lines when not on a terminal."""

    def __init__(self, timelines: list[Timeline], console: Console, title: str, live: bool | None = None):
        self.timelines = timelines
        self.console = console
        self.title = title
        self.live_mode = console.is_terminal if live is None else live
        self._live: Live | None = None
        self._printed: set[tuple[str, Stage | str]] = set()

    def __enter__(self) -> LiveView:
        if self.live_mode:
            self._live = Live(
                get_renderable=lambda: table(self.timelines, self.title),
                console=self.console,
                refresh_per_second=4,
                transient=True,
            )
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def refresh(self) -> None:
        """In line mode, print every stage and outcome not printed yet."""
        if self._live is not None:
            return
        for t in self.timelines:
            for stage, seconds in sorted(t.seen.items(), key=lambda item: item[1]):
                if (t.name, stage) not in self._printed:
                    self._printed.add((t.name, stage))
                    detail = f" ({t.detail[stage]})" if stage in t.detail else ""
                    self.console.print(f"  {t.name:<9} {seconds:6.1f} s  {LABELS[stage]}{detail}", highlight=False)
            if t.finished is not None and (t.name, "done") not in self._printed:
                self._printed.add((t.name, "done"))
                self.console.print(f"  {t.name:<9} {'':>8}  {t.stopped_at()}", highlight=False)

    def final(self) -> None:
        """The end-of-run table and one line per failed VM naming where it stopped."""
        self.refresh()
        self.console.print(table(self.timelines, self.title))
        for t in self.timelines:
            if not t.ok:
                self.console.print(f"[red]✗ {t.name}[/red] ({t.title}): {t.stopped_at()}", highlight=False)
