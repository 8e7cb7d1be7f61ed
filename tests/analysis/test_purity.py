"""ionflow.analysis is pure: no module reads or writes files or imports ionflow.io."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parents[2] / "src" / "ionflow" / "analysis"

#: called names (functions or methods) that read or write files
FILE_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "from_file",
    "to_file",
    "write_file",
    "loadfn",
    "dumpfn",
    "loadtxt",
    "savetxt",
    "zopen",
    "glob",
    "rglob",
    "iterdir",
    "exists",
    "is_file",
    "is_dir",
    "iread",
    "Vasprun",
    "Xdatcar",
    "Outcar",
    "Locpot",
}
#: modules whose import means file I/O
FILE_MODULES = ("gzip", "bz2", "lzma", "monty.io", "monty.serialization", "ase.io", "ionflow.io")


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


@pytest.mark.parametrize("path", sorted(ANALYSIS.glob("*.py")), ids=lambda p: p.name)
def test_analysis_module_does_no_file_io(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node) in FILE_CALLS:
            found.append(f"line {node.lineno}: calls {_called_name(node)}()")
        for name in _imported(node):
            if name in FILE_MODULES or name.startswith(tuple(f"{m}." for m in FILE_MODULES)):
                found.append(f"line {node.lineno}: imports {name}")
            if name.rsplit(".", 1)[-1] in {"Vasprun", "Xdatcar", "Outcar", "Locpot"}:
                found.append(f"line {node.lineno}: imports {name}")
    assert not found, f"{path.name} does file I/O (move it to ionflow.io): " + "; ".join(found)


def test_the_scan_sees_the_analysis_package():
    assert len(list(ANALYSIS.glob("*.py"))) > 10
