"""Queue resources per job kind, their checks, and walltime/data-dir plumbing (no queue)."""

from __future__ import annotations

import json

import pytest
from tests.hpc.conftest import write_cluster

from ionflow.cli.main import main
from ionflow.hpc.config import load_cluster_config

VASP_NEB_STUDY = """
name: neb_vasp
engine: vasp
structure: {builtin: Li3OCl}
supercell: {matrix: [2, 2, 2]}
defects: [{type: vacancy, species: [Li]}]
neb: {n_images: 3, max_hops: 1, cutoff_A: 4.0}
"""


def test_kind_queue_merges_over_the_queue_section(tmp_path):
    cfg = load_cluster_config(
        write_cluster(
            tmp_path,
            "k",
            resources={"md": {"nodes": 2, "ntasks_per_node": 8}, "analysis": {"walltime": "5"}},
        )
    )
    md = cfg.queue_for("md")
    assert (md.nodes, md.ntasks, md.ntasks_per_node, md.total_tasks) == (2, None, 8, 16)
    assert cfg.queue_for("analysis").walltime == "00:05:00"
    assert cfg.queue_for("analysis").ntasks == 1  # from the queue section
    assert cfg.queue_for("relax") == cfg.queue  # not sized: the queue section
    assert cfg.categories() == ["analysis", "md", "neb", "relax"]


def test_bad_resources_are_refused_with_the_key(tmp_path):
    from ionflow.errors import ConfigError as Err

    with pytest.raises(Err, match=r"resources\.gpu"):
        load_cluster_config(write_cluster(tmp_path, "a", resources={"gpu": {"ntasks": 1}}))
    with pytest.raises(Err, match="walltime"):
        load_cluster_config(write_cluster(tmp_path, "b", resources={"md": {"walltime": "1:99:00"}}))
    with pytest.raises(Err, match="exclude each other"):
        load_cluster_config(
            write_cluster(tmp_path, "c", fworker={"category": "x"}, resources={"md": {"ntasks": 1}})
        )


def test_neb_ranks_must_divide_by_images_and_idle_cores_warn(tmp_path):
    from ionflow.hpc.resources import check_resources

    cfg = load_cluster_config(write_cluster(tmp_path, "n", resources={"neb": {"ntasks": 64}}))
    _, (error,) = check_resources(cfg, "vasp", [("vac", 39, 3)])
    assert "64 MPI ranks do not divide over the 3 images of system 'vac'" in error
    assert check_resources(cfg, "vasp", [("vac", 39, 4)]) == ([], [])  # 16 ranks per image
    big = load_cluster_config(write_cluster(tmp_path, "m", resources={"md": {"ntasks": 128}}))
    (warning,), _ = check_resources(big, "vasp", [("vac", 39, None)])
    assert "md jobs of system 'vac': 128 MPI ranks per calculation for a 39-atom cell" in warning
    (warning,), _ = check_resources(big, "mlip", [("vac", 39, None)])
    assert "engine mlip runs one process per job" in warning


def test_submit_refuses_neb_ranks_not_divisible(tmp_path, capsys):
    study = tmp_path / "neb.yaml"
    study.write_text(VASP_NEB_STUDY)
    cluster = write_cluster(tmp_path, "nebcluster", resources={"neb": {"ntasks": 8}})
    # the dry run shows the problem, the submission refuses it before touching anything
    code = main(["submit", str(study), "--cluster", str(cluster), "--dry-run", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (error,) = json.loads(captured.out)["errors"]
    assert "8 MPI ranks do not divide over the 3 images" in error
    assert "submit would refuse this: resources.neb: 8 MPI ranks" in captured.err
    code = main(["submit", str(study), "--cluster", str(cluster), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert "8 MPI ranks do not divide over the 3 images" in captured.err
    assert captured.out == ""
    assert not (tmp_path / "work" / "launchpad").exists()


def test_dry_run_lists_kind_and_resources_per_job(tmp_path, capsys):
    study = tmp_path / "neb.yaml"
    study.write_text(VASP_NEB_STUDY)
    cluster = write_cluster(
        tmp_path, "ok", resources={"neb": {"ntasks": 6}, "analysis": {"walltime": "10"}}
    )
    code = main(["submit", str(study), "--cluster", str(cluster), "--dry-run", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    kinds = {j["name"]: (j["kind"], j["resources"]) for j in out["jobs"]}
    band = next(v for k, v in kinds.items() if k.startswith("vasp neb"))
    assert band == ("neb", {"walltime": "00:10:00", "nodes": 1, "ntasks": 6, "cpus_per_task": 1})
    relax = [v for k, v in kinds.items() if k.startswith("relax")]
    assert relax
    assert all(kind == "relax" for kind, _ in relax)
    prepare = next(v for k, v in kinds.items() if k.startswith("prepare neb path"))
    assert prepare[0] == "analysis"
    assert prepare[1]["walltime"] == "00:10:00"
    assert "--category neb" in out["queue_scripts"]["neb"]
    assert "#SBATCH --ntasks=6" in out["queue_scripts"]["neb"]


def test_job_walltime_handler_reads_the_queue_job(monkeypatch):
    import time

    from monty.json import MontyDecoder

    from ionflow.engines.vasp.custodian import JobWalltimeHandler, handlers

    monkeypatch.delenv("IONFLOW_JOB_END_EPOCH", raising=False)
    assert JobWalltimeHandler().wall_time is None  # outside a queue job: never fires
    assert JobWalltimeHandler().check() is False
    monkeypatch.setenv("IONFLOW_JOB_END_EPOCH", str(time.time() + 3600))
    handler = handlers("relax")[-1]
    assert isinstance(handler, JobWalltimeHandler)
    assert 3590 <= handler.wall_time <= 3600
    assert handler.buffer_time == 300
    d = handler.as_dict()
    assert d["wall_time"] is None  # the node's clock is not serialized
    monkeypatch.setenv("IONFLOW_JOB_END_EPOCH", str(time.time() + 100))
    again = MontyDecoder().process_decoded(d)  # as a rocket loads the Firework
    assert 90 <= again.wall_time <= 100
    assert again.buffer_time == again.wall_time // 5  # a fifth of a short job


def test_cp2k_walltime_and_basis_dir_from_settings(tmp_path, monkeypatch):
    import time

    from pymatgen.io.cp2k.inputs import Cp2kInput, Section

    from ionflow.engines.cp2k.inputs import apply_job_walltime, cheap_basis_and_potential
    from ionflow.settings import get_settings

    ci = Cp2kInput("CP2K_INPUT", subsections={"GLOBAL": Section("GLOBAL")})
    assert apply_job_walltime(ci, environ={}) is None
    assert apply_job_walltime(ci, environ={"IONFLOW_JOB_END_EPOCH": "4000"}) is None  # past

    env = {"IONFLOW_JOB_END_EPOCH": str(time.time() + 3600)}
    seconds = apply_job_walltime(ci, environ=env)
    assert 3290 <= seconds <= 3300  # 5 min before the queue's end
    assert f"WALLTIME {seconds}" in ci.get_str()

    # CP2K's basis folder: the setting, then $CP2K_DATA_DIR, never a hard-coded path
    data = tmp_path / "cp2k_data"
    data.mkdir()
    (data / "BASIS_MOLOPT").write_text(
        " Li SZV-MOLOPT-SR-GTH SZV-MOLOPT-SR-GTH-q3\n O SZV-MOLOPT-SR-GTH SZV-MOLOPT-SR-GTH-q6\n"
    )
    monkeypatch.setenv("CP2K_DATA_DIR", str(data))
    assert get_settings(engine="mlip").cp2k.resolved_basis_dir() == data
    assert cheap_basis_and_potential({"Li", "O"}, data) == {
        "Li": {"basis": "SZV-MOLOPT-SR-GTH", "potential": "GTH-PBE-q3"},
        "O": {"basis": "SZV-MOLOPT-SR-GTH", "potential": "GTH-PBE-q6"},
    }
    other = tmp_path / "site"
    assert get_settings(cp2k={"basis_dir": other}).cp2k.resolved_basis_dir() == other
