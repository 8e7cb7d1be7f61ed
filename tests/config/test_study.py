from pathlib import Path

import pytest

from ionflow.cli.demo import demo_study_path
from ionflow.config import load_system
from ionflow.errors import ConfigError

MINIMAL = """
name: t1
structure: {builtin: Li3OCl}
md: {temperatures_K: [1200, 900], production_steps: 10}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_demo_study_validates():
    cfg = load_system(demo_study_path())
    assert cfg.name == "lgps_demo"
    assert cfg.structure.builtin == "Li10GeP2S12"
    assert cfg.supercell.matrix == [1, 1, 1]
    assert cfg.md.temperatures_K == [500.0, 600.0, 750.0, 900.0]
    assert not cfg.defects
    full = load_system(demo_study_path(full=True))
    assert full.md.production_steps > cfg.md.production_steps
    li3ocl = load_system(demo_study_path(li3ocl=True))
    assert li3ocl.name == "li3ocl_schottky_demo"
    assert li3ocl.md.temperatures_K == [1300.0, 1500.0, 1700.0]
    assert li3ocl.defects[0].type == "schottky"
    assert li3ocl.defects[0].species == ["Li", "Cl"]
    li3ocl_full = load_system(demo_study_path(full=True, li3ocl=True))
    assert li3ocl_full.md.production_steps > li3ocl.md.production_steps


def test_minimal_study_defaults_and_sorting(tmp_path):
    cfg = load_system(write(tmp_path, MINIMAL))
    assert cfg.md.temperatures_K == [900.0, 1200.0]
    assert cfg.analysis.specie == "Li"
    assert cfg.relax.enabled is True
    assert cfg.engine is None


def test_relative_structure_path_resolved(tmp_path):
    (tmp_path / "s").mkdir()
    cfg = load_system(write(tmp_path, MINIMAL.replace("{builtin: Li3OCl}", "{file: s/x.cif}")))
    assert cfg.structure.file == (tmp_path / "s" / "x.cif").resolve()


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (("[1200, 900]", "[1200, -5]"), "md.temperatures_K: Value error, temperature -5"),
        (("[1200, 900]", "[900, 900]"), "duplicate temperatures"),
        (("production_steps", "production_stepz"), "md.production_stepz: unknown key"),
        (("name: t1", "name: 'bad name'"), "name: String should match pattern"),
        (("{builtin: Li3OCl}", "{}"), "structure: Value error, give exactly one"),
        (("md:", "engine: gaussian\nmd:"), "engine: Value error, unknown engine 'gaussian'"),
    ],
)
def test_bad_study_names_key(tmp_path, edit, fragment):
    with pytest.raises(ConfigError) as err:
        load_system(write(tmp_path, MINIMAL.replace(*edit)))
    assert fragment in str(err.value)
    assert str(tmp_path / "study.yaml") in str(err.value)


@pytest.mark.parametrize(
    ("text", "fragment"), [("", "file is empty"), ("a: [", "not valid YAML"), ("- 1", "mapping")]
)
def test_unreadable_study_file(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_system(write(tmp_path, text))


def test_missing_study_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_system(tmp_path / "nope.yaml")
