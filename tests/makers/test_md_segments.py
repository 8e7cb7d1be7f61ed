"""The MD segment skeleton: bad restarts, truncated output, checkpoints, resume inside a segment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionflow.engines.mlip.segment import AseSegmentRunner
from ionflow.engines.segments import SegmentFrames
from ionflow.errors import EngineError, InputError
from ionflow.makers.md_segments import (
    build_segment_doc,
    check_start,
    expected_steps,
    run_md_segment,
    timestep_warning,
)
from ionflow.schemas.md import MDRestartState, MDSegmentSpec
from ionflow.testing.md import LJ_DEFAULTS, LennardJonesEngine, li3ocl_vacancy_cell

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _spec(tmp_path, index=0, first=0, n=12, **kw):
    cell = li3ocl_vacancy_cell()
    settings = {
        "temperature_K": 800.0,
        "phase": "production",
        "index": index,
        "first_step": first,
        "n_steps": n,
        "time_step_fs": 1.0,
        "traj_interval": 2,
        "thermostat": "nose-hoover",
        "seed": 5,
        "checkpoint_dir": str(tmp_path / f"seg{index}"),
        "checkpoint_every": 2,
        "formula": cell.composition.formula.replace(" ", ""),
    }
    settings.update(kw)
    return MDSegmentSpec(**settings)


def _maker(**calc):
    return LennardJonesEngine(calculator_kwargs={**LJ_DEFAULTS, **calc}).md_maker(
        temperature_K=800.0, n_steps=12, time_step_fs=1.0, traj_interval=2
    )


def test_expected_steps_follow_the_frame_convention(tmp_path):
    np.testing.assert_array_equal(expected_steps(_spec(tmp_path)), [0, 2, 4, 6, 8, 10, 12])
    later = _spec(tmp_path, index=3, first=24)
    np.testing.assert_array_equal(expected_steps(later), [26, 28, 30, 32, 34, 36])


def test_timestep_warning_for_light_species():
    assert timestep_warning({"Li", "O"}, 2.5) is not None
    assert timestep_warning({"Li", "O"}, 2.0) is None
    assert "H" in timestep_warning({"H", "Li"}, 1.5)
    assert timestep_warning({"Si"}, 3.0) is None


def test_restart_from_another_structure_is_refused(tmp_path):
    first = run_md_segment(_maker(), _spec(tmp_path), li3ocl_vacancy_cell(), "mlip", tmp_path)
    other = first.restart.model_copy(deep=True)
    other.structure.remove_sites([0])  # one O fewer: another cell
    with pytest.raises(InputError, match="another structure"):
        check_start(_spec(tmp_path, index=1, first=12), other)
    with pytest.raises(InputError, match="step 12 but the segment starts at step 24"):
        check_start(_spec(tmp_path, index=1, first=24), first.restart)
    with pytest.raises(InputError, match="800 K, not 900 K"):
        check_start(_spec(tmp_path, index=1, first=12, temperature_K=900.0), first.restart)
    assert check_start(_spec(tmp_path, index=1, first=12), first.restart) == []


def test_truncated_or_blown_up_output_is_an_error(tmp_path):
    doc = run_md_segment(_maker(), _spec(tmp_path), li3ocl_vacancy_cell(), "mlip", tmp_path)
    traj = doc.trajectory
    cart = np.array([traj.get_structure(i).cart_coords for i in range(len(traj))])
    steps = np.array([p["step"] for p in traj.frame_properties])

    def frames(keep, cart=cart):
        return SegmentFrames(
            species=[s.specie.symbol for s in traj.get_structure(0)],
            lattice_A=np.asarray(traj.lattice),
            steps=steps[keep],
            cart_coords_A=cart[keep],
            velocities_A_fs=None,
            energies_eV=None,
            temperatures_K=None,
            forces_eV_A=None,
            restart=doc.restart,
        )

    spec = _spec(tmp_path)
    with pytest.raises(EngineError, match=r"expected 7 frames.*returned 5"):
        build_segment_doc(spec, frames(slice(0, 5)), "mlip", 1.0, str(tmp_path))
    bad = cart.copy()
    bad[4, 0, 0] = np.nan
    with pytest.raises(EngineError, match="not finite from step 8"):
        build_segment_doc(spec, frames(slice(None), bad), "mlip", 1.0, str(tmp_path))


def test_killed_segment_resumes_from_checkpoint_exactly(tmp_path):
    spec = _spec(tmp_path, n=16, thermostat="langevin")
    reference = run_md_segment(
        _maker(),
        spec.model_copy(update={"checkpoint_dir": str(tmp_path / "ref")}),
        li3ocl_vacancy_cell(),
        "mlip",
        tmp_path,
    )
    # checkpoints every 2 frames (steps 2, 6, 10); the calculator dies in step 11
    from ionflow.engines.mlip.calculators import clear_shared_calculators

    clear_shared_calculators()
    with pytest.raises(RuntimeError, match="simulated"):
        AseSegmentRunner().run(_maker(fail_after=12), spec, li3ocl_vacancy_cell(), tmp_path)
    state = json.loads((tmp_path / "seg0" / "state.json").read_text())
    assert state["step"] == 10
    clear_shared_calculators()
    resumed = run_md_segment(_maker(), spec, li3ocl_vacancy_cell(), "mlip", tmp_path)
    assert resumed.attempts == 2
    assert resumed.resumed_from_step == 10
    a, b = reference.trajectory, resumed.trajectory
    np.testing.assert_array_equal(np.asarray(a.coords), np.asarray(b.coords))
    assert [p["step"] for p in b.frame_properties] == list(range(0, 17, 2))


def test_corrupt_or_foreign_checkpoint_is_an_error(tmp_path):
    spec = _spec(tmp_path)
    folder = tmp_path / "seg0"
    folder.mkdir()
    (folder / "state.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable"):
        run_md_segment(_maker(), spec, li3ocl_vacancy_cell(), "mlip", tmp_path)
    (folder / "state.json").write_text(json.dumps({"species": ["Li"], "step": 4, "chunks": []}))
    with pytest.raises(InputError, match="another structure"):
        run_md_segment(_maker(), spec, li3ocl_vacancy_cell(), "mlip", tmp_path)


def test_finished_segment_is_recovered_not_rerun(tmp_path):
    spec = _spec(tmp_path)
    first = run_md_segment(_maker(), spec, li3ocl_vacancy_cell(), "mlip", tmp_path)
    # the finished document replaces the partial checkpoints
    assert sorted(p.name for p in (tmp_path / "seg0").iterdir()) == ["segment.json.gz"]
    again = run_md_segment(_maker(fail_after=1), spec, li3ocl_vacancy_cell(), "mlip", tmp_path)
    np.testing.assert_array_equal(
        np.asarray(first.trajectory.coords), np.asarray(again.trajectory.coords)
    )
    other = spec.model_copy(update={"n_steps": 20})
    with pytest.raises(InputError, match="different segment"):
        run_md_segment(_maker(), other, li3ocl_vacancy_cell(), "mlip", tmp_path)


def test_restart_state_needs_finite_velocities():
    cell = li3ocl_vacancy_cell()
    with pytest.raises(ValueError, match="velocities"):
        MDRestartState(engine="mlip", step=0, time_fs=0, temperature_K=300, structure=cell)
    cell.add_site_property("velocities", [[np.nan, 0, 0]] + [[0, 0, 0]] * (len(cell) - 1))
    with pytest.raises(ValueError, match="NaN"):
        MDRestartState(engine="mlip", step=0, time_fs=0, temperature_K=300, structure=cell)
