"""The demo's path at reduced length: every number the demo promises is there and finite.

The packaged demo file, with its MD and NEB shortened, runs through `ionflow demo`'s
code (`run_study_file`, the one-system summary printer) on the Lennard-Jones stand-in
engine (a soft, fast-diffusing "liquid": seconds instead of minutes, and diffusion at
every temperature, so the Arrhenius fit exists at this length). Then `ionflow query
--json` in a new process must return Ea, σ(300 K) and D per temperature.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from ionflow.cli.demo import demo_study_path
from ionflow.testing.md import LennardJonesEngine
from ionflow.testing.processes import cli_json


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run the demo file at reduced length on the LJ engine; return doc, printout, paths."""
    from ionflow.cli.run import run_study_file
    from ionflow.cli.study import print_study_summary
    from ionflow.settings import reset_settings

    root = tmp_path_factory.mktemp("demo")
    study = yaml.safe_load(demo_study_path().read_text())
    study["md"].update(equilibration_steps=10, production_steps=160, sampling_interval=2)
    study["md"]["temperatures_K"] = [1000, 1400, 2000]
    study["relax"]["max_steps"] = 5
    study["neb"].update(max_hops=1, max_steps=20)
    path = root / "demo_short.yaml"
    path.write_text(yaml.safe_dump(study))
    mp = pytest.MonkeyPatch()
    mp.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    lines: list[str] = []
    mp.setattr("ionflow.cli.study.echo", lines.append)
    mp.setattr("ionflow.cli.run.progress", lambda *a, **k: None)
    # the demo's default on a 2-core machine: two worker processes, one thread each
    mp.setenv("IONFLOW_LOCAL_WORKERS", "2")
    reset_settings()
    try:
        finished = run_study_file(path, root / "work")
        print_study_summary(finished.doc)
    finally:
        mp.undo()
        reset_settings()
    return finished.doc, lines, root / "work"


def test_demo_document_is_complete(demo_run):
    doc, _, _ = demo_run
    (system,) = doc.systems
    assert system.sections == ["neb", "md"]
    t = system.transport
    assert [r.temperature_K for r in t.diffusion] == [1000.0, 1400.0, 2000.0]
    for r in t.diffusion:
        assert _finite(r.diffusivity_cm2_s, r.diffusivity_std_cm2_s)
    fit = t.arrhenius
    assert _finite(fit.activation_energy_eV, fit.activation_energy_std_eV)
    lo, hi = fit.conductivity_at_target_ci_mS_cm
    assert _finite(fit.conductivity_at_target_mS_cm, lo, hi)
    assert 0 < lo < fit.conductivity_at_target_mS_cm < hi
    # hops counted at every temperature, with the framework check
    assert [c.temperature_K for c in t.hop_counts] == [1000.0, 1400.0, 2000.0]
    assert all(c.n_hops >= 0 and c.duration_ps > 0 for c in t.hop_counts)
    # the NEB of the same cell, and the verdict that sets them side by side
    (hop,) = system.hops
    assert hop.converged or hop.message
    check = system.md_neb
    assert check is not None
    assert check.explanation
    assert check.md_activation_energy_eV == pytest.approx(fit.activation_energy_eV)
    if hop.converged:
        assert _finite(check.neb_barrier_eV, check.difference_sigma)
        assert check.verdict in ("agree", "differ")
        assert check.difference_sigma == pytest.approx(
            (check.md_activation_energy_eV - check.neb_barrier_eV) / fit.activation_energy_std_eV
        )


def test_demo_report_has_every_piece(demo_run):
    doc, lines, _ = demo_run
    report = Path(doc.report_dir) / "report.md"
    text = report.read_text()
    for piece in ("MSD and fit window", "Arrhenius", "NEB energy profile", "Li hops", "MD vs NEB"):
        assert piece in text, piece
    for link in ("md/msd.png", "md/arrhenius.png", "neb_main.png"):
        assert (Path(doc.report_dir) / link).is_file(), link
    printed = "\n".join(lines)
    assert "Ea = " in printed
    assert "sigma(300 K) = " in printed
    assert "CI" in printed
    assert "hops: " in printed
    assert "NEB " in printed
    assert "MD vs NEB: " in printed


def test_query_json_from_a_new_process(demo_run):
    doc, _, work = demo_run
    (row,) = cli_json(["query"], work)
    fit = doc.systems[0].transport.arrhenius
    assert row["activation_energy_eV"] == pytest.approx(fit.activation_energy_eV)
    assert row["conductivity_300K_mS_cm"] == pytest.approx(fit.conductivity_at_target_mS_cm)
    assert len(row["conductivity_300K_ci_mS_cm"]) == 2
    assert [d["temperature_K"] for d in row["diffusion"]] == [1000.0, 1400.0, 2000.0]
    for d, r in zip(row["diffusion"], doc.systems[0].transport.diffusion, strict=True):
        assert d["diffusivity_cm2_s"] == pytest.approx(r.diffusivity_cm2_s)
        assert isinstance(d["n_hops"], int)


def test_demo_jobs_ran_on_two_worker_processes(demo_run):
    _, _, work = demo_run
    (log,) = (work / "logs").glob("*.log")
    text = log.read_text()
    # every job ran on its own in a worker (one run_locally each) and reported back
    # through the log queue; in one process the whole flow is one run_locally
    n_jobs = text.count("Starting job - ")
    assert n_jobs == text.count("Finished job - ") > 10
    assert text.count("Started executing jobs locally") > 10
