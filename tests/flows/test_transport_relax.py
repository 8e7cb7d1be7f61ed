"""The relaxation of an MD transport study gets the study's engine_overrides, as the MD does.

Flows are built, not run: the relax maker of the built flow is inspected.
"""

from __future__ import annotations

import pytest

from ionflow.config import load_system
from ionflow.errors import ConfigError
from ionflow.settings import get_settings

pytestmark = pytest.mark.filterwarnings("ignore")

STUDY = """
name: t_relax
structure: {{builtin: Li3OCl}}
{engine}
engine_overrides: {overrides}
supercell: {{matrix: [1, 1, 1]}}
relax: {{fmax_eV_A: 0.02, max_steps: 40}}
md: {{temperatures_K: [900], production_steps: 10, equilibration_steps: 0}}
"""


def _build(tmp_path, engine: str, overrides: str):
    from ionflow.config.study_file import Study
    from ionflow.study.build import build_study

    path = tmp_path / "study.yaml"
    path.write_text(STUDY.format(engine=engine, overrides=overrides))
    flow = build_study(Study.of_one_system(load_system(path)), get_settings()).flow
    jobs = {job.name: job for job, _ in flow.iterflow()}
    return jobs["relax cell"].function.__self__, jobs["md 900K production 0"].function_args[0]


def test_cp2k_relax_gets_the_study_overrides(tmp_path):
    (tmp_path / "cp2k.yaml").write_text(
        f"engine: cp2k\nadapter: {{data_dir: {tmp_path}, input_settings: {{cutoff: 300}}}}\n"
        "overrides: {eps_scf: 1.0e-6, max_scf: 50}\n"
    )
    relax, md = _build(tmp_path, "engine_config: cp2k.yaml", "{max_scf: 30, rel_cutoff: 60}")
    settings = relax.input_set_generator.user_input_settings
    assert settings["cutoff"] == 300  # adapter input_settings
    assert (settings["eps_scf"], settings["max_scf"], settings["rel_cutoff"]) == (1e-6, 30, 60)
    geo_opt = settings["override_default_params"]["MOTION"]["GEO_OPT"]
    assert geo_opt["MAX_ITER"] == 40
    assert geo_opt["MAX_FORCE"] == pytest.approx(0.02 / 51.42208619083232)
    md_settings = md.input_set_generator.user_input_settings
    assert (md_settings["max_scf"], md_settings["rel_cutoff"]) == (30, 60)


def test_mlip_relax_gets_the_keys_its_maker_has(tmp_path):
    relax, md = _build(
        tmp_path,
        "engine: mlip",
        "{calculator_kwargs: {device: cpu}, ase_md_kwargs: {ttime: 2.0, pfactor: null}, "
        "traj_interval: 5}",
    )
    # shared field: the relaxation uses the same calculator as the MD
    assert relax.calculator_kwargs["device"] == "cpu"
    assert md.calculator_kwargs["device"] == "cpu"
    # MD-only fields stay with the MD
    assert md.ase_md_kwargs == {"ttime": 2.0, "pfactor": None}
    assert md.traj_interval == 5
    assert not hasattr(relax, "ase_md_kwargs")
    assert (relax.steps, relax.relax_kwargs) == (40, {"fmax": 0.02})


def test_mlip_override_no_maker_has_is_named(tmp_path):
    with pytest.raises(ConfigError, match="'calculator_kwarg'"):
        _build(tmp_path, "engine: mlip", "{calculator_kwarg: {device: cpu}}")


@pytest.mark.parametrize(("relax_cell", "isif"), [(False, 2), (True, 3)])
def test_relax_cell_of_the_study_reaches_the_relax_maker(tmp_path, relax_cell, isif):
    from ionflow.config.study_file import Study
    from ionflow.study.build import build_study

    path = tmp_path / "study.yaml"
    path.write_text(
        STUDY.format(engine="engine: vasp", overrides="{}").replace(
            "max_steps: 40}", f"max_steps: 40, relax_cell: {str(relax_cell).lower()}}}"
        )
    )
    flow = build_study(Study.of_one_system(load_system(path)), get_settings()).flow
    relax = next(job for job, _ in flow.iterflow() if job.name == "relax cell").function.__self__
    incar = relax.input_set_generator.user_incar_settings
    assert (incar["ISIF"], incar["EDIFFG"], incar["NSW"]) == (isif, -0.02, 40)
