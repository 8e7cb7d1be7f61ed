"""VASP defect flow with the Kumagai (eFNV) correction, on replayed real runs.

The fake VASP (:class:`GanReplay`) replays pymatgen-analysis-defects' Mg_Ga in GaN runs
(``tests/data/defects/gan_mg_ga``: vasprun.xml and OUTCAR, no LOCPOT, see its README):
the host supercell run gets ``bulk_sc``, a Mg_Ga cell of charge q (from the INCAR's
NELECT) gets ``q=<q>``. Without a LOCPOT, ``correction: auto`` (the default) falls back
to Kumagai from the OUTCAR site potentials; the correction, its terms, the VBM and the
formation energies must equal ``ionflow analyze defects --correction kumagai`` on the
same folders (itself checked against the library in
tests/cli/test_analyze_defects_kumagai.py).
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pytest
from jobflow import run_locally
from monty.serialization import loadfn
from pymatgen.analysis.defects.corrections import kumagai as library_kumagai
from pymatgen.io.vasp import Incar, Poscar, Vasprun

from ionflow.cli.main import main
from ionflow.testing.md import memory_job_store

DATA = Path(__file__).parents[1] / "data" / "defects" / "gan_mg_ga"
ENTRIES = DATA / "stable_entries_Mg_Ga_N.json.gz"
ZVAL = {"Mg": 2, "Ga": 13, "N": 5}  # Mg, Ga_d, N: 277 electrons in the neutral Mg_Ga cell
EPS = 14.0
SPEC = {
    "type": "substitution",
    "species": ["Mg", "Ga"],
    "oxidation_states": {"Mg": 2, "Ga": 3, "N": -3},
}


def _final_structure(folder: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = Vasprun(
            str(folder / "vasprun.xml.gz"),
            parse_dos=False,
            parse_eigen=False,
            parse_potcar_file=False,
        )
    return run.final_structure


class GanReplay:
    """``run_vasp`` stand-in: copies the real run matching the POSCAR and NELECT."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, *args, **kwargs) -> None:
        folder = Path.cwd()
        incar = Incar.from_file(folder / "INCAR")
        structure = Poscar.from_file(folder / "POSCAR").structure
        neutral = sum(ZVAL[s.specie.symbol] for s in structure)
        charge = round(neutral - float(incar.get("NELECT", neutral)))
        source = DATA / (f"q={charge}" if "Mg" in structure.composition else "bulk_sc")
        self.calls.append({"incar": dict(incar), "charge": charge, "source": source.name})
        for name in ("vasprun.xml", "OUTCAR"):
            with gzip.open(source / f"{name}.gz", "rb") as stream:
                (folder / name).write_bytes(stream.read())
        # emmet takes the output structure from CONTCAR: the run's final structure
        final = Poscar(_final_structure(source))
        (folder / "CONTCAR").write_text(final.get_str(significant_figures=16))


@pytest.fixture
def replay(monkeypatch, tmp_path):
    from pymatgen.io.vasp.sets import VaspInputSet

    def nelect(self):
        n = sum(ZVAL[s.specie.symbol] for s in self.structure)
        return n - (self.structure.charge if self.use_structure_charge else 0)

    monkeypatch.setattr(VaspInputSet, "nelect", property(nelect))
    monkeypatch.chdir(tmp_path)
    fake = GanReplay()
    monkeypatch.setattr("atomate2.vasp.jobs.base.run_vasp", fake)
    return fake


def _analyze(charges, capsys) -> dict:
    args = ["analyze", "defects", "--bulk", str(DATA / "bulk_sc"), "--entries", str(ENTRIES)]
    for q in charges:
        args += ["--defect", str(DATA / f"q={q}")]
    args += ["--correction", "kumagai", "--dielectric", str(EPS), "--json"]
    capsys.readouterr()  # the flow's log lines
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("correction", "charges"), [("auto", (-1, 0, 1)), ("kumagai", (1,))], ids=["auto", "kumagai"]
)
def test_flow_kumagai_equals_analyze_defects_on_the_same_runs(replay, capsys, correction, charges):
    from ionflow.engines.vasp import VaspEngine
    from ionflow.flows.defects import DefectFormationMaker

    maker = DefectFormationMaker(
        engine=VaspEngine(write_input_set_kwargs={"potcar_spec": True}),
        relax_host_cell=False,
        binding=False,
        dielectric_constant=EPS,
        compatibility="none",  # as analyze defects: the entries as given
        condition="N-rich",
        correction=correction,
    )
    host = _final_structure(DATA / "bulk_sc")
    spec = {**SPEC, "charges": list(charges)}
    flow = maker.make(host, [spec], supercell_matrix=[1, 1, 1], entries=loadfn(ENTRIES))
    names = {j.name for j in flow.jobs}
    read = "read locpot" if correction == "auto" else "read site potentials"
    assert f"defects {read} host supercell GaN" in names
    assert f"defects {read} Mg_Ga_q+1" in names
    responses = run_locally(flow, store=memory_job_store(), create_folders=True)
    doc = responses[flow.jobs[-1].uuid][1].output

    # the runs: NELECT from the charge; LVHAR only where Freysoldt is possible (auto)
    charged = [c for c in replay.calls if c["charge"]]
    assert sorted(c["charge"] for c in charged) == sorted(q for q in charges if q)
    for call in charged:
        assert call["incar"]["NELECT"] == 277 - call["charge"]
        assert call["source"] == f"q={call['charge']}"
        assert call["incar"].get("LVHAR") is (True if correction == "auto" else None)

    ref = _analyze(charges, capsys)
    assert doc.missing == []
    assert doc.vbm_eV == pytest.approx(ref["vbm_eV"], abs=1e-6)  # host run's eigenvalues
    theirs = {d["charge"]: d for d in ref["defects"]}
    ours = {d.charge: d for d in doc.defects}
    assert sorted(ours) == sorted(charges)
    for q in charges:
        d, r = ours[q], theirs[q]
        if q == 0:
            assert (d.correction_method, d.correction_eV) == ("none", 0.0)
            continue
        assert d.correction_method == r["correction_method"] == "kumagai"
        assert d.correction_eV == pytest.approx(r["correction_eV"], abs=1e-6)
        assert d.correction_point_charge_eV == pytest.approx(
            r["correction_terms_eV"]["point_charge"], abs=1e-6
        )
        assert d.correction_alignment_eV == pytest.approx(
            r["correction_terms_eV"]["alignment"], abs=1e-6
        )
        assert d.correction_electrostatic_eV is None
    # measured on these files at ε = 14 (analyze defects): q -1 +0.297, +1 -0.305 eV
    assert abs(ours[1].correction_eV) > 0.25
    # the formation energies at the VBM per chemical-potential limit: the same numbers
    rows = {r.charge: r for r in doc.thermodynamics.defects}
    compared = 0
    for q in charges:
        for limit, value in theirs[q]["formation_energy_at_vbm_eV"].items():
            if value is not None:
                assert rows[q].raw_formation_energy_at_vbm_eV[limit] == pytest.approx(
                    value, abs=1e-6
                ), (q, limit)
                compared += 1
    assert compared >= len(charges)
    assert "Kumagai" in doc.thermodynamics.corrections
    from ionflow.cli.defects import _table

    text = "\n".join(_table(doc))
    assert f"q +1: kumagai correction {ours[1].correction_eV:+.3f} eV: point_charge" in text


def _study(tmp_path: Path, correction: str) -> Path:
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: gan_mg\n"
        f"structure: {{file: {DATA / 'GaN.vasp'}}}\n"
        "engine: vasp\n"
        "supercell: {matrix: [2, 2, 2]}\n"
        "defects:\n"
        "  - {type: substitution, species: [Mg, Ga], charge: 1,\n"
        "     oxidation_states: {Mg: 2, Ga: 3, N: -3}}\n"
        f"formation: {{entries: {ENTRIES}, condition: N-rich, dielectric_constant: {EPS}, "
        f"relax_host_cell: false, correction: {correction}}}\n"
    )
    return study


def test_study_file_kumagai_builds_site_potential_jobs_without_lvhar(tmp_path):
    from ionflow.config.study_file import load_study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    flow = (
        build_study(load_study(_study(tmp_path, "kumagai")), get_settings(), only=["defects"])
        .system("main")
        .section_flows["defects"]
    )
    jobs = {j.name: j for j in flow.jobs}
    assert {"defects read site potentials host supercell GaN"} <= set(jobs)
    assert not any("read locpot" in name for name in jobs)
    charged = [n for n in jobs if n.startswith("defects relax Mg_Ga")]
    assert charged == ["defects relax Mg_Ga_q+1"]
    for name in ("defects relax host supercell GaN", *charged):
        generator = jobs[name].maker.input_set_generator
        assert "LVHAR" not in generator.user_incar_settings
        assert generator.use_structure_charge
    (settings,) = [a for a in flow.jobs[-1].function_args if isinstance(a, dict)]
    assert (settings["correction"], settings["freysoldt"]) == ("kumagai", False)


def test_kumagai_without_pydefect_exits_2_at_build(tmp_path, monkeypatch, capsys):
    """pydefect not importable: as the library's module is when its import fails."""
    monkeypatch.setattr(library_kumagai, "__has_pydefect__", False)
    study = _study(tmp_path, "kumagai")
    work = ["--work-dir", str(tmp_path / "work")]
    assert main(["defects", "energies", str(study), *work, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert [line for line in lines if "error" in line.lower()] == [lines[-1]]
    assert lines[-1].startswith("error: the Kumagai (eFNV) correction needs pydefect and vise")
    assert lines[-1].endswith("pip install --no-deps pydefect==0.10.1 vise==0.9.6")
    # auto still builds: Freysoldt (LVHAR) with the Kumagai fallback left to the collector
    from ionflow.config.study_file import load_study
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    flow = (
        build_study(load_study(_study(tmp_path, "auto")), get_settings(), only=["defects"])
        .system("main")
        .section_flows["defects"]
    )
    assert "defects read locpot Mg_Ga_q+1" in {j.name for j in flow.jobs}


def test_correction_none_and_unknown():
    from ionflow.engines import registry
    from ionflow.engines.vasp import VaspEngine
    from ionflow.errors import ConfigError, InputError
    from ionflow.flows.defects import DefectFormationMaker

    host = _final_structure(DATA / "bulk_sc")
    spec = {**SPEC, "charge": 1}
    entries = loadfn(ENTRIES)
    maker = DefectFormationMaker(
        engine=VaspEngine(), relax_host_cell=False, binding=False, correction="none", vbm_eV=0.0
    )
    flow = maker.make(host, [spec], supercell_matrix=[1, 1, 1], entries=entries)
    jobs = {j.name: j for j in flow.jobs}
    assert not any(" read " in name for name in jobs)
    generator = jobs["defects relax Mg_Ga_q+1"].maker.input_set_generator
    assert generator.use_structure_charge  # still a charged cell (NELECT), no LVHAR
    assert "LVHAR" not in generator.user_incar_settings
    (settings,) = [a for a in flow.jobs[-1].function_args if isinstance(a, dict)]
    assert settings["correction"] == "none"
    maker.correction = "fnv"
    with pytest.raises(InputError, match="correction 'fnv': choose one of auto, freysoldt"):
        maker.make(host, [spec], supercell_matrix=[1, 1, 1], entries=entries)
    # an engine that writes no site potentials (charged cells, point-charge term)
    assert registry.engines_with("site_potentials") == ("vasp",)
    cp2k = DefectFormationMaker(
        engine=registry.get_engine("cp2k"),
        relax_host_cell=False,
        binding=False,
        correction="kumagai",
        vbm_eV=0.0,
        dielectric_constant=EPS,
    )
    with pytest.raises(ConfigError, match="kumagai needs an engine that writes site potentials"):
        cp2k.make(host, [spec], supercell_matrix=[1, 1, 1], entries=entries)
