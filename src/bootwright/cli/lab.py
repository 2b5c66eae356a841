"""``bootwright lab``: real firmware in QEMU against bootwright (docs/lab.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def lab(
    firmware: Annotated[
        str,
        typer.Option(
            "--firmware",
            help="bios, efi (UEFI PXE), efihttp (UEFI HTTP), all; secureboot (shim → GRUB), grub, pxelinux "
            "(other boot chains, examples/lab-chains.toml); arm64, arm64http (AAVMF → GRUB, "
            "examples/arm64-grub.toml); nfs (a root over NFSv3, docs/nfs.md) — or bmc: reprovision a "
            "VM through IPMI and Redfish with bootwright boot --reboot (docs/power.md).",
        ),
    ] = "all",
    family: Annotated[str, typer.Option("--family", help="4, 6 or all.")] = "all",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config to serve (default: examples/quickstart.toml; with --foreign-dhcp examples/proxy.toml).",
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep namespace and servers up until Ctrl-C, and the logs.")
    ] = False,
    reference: Annotated[bool, typer.Option("--reference", help="Serve with dnsmasq + a plain HTTP server.")] = False,
    prepare_only: Annotated[bool, typer.Option("--prepare-only", help="Only download and cache the payload.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Payload cache (/var/cache/bootwright-lab).")] = None,
    accel: Annotated[str, typer.Option("--accel", help="auto (KVM if it works), kvm or tcg.")] = "auto",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds each VM may take.")] = 240.0,
    parallel: Annotated[int, typer.Option("--parallel", help="VMs booting at once (0: one per CPU).")] = 0,
    serve_log_level: Annotated[str, typer.Option("--serve-log-level", help="bootwright serve --log-level.")] = "info",
    foreign_dhcp: Annotated[
        str | None,
        typer.Option(
            "--foreign-dhcp",
            help="dnsmasq or dhcpd gives the addresses, bootwright serves in proxy mode (IPv4 scenarios; docs/lab.md).",
        ),
    ] = None,
    placement: Annotated[
        str,
        typer.Option(
            "--placement",
            help="apart: the foreign server in its own namespace on the link; "
            "together: beside bootwright, holding UDP 67 first.",
        ),
    ] = "apart",
) -> None:
    """Boot real firmware in QEMU against bootwright, in an isolated network namespace."""
    from bootwright.lab.command import main as lab_main
    from bootwright.lab.command import options_from_flags

    options = options_from_flags(
        firmware, family, config, keep, reference, cache, accel, timeout, parallel, foreign_dhcp, placement
    )
    options.serve_log_level = serve_log_level
    raise typer.Exit(lab_main(options, prepare_only=prepare_only))


# Commands kept in their own modules: ``hosts``, ``boot`` (cli/hosts.py), ``events`` (cli/events.py).


def register(app: typer.Typer) -> None:
    """Add ``lab`` to the main command."""
    app.command("lab")(lab)
