"""Engine commands left unset resolve on the node that runs the job, not where the flow is built.

``ionflow submit`` builds the flow on the login node (settings A) and the queue script of the
compute node exports its own ``IONFLOW_VASP__CMD`` (settings B). Each test builds in A,
serialises the workflow as ``ionflow submit`` does (``flow_to_workflow``, FireWorks JSON), reads
it back as the rocket does, switches to B and runs atomate2's own ``run_vasp``/``run_cp2k``
(custodian replaced by a recorder), so the command custodian would start is the one asserted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from monty.json import MontyDecoder, MontyEncoder

from ionflow.engines.commands import SettingsCommand, command_or_setting
from ionflow.errors import ConfigError
from ionflow.settings import reset_settings

pytestmark = pytest.mark.filterwarnings("ignore")


class _Recorder:
    """Stands in for custodian's job class and Custodian; records the commands."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.kwargs: list[dict[str, Any]] = []
        self.ran = 0

    def job(self, cmd: list[str], *args: Any, **kwargs: Any) -> str:
        self.commands.append(list(cmd))
        self.kwargs.append(kwargs)
        return "job"

    def custodian(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def run(self) -> None:
        self.ran += 1


def _use_env(monkeypatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()


def _roundtrip(obj: Any) -> Any:
    """Serialise to JSON and read back with monty (fresh objects)."""
    return json.loads(json.dumps(obj, cls=MontyEncoder), cls=MontyDecoder)


def _submitted_jobs(flow) -> dict[str, Any]:
    """The jobs of ``flow`` as a worker reads them back from FireWorks, by name."""
    from fireworks import Workflow
    from jobflow.managers.fireworks import flow_to_workflow

    stored = flow_to_workflow(flow, store=None).to_format("json")  # what the launchpad keeps
    jobs = {}
    for fw in Workflow.from_format(stored, "json").fws:
        job = fw.tasks[0]["job"]
        jobs[job.name] = job
    return jobs


def _vasp_study(tmp_path, adapter: str = "{}"):
    from ionflow.config import load_system

    engine = tmp_path / "vasp_site.yaml"
    engine.write_text(f"engine: vasp\nadapter: {adapter}\n")
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: t_cmd\nstructure: {builtin: Li3OCl}\nengine_config: vasp_site.yaml\n"
        "supercell: {matrix: [1, 1, 1]}\n"
        "md: {temperatures_K: [900], production_steps: 10, equilibration_steps: 0}\n"
    )
    return load_system(study)


def _run_vasp_commands(monkeypatch, run_vasp_kwargs: dict) -> _Recorder:
    """Call atomate2's run_vasp as the job would and return what custodian was given."""
    from atomate2.vasp import run as vasp_run

    rec = _Recorder()
    monkeypatch.setattr(vasp_run, "VaspJob", rec.job)
    monkeypatch.setattr(vasp_run, "Custodian", rec.custodian)
    kwargs = {k: v for k, v in run_vasp_kwargs.items() if k != "handlers"}
    vasp_run.run_vasp(**kwargs)
    assert rec.ran == 1
    return rec


def test_vasp_unset_command_is_read_on_the_node_running_the_job(tmp_path, monkeypatch):
    from ionflow.config.study_file import Study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    _use_env(monkeypatch, IONFLOW_VASP__CMD="login_vasp_std", IONFLOW_VASP__GAMMA_CMD="login_gam")
    flow = build_study(Study.of_one_system(_vasp_study(tmp_path)), get_settings()).flow
    jobs = _submitted_jobs(flow)

    _use_env(
        monkeypatch,
        IONFLOW_VASP__CMD="srun -n 64 vasp_std",
        IONFLOW_VASP__GAMMA_CMD="srun vasp_gam",
    )
    relax = jobs["relax cell"].function.__self__  # atomate2 RelaxMaker, as the node reads it
    rec = _run_vasp_commands(monkeypatch, relax.run_vasp_kwargs)
    assert rec.commands == [["srun", "-n", "64", "vasp_std"]]
    assert rec.kwargs[0]["gamma_vasp_cmd"] == ["srun", "vasp_gam"]

    md = jobs["md 900K production 0"].function_args[0]  # MDMaker run by the segment runner
    rec = _run_vasp_commands(monkeypatch, md.run_vasp_kwargs)
    assert rec.commands == [["srun", "-n", "64", "vasp_std"]]
    assert rec.kwargs[0]["gamma_vasp_cmd"] == ["srun", "vasp_gam"]

    # a setting changed later on the same node is picked up too (nothing cached in the maker)
    _use_env(monkeypatch, IONFLOW_VASP__CMD="mpirun vasp_std")
    assert _run_vasp_commands(monkeypatch, md.run_vasp_kwargs).commands == [["mpirun", "vasp_std"]]


def test_vasp_engine_file_command_wins_over_node_settings(tmp_path, monkeypatch):
    from ionflow.config.study_file import Study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    study = _vasp_study(tmp_path, "{vasp_cmd: srun -n 4 vasp_std}")
    _use_env(monkeypatch, IONFLOW_VASP__CMD="login_vasp_std")
    flow = build_study(Study.of_one_system(study), get_settings()).flow
    jobs = _submitted_jobs(flow)

    _use_env(monkeypatch, IONFLOW_VASP__CMD="node_vasp_std", IONFLOW_VASP__GAMMA_CMD="node_gam")
    for maker in (
        jobs["relax cell"].function.__self__,
        jobs["md 900K production 0"].function_args[0],
    ):
        rec = _run_vasp_commands(monkeypatch, maker.run_vasp_kwargs)
        assert rec.commands == [["srun", "-n", "4", "vasp_std"]]
        # the Gamma-only command was not set in the file: the node's
        assert rec.kwargs[0]["gamma_vasp_cmd"] == ["node_gam"]


def test_vasp_neb_band_reads_the_node_command(monkeypatch):
    from ionflow.engines.vasp import VaspEngine
    from ionflow.makers.neb import neb_images_maker

    _use_env(monkeypatch, IONFLOW_VASP__CMD="login_vasp_std")
    maker = neb_images_maker(VaspEngine())
    kwargs = _roundtrip(maker.run_vasp_kwargs)
    _use_env(monkeypatch, IONFLOW_VASP__CMD="node_vasp_std")
    assert _run_vasp_commands(monkeypatch, kwargs).commands == [["node_vasp_std"]]


def _run_cp2k_commands(monkeypatch, run_cp2k_kwargs: dict) -> tuple[_Recorder, _Recorder]:
    """Run atomate2's run_cp2k (relax/static jobs) and ionflow's segment run_cp2k (MD)."""
    from atomate2.cp2k import run as cp2k_run

    from ionflow.engines.cp2k import custodian as cp2k_custodian
    from ionflow.engines.cp2k.segment import run_cp2k as segment_run_cp2k

    atomate2_rec, segment_rec = _Recorder(), _Recorder()
    monkeypatch.setattr(cp2k_run, "Cp2kJob", atomate2_rec.job)
    monkeypatch.setattr(cp2k_run, "Custodian", atomate2_rec.custodian)
    cp2k_run.run_cp2k(**run_cp2k_kwargs)
    monkeypatch.setattr(cp2k_custodian, "OwnProcessCp2kJob", segment_rec.job)
    monkeypatch.setattr("custodian.Custodian", segment_rec.custodian)
    segment_run_cp2k(**run_cp2k_kwargs)
    assert (atomate2_rec.ran, segment_rec.ran) == (1, 1)
    return atomate2_rec, segment_rec


@pytest.mark.parametrize(
    ("adapter_cmd", "expected"),
    [(None, ["mpirun", "-np", "64", "cp2k.psmp"]), ("srun cp2k.popt", ["srun", "cp2k.popt"])],
)
def test_cp2k_command_resolution(tmp_path, monkeypatch, li3ocl, adapter_cmd, expected):
    from ionflow.engines.cp2k import Cp2kEngine

    _use_env(monkeypatch, IONFLOW_CP2K__CMD="login_cp2k.psmp")
    engine = Cp2kEngine(cp2k_cmd=adapter_cmd, data_dir=str(tmp_path))
    makers = [
        engine.relax_maker(),
        engine.static_maker(),
        engine.md_maker(temperature_K=600, n_steps=2, time_step_fs=1.0),
    ]
    jobs = _roundtrip([maker.make(li3ocl) for maker in makers])

    _use_env(monkeypatch, IONFLOW_CP2K__CMD="mpirun -np 64 cp2k.psmp")
    for job in jobs:
        maker = job.function.__self__
        atomate2_rec, segment_rec = _run_cp2k_commands(monkeypatch, maker.run_cp2k_kwargs)
        assert atomate2_rec.commands == [expected]
        assert segment_rec.commands == [expected]


def test_settings_command_names_a_known_setting_and_rejects_empty(monkeypatch):
    assert command_or_setting("vasp_std", "vasp") == "vasp_std"
    assert command_or_setting(None, "vasp", "gamma_cmd") == SettingsCommand("vasp", "gamma_cmd")
    assert command_or_setting("", "cp2k") == SettingsCommand("cp2k")
    with pytest.raises(ConfigError, match=r"cp2k\.gamma_cmd"):
        SettingsCommand("cp2k", "gamma_cmd")
    _use_env(monkeypatch, IONFLOW_CP2K__CMD=" ")
    with pytest.raises(ConfigError, match="IONFLOW_CP2K__CMD"):
        SettingsCommand("cp2k").resolve()
