"""``ionflow analyze window``: correction scheme said out loud, dependency warnings collected."""

from __future__ import annotations

import json

from monty.serialization import dumpfn
from pymatgen.entries.computed_entries import ComputedEntry, ConstantEnergyAdjustment

from ionflow.cli.main import main

POTCARS = {
    "Fe": {"titel": "PAW_PBE Fe_pv 06Sep2000", "hash": "994537de5c4122b7f1b77fb604476db4"},
    "O": {"titel": "PAW_PBE O 08Apr2002", "hash": "7a25bc5b9a5393f46600a4939d357982"},
}


def _entry(formula: str, energy: float, hubbard: bool) -> ComputedEntry:
    params = {
        "run_type": "GGA+U" if hubbard else "GGA",
        "is_hubbard": hubbard,
        "hubbards": {"Fe": 5.3, "O": 0.0} if hubbard else {},
        "potcar_spec": [POTCARS[el] for el in ("Fe", "O") if el in formula],
    }
    return ComputedEntry(formula, energy, parameters=params)


def test_scheme_named_replacement_said_and_warnings_collected(tmp_path, capsys):
    entries = [
        _entry("Fe", -8.3, False),
        _entry("O2", -9.86, False),
        _entry("FeO", -14.5, True),
        _entry("Fe2O3", -38.5, True),
        _entry("Fe3O4", -53.0, True),
    ]
    entries[3].energy_adjustments.append(
        ConstantEnergyAdjustment(
            -1.0, name="legacy", cls={"@class": "MaterialsProjectCompatibility"}
        )
    )
    path = tmp_path / "entries.json"
    dumpfn(entries, path)
    args = ["analyze", "window", str(path), "-f", "Fe3O4", "--mobile", "Fe"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "MP2020 (MaterialsProject2020Compatibility applied to all 5 entries)" in out
    assert "replaced MaterialsProjectCompatibility on 1 entries" in out
    # pymatgen's per-entry UserWarning comes once, counted, not streamed three times
    lines = [ln for ln in err.splitlines() if "UserWarning" in ln]
    assert len(lines) == 1
    assert "(×3)" in lines[0]
    assert main([*args, "--json"]) == 0
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    assert doc["compatibility"] == "MP2020"
    assert sum("UserWarning" in w for w in doc["warnings"]) == 1
    assert main([*args, "--compatibility", "none"]) == 0
    out, _ = capsys.readouterr()
    assert "none applied; the entries' own corrections kept (MaterialsProjectCompatibility" in out
