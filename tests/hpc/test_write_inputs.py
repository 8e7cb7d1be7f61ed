"""``ionflow submit --dry-run --write-inputs``: the engine inputs each job will write,
compared with atomate2's own input sets for the same structure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymatgen.io.vasp import Incar, Kpoints, Poscar
from tests.hpc.conftest import write_cluster

from ionflow.cli.main import main

STUDY = """
name: tiny_vasp
engine: vasp
common:
  structure: {builtin: Li3OCl}
  supercell: {matrix: [2, 2, 2]}
systems:
  hot:
    relax: {enabled: true, fmax_eV_A: 0.5, max_steps: 5}
    md: {temperatures_K: [1000], time_step_fs: 2.0, production_steps: 20,
         equilibration_steps: 0, sampling_interval: 2}
    analysis: {specie: Li}
"""


def _dry_run(tmp_path, capsys, *extra: str) -> dict:
    study = tmp_path / "tiny_vasp.yaml"
    study.write_text(STUDY)
    cluster = write_cluster(tmp_path, "inputs")
    capsys.readouterr()
    code = main(["submit", str(study), "--cluster", str(cluster), "--dry-run", "--json", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_written_vasp_inputs_equal_atomate2_input_sets(tmp_path, capsys):
    from atomate2.vasp.sets.core import MDSetGenerator, RelaxSetGenerator

    from ionflow.engines.vasp.inputs import MD_INCAR_DEFAULTS

    folder = tmp_path / "inputs"
    out = _dry_run(tmp_path, capsys, "--write-inputs", str(folder))
    rows = {r["job"]: r for r in out["inputs"]}
    assert set(rows) == {"relax cell [hot]", "md 1000K production 0 [hot]"}  # not analysis
    relax = Path(rows["relax cell [hot]"]["folder"])
    assert rows["relax cell [hot]"]["files"] == ["INCAR", "KPOINTS", "POSCAR", "POTCAR.spec"]
    structure = Poscar.from_file(relax / "POSCAR").structure
    assert structure.composition.reduced_formula == "Li3ClO"
    assert len(structure) == 40
    # atomate2's relax set with the study's relax settings, for the same structure
    ref = RelaxSetGenerator(user_incar_settings={"EDIFFG": -0.5, "NSW": 5, "ISIF": 2})
    ref_set = ref.get_input_set(structure, potcar_spec=True)
    assert Incar.from_file(relax / "INCAR") == ref_set.incar
    assert Kpoints.from_file(relax / "KPOINTS").as_dict() == ref_set.kpoints.as_dict()
    assert (relax / "POTCAR.spec").read_text().split() == ref_set["POTCAR.spec"].split()

    md = Path(rows["md 1000K production 0 [hot]"]["folder"])
    assert "relax cell [hot]" in (md / "SOURCE.txt").read_text()  # relaxed only at run time
    incar = Incar.from_file(md / "INCAR")
    assert (incar["IBRION"], incar["NSW"], incar["POTIM"]) == (0, 20, 2.0)
    assert (incar["TEBEG"], incar["TEEND"], incar["NBLOCK"]) == (1000.0, 1000.0, 2)
    assert Kpoints.from_file(md / "KPOINTS").kpts == [(1, 1, 1)]  # Gamma only
    # every key ionflow does not set itself is atomate2's MD set value
    ref_md = MDSetGenerator(
        ensemble="nvt", start_temp=1000.0, end_temp=1000.0, nsteps=20, time_step=2.0
    ).get_input_set(structure, potcar_spec=True)
    ours = set(MD_INCAR_DEFAULTS) | {"NBLOCK", "RANDOM_SEED", "MDALGO", "SMASS", "ISPIN"}
    shared = {k for k in ref_md.incar if k not in ours and k != "MAGMOM"}
    assert shared, "nothing compared"
    assert {k: incar.get(k) for k in shared} == {k: ref_md.incar[k] for k in shared}


def test_write_inputs_needs_dry_run(tmp_path, capsys):
    study = tmp_path / "s.yaml"
    study.write_text(STUDY)
    code = main(
        [
            "submit",
            str(study),
            "--cluster",
            str(write_cluster(tmp_path, "x")),
            "--write-inputs",
            "d",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--write-inputs needs --dry-run" in err


@pytest.mark.parametrize("queue_type", ["slurm", "pbs"])
def test_templates_set_vasp_commands_and_cp2k_data_dir(queue_type):
    """The shipped Slurm and PBS templates export VASP's std/gamma/ncl commands and CP2K's
    data folder from the cluster file; each job kind gets its own resources."""
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.queue import render_queue_script
    from ionflow.settings import get_settings

    repo = Path(__file__).resolve().parents[2]
    name = "slurm" if queue_type == "slurm" else "pbs"
    cfg = load_cluster_config(repo / "configs" / "clusters" / f"{name}.yaml")
    script = render_queue_script(cfg, get_settings(), Path("/tmp/launcher"), kind="md")
    launcher = "srun" if queue_type == "slurm" else "mpiexec"
    for key, binary in (("VASP__CMD", "vasp_std"), ("VASP__GAMMA_CMD", "vasp_gam")):
        assert f'export IONFLOW_{key}="{launcher} {binary}"' in script
    assert f'export ATOMATE2_VASP_NCL_CMD="{launcher} vasp_ncl"' in script
    assert f'export CP2K_DATA_DIR="{cfg.fworker.cp2k_data_dir}"' in script
    assert "/usr/share/cp2k" not in script
    assert 'export IONFLOW_JOB_WALLTIME_S="86400"' in script  # the md kind's 24 h
    assert "--category md" in script
    analysis = render_queue_script(cfg, get_settings(), Path("/tmp/l"), kind="analysis")
    if queue_type == "slurm":
        assert "#SBATCH --ntasks=1\n" in analysis
        assert "--ntasks-per-node" not in analysis
        assert "#SBATCH --ntasks-per-node=64" in script
        assert "#SBATCH --time=24:00:00" in script
    else:
        assert "#PBS -l select=1:ncpus=1:mpiprocs=1" in analysis
        assert "#PBS -l select=2:ncpus=48:mpiprocs=48" in script
        assert "#PBS -l walltime=24:00:00" in script
