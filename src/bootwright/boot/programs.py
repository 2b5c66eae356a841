"""Where a boot program comes from: the root, or the system's iPXE package.

Rule: the decision "this request names a built-in boot program that the root
does not have, so the packaged file is served" is made here and nowhere else.
TFTP (``net/tftp/service.py``) and HTTP (``web/handlers.py``) ask
:func:`fallback_file` after the root had nothing under the name; ``bootwright
check`` asks :func:`programs` what each architecture of the built-in table
would get.

Pixiecore and smee carry iPXE inside their binaries, so an empty root boots.
bootwright takes the system's iPXE package instead (Debian ``ipxe``,
``/usr/lib/ipxe``; ``[boot] ipxe_dir``, ``""`` or ``false`` to turn it off):

* A file in the root always wins: operators pin an iPXE version (or a build
  with an embedded script) by putting it there. The fallback is asked only
  when opening the name in the root found nothing.
* Only the exact names of :data:`FALLBACK_NAMES` — the iPXE programs the
  architecture table names, and the other builds Debian's package installs
  (what ``[boot.files]`` may pick) — are looked up, as bare names at the top
  of the root: ``ipxe.efi``, never ``efi/ipxe.efi``, ``../ipxe.efi`` or
  ``arm64/ipxe.efi`` (an override naming another architecture's directory must
  not get the x86 build). The fallback path is the configured directory plus
  one of those constant names, so nothing a client sends reaches it.
* The package's own symlinks are followed by the callers (Debian's
  ``/usr/lib/ipxe/ipxe.efi`` links to ``/boot/ipxe.efi``): the path is
  configuration, not a client's choice. Only a regular file is served.

Pure: no files are touched here; ``check`` passes in what exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from bootwright.boot.policy import ARCH_TABLE
from bootwright.config import Config

__all__ = [
    "DEBIAN_DIR",
    "FALLBACK_NAMES",
    "PACKAGED",
    "ROOT",
    "Program",
    "Transport",
    "arch_names",
    "fallback_file",
    "ipxe_dir",
    "programs",
    "transport",
    "warning",
]

PACKAGED: Final = ("undionly.kpxe", "undionly.kkpxe", "ipxe.pxe", "ipxe.efi", "snponly.efi", "ipxe.lkrn")
"""The boot programs Debian 12's ``ipxe`` package installs in ``/usr/lib/ipxe`` (``dpkg -L ipxe``).

x86 only: Debian 12 builds no ``ipxe32.efi``, ``ipxe-arm32.efi``, ``ipxe-arm64.efi`` or
``ipxe-riscv64.efi``; those names are still looked up in the directory (another
distribution, or a local build installed there, may have them).
"""

DEBIAN_DIR: Final = "/usr/lib/ipxe"
"""Where Debian's ``ipxe`` package installs :data:`PACKAGED` (the default ``[boot] ipxe_dir``)."""

FALLBACK_NAMES: Final[frozenset[str]] = frozenset(
    {info.file for info in ARCH_TABLE.values() if info.file is not None} | set(PACKAGED)
)
"""The request names that may be served from the iPXE package: exact, bare file names."""

ROOT: Final = "root"
""":attr:`Program.source` of a program the root has."""

Transport = Literal["tftp", "http"]


def ipxe_dir(config: Config) -> str | None:
    """The configured iPXE package directory without a trailing ``/``; ``None`` when the fallback is off."""
    directory = config.boot.ipxe_dir
    if not directory:
        return None
    return directory.rstrip("/") or "/"


def fallback_file(relative: str, directory: str | None) -> str | None:
    """The packaged file to serve for ``relative`` when the root has none, else ``None``.

    ``relative`` is the request path already cleaned and made relative to the
    root (``engine/tftp/paths.resolve_request_path``, ``web/paths.clean_path``);
    ``directory`` is :func:`ipxe_dir`. Anything but an exact
    :data:`FALLBACK_NAMES` name gets ``None``.
    """
    if directory is None or relative not in FALLBACK_NAMES:
        return None
    return directory + relative if directory.endswith("/") else f"{directory}/{relative}"


@dataclass(frozen=True, slots=True)
class Program:
    """One boot program the architecture table gives out, and where it is served from."""

    file: str  # as the table (with [boot.files]) names it, relative to the root
    arches: tuple[int, ...]  # architecture codes (RFC 4578 §2.1, RFC 5970 §3.3) that get it from there
    source: str | None  # ROOT, the packaged file's path, or None: nowhere (these arches cannot boot)
    configured: bool  # named in [boot.files] rather than by the built-in table
    packaged: bool  # a build the iPXE package ships (PACKAGED): installing it would provide the file

    @property
    def missing(self) -> bool:
        """Neither the root nor the iPXE package has it."""
        return self.source is None

    @property
    def worth_a_warning(self) -> bool:
        """Missing, and either the operator named it or the iPXE package would provide it.

        A build no Debian package ships (``ipxe-arm64.efi``) is shown as missing
        but not warned about: otherwise every ``check`` on every machine warns.
        """
        return self.missing and (self.configured or self.packaged)


def programs(config: Config, roots: Mapping[Transport, str], exists: Callable[[str], bool]) -> list[Program]:
    """Every boot program the built-in table (with ``[boot.files]``) gives out, by file and where it comes from.

    ``roots`` are the TFTP and HTTP roots as the services resolve them (UEFI
    HTTP boot architectures fetch over HTTP, the others over TFTP);
    ``exists(path)`` says whether a regular file is at an absolute path (the
    caller's I/O). The root wins over the package. In the order of each
    group's first architecture code.
    """
    files: dict[int, str | None] = {code: info.file for code, info in ARCH_TABLE.items()}
    configured = {int(code): name for code, name in config.boot.files.items() if code.isdigit()}
    files.update(configured)
    directory = ipxe_dir(config)
    groups: dict[tuple[str, str | None], list[int]] = {}
    for code in sorted(files):
        name = (files[code] or "").lstrip("/")
        if not name:
            continue
        root = roots[transport(code)].rstrip("/")
        source: str | None = None
        if exists(f"{root}/{name}"):
            source = ROOT
        else:
            packaged = fallback_file(name, directory)
            if packaged is not None and exists(packaged):
                source = packaged
        groups.setdefault((name, source), []).append(code)
    return [
        Program(name, tuple(codes), source, any(c in configured for c in codes), name in PACKAGED)
        for (name, source), codes in groups.items()
    ]


def transport(code: int) -> Transport:
    """How architecture ``code`` fetches its boot program: HTTP for UEFI HTTP boot, else TFTP."""
    info = ARCH_TABLE.get(code)
    return "http" if info is not None and info.http else "tftp"


def arch_names(codes: tuple[int, ...]) -> str:
    """``x64 UEFI (7, 9), x64 UEFI HTTP (16)``: codes under their registry names, for people."""
    named: dict[str, list[int]] = {}
    for code in codes:
        info = ARCH_TABLE.get(code)
        # "x64 UEFI (sent as EBC by old iPXE/OVMF)" is x64 UEFI to a reader: the parenthesis is history.
        named.setdefault(info.name.split(" (")[0] if info is not None else "architecture", []).append(code)
    return ", ".join(f"{name} ({', '.join(map(str, c))})" for name, c in named.items())


def warning(program: Program, directory: str | None, roots: Mapping[Transport, str]) -> str:
    """The one-line warning for a :attr:`Program.worth_a_warning`: which architectures cannot boot, what to do.

    ``directory`` is :func:`ipxe_dir`; ``roots`` as for :func:`programs`.
    """
    distinct = list(dict.fromkeys(roots[transport(code)] for code in program.arches))
    where = ("the root " if len(distinct) == 1 else "the roots ") + " and ".join(distinct)
    head = f"{arch_names(program.arches)} cannot boot: {program.file}"
    if program.file not in FALLBACK_NAMES:
        return f"{head} ([boot.files]) is not in {where}; put it there"
    if directory is None:
        return f"{head} is not in {where} and boot.ipxe_dir is off; put it in the root, or set boot.ipxe_dir"
    if not program.packaged:
        return f"{head} is in neither {where} nor {directory} (Debian's ipxe has no such build); put it in the root"
    install = "install Debian's ipxe package" if directory == DEBIAN_DIR else f"put it in {directory}"
    return f"{head} is in neither {where} nor {directory}; {install}, or put it in the root"
