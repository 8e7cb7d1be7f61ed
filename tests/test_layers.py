"""The package's layers hold and imports stay at module top.

``lint-imports`` checks the layer contract in ``pyproject.toml`` (``[tool.importlinter]``):
a module imports only from layers below its own, so there is no package cycle. An
``ionflow`` import inside a function (outside ``cli/`` and ``testing/``, whose commands and
fakes import on use) hides a dependency from a reader; the few that remain each say why on
their line or the line above, and their number cannot creep back up.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = SRC / "ionflow"
#: packages whose functions may import ionflow modules on use (CLI commands, test fakes)
ON_USE_PACKAGES = ("cli", "testing")
MAX_IN_FUNCTION_IMPORTS = 10

# the `lint-imports` console script, run by the interpreter of this test run
LINT_IMPORTS = (
    "import sys; from importlib.metadata import entry_points; "
    "(ep,) = entry_points(group='console_scripts', name='lint-imports'); "
    "sys.exit(ep.load()())"
)


def test_lint_imports_keeps_the_layer_contract():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def _in_function_imports(package: Path = PACKAGE) -> list[tuple[Path, int, str, bool]]:
    """Return (file, line, module, has a reason comment) of in-function ionflow imports."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] in ON_USE_PACKAGES:
            continue
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            modules = [m for m in modules if m == "ionflow" or m.startswith("ionflow.")]
            in_function = type_checking = False
            parent = node
            while parent in parents:
                parent = parents[parent]
                if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
                    in_function = True
                if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
                    type_checking = True
            if not modules or not in_function or type_checking:
                continue
            around = lines[node.lineno - 2 : node.end_lineno]
            has_reason = any("#" in line for line in around)
            found.extend((path, node.lineno, m, has_reason) for m in modules)
    return found


def test_ionflow_imports_inside_functions_are_few_and_explained():
    found = _in_function_imports()
    where = [f"{p.relative_to(REPO)}:{line} {mod}" for p, line, mod, _ in found]
    assert len(found) <= MAX_IN_FUNCTION_IMPORTS, "\n".join(where)
    unexplained = [w for w, (*_, ok) in zip(where, found, strict=True) if not ok]
    assert not unexplained, "say why on the line or above:\n" + "\n".join(unexplained)


def test_the_counter_sees_an_in_function_import(tmp_path):
    pkg = tmp_path / "ionflow" / "makers"
    pkg.mkdir(parents=True)
    (pkg / "m.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ionflow.stores import x\n"
        "def f():\n"
        "    from ionflow.settings import get_settings\n"
        "    # pulls matplotlib\n"
        "    import ionflow.report.mpl\n"
    )
    (tmp_path / "ionflow" / "cli").mkdir()
    (tmp_path / "ionflow" / "cli" / "c.py").write_text("def g():\n    import ionflow.stores\n")
    found = [(p.name, n, mod, ok) for p, n, mod, ok in _in_function_imports(tmp_path / "ionflow")]
    assert found == [
        ("m.py", 5, "ionflow.settings", False),
        ("m.py", 7, "ionflow.report.mpl", True),
    ]
