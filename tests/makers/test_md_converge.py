"""Run-until-converged MD: the decision rule, and a real flow on a Lennard-Jones Li crystal."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.makers.convergence import convergence_decision, relative_error
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.transport import analyze_md_result
from ionflow.schemas.md import ConvergenceSettings
from ionflow.testing.md import LennardJonesEngine, memory_job_store, run_flow

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _result(d, std, diffusing=True):
    return SimpleNamespace(
        specie="Li",
        diffusivity_cm2_s=d,
        diffusivity_std_cm2_s=std,
        diffusing=diffusing,
        diffusivity_upper_bound_cm2_s=None if diffusing else max(d, 0) + 2 * std,
    )


SETTINGS = ConvergenceSettings(target_rel_err=0.1, max_time_ps=10.0, not_diffusing_checks=2)


@pytest.mark.parametrize(
    ("result", "t_ps", "count", "status"),
    [
        (_result(1e-5, 0.5e-6), 2.0, 0, "converged"),
        (_result(1e-5, 0.2e-5), 2.0, 0, "extend"),
        (_result(1e-5, 0.2e-5), 9.5, 0, "max_time"),  # 9.5 + 1 > 10
        (_result(1e-8, 1e-8, diffusing=False), 2.0, 0, "extend"),  # first of two checks
        (_result(1e-8, 1e-8, diffusing=False), 2.0, 1, "not_diffusing"),
        (_result(-1e-8, 1e-8, diffusing=False), 9.5, 0, "max_time"),
        (None, 2.0, 0, "failed"),
    ],
)
def test_decision(result, t_ps, count, status):
    got, rel, message = convergence_decision(result, t_ps, 1.0, SETTINGS, count)
    assert got == status
    assert message
    if result is not None and result.diffusivity_cm2_s > 0:
        assert rel == pytest.approx(result.diffusivity_std_cm2_s / result.diffusivity_cm2_s)


def test_relative_error_undefined_for_non_positive_d():
    assert relative_error(_result(-1e-6, 1e-7)) is None
    assert relative_error(_result(0.0, 1e-7)) is None
    assert relative_error(_result(2e-6, 1e-7)) == pytest.approx(0.05)


def test_flow_extends_diffusing_and_stops_frozen_temperature(tmp_path):
    # fcc "Li" with a Lennard-Jones minimum at the nearest-neighbour distance:
    # a crystal at 20 K, a liquid at 1500 K
    cell = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.0), ["Li"], [[0, 0, 0]])
    cell.make_supercell([2, 2, 2])
    engine = LennardJonesEngine(calculator_kwargs={"sigma": 2.52, "epsilon": 0.02, "rc": 3.9})
    settings = ConvergenceSettings(target_rel_err=0.15, max_time_ps=0.6)
    maker = MultiTemperatureMDMaker(
        engine=engine,
        temperatures_K=[1500.0, 20.0],
        time_step_fs=2.0,
        equilibration_steps=20,
        production_steps=100,
        traj_interval=2,
        segment_steps=50,
        converge=settings,
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    store = memory_job_store()
    out = run_flow(maker.make(cell), store, tmp_path / "run")
    cold, hot = out["convergence"]
    # frozen crystal: reported and stopped after the initial production
    assert cold.status == "not_diffusing"
    assert cold.round == 0
    assert out["runs"][0].stop_reason == "not_diffusing"
    assert out["runs"][0].production_steps == 100
    assert out["diffusion"][0].diffusing is False
    # liquid: extended until sigma_D/D <= target or the time cap
    assert hot.status in {"converged", "max_time"}
    run = out["runs"][1]
    assert run.stop_reason == hot.status
    assert hot.round >= 1
    assert run.production_steps == 100 + hot.round * 50
    assert len(run.segment_uuids) == 1 + run.segments == 1 + 2 + hot.round
    if hot.status == "converged":
        assert hot.diffusivity_rel_err <= settings.target_rel_err
    else:
        assert hot.production_time_ps == pytest.approx(settings.max_time_ps)
    # the reported D is the analysis of all stored segments, recomputed independently
    trajs = [store.get_output(u, load=True)["trajectory"] for u in run.segment_uuids]
    steps = np.concatenate([[p["step"] for p in t["frame_properties"]] for t in trajs])
    np.testing.assert_array_equal(steps, np.arange(0, 20 + run.production_steps + 1, 2))
    again = analyze_md_result(trajs, 1500.0, 2.0, 2, skip_frames=10, specie="Li")
    assert again.diffusivity_cm2_s == pytest.approx(out["diffusion"][1].diffusivity_cm2_s)
    assert again.n_frames == run.production_steps // 2 + 1
