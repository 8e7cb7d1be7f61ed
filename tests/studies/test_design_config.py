"""Design-study files: merging, --quick, optional systems and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ionflow.config.design import deep_merge, is_design_file, load_design
from ionflow.errors import ConfigError

BASE = """
name: demo
design: li3ocl
engine: vasp
common:
  structure: {builtin: Li3OCl}
  supercell: {matrix: [3, 3, 3]}
  md: {temperatures_K: [800, 1000], production_steps: 1000}
systems:
  a: {defects: [{type: vacancy, species: [Li]}], notes: one vacancy}
  b: {md: {temperatures_K: [600]}}
  c: {optional: true, structure: {file: missing.cif}}
quick:
  engine: mlip
  common: {supercell: {matrix: [2, 2, 2]}, md: {production_steps: 100}}
  systems: {b: null}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(text)
    return path


def test_deep_merge_merges_mappings_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    out = deep_merge(base, {"a": {"y": [3], "z": None}, "c": 2})
    assert out == {"a": {"x": 1, "y": [3], "z": None}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # inputs untouched


def test_full_and_quick_settings(tmp_path):
    path = _write(tmp_path, BASE)
    assert is_design_file(path)
    full = load_design(path)
    assert [s.key for s in full.systems] == ["a", "b"]
    assert "missing.cif" in full.skipped["c"]
    a, b = full.systems
    assert a.study.name == "demo-a"
    assert a.study.engine == "vasp"
    assert a.study.supercell.matrix == [3, 3, 3]
    assert a.study.md.temperatures_K == [800.0, 1000.0]
    assert a.study.description == "one vacancy"
    assert b.study.md.temperatures_K == [600.0]
    assert b.study.md.production_steps == 1000  # merged with common md
    quick = load_design(path, quick=True)
    assert quick.quick
    assert [s.key for s in quick.systems] == ["a"]
    assert quick.skipped["b"] == "left out of --quick"
    (qa,) = quick.systems
    assert qa.study.engine == "mlip"
    assert qa.study.supercell.matrix == [2, 2, 2]
    assert qa.study.md.production_steps == 100
    assert qa.study.md.temperatures_K == [800.0, 1000.0]


def test_optional_system_runs_when_its_file_exists(tmp_path):
    from ionflow.structures.prototypes import build_prototype

    build_prototype("Li3OCl").to(filename=str(tmp_path / "missing.cif"))
    design = load_design(_write(tmp_path, BASE))
    assert [s.key for s in design.systems] == ["a", "b", "c"]
    assert design.systems[2].study.structure.file == (tmp_path / "missing.cif").resolve()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (BASE.replace("design: li3ocl", "desing: li3ocl"), "unknown key"),
        (BASE.replace("  b: {md:", "  b: {mdd:"), r"systems\.b: mdd: unknown key"),
        (BASE.replace("temperatures_K: [600]", "temperatures_K: [-6]"), r"systems\.b: md"),
        (BASE.replace("  common: {supercell", "  commons: {supercell"), "in 'quick'"),
        ("name: x\nsystems: {}\n", "'systems' must map"),
    ],
)
def test_bad_design_files_name_the_problem(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_design(_write(tmp_path, text), quick="commons" in text)


def test_quick_without_block_and_no_system_left(tmp_path):
    no_quick = BASE[: BASE.index("quick:")]
    with pytest.raises(ConfigError, match="--quick needs a 'quick:' block"):
        load_design(_write(tmp_path, no_quick), quick=True)
    only_optional = "name: x\nsystems:\n  c: {optional: true, structure: {file: nope.cif}}\n"
    with pytest.raises(ConfigError, match="no system left to run"):
        load_design(_write(tmp_path, only_optional))
