"""Study files: systems, merging, --quick, optional systems and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ionflow.config.study_file import deep_merge, load_study
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
    full = load_study(path)
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
    quick = load_study(path, quick=True)
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
    design = load_study(_write(tmp_path, BASE))
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
        load_study(_write(tmp_path, text), quick="commons" in text)


def test_quick_without_block_and_no_system_left(tmp_path):
    no_quick = BASE[: BASE.index("quick:")]
    with pytest.raises(ConfigError, match="--quick needs a 'quick:' block"):
        load_study(_write(tmp_path, no_quick), quick=True)
    only_optional = "name: x\nsystems:\n  c: {optional: true, structure: {file: nope.cif}}\n"
    with pytest.raises(ConfigError, match="no system left to run"):
        load_study(_write(tmp_path, only_optional))


def test_a_file_without_systems_is_a_study_of_one_system(tmp_path):
    text = (
        "name: one\nstructure: {builtin: Li3OCl}\nengine: vasp\n"
        "md: {temperatures_K: [800], production_steps: 1000}\n"
        "quick: {engine: mlip, md: {production_steps: 50}}\n"
    )
    study = load_study(_write(tmp_path, text))
    (system,) = study.systems
    assert (study.name, system.key, system.study.name) == ("one", "main", "one")
    assert (system.study.engine, system.study.md.production_steps) == ("vasp", 1000)
    assert system.sections == ["md"]
    assert study.sections() == ["md"]
    quick = load_study(_write(tmp_path, text), quick=True)
    assert quick.quick
    assert (quick.systems[0].study.engine, quick.systems[0].study.md.production_steps) == (
        "mlip",
        50,
    )
    with pytest.raises(ConfigError, match="--quick needs a 'quick:' block"):
        load_study(_write(tmp_path, text.replace("quick:", "#")), quick=True)
