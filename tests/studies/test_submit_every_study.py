"""Every study file in configs/studies goes to a cluster: `ionflow submit --dry-run` lists
the jobs of each of its systems, with the production settings and with --quick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.hpc.conftest import write_cluster

from ionflow.cli.main import main
from ionflow.config.study_file import load_study

STUDIES = Path(__file__).resolve().parents[2] / "configs" / "studies"
FILES = sorted(p.name for p in STUDIES.glob("*.yaml"))


def test_the_design_studies_are_all_here():
    assert FILES == [
        "lacl3.yaml",
        "li3obr.yaml",
        "li3ocl.yaml",
        "li3ocl_defects_table1.yaml",
        "lita2po8.yaml",
        "llto.yaml",
    ]


@pytest.mark.parametrize("quick", [False, True], ids=["production", "quick"])
@pytest.mark.parametrize("name", FILES)
def test_every_study_file_submits(name, quick, tmp_path, capsys):
    path = STUDIES / name
    args = ["submit", str(path), "--cluster", str(write_cluster(tmp_path)), "--dry-run", "--json"]
    args += ["--work-dir", str(tmp_path / "work")]
    if quick and "quick" not in path.read_text():
        assert main([*args, "--quick"]) == 2
        assert "--quick needs a 'quick:' block" in capsys.readouterr().err
        return
    capsys.readouterr()
    assert main(args + (["--quick"] if quick else [])) == 0
    out = json.loads(capsys.readouterr().out)  # --json: one document on stdout
    study = load_study(path, quick=quick)
    meta = out["metadata"]
    assert out["dry_run"] is True
    assert out["workflow_id"] is None
    assert meta["quick"] is quick
    # the design studies are DFT (vasp) files whose --quick block switches to the MLIP;
    # the Table 1 defect study is a CHGNet study of its own
    assert meta["engine"] == study.engine
    assert study.engine == ("mlip" if quick or name.startswith("li3ocl_defects") else "vasp")
    assert [s["key"] for s in meta["system_cells"]] == [s.key for s in study.systems]
    names = [job["name"] for job in out["jobs"]]
    assert len(names) == len(set(names))
    assert names[-1] == f"summarize study {study.name}"
    for system in study.systems:
        own = [n for n in names if n.endswith(f"[{system.key}]")] if system.key != "main" else names
        assert own, f"no jobs for system {system.key}"
        if "md" in system.sections:
            assert any(n.startswith("md ") for n in own)
        if "neb" in system.sections:
            assert any(n.startswith("summarize nebs") for n in own)
    assert not (tmp_path / "work" / "launchpad").exists()  # a dry run touches nothing


def test_run_and_submit_build_the_same_jobs(tmp_path):
    """`ionflow run` and `ionflow submit` get their flow from the one builder."""
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.submit import plan_submission
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    study = load_study(STUDIES / "li3obr.yaml", quick=True)
    settings = get_settings(work_dir=tmp_path / "work")
    built = build_study(study, settings, run_id="same")
    plan = plan_submission(study, settings, load_cluster_config(write_cluster(tmp_path)), "same")
    local = sorted(job.name for job, _ in built.flow.iterflow())
    cluster = sorted(job["name"] for job in plan.jobs)
    assert local == cluster
    assert plan.metadata["run_id"] == built.meta.run_id == "same"
