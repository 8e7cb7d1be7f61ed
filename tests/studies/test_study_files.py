"""Smoke tests of every shipped design study: files, cells, flow graphs and first jobs.

For each ``configs/studies/<design>.yaml``: both settings load; the --quick cells have
the compositions the study is about; the --quick flow graph has one uniquely named job
per step with the collector last; and its first jobs (the relaxations, which need no
upstream output) run for real on the Lennard-Jones stand-in engine. The full --quick runs
with CHGNet are in ``test_quick_runs.py`` (slow).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from jobflow import OnMissing, run_locally
from pymatgen.core import Composition

from ionflow.config.study_file import load_study
from ionflow.settings import get_settings
from ionflow.study.build import build_study
from ionflow.study.cell import build_cell
from ionflow.testing.md import LennardJonesEngine, memory_job_store

STUDIES = Path(__file__).resolve().parents[2] / "configs" / "studies"

#: design -> {system: (quick cell composition, atoms)} and the systems of the full file
EXPECTED = {
    "li3ocl": (
        {
            "li_i": ("Li25O8Cl8", 41),
            "vacancy": ("Li23O8Cl7", 38),
            "li_i_o_cl": ("Li25O9Cl7", 41),
            "li_i_s_cl": ("Li25O8S1Cl7", 41),
        },
        ["defects", "li_i", "vacancy", "li_i_o_cl", "li_i_s_cl"],
    ),
    "li3obr": (
        {"pristine": ("Li24O8Br8", 40), "schottky": ("Li23O8Br7", 38)},
        ["pristine", "schottky"],
    ),
    "lacl3": ({"la_vacancy": ("Li3La5Cl18", 26)}, ["la_vacancy"]),
    "llto": (
        {
            "x033": ("Li4La7Ti12O36", 59),
            "x056": ("Li6La7Ti12O36", 61),
            "x067": ("Li8La7Ti12O36", 63),
        },
        ["x033", "x044", "x056", "x061", "x067"],
    ),
    "lita2po8": ({"hops": ("Li3Ta8P4O32", 47), "bulk": ("Li4Ta8P4O32", 48)}, ["hops", "bulk"]),
}


class _LJ(LennardJonesEngine):
    """The LJ stand-in with a model name the MLIP NEB maker accepts (an ASE calculator)."""

    model = "ase.calculators.lj.LennardJones"


@pytest.fixture
def lj_engine(monkeypatch):
    """Every engine lookup returns the Lennard-Jones stand-in."""
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: _LJ())


@pytest.mark.parametrize("design", sorted(EXPECTED))
def test_study_file_loads_in_both_settings(design):
    quick_cells, full_systems = EXPECTED[design]
    full = load_study(STUDIES / f"{design}.yaml")
    quick = load_study(STUDIES / f"{design}.yaml", quick=True)
    assert full.design == design
    assert [s.key for s in full.systems] == full_systems
    assert [s.key for s in quick.systems] == list(quick_cells)
    assert all(s.study.engine == "vasp" for s in full.systems)
    assert all(s.study.engine == "mlip" for s in quick.systems)
    for system in full.systems:
        assert system.study.name == f"{full.name}-{system.key}"
    # skipped systems say why (missing optional inputs, or left out of --quick)
    assert all(reason for reason in {**full.skipped, **quick.skipped}.values())


@pytest.mark.parametrize("design", sorted(EXPECTED))
def test_quick_cells(design):
    quick_cells, _ = EXPECTED[design]
    for system in load_study(STUDIES / f"{design}.yaml", quick=True).systems:
        built_cell = build_cell(system.study)
        cell, labels = built_cell.cell, built_cell.labels
        formula, n_atoms = quick_cells[system.key]
        assert cell.composition == Composition(formula), system.key
        assert len(cell) == n_atoms
        if system.study.defects:
            assert labels, system.key


@pytest.mark.parametrize("design", sorted(EXPECTED))
def test_quick_flow_graph_and_first_jobs(design, lj_engine, tmp_path):
    quick = load_study(STUDIES / f"{design}.yaml", quick=True)
    settings = get_settings(work_dir=tmp_path / "work")
    built = build_study(quick, settings, "smoke-run")
    flow, meta = built.flow, built.meta
    jobs = [job for job, _ in flow.iterflow()]
    names = [job.name for job in jobs]
    assert len(names) == len(set(names)), "job names must be unique"
    assert names[-1] == f"summarize study {quick.name}"
    assert jobs[-1].config.on_missing_references == OnMissing.NONE
    assert meta.quick
    assert meta.systems == [s.key for s in quick.systems]
    for system in quick.systems:
        tag = f"[{system.key}]"
        own = [n for n in names if n.endswith(tag)]
        if system.study.md is not None:
            assert f"relax cell {tag}" in own
            for t in system.study.md.temperatures_K:
                assert f"analyze {t:g}K {tag}" in own
            assert f"summarize study {tag}" in own
        if system.study.neb is not None:
            assert f"summarize nebs {system.study.name} {tag}" in own
    # the first jobs (no parents) run on their own: the relaxations of every system
    # (the MD cell and, with an neb section, both endpoints of every hop)
    roots = [job for job, parents in flow.iterflow() if not parents]
    assert all(j.name.startswith("relax ") for j in roots)
    assert {f"relax cell [{s.key}]" for s in quick.systems if s.study.md} <= {j.name for j in roots}
    store = memory_job_store()
    for root in roots:
        job = copy.deepcopy(root)
        job.hosts = []  # run it on its own, outside the design flow
        responses = run_locally(job, store=store, create_folders=True, root_dir=tmp_path, log=False)
        output = responses[job.uuid][1].output
        key = job.name.split("[")[1].rstrip("]")
        formula, n_atoms = EXPECTED[design][0][key]
        got = output.structure.composition
        if job.name.startswith("relax cell"):
            assert got == Composition(formula)
        else:  # NEB endpoint: the defect cell, or the perfect cell less one Li (vacancy hop)
            assert got["Li"] in (Composition(formula)["Li"], Composition(formula)["Li"] - 1)
            assert got - Composition({"Li": got["Li"]}) == Composition(formula) - Composition(
                {"Li": Composition(formula)["Li"]}
            )
        assert len(output.structure) in (n_atoms, n_atoms - 1)


def test_studies_command_lists_the_design_files(capsys):
    from ionflow.cli.main import main

    assert main(["studies", str(STUDIES)]) == 0
    out = capsys.readouterr().out
    for design in EXPECTED:
        assert f"{design}.yaml: {design} — " in out
    assert "not run: antispinel" in out
    assert "li3ocl_defects_table1.yaml" not in out  # a plain study, not a design


def test_quick_flag_needs_a_quick_block(tmp_path, capsys):
    from ionflow.cli.main import main

    plain = STUDIES / "li3ocl_defects_table1.yaml"
    assert main(["run", str(plain), "--quick", "--work-dir", str(tmp_path)]) == 2
    assert "--quick needs a 'quick:' block in the file" in capsys.readouterr().err
