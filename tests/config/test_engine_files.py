"""Engine files (configs/engines/*.yaml) and a study's ``engine_config``: loaded, checked, used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ionflow.config import load_system
from ionflow.config.base import deep_merge
from ionflow.config.engine import load_engine_config
from ionflow.engines import get_engine
from ionflow.engines.base import adapter_options
from ionflow.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
ENGINE_DIR = REPO / "configs" / "engines"

STUDY = """
name: t_engine
structure: {{builtin: Li3OCl}}
{engine}engine_config: {path}
engine_overrides: {overrides}
supercell: {{matrix: [2, 2, 2]}}
md: {{temperatures_K: [900, 1200], production_steps: 10, equilibration_steps: 0}}
"""


def write_study(tmp_path: Path, path: str, engine: str | None = None, overrides: str = "{}"):
    """Write a study in tmp/studies/ next to a copy of the shipped engine files in tmp/engines/."""
    if not (tmp_path / "engines").exists():
        shutil.copytree(ENGINE_DIR, tmp_path / "engines")
    (tmp_path / "studies").mkdir(exist_ok=True)
    study = tmp_path / "studies" / "study.yaml"
    line = f"engine: {engine}\n" if engine else ""
    study.write_text(STUDY.format(engine=line, path=path, overrides=overrides))
    return study


@pytest.mark.parametrize("name", ["mlip", "vasp", "cp2k"])
def test_shipped_engine_file_builds_its_adapter(name, tmp_path):
    cfg = load_engine_config(ENGINE_DIR / f"{name}.yaml")
    assert cfg.engine == name
    assert cfg.description
    assert set(cfg.adapter) <= adapter_options(name)
    kwargs = dict(cfg.adapter)
    if name == "cp2k":
        kwargs["data_dir"] = str(tmp_path)  # the generators check pymatgen's CP2K folder
    engine = get_engine(name, **kwargs)
    assert engine.name == name
    for key, value in kwargs.items():
        assert getattr(engine, key) == value


def test_shipped_vasp_file_reaches_the_incar(li3ocl):
    cfg = load_engine_config(ENGINE_DIR / "vasp.yaml")
    engine = get_engine("vasp", **cfg.adapter)
    md = engine.md_maker(
        temperature_K=900, n_steps=10, time_step_fs=2.0, overrides=dict(cfg.overrides)
    )
    incar = md.input_set_generator.get_input_set(li3ocl, potcar_spec=True).incar
    assert (incar["ENCUT"], incar["ISMEAR"], incar["SIGMA"]) == (520, 0, 0.05)
    assert (incar["EDIFF"], incar["NELM"], incar["LREAL"]) == (1e-5, 100, "Auto")
    assert (incar["TEBEG"], incar["NSW"], incar["MDALGO"]) == (900, 10, 2)
    relax = engine.relax_maker(fmax_eV_A=0.03)
    incar = relax.input_set_generator.get_input_set(li3ocl, potcar_spec=True).incar
    assert incar["ENCUT"] == 520  # one cutoff for relax and MD (atomate2's relax set: 680)
    assert incar["EDIFFG"] == -0.03


def test_shipped_cp2k_file_reaches_the_generator(tmp_path):
    cfg = load_engine_config(ENGINE_DIR / "cp2k.yaml")
    engine = get_engine("cp2k", **{**cfg.adapter, "data_dir": str(tmp_path)})
    md = engine.md_maker(
        temperature_K=600, n_steps=5, time_step_fs=1.0, overrides=dict(cfg.overrides)
    )
    uis = md.input_set_generator.user_input_settings
    assert (uis["cutoff"], uis["rel_cutoff"], uis["eps_scf"], uis["max_scf"]) == (300, 40, 1e-5, 50)
    assert uis["override_default_params"]["FORCE_EVAL"]["DFT"]["CHARGE"] == 0


@pytest.mark.cp2k
def test_shipped_cp2k_file_writes_a_cp2k_input(li3ocl):
    from ionflow.engines.cp2k import pymatgen_cp2k_settings
    from ionflow.testing.cp2k import cp2k_available, ensure_pmg_cp2k_data

    assert cp2k_available(), "CP2K's data files are required (apt install cp2k)"
    cfg = load_engine_config(ENGINE_DIR / "cp2k.yaml")
    engine = get_engine("cp2k", **{**cfg.adapter, "data_dir": str(ensure_pmg_cp2k_data())})
    md = engine.md_maker(
        temperature_K=600, n_steps=5, time_step_fs=1.0, overrides=dict(cfg.overrides)
    )
    with pymatgen_cp2k_settings(engine.data_dir, "PBE"):
        text = md.input_set_generator.get_input_set(li3ocl).cp2k_input.get_str()
    assert "CUTOFF 300" in text
    assert "REL_CUTOFF 40" in text
    assert "EPS_SCF 1e-05" in text.replace("1.0e-05", "1e-05")
    assert "SZV-MOLOPT-SR-GTH" in text


def test_study_engine_file_reaches_the_built_flow(tmp_path):
    from ionflow.config.study_file import Study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    engine_file = tmp_path / "engines" / "site_vasp.yaml"
    engine_file.parent.mkdir()
    engine_file.write_text(
        "engine: vasp\n"
        "adapter: {vasp_cmd: srun -n 4 vasp_std, vasp_gamma_cmd: srun -n 4 vasp_gam,\n"
        "          wall_time_s: 7200, incar: {ENCUT: 450}}\n"
        "overrides: {EDIFF: 1.0e-5, NELM: 100}\n"
    )
    study = write_study(tmp_path, "../engines/site_vasp.yaml", "vasp", "{NELM: 60, ALGO: Normal}")
    config = load_system(study)
    assert config.engine_config == engine_file.resolve()
    assert config.engine_overrides == {"EDIFF": 1e-5, "NELM": 60, "ALGO": "Normal"}
    built = build_study(Study.of_one_system(config), get_settings())
    flow, meta = built.flow, built.meta
    jobs = {job.name: job for job, _ in flow.iterflow()}
    relax = jobs["relax cell"].function.__self__
    kwargs = dict(relax.run_vasp_kwargs)
    handlers = kwargs.pop("handlers")
    assert kwargs == {"vasp_cmd": "srun -n 4 vasp_std", "vasp_gamma_cmd": "srun -n 4 vasp_gam"}
    assert type(handlers[-1]).__name__ == "WalltimeHandler"  # the engine file's walltime
    assert handlers[-1].wall_time == 7200
    relax_incar = relax.input_set_generator.user_incar_settings
    assert relax_incar["ENCUT"] == 450
    # the study's merged engine_overrides reach the cell relaxation as they reach the MD
    assert (relax_incar["EDIFF"], relax_incar["NELM"], relax_incar["ALGO"]) == (1e-5, 60, "Normal")
    assert (relax_incar["ISIF"], relax_incar["EDIFFG"]) == (2, -0.05)  # the relax's own keys
    md = jobs["md 900K production 0"].function_args[0]  # atomate2 MDMaker of the segment
    incar = md.input_set_generator.user_incar_settings
    assert (incar["ENCUT"], incar["EDIFF"]) == (450, 1e-5)
    assert (incar["NELM"], incar["ALGO"]) == (60, "Normal")
    assert md.run_vasp_kwargs["vasp_cmd"] == "srun -n 4 vasp_std"
    assert any(type(h).__name__ == "WalltimeHandler" for h in md.run_vasp_kwargs["handlers"])
    assert meta.engine == "vasp"
    assert meta.engine_details["incar"] == {"ENCUT": 450}


def test_study_without_engine_takes_the_file_engine(tmp_path, monkeypatch):
    from ionflow.config.engine import engine_for_study
    from ionflow.settings import get_settings, reset_settings

    monkeypatch.setenv("IONFLOW_CP2K__DATA_DIR", str(tmp_path))
    reset_settings()
    study = write_study(tmp_path, "../engines/cp2k.yaml", None, "{override_default_params: {}}")
    config = load_system(study)
    assert config.engine == "cp2k"
    assert config.engine_overrides["eps_scf"] == 1e-5
    engine = engine_for_study(config, get_settings())
    assert (engine.name, engine.input_settings["cutoff"], engine.charge) == ("cp2k", 300, 0)
    assert engine_for_study(config, get_settings(), charge=-1).charge == -1  # caller wins


def test_neb_engine_honours_the_file_and_cell_charge(tmp_path):
    from ionflow.settings import get_settings
    from ionflow.study.build import engine_for_system
    from ionflow.study.cell import build_cell

    config = load_system(write_study(tmp_path, "../engines/cp2k.yaml", "cp2k"))
    cell = build_cell(config)
    cell.cell.set_charge(-1)  # as a cell with one V_Li' would carry
    engine = engine_for_system(config, get_settings(), cell)
    assert (engine.charge, engine.input_settings["cutoff"]) == (-1, 300)


def test_overrides_merge_file_first_study_on_top(tmp_path):
    engine_file = tmp_path / "engines" / "c.yaml"
    engine_file.parent.mkdir()
    engine_file.write_text(
        "engine: cp2k\noverrides:\n  max_scf: 50\n"
        "  override_default_params: {FORCE_EVAL: {STRESS_TENSOR: NONE, DFT: {CHARGE: 0}}}\n"
    )
    overrides = "{max_scf: 80, override_default_params: {FORCE_EVAL: {DFT: {CHARGE: -1}}}}"
    config = load_system(write_study(tmp_path, "../engines/c.yaml", "cp2k", overrides))
    assert config.engine_overrides == {
        "max_scf": 80,
        "override_default_params": {"FORCE_EVAL": {"STRESS_TENSOR": "NONE", "DFT": {"CHARGE": -1}}},
    }
    again = type(config).model_validate(config.model_dump())  # merging twice changes nothing
    assert again.engine_overrides == config.engine_overrides
    assert deep_merge({"a": {"b": 1}}, {"a": 2}) == {"a": 2}


def test_mismatched_engine_names_the_key(tmp_path):
    study = write_study(tmp_path, "../engines/cp2k.yaml", "vasp")
    with pytest.raises(ConfigError) as err:
        load_system(study)
    msg = str(err.value)
    assert "engine_config" in msg
    assert "is for engine 'cp2k' but the study's engine is 'vasp'" in msg


def test_missing_engine_file_names_key_and_path(tmp_path):
    study = write_study(tmp_path, "../engines/nowhere.yaml", "vasp")
    with pytest.raises(ConfigError) as err:
        load_system(study)
    msg = str(err.value)
    assert "engine_config" in msg
    assert str((tmp_path / "engines" / "nowhere.yaml").resolve()) in msg
    assert "does not exist" in msg


def test_unknown_adapter_key_is_named(tmp_path):
    engine_file = tmp_path / "engines" / "bad.yaml"
    engine_file.parent.mkdir()
    engine_file.write_text("engine: vasp\nadapter: {vasp_cmdd: vasp_std}\n")
    with pytest.raises(ConfigError, match="adapter: unknown key"):
        load_engine_config(engine_file)
    with pytest.raises(ConfigError) as err:
        load_system(write_study(tmp_path, "../engines/bad.yaml", "vasp"))
    assert "engine_config" in str(err.value)
    assert "vasp_cmdd" in str(err.value)
    with pytest.raises(ConfigError, match="no adapter option 'vasp_cmdd'"):
        get_engine("vasp", vasp_cmdd="x")


DESIGN = """
name: d
engine: vasp
engine_config: ../engines/vasp.yaml
common:
  structure: {builtin: Li3OCl}
  md: {temperatures_K: [900], production_steps: 10}
systems:
  a: {engine_overrides: {NELM: 40}}
quick:
  engine: mlip
"""


def test_design_engine_file_is_relative_to_the_design_and_dropped_by_quick(tmp_path):
    from ionflow.config.study_file import load_study

    write_study(tmp_path, "../engines/vasp.yaml")  # copies the engine files
    path = tmp_path / "studies" / "design.yaml"
    path.write_text(DESIGN)
    study = load_study(path).systems[0].study
    assert study.engine_config == (tmp_path / "engines" / "vasp.yaml").resolve()
    assert study.engine_overrides == {"EDIFF": 1e-5, "NELM": 40, "LREAL": "Auto"}
    quick = load_study(path, quick=True).systems[0].study
    assert (quick.engine, quick.engine_config) == ("mlip", None)
    assert quick.engine_overrides == {"NELM": 40}
    cp2k_quick = "  engine: mlip\n  engine_config: ../engines/cp2k.yaml"
    path.write_text(DESIGN.replace("  engine: mlip", cp2k_quick))
    with pytest.raises(ConfigError, match=r"systems\.a: engine_config: .*is for engine 'cp2k'"):
        load_study(path, quick=True)


def test_cp2k_engine_file_settings_reach_the_band_maker(tmp_path):
    from ionflow.makers.neb import neb_images_maker

    cfg = load_engine_config(ENGINE_DIR / "cp2k.yaml")
    engine = get_engine("cp2k", **{**cfg.adapter, "charge": -1, "data_dir": str(tmp_path)})
    band = neb_images_maker(engine, max_steps=7, overrides={"max_scf": 30})
    assert (band.cutoff_Ry, band.rel_cutoff_Ry, band.charge, band.max_steps) == (300, 40, -1, 7)
    assert band.max_scf == 30  # the NEB section's own engine_overrides win
