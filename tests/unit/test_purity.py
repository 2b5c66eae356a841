"""The pure layers never import I/O or clocks (docs: ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "bootwright"
PURE = [
    *sorted((SRC / "wire").glob("*.py")),
    *sorted((SRC / "engine").glob("*.py")),
    *sorted(p for p in (SRC / "inventory").glob("*.py") if p.name != "service.py"),
] + [
    SRC / name
    for name in (
        "model.py", "policy.py", "ipxe.py", "ipxe_options.py", "answer.py", "bootloaders.py", "oneshot.py",
        "timeline.py",
    )
]
FORBIDDEN = {"asyncio", "socket", "time", "random", "selectors", "threading", "subprocess"}
# The TFTP file adaptor is the one engine module allowed to touch the file system.
ALLOWED_OS = {"tftp_files.py"}


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module.split(".")[0]]
        bad = set(names) & FORBIDDEN
        assert not bad, f"{path.name} imports {bad} at line {node.lineno}"
        if path.name not in ALLOWED_OS and path.parent.name == "wire":
            assert "os" not in names, f"{path.name} imports os at line {node.lineno}"
