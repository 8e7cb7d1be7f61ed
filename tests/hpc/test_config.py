"""Cluster configs: errors naming the key, examples, queue scripts, no secrets in configs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ionflow.errors import ConfigError
from ionflow.hpc.config import (
    find_cluster_file,
    format_walltime,
    load_cluster_config,
    parse_walltime_s,
)
from ionflow.hpc.queue import parse_pbs_qstat, render_queue_script

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {
    "name": "c1",
    "launchpad": {"type": "mongomock_file", "path": "{work_dir}/lp.json"},
    "queue": {"type": "slurm"},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:01:00", 60), ("1-02:03:04", 93784), ("90", 5400), ("48:00:00", 172800)],
)
def test_walltime_round_trip(text, seconds):
    assert parse_walltime_s(text) == seconds
    assert parse_walltime_s(format_walltime(seconds)) == seconds


@pytest.mark.parametrize("name", ["local", "slurm", "pbs"])
def test_example_configs_load_by_name(name):
    cfg = load_cluster_config(name)
    assert cfg.name == name
    assert Path(cfg.source) == REPO / "configs" / "clusters" / f"{name}.yaml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"queue": {"type": "slurm", "walltime": "1:99:00"}},
            r"queue\.walltime: .*minutes or seconds >= 60",
        ),
        (
            {"queue": {"type": "slurm", "walltime": "00:00:30"}},
            r"queue\.walltime: .*shorter than one minute",
        ),
        ({"queue": {"type": "lsf"}}, r"queue\.type: Input should be 'slurm' or 'pbs'"),
        ({"queue": {"type": "slurm", "nodez": 2}}, r"queue\.nodez: unknown key"),
        (
            {"queue": {"type": "pbs", "qos": "high"}},
            r"queue: .*qos: Slurm-only keys in a PBS queue",
        ),
        ({"launchpad": {"type": "mongomock_file"}}, r"launchpad: .*needs 'path'"),
        ({"launchpad": {"type": "mongodb", "password": "x"}}, r"launchpad\.password: unknown key"),
        (
            {"launchpad": {"type": "mongodb", "host": "mongodb://u:p@h"}},
            r"launchpad: .*host must be a plain host name",
        ),
        ({"fworker": {"env": {"MONGO_PASSWORD": "x"}}}, r"fworker\.env: .*looks like a credential"),
    ],
)
def test_bad_config_errors_name_the_key(tmp_path, change, message):
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ConfigError, match=message) as err:
        load_cluster_config(path)
    assert str(path) in str(err.value)


def test_unknown_cluster_name_lists_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("IONFLOW_CLUSTERS_DIR", str(tmp_path))
    with pytest.raises(
        ConfigError, match=f"no cluster config named 'nowhere' \\(searched {tmp_path}"
    ):
        find_cluster_file("nowhere")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({**MINIMAL, "name": "mine"}))
    assert load_cluster_config("mine").name == "mine"


def test_slurm_script_has_resources_modules_and_exports(tmp_path, monkeypatch):
    from ionflow.settings import get_settings

    cfg = load_cluster_config("slurm")
    settings = get_settings()
    script = render_queue_script(cfg, settings, tmp_path / "launcher_x")
    lines = script.splitlines()
    for directive in (
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=64",
        "#SBATCH --time=12:00:00",
        "#SBATCH --partition=standard",
        "#SBATCH --account=myproject",
        "#SBATCH --mem=200G",
        "module load vasp/6.4.2",
        f'export IONFLOW_WORK_DIR="{settings.work_dir}"',
        'export ATOMATE2_VASP_CMD="srun vasp_std"',
        'export IONFLOW_SCRATCH_DIR="/scratch/$USER/ionflow"',
        f"cd {tmp_path / 'launcher_x'}",
    ):
        assert directive in lines, directive
    assert lines.index("module load vasp/6.4.2") < lines.index(f"cd {tmp_path / 'launcher_x'}")
    assert lines[-3].endswith(f"-m ionflow.hpc.rocket --cluster {cfg.source}")
    assert not any("$$" in ln for ln in lines)  # every template placeholder was filled or dropped


def test_pbs_script_select_and_torque_styles(tmp_path):
    from ionflow.settings import get_settings

    cfg = load_cluster_config("pbs")
    script = render_queue_script(cfg, get_settings(), tmp_path)
    assert "#PBS -l select=2:ncpus=48:mpiprocs=48" in script.splitlines()
    assert "#PBS -l walltime=24:00:00" in script.splitlines()
    assert "nodes=" not in script
    cfg.queue.pbs_style = "nodes"
    cfg.queue.cpus_per_task = 2
    torque = render_queue_script(cfg, get_settings(), tmp_path)
    assert "#PBS -l nodes=2:ppn=96" in torque.splitlines()
    assert "select=" not in torque


def test_pbs_qstat_parser():
    # `qstat -x -f` layout of PBS Pro (fields indented by four spaces)
    text = (
        "Job Id: 101.pbs01\n    Job_Name = ionflow\n    job_state = R\n"
        "Job Id: 102.pbs01\n    job_state = F\n    Exit_status = -11\n"
        "Job Id: 103.pbs01\n    job_state = F\n    Exit_status = 0\n"
        "Job Id: 104.pbs01\n    job_state = Q\n"
    )
    assert parse_pbs_qstat(text) == {
        "101": "RUNNING", "102": "TIMEOUT", "103": "COMPLETED", "104": "PENDING"
    }  # fmt: skip


def test_committed_configs_hold_no_credentials():
    uri_with_password = re.compile(r"mongodb(\+srv)?://[^/\s:@]+:[^@\s]+@")
    for path in (REPO / "configs").rglob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        text = yaml.safe_dump(data)  # comments dropped: only real values count
        assert not uri_with_password.search(text), path
        for key in re.findall(r"^\s*(\w+):", text, flags=re.M):
            assert key.lower() not in {"password", "passwd", "secret", "token", "uri"}, (path, key)
