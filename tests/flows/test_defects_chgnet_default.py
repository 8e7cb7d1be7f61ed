"""The default path: ``ionflow defects energies`` on the Table 1 study with CHGNet.

The study file ``configs/studies/li3ocl_defects_table1.yaml`` is read as it is, then
reduced (one defect, the Li-O-Cl phases, three relaxation steps) so it runs in the
default test run: the full set (seven defects, 200 steps) is the same command on the real
file (see ``report/published.py`` for the published numbers; the lead runs it idle).
"""

from __future__ import annotations

import json

import pytest
import yaml
from tests.conftest import REPO

from ionflow.cli.main import main

STUDY = REPO / "configs" / "studies" / "li3ocl_defects_table1.yaml"


@pytest.mark.mlff
def test_table1_study_runs_with_the_default_engine(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pytest.importorskip("chgnet")
    torch.set_num_threads(1)
    study = yaml.safe_load(STUDY.read_text())
    assert study["engine"] == "mlip"
    study["name"] = "table1_reduced"
    study["defects"] = [d for d in study["defects"] if d == {"type": "vacancy", "species": ["Li"]}]
    assert len(study["defects"]) == 1
    study["relax"] = {"fmax_eV_A": 0.3, "max_steps": 3}
    phases = study["formation"]["competing_phases"]
    study["formation"]["competing_phases"] = [
        str((STUDY.parent / p).resolve()) for p in phases if p.endswith("li_o_cl")
    ]
    path = tmp_path / "table1_reduced.yaml"
    path.write_text(yaml.safe_dump(study))
    work = ["--work-dir", str(tmp_path / "work")]
    assert main(["defects", "energies", str(path), *work, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["missing"] == []
    [vac] = doc["defects"]
    assert vac["label"] == "V_Li"
    assert vac["charge"] == 0
    assert vac["correction_method"] == "none"
    assert doc["engine"]["engine"] == "mlip"
    mu = doc["chemical_potentials"]
    # Li-rich with Li metal among the phases: μ_Li is the metal's
    assert mu["mu_relative_eV"]["Li"] == pytest.approx(0.0, abs=1e-6)
    # E_f = E(V_Li cell) - E(host) + μ_Li, from the stored numbers
    e_f = vac["energy_defect_eV"] - vac["energy_host_eV"] + mu["mu_eV"]["Li"]
    assert vac["raw_formation_energy_eV"] == pytest.approx(e_f, abs=1e-9)
    # a neutral Li vacancy costs energy at Li-rich (CHGNet: ~2.5 eV; the seed's isolated
    # V_Li: 3.78), so it is a result
    assert vac["formation_energy_determined"] is True
    assert vac["formation_energy_eV"] == pytest.approx(e_f, abs=1e-9)
    assert 1.0 < vac["formation_energy_eV"] < 5.0
    # the diagram (pymatgen-analysis-defects) at every limit: at ionflow's Li-rich vertex
    # (Li3ClO-Li-Li2O) the same number, within the library's 1 meV bulk-stability shift
    thermo = doc["thermodynamics"]
    assert "Li-Li2O" in thermo["chempot_limits"]
    [row] = thermo["defects"]
    assert row["name"] == "V_Li"
    assert row["formation_energy_at_vbm_eV"]["Li-Li2O"] == pytest.approx(
        vac["formation_energy_eV"], abs=2e-3
    )
    assert len(thermo["chempot_limits"]) >= 3
    # every limit: a positive result, or (E_f < 0: Li-poor limits, where the neutral MLIP
    # cell of V_Li' costs less than nothing) no value, the raw number and the reason
    for limit, value in row["formation_energy_at_vbm_eV"].items():
        raw = row["raw_formation_energy_at_vbm_eV"][limit]
        if value is None:
            assert raw < 0
            assert row["not_determined"][limit].startswith(f"E_f = {raw:.3f} eV < 0")
            assert "V_Li" not in thermo["envelopes"][limit]
        else:
            assert value == raw
            assert value > 0
            assert limit not in row["not_determined"]
    assert thermo["corrections"].startswith("mlip: none")
    # the stored result, next to the seed study's Table 1 (V_Li: 3.778 eV published)
    args = ["defects", "energies", str(path), *work, "--compare-published", "li3ocl"]
    assert main(args) == 0
    text = capsys.readouterr().out
    e_v = vac["formation_energy_eV"]
    assert f"V_Li         formation energy       3.778 {e_v:9.3f} {e_v - 3.778:+7.3f}  V_Li" in text
    assert "Li_i+S_Cl    formation energy       1.141 not computed" in text
    for limit, why in row["not_determined"].items():
        assert f"    V_Li at {limit}: not determined: {why}" in text
