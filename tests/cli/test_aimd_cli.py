"""``ionflow aimd resume`` and ``ionflow aimd segments`` on a saved Lennard-Jones MD flow."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ionflow.cli.main import app, main
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.md_resume import save_flow
from ionflow.testing.md import LennardJonesEngine, li3ocl_vacancy_cell

pytestmark = pytest.mark.filterwarnings("ignore")


def test_resume_runs_a_saved_flow_and_lists_segments(tmp_path):
    work = tmp_path / "work"
    maker = MultiTemperatureMDMaker(
        engine=LennardJonesEngine(),
        temperatures_K=[600.0, 900.0],
        time_step_fs=1.0,
        equilibration_steps=4,
        production_steps=8,
        traj_interval=2,
        segment_steps=4,
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    run_dir = tmp_path / "run"
    save_flow(maker.make(li3ocl_vacancy_cell()), run_dir)
    runner = CliRunner()
    result = runner.invoke(app, ["aimd", "resume", str(run_dir), "-w", str(work)])
    assert result.exit_code == 0, result.output
    assert "0 of 6 jobs done" in result.output
    assert "resume finished" in result.output
    # nothing left: a second resume runs nothing
    again = runner.invoke(app, ["aimd", "resume", str(run_dir), "-w", str(work)])
    assert "6 of 6 jobs done" in again.output
    listed = runner.invoke(app, ["aimd", "segments", "-w", str(work), "--json"])
    rows = json.loads(listed.output)
    assert [(r["temperature_K"], r["segment"]) for r in rows] == [
        (600.0, 0),
        (600.0, 1),
        (600.0, 2),
        (900.0, 0),
        (900.0, 1),
        (900.0, 2),
    ]
    assert [r["steps"] for r in rows[:3]] == [[0, 4], [6, 8], [10, 12]]
    assert all(r["attempts"] == 1 for r in rows)


def test_resume_without_saved_flow_is_a_clear_error(tmp_path, capsys):
    status = main(["aimd", "resume", str(tmp_path), "-w", str(tmp_path / "w")])
    assert status == 2
    assert "no saved flow" in capsys.readouterr().err
