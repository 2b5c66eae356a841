"""The ``bootwright lab`` command's body (``cli.py`` only declares the flags)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from bootwright.lab import arm64, chains, nfsroot, scenarios
from bootwright.lab import payload as payload_mod
from bootwright.lab.bmcvm import bmc_scenarios
from bootwright.lab.foreign import check_choice
from bootwright.lab.options import ARM64_CONFIG, BMC_CONFIG
from bootwright.lab.proc import LabError
from bootwright.lab.runner import EXIT_ENV, EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigRefused, LabOptions, run_lab
from bootwright.lab.servers import ServeUnavailable


def main(options: LabOptions, *, prepare_only: bool = False, console: Console | None = None) -> int:
    """Run the lab (or only prepare the payload); print results; return the exit code."""
    out = console or Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=max(out.width, 132))  # logs and CI: room for the table
    err = Console(stderr=True, highlight=False)
    try:
        if prepare_only:
            if os.geteuid() != 0:
                raise LabError("preparing the lab payload needs root (apt-get download into the cache)")
            payload_mod.prepare(options.cache, say=lambda s: out.print(s, highlight=False))
            chains.prepare(options.cache, say=lambda s: out.print(s, highlight=False))  # shim, GRUB, pxelinux
            return EXIT_OK
        try:
            if options.foreign_dhcp:
                check_choice(options.foreign_dhcp, options.placement)
                if options.reference or options.firmware == "bmc":
                    what = "--reference" if options.reference else "--firmware bmc"
                    raise ValueError(f"--foreign-dhcp runs bootwright in proxy mode: it has no {what} run")
                scenarios.select(options.firmware, options.family, proxy=True)
            elif options.placement != "apart":
                raise ValueError("--placement places the foreign DHCP server: it needs --foreign-dhcp")
            elif options.firmware in chains.GROUPS:
                if options.reference:
                    raise ValueError(f"--firmware {options.firmware} boots bootwright's own config: no --reference run")
                options.scenarios = list(chains.select(options.firmware, options.family))
                options.config = options.config or chains.CONFIG
            elif options.firmware in arm64.FIRMWARES:
                if options.reference:
                    raise ValueError(f"--firmware {options.firmware} boots Debian's arm64 GRUB: no --reference run")
                options.scenarios = arm64.select(options.firmware, options.family)
                options.config = options.config or ARM64_CONFIG
            elif options.firmware == "nfs":
                if options.reference or options.config is not None:
                    what = "--reference" if options.reference else "--config"
                    raise ValueError(f"--firmware nfs writes its own config (lab/nfsroot.py): drop {what}")
                options.scenarios = [nfsroot.SCENARIO]
            elif options.firmware == "bmc":
                if options.reference:
                    raise ValueError("--firmware bmc drives bootwright's own commands: it has no --reference run")
                options.scenarios = list(bmc_scenarios())
                options.config = options.config or BMC_CONFIG
            else:
                scenarios.select(options.firmware, options.family)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            return EXIT_USAGE
        report = run_lab(options, out)
    except ConfigRefused as exc:
        for line in exc.problems:
            err.print(f"[red]error:[/red] {line}", soft_wrap=True)
        err.print("lab: the config was refused before any VM started (see 'bootwright check')")
        return EXIT_USAGE
    except ServeUnavailable as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        err.print("lab: try the reference stack meanwhile: bootwright lab --reference")
        return EXIT_ENV
    except LabError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return EXIT_ENV
    if report.ok:
        out.print(f"[green]lab: all {len(report.timelines)} VM(s) reached the marker[/green]")
        return EXIT_OK
    failed = [t for t in report.timelines if not t.ok]
    out.print(f"[red]lab: {len(failed)} of {len(report.timelines)} VM(s) did not boot[/red]")
    return EXIT_FAILED


def options_from_flags(
    firmware: str,
    family: str,
    config: Path | None,
    keep: bool,
    reference: bool,
    cache: Path | None,
    accel: str,
    timeout: float,
    parallel: int,
    foreign_dhcp: str | None = None,
    placement: str = "apart",
) -> LabOptions:
    """LabOptions from the command-line flags."""
    return LabOptions(
        firmware=firmware,
        family=family,
        config=config,
        keep=keep,
        reference=reference,
        cache=cache or payload_mod.DEFAULT_CACHE,
        accel=accel,
        timeout=timeout,
        parallel=parallel,
        foreign_dhcp=foreign_dhcp,
        placement=placement,
    )


__all__ = ["EXIT_ENV", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main", "options_from_flags"]
