"""CP2K path of the defect flow with a fake CP2K: inputs, energies, point-charge correction.

The fake (:class:`ionflow.testing.cp2k_replay.Cp2kCellFake`) re-cuts atomate2's real CP2K
GEO_OPT output (shared data) for each cell atomate2 writes, with a chosen energy per cell.
atomate2's relax makers, input sets and task documents run for real; the formation
energies must be exactly the bookkeeping of those energies, the chemical potentials, the
user VBM and the Makov-Payne term (CP2K gives no LOCPOT, so no Freysoldt correction).
"""

from __future__ import annotations

import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.analysis.formation import chemical_potentials, point_charge_correction
from ionflow.testing.cp2k import ensure_pmg_cp2k_data
from ionflow.testing.cp2k_replay import CachedYaml, Cp2kCellFake
from ionflow.testing.md import memory_job_store

E_ATOM = {"Li": -7.1, "O": -430.2, "Cl": -410.6}
TOY = {"Li": -1.9, "Cl2": -3.6, "O2": -9.8, "Li2O": -14.8, "LiCl": -7.9, "Li3OCl": -22.8}
VACANCY = {"type": "vacancy", "species": ["Li"], "charge": -1}
SCHOTTKY = {"type": "schottky", "species": ["Li", "Cl"], "separation": "nearest"}


def _energy(structure, charge):
    return sum(E_ATOM[s.specie.symbol] for s in structure) + 0.4 * charge


def _li3ocl() -> Structure:
    return Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def test_cp2k_defect_flow_energies_reach_the_formation_energy(shared_dir, tmp_path, monkeypatch):
    from ionflow.engines.cp2k import Cp2kEngine
    from ionflow.flows.defects import DefectFormationMaker

    monkeypatch.setenv("IONFLOW_CP2K__DATA_DIR", str(ensure_pmg_cp2k_data()))
    from ionflow.settings import reset_settings

    reset_settings()
    fake = Cp2kCellFake(shared_dir / "data" / "cp2k" / "atomate2_si_geo_opt" / "cp2k.out", _energy)
    monkeypatch.setattr("atomate2.cp2k.jobs.base.run_cp2k", fake)
    monkeypatch.setattr("pymatgen.io.cp2k.sets.YAML", CachedYaml)
    monkeypatch.chdir(tmp_path)
    entries = [ComputedEntry(f, e) for f, e in TOY.items()]
    maker = DefectFormationMaker(
        engine=Cp2kEngine(),
        binding=False,
        dielectric_constant=5.0,
        vbm_eV=2.0,
        fermi_level_eV=0.3,
    )
    flow = maker.make(_li3ocl(), [VACANCY, SCHOTTKY], supercell_matrix=[2, 1, 1], entries=entries)
    assert not any("read locpot" in j.name for j in flow.jobs)
    responses = run_locally(flow, store=memory_job_store(), create_folders=True)
    doc = responses[flow.jobs[-1].uuid][1].output

    # host cell, host supercell, the two distinct Li vacancies (q = -1) of the 2x1x1 cell
    # and the Schottky pair
    assert sorted(c["n_atoms"] for c in fake.calls) == [5, 8, 9, 9, 10]
    by_n = {c["n_atoms"]: c for c in fake.calls}
    assert by_n[9]["charge"] == -1  # the cell's charge reaches the CP2K input
    assert all(by_n[n]["charge"] == 0 for n in (5, 8, 10))
    assert "RUN_TYPE GEO_OPT" in by_n[9]["input"]

    assert doc.missing == []
    assert doc.energy_host_eV == pytest.approx(by_n[10]["energy_eV"], abs=1e-6)
    mus = chemical_potentials(entries, "Li3OCl", "Li-rich").mu_eV
    vacancies = [d for d in doc.defects if d.charge == -1]
    assert len(vacancies) == 2
    for vac in vacancies:
        assert vac.energy_defect_eV == pytest.approx(by_n[9]["energy_eV"], abs=1e-6)
        assert vac.correction_method == "point_charge"
        corr = point_charge_correction(vac.relaxed_structure.lattice, -1, 5.0)
        assert vac.correction_eV == pytest.approx(corr)
        assert vac.formation_energy_eV == pytest.approx(
            by_n[9]["energy_eV"] - by_n[10]["energy_eV"] + mus["Li"] - (0.3 + 2.0) + corr,
            abs=1e-6,
        )
    (pair,) = [d for d in doc.defects if d.label.startswith("V_Li+V_Cl")]
    assert pair.correction_method == "none"
    assert pair.formation_energy_eV == pytest.approx(
        by_n[8]["energy_eV"] - by_n[10]["energy_eV"] + mus["Li"] + mus["Cl"], abs=1e-6
    )
    assert doc.vbm_source == "user"


def test_study_engine_file_reaches_the_cp2k_defect_relaxations(tmp_path):
    """A study's CP2K engine_config (input_settings, command) reaches the defect relaxations."""
    from monty.serialization import dumpfn

    from ionflow.config.study_file import load_study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    _li3ocl().to(filename=str(tmp_path / "Li3OCl.cif"))
    dumpfn([ComputedEntry(f, e) for f, e in TOY.items()], tmp_path / "entries.json")
    (tmp_path / "cp2k_site.yaml").write_text(
        "engine: cp2k\n"
        f"adapter: {{cp2k_cmd: srun cp2k.popt, data_dir: {tmp_path}, "
        "input_settings: {cutoff: 350, rel_cutoff: 50}}\n"
        "overrides: {max_scf: 33}\n"
    )
    (tmp_path / "study.yaml").write_text(
        "name: li3ocl_vli_cp2k\n"
        "structure: {file: Li3OCl.cif}\n"
        "engine_config: cp2k_site.yaml\n"
        "supercell: {matrix: [2, 1, 1]}\n"
        "defects:\n"
        "  - {type: vacancy, species: [Li], charge: -1}\n"
        "formation: {entries: entries.json, relax_host_cell: false, vbm_eV: 2.0,\n"
        "            dielectric_constant: 5.0}\n"
    )
    flow = (
        build_study(load_study(tmp_path / "study.yaml"), get_settings(), only=["defects"])
        .system("main")
        .section_flows["defects"]
    )
    relaxes = [j for j in flow.jobs if j.name.startswith("defects relax ")]
    assert {"defects relax V_Li_1_q-1", "defects relax host supercell Li3ClO"} <= {
        j.name for j in relaxes
    }
    for job in relaxes:
        settings = job.maker.input_set_generator.user_input_settings
        assert (settings["cutoff"], settings["rel_cutoff"]) == (350, 50), job.name
        assert settings["max_scf"] == 33, job.name
        assert job.maker.run_cp2k_kwargs["cp2k_cmd"] == "srun cp2k.popt", job.name
