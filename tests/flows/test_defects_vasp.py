"""VASP path of the defect flow with a fake VASP: LOCPOT, host VBM, Freysoldt correction.

The fake (:class:`ionflow.testing.charged_cells.VaspCellFake`) replays atomate's LiF
relaxation (shared data) re-cut for each cell atomate2 writes: the energies are a chosen
function of the cell, the eigenvalues (hence the VBM) are the reference run's, and the
LOCPOT of a charged cell is the host's plus the exact potential of a Gaussian charge at
the vacancy. The Freysoldt correction must then be the Makov-Payne term plus the model's
G = 0 alignment (see tests/analysis/test_freysoldt.py), and must equal
pymatgen-analysis-defects run on the LOCPOT files the fake wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jobflow import run_locally
from pymatgen.core import Structure
from pymatgen.entries.computed_entries import ComputedEntry
from pymatgen.io.vasp import Locpot, Vasprun

from ionflow.analysis.formation import point_charge_correction
from ionflow.errors import InputError
from ionflow.testing.charged_cells import (
    BOHR_A,
    HARTREE_EV,
    VaspCellFake,
    gaussian_charge_potential,
)
from ionflow.testing.md import memory_job_store

EPS = 5.0
ZVAL = {"Li": 3, "F": 7}  # Li_sv, F (POTCARs are licensed; NELECT from this table)
E_ATOM = {"Li": -1.9, "F": -2.4}
SHAPE = (24, 24, 24)
VACANCY = {"type": "vacancy", "species": ["Li"], "charge": -1}
ENTRIES = {"Li": -1.9, "F2": -3.8, "LiF": -10.6}


@pytest.fixture
def lif_ref(shared_dir) -> Path:
    return shared_dir / "data" / "relax" / "atomate_lif_pbesol_relax"


def _energy(structure, charge):
    return sum(E_ATOM[s.specie.symbol] for s in structure) + 0.3 * charge


def _host_grid(structure):
    f = [np.arange(n) / n for n in SHAPE]
    x, y, z = np.meshgrid(*f, indexing="ij")
    return 2.0 * np.cos(2 * np.pi * x) + np.cos(4 * np.pi * y) - 0.5 * np.cos(2 * np.pi * z)


def _vacancy_site(host_sc: Structure, structure: Structure) -> np.ndarray:
    dist = host_sc.lattice.get_all_distances(host_sc.frac_coords, structure.frac_coords)
    return host_sc.frac_coords[int(np.argmax(dist.min(axis=1)))]


@pytest.fixture
def vasp_setup(lif_ref, monkeypatch, tmp_path):
    from pymatgen.io.vasp.sets import VaspInputSet

    from ionflow.structures.supercell import choose_supercell

    def nelect(self):
        n = sum(ZVAL[s.specie.symbol] for s in self.structure)
        return n - (self.structure.charge if self.use_structure_charge else 0)

    monkeypatch.setattr(VaspInputSet, "nelect", property(nelect))
    monkeypatch.chdir(tmp_path)
    host = Structure.from_file(lif_ref / "CONTCAR")
    host_sc = choose_supercell(host, matrix=[2, 2, 2]).structure

    def potential(structure, charge):
        grid = _host_grid(structure)
        if charge:
            frac = _vacancy_site(host_sc, structure)
            grid = grid + gaussian_charge_potential(structure.lattice, charge, EPS, frac, SHAPE)
        return grid

    def make_fake(**kwargs):
        fake = VaspCellFake(lif_ref, _energy, potential, ZVAL, **kwargs)
        monkeypatch.setattr("atomate2.vasp.jobs.base.run_vasp", fake)
        return fake

    return host, host_sc, make_fake


def _flow(host, relax_host_cell=False, **kwargs):
    from ionflow.engines.vasp import VaspEngine
    from ionflow.flows.defects import DefectFormationMaker

    maker = DefectFormationMaker(
        engine=VaspEngine(write_input_set_kwargs={"potcar_spec": True}),
        relax_host_cell=relax_host_cell,
        binding=False,
        dielectric_constant=EPS,
        fermi_level_eV=0.5,
        **kwargs,
    )
    entries = [ComputedEntry(f, e) for f, e in ENTRIES.items()]
    return maker.make(host, [VACANCY], supercell_matrix=[2, 2, 2], entries=entries)


def _run(flow, store):
    responses = run_locally(flow, store=store, create_folders=True, ensure_success=False)
    return responses


def test_vasp_charged_vacancy_gets_freysoldt_and_host_vbm(vasp_setup, lif_ref):
    from pymatgen.analysis.defects.corrections.freysoldt import get_freysoldt_correction

    host, host_sc, make_fake = vasp_setup
    fake = make_fake()
    flow = _flow(host, relax_host_cell=True)
    names = [j.name for j in flow.jobs]
    assert "defects read locpot host supercell LiF" in names
    assert "defects read locpot V_Li_q-1" in names
    store = memory_job_store()
    responses = _run(flow, store)
    doc = responses[flow.jobs[-1].uuid][1].output

    by_n = {c["n_atoms"]: c for c in fake.calls}
    assert sorted(by_n) == [2, 15, 16]  # host cell (ISIF 3), host supercell, V_Li
    assert by_n[2]["incar"]["ISIF"] == 3
    assert "LVHAR" not in by_n[2]["incar"]
    host_call, defect_call = by_n[16], by_n[15]
    assert host_call["incar"]["LVHAR"] is True
    assert defect_call["incar"]["LVHAR"] is True
    assert defect_call["incar"]["NELECT"] == 8 * 3 - 3 + 8 * 7 + 1  # q = -1: one extra e-
    assert defect_call["charge"] == -1
    assert host_call["charge"] == 0

    assert doc.missing == []
    (d,) = doc.defects
    assert d.label == "V_Li_q-1"
    assert d.correction_method == "freysoldt"
    # VBM read from the host run's eigenvalues (the reference vasprun's band edges)
    vbm = Vasprun(str(lif_ref / "vasprun.xml.gz"), parse_dos=False).eigenvalue_band_properties[2]
    assert doc.vbm_eV == pytest.approx(vbm, abs=1e-6)
    assert "host run" in doc.vbm_source
    # correction = Makov-Payne + the Gaussian model's G=0 alignment (analytic)
    lattice = d.relaxed_structure.lattice
    mp = point_charge_correction(lattice, -1, EPS)
    g0 = -np.pi / (EPS * lattice.volume / BOHR_A**3) * HARTREE_EV
    assert d.correction_electrostatic_eV == pytest.approx(mp, rel=0.01)
    assert d.correction_alignment_eV == pytest.approx(g0, rel=0.01)
    assert d.correction_eV == pytest.approx(mp + g0, rel=0.01)
    # peer: pymatgen-analysis-defects on the LOCPOT files the fake wrote
    frac = _vacancy_site(host_sc, d.relaxed_structure)
    peer = get_freysoldt_correction(
        -1,
        EPS,
        Locpot.from_file(str(Path(defect_call["dir"]) / "LOCPOT.gz")),
        Locpot.from_file(str(Path(host_call["dir"]) / "LOCPOT.gz")),
        defect_frac_coords=frac,
    )
    assert d.correction_eV == pytest.approx(peer.correction_energy, abs=2e-3)
    expected = (
        _energy(d.relaxed_structure, -1)
        - _energy(host_sc, 0)
        + ENTRIES["Li"]
        - 1 * (0.5 + vbm)
        + d.correction_eV
    )
    assert d.formation_energy_eV == pytest.approx(expected, abs=1e-6)
    from ionflow.cli.defects import _table

    text = "\n".join(_table(doc))
    assert f"q -1: freysoldt correction {d.correction_eV:+.3f} eV: electrostatic" in text
    assert "(host run vasprun.xml" in text


def test_user_vbm_overrides_host_run(vasp_setup):
    host, _, make_fake = vasp_setup
    make_fake()
    flow = _flow(host, vbm_eV=1.25)
    doc = _run(flow, memory_job_store())[flow.jobs[-1].uuid][1].output
    assert doc.vbm_eV == 1.25
    assert doc.vbm_source == "user"
    assert doc.defects[0].vbm_eV == 1.25


def test_missing_locpot_is_a_clear_error_and_keeps_the_runs(vasp_setup):
    from ionflow.io.vasp_outputs import read_cell_potential

    host, _, make_fake = vasp_setup
    make_fake(write_locpot=False)
    flow = _flow(host)
    store = memory_job_store()
    responses = _run(flow, store)
    doc = responses[flow.jobs[-1].uuid][1].output
    assert doc.defects == []
    assert doc.missing == ["V_Li_q-1"]
    (warning,) = [w for w in doc.warnings if w.startswith("V_Li_q-1")]
    # the relaxations themselves are stored
    relax = next(j for j in flow.jobs if j.name == "defects relax V_Li_q-1")
    stored = store.query_one({"uuid": relax.uuid})
    assert stored["output"]["output"]["energy"] == pytest.approx(7 * -1.9 + 8 * -2.4 - 0.3)
    folder = Path(stored["output"]["dir_name"].split(":", 1)[-1])
    assert f"no LOCPOT of the defect cell could be read from {folder}" in warning
    assert "LVHAR = True" in warning
    with pytest.raises(InputError, match=f"no LOCPOT in {folder}.*LVHAR = True"):
        read_cell_potential(stored["output"]["dir_name"])


def test_charged_vasp_cells_need_the_dielectric_constant(lif_ref):
    from ionflow.engines.vasp import VaspEngine
    from ionflow.errors import ConfigError
    from ionflow.flows.defects import DefectFormationMaker

    host = Structure.from_file(lif_ref / "CONTCAR")
    entries = [ComputedEntry(f, e) for f, e in ENTRIES.items()]
    maker = DefectFormationMaker(engine=VaspEngine(), relax_host_cell=False, binding=False)
    with pytest.raises(ConfigError, match="dielectric_constant"):
        maker.make(host, [VACANCY], supercell_matrix=[2, 2, 2], entries=entries)
    # neutral cells need neither ε nor a VBM
    neutral = {**VACANCY, "charge": 0}
    flow = maker.make(host, [neutral], supercell_matrix=[2, 2, 2], entries=entries)
    assert not any("read locpot" in j.name for j in flow.jobs)


def test_study_file_with_vasp_builds_the_locpot_jobs(lif_ref, tmp_path):
    from monty.serialization import dumpfn

    from ionflow.config.study_file import load_study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    dumpfn([ComputedEntry(f, e) for f, e in ENTRIES.items()], tmp_path / "entries.json")
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: lif_vli\n"
        f"structure: {{file: {lif_ref / 'CONTCAR'}}}\n"
        "engine: vasp\n"
        "supercell: {matrix: [2, 2, 2]}\n"
        "defects:\n"
        "  - {type: vacancy, species: [Li], charge: -1}\n"
        "formation: {entries: entries.json, dielectric_constant: 5.0, relax_host_cell: false}\n"
    )
    flow = (
        build_study(load_study(study), get_settings(), only=["defects"])
        .system("main")
        .section_flows["defects"]
    )
    jobs = {j.name: j for j in flow.jobs}
    assert {"defects read locpot host supercell LiF", "defects read locpot V_Li_q-1"} <= set(jobs)
    for name in ("defects relax host supercell LiF", "defects relax V_Li_q-1"):
        generator = jobs[name].maker.input_set_generator
        assert generator.user_incar_settings["LVHAR"] is True
        assert generator.use_structure_charge
    (settings,) = [a for a in flow.jobs[-1].function_args if isinstance(a, dict)]
    assert settings["freysoldt"] is True
    assert settings["vbm_eV"] is None  # read from the host run


def test_study_engine_file_reaches_the_defect_relaxations(lif_ref, tmp_path):
    """A study's engine_config (adapter incar, command) reaches every formation-energy relax."""
    from monty.serialization import dumpfn

    from ionflow.config.study_file import load_study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    dumpfn([ComputedEntry(f, e) for f, e in ENTRIES.items()], tmp_path / "entries.json")
    (tmp_path / "vasp_site.yaml").write_text(
        "engine: vasp\n"
        "adapter: {vasp_cmd: srun -n 8 vasp_std, incar: {ENCUT: 450, LASPH: true}}\n"
        "overrides: {NELM: 77, EDIFF: 1.0e-6}\n"
    )
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: lif_vli\n"
        f"structure: {{file: {lif_ref / 'CONTCAR'}}}\n"
        "engine_config: vasp_site.yaml\n"
        "engine_overrides: {EDIFF: 1.0e-5}\n"
        "supercell: {matrix: [2, 2, 2]}\n"
        "defects:\n"
        "  - {type: vacancy, species: [Li], charge: 0}\n"
        "formation: {entries: entries.json, relax_host_cell: true}\n"
    )
    flow = (
        build_study(load_study(study), get_settings(), only=["defects"])
        .system("main")
        .section_flows["defects"]
    )
    relax_names = [j.name for j in flow.jobs if " relax " in f" {j.name} "]
    assert "defects relax V_Li_q+0" in relax_names
    assert len(relax_names) == 3  # host cell, host supercell, vacancy
    for name in relax_names:
        maker = next(j for j in flow.jobs if j.name == name).maker
        incar = maker.input_set_generator.user_incar_settings
        assert (incar["ENCUT"], incar["LASPH"]) == (450, True), name  # adapter incar
        assert (incar["NELM"], incar["EDIFF"]) == (77, 1e-5), name  # file + study overrides
        assert maker.run_vasp_kwargs["vasp_cmd"] == "srun -n 8 vasp_std", name


def test_charge_states_auto_one_cell_each_with_nelect_and_transition_levels(vasp_setup):
    """``charges: auto`` for V_Li' gives -2, -1, 0, +1: one VASP cell each, NELECT from
    the charge, LVHAR on the charged ones, then the diagram and its (q/q') levels."""
    from ionflow.engines.vasp import VaspEngine
    from ionflow.errors import ConfigError
    from ionflow.flows.defects import DefectFormationMaker

    host, _, make_fake = vasp_setup
    fake = make_fake()
    spec = {"type": "vacancy", "species": ["Li"], "charges": "auto"}
    maker = DefectFormationMaker(
        engine=VaspEngine(write_input_set_kwargs={"potcar_spec": True}),
        relax_host_cell=False,
        binding=False,
        dielectric_constant=EPS,
        band_gap_eV=6.0,
    )
    entries = [ComputedEntry(f, e) for f, e in ENTRIES.items()]
    flow = maker.make(host, [spec], supercell_matrix=[2, 2, 2], entries=entries)
    relax = sorted(j.name for j in flow.jobs if j.name.startswith("defects relax V_Li"))
    assert relax == sorted(f"defects relax V_Li_q{q:+d}" for q in (-2, -1, 0, 1))
    doc = _run(flow, memory_job_store())[flow.jobs[-1].uuid][1].output
    neutral_electrons = 8 * 3 - 3 + 8 * 7
    calls = {c["charge"]: c for c in fake.calls if c["n_atoms"] == 15}
    assert sorted(calls) == [-2, -1, 0, 1]
    for q, call in calls.items():
        # the neutral cell runs with VASP's default NELECT (the neutral count)
        assert call["incar"].get("NELECT", neutral_electrons) == neutral_electrons - q
        assert call["incar"].get("LVHAR") is (True if q else None)
    thermo = doc.thermodynamics
    assert {r.name for r in thermo.defects} == {"V_Li"}
    assert set(thermo.chempot_limits) == {"Li", "F2"}
    by_q = {d.charge: d for d in doc.defects}
    rows = {r.charge: r for r in thermo.defects}
    for q, row in rows.items():
        # at the Li-rich limit (Li metal) the diagram reproduces the document's own E_f
        # with E_F = 0 (the document's E_F is 0 here): within the library's 1 meV bulk shift
        assert row.raw_formation_energy_at_vbm_eV["Li"] == pytest.approx(
            by_q[q].raw_formation_energy_eV, abs=2e-3
        )
        assert row.correction_method == ("freysoldt" if q else "none")
    # the toy energies: V_Li^0 costs 0 eV at Li-rich (a result, within the 1 meV noise
    # tolerance) and -6.8 eV at F-rich (not a result: every charge state there is None)
    assert rows[0].raw_formation_energy_at_vbm_eV["Li"] == pytest.approx(0.0, abs=1e-9)
    assert rows[0].formation_energy_at_vbm_eV["Li"] == pytest.approx(0.0, abs=1e-9)
    assert rows[0].raw_formation_energy_at_vbm_eV["F2"] == pytest.approx(-6.8, abs=2e-3)
    for row in rows.values():
        assert row.formation_energy_at_vbm_eV["F2"] is None
        assert row.not_determined["F2"].startswith("E_f = -6.800 eV < 0 for the neutral cell")
        assert "Li" not in row.not_determined
    # transition levels: where adjacent lowest charge states cross
    e = {q: r.raw_formation_energy_at_vbm_eV["Li"] for q, r in rows.items()}
    assert thermo.transition_levels
    for level in thermo.transition_levels:
        q1, q2 = level.charges
        assert level.fermi_level_eV == pytest.approx((e[q2] - e[q1]) / (q1 - q2), abs=1e-9)
    assert "Freysoldt" in thermo.corrections
    # an engine without charged cells refuses charge states
    from ionflow.testing.md import LennardJonesEngine

    with pytest.raises(ConfigError, match="charged cells"):
        DefectFormationMaker(engine=LennardJonesEngine()).make(
            host, [spec], supercell_matrix=[2, 2, 2], entries=entries
        )
