"""Where a boot program comes from (``boot/programs.py``): the root wins, the iPXE package only for exact names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bootwright.boot.policy import ARCH_TABLE
from bootwright.boot.programs import (
    DEBIAN_DIR,
    FALLBACK_NAMES,
    PACKAGED,
    ROOT,
    Program,
    Transport,
    fallback_file,
    ipxe_dir,
    programs,
    warning,
)
from bootwright.boot.timeline import step
from bootwright.config import BootSection, Config, ConfigError, parse_config
from bootwright.model import Event, EventKind

PKG = "/pkg/ipxe"
ROOTS: dict[Transport, str] = {"tftp": "/srv/tftp", "http": "/srv/http"}
ONE_ROOT: dict[Transport, str] = {"tftp": "/r", "http": "/r"}


def config(boot: str = "") -> Config:
    return parse_config(f"[boot]\n{boot}\n")


def test_every_program_of_the_table_and_of_debians_package_is_a_fallback_name() -> None:
    table = {info.file for info in ARCH_TABLE.values() if info.file}
    assert table <= FALLBACK_NAMES and set(PACKAGED) <= FALLBACK_NAMES
    assert {"undionly.kpxe", "ipxe.efi", "snponly.efi", "ipxe.lkrn"} <= FALLBACK_NAMES
    assert all("/" not in name for name in FALLBACK_NAMES)


@pytest.mark.parametrize("name", ["undionly.kpxe", "ipxe.efi", "snponly.efi", "ipxe.lkrn", "ipxe-arm64.efi"])
def test_exact_names_map_to_the_same_name_in_the_package(name: str) -> None:
    assert fallback_file(name, PKG) == f"{PKG}/{name}"


@pytest.mark.parametrize(
    "name",
    [
        "efi/ipxe.efi",  # another directory: [boot.files] may name an arm64 build there, never the x86 one
        "arm64/snponly.efi",
        "../ipxe.efi",
        "./ipxe.efi",
        "ipxe.efi/",
        "/ipxe.efi",  # callers pass the cleaned relative path; a leading slash is not one
        "IPXE.EFI",  # TFTP and HTTP paths are case-sensitive
        "ipxe.efi\0",
        "boot.ipxe",
        "vmlinuz",
        "ipxe.iso",  # in Debian's package, but not a boot program the table hands out
        "",
    ],
)
def test_anything_but_an_exact_name_gets_no_fallback(name: str) -> None:
    assert fallback_file(name, PKG) is None


@given(st.text(max_size=40))
def test_a_fallback_is_always_one_constant_name_inside_the_directory(name: str) -> None:
    got = fallback_file(name, PKG)
    assert got is None or (got.startswith(PKG + "/") and got[len(PKG) + 1 :] in FALLBACK_NAMES)


def test_a_disabled_fallback_serves_nothing() -> None:
    assert fallback_file("ipxe.efi", None) is None
    assert ipxe_dir(config("ipxe_dir = false")) is None
    assert ipxe_dir(config('ipxe_dir = ""')) is None


def test_the_directory_defaults_to_debians_and_loses_a_trailing_slash() -> None:
    assert ipxe_dir(config()) == DEBIAN_DIR == BootSection().ipxe_dir == "/usr/lib/ipxe"
    assert ipxe_dir(config('ipxe_dir = "/opt/ipxe/"')) == "/opt/ipxe"
    assert fallback_file("ipxe.efi", ipxe_dir(config('ipxe_dir = "/"'))) == "/ipxe.efi"


@pytest.mark.parametrize("value", ['"lib/ipxe"', "true"])
def test_a_relative_or_true_directory_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(f"ipxe_dir = {value}")
    [problem] = caught.value.problems
    assert problem.path == "boot.ipxe_dir" and "not an absolute directory" in problem.message


# --------------------------------------------------------------------------- programs (what check shows)


class Files:
    """The ``exists`` check ``programs`` is given: these paths are files; remembers what was asked."""

    def __init__(self, *paths: str) -> None:
        self.paths = set(paths)
        self.asked: list[str] = []

    def __call__(self, path: str) -> bool:
        self.asked.append(path)
        return path in self.paths


def by_file(found: list[Program]) -> dict[str, Program]:
    return {p.file: p for p in found if p.file != "ipxe.efi" or p.arches[0] == 7}


def test_the_root_wins_over_the_package() -> None:
    exists = Files("/srv/tftp/ipxe.efi", "/srv/http/ipxe.efi", f"{PKG}/ipxe.efi", f"{PKG}/undionly.kpxe")
    found = programs(config(f'ipxe_dir = "{PKG}"'), ROOTS, exists)
    got = by_file(found)
    assert got["ipxe.efi"].source == ROOT and got["ipxe.efi"].arches == (7, 9, 16)
    assert got["undionly.kpxe"].source == f"{PKG}/undionly.kpxe"
    assert f"{PKG}/ipxe.efi" not in exists.asked


def test_uefi_http_boot_architectures_look_in_the_http_root() -> None:
    found = programs(config(f'ipxe_dir = "{PKG}"'), ROOTS, Files("/srv/http/ipxe.efi", f"{PKG}/ipxe.efi"))
    efi = [p for p in found if p.file == "ipxe.efi"]
    assert [(p.arches, p.source) for p in efi] == [((7, 9), f"{PKG}/ipxe.efi"), ((16,), ROOT)]


def test_an_empty_root_and_no_package_leaves_every_architecture_missing() -> None:
    found = programs(config(f'ipxe_dir = "{PKG}"'), ROOTS, Files())
    assert found and all(p.missing for p in found)
    warned = {p.file for p in found if p.worth_a_warning}
    assert warned == {"undionly.kpxe", "ipxe.efi", "ipxe.lkrn"}  # what installing the package would fix


def test_a_build_no_package_ships_is_missing_but_not_warned_about() -> None:
    got = by_file(programs(config(), ROOTS, Files("/usr/lib/ipxe/ipxe.efi", "/usr/lib/ipxe/undionly.kpxe",
                                                       "/usr/lib/ipxe/ipxe.lkrn")))  # fmt: skip
    assert got["ipxe-arm64.efi"].missing and got["ipxe-arm64.efi"].arches == (11, 19)
    assert not any(p.worth_a_warning for p in got.values())


def test_an_override_is_looked_up_in_the_root_only_and_warned_about() -> None:
    exists = Files(f"{PKG}/snponly.efi")
    found = programs(config(f'ipxe_dir = "{PKG}"\nfiles = {{ "11" = "arm64/snponly.efi", "7" = "snponly.efi" }}'),
                     ROOTS, exists)  # fmt: skip
    got = {p.file: p for p in found}
    arm = got["arm64/snponly.efi"]
    assert arm.arches == (11,) and arm.missing and arm.configured and arm.worth_a_warning
    assert not any(a.startswith(PKG + "/arm64") for a in exists.asked)
    assert got["snponly.efi"].source == f"{PKG}/snponly.efi" and got["snponly.efi"].arches == (7,)
    assert "ARM 64-bit UEFI (11) cannot boot: arm64/snponly.efi ([boot.files]) is not in the root /srv/tftp" in (
        warning(arm, PKG, ROOTS)
    )


def test_warnings_name_the_architectures_and_what_to_do() -> None:
    efi = Program("ipxe.efi", (7, 9, 16), None, configured=False, packaged=True)
    text = warning(efi, DEBIAN_DIR, ROOTS)
    assert text.startswith("x64 UEFI (7, 9), x64 UEFI HTTP (16) cannot boot: ipxe.efi is in neither the roots "
                           "/srv/tftp and /srv/http nor /usr/lib/ipxe")  # fmt: skip
    assert text.endswith("install Debian's ipxe package, or put it in the root")
    assert warning(efi, PKG, ROOTS).endswith(f"put it in {PKG}, or put it in the root")
    assert "boot.ipxe_dir is off" in warning(efi, None, ONE_ROOT)
    bios = Program("undionly.kpxe", (0,), None, configured=False, packaged=True)
    assert "the root /srv/tftp nor" in warning(bios, DEBIAN_DIR, ROOTS)


def test_the_timeline_says_which_binary_booted() -> None:
    detail = {"file": "ipxe.efi", "size": 1000, "duration": 0.2, "outcome": "complete"}
    packaged = step(Event(1.0, EventKind.TFTP_DONE, "52:54:00:00:00:01", None, {**detail, "source": f"{PKG}/ipxe.efi"}))
    assert packaged.text == f"TFTP sent ipxe.efi (1,000 bytes in 0.20 s) from {PKG}/ipxe.efi"
    plain = step(Event(1.0, EventKind.TFTP_DONE, None, None, detail))
    assert plain.text == "TFTP sent ipxe.efi (1,000 bytes in 0.20 s)"
    http = {"path": "/ipxe.efi", "bytes": 1000, "source": f"{PKG}/ipxe.efi"}
    assert step(Event(1.0, EventKind.HTTP_DOWNLOAD_COMPLETE, None, None, http)).text.endswith(f" from {PKG}/ipxe.efi")
