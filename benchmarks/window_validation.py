"""Electrochemical-window validation: ionflow vs pymatgen on the public Li-Fe-O entries.

Run: ``python benchmarks/window_validation.py [OUT_DIR]``. Prints, for every composition in
the file, the largest difference between ionflow's segment boundaries / window limits and
pymatgen's ``get_element_profile`` (all compositions) and ``get_chempot_range_stability_phase``
(stable Li compounds), then the CHGNet Li-O-Cl windows, and writes two plots.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element

from ionflow.analysis.window import WindowWarning, stability_window
from ionflow.makers.window import read_entries, window_doc
from ionflow.report.plots_window import plot_window

REPO = Path(__file__).resolve().parents[1]
CSV = REPO.parent / "shared" / "data" / "entries" / "li_fe_o" / "pd_entries_test.csv"
CHGNET = REPO / "configs" / "entries" / "li_o_cl_chgnet.json"
LI = Element("Li")


def main(out_dir: Path) -> None:
    warnings.simplefilter("ignore", WindowWarning)
    entries = read_entries(CSV)
    pd = PhaseDiagram(entries)
    mu0 = pd.el_refs[LI].energy_per_atom
    formulas = sorted({e.composition.reduced_formula for e in entries} - {"Li"})
    worst_profile = worst_range = 0.0
    n_range = 0
    t0 = time.perf_counter()
    for formula in formulas:
        window = stability_window(entries, formula)
        ref = pd.get_element_profile(LI, Composition(formula))
        assert len(ref) == len(window.profile), formula
        for seg, item in zip(window.profile, ref, strict=True):
            worst_profile = max(worst_profile, abs(seg.v_low_V - max(mu0 - item["chempot"], 0)))
            phases = tuple(sorted(e.composition.reduced_formula for e in item["entries"]))
            assert seg.phases == phases, (formula, seg.phases, phases)
        if window.is_stable and LI in Composition(formula).elements:
            lo, hi = pd.get_chempot_range_stability_phase(Composition(formula), LI)[LI]
            worst_range = max(
                worst_range,
                abs(window.reduction_limit_V - max(mu0 - hi, 0)),
                abs(window.oxidation_limit_V - (mu0 - lo)),
            )
            n_range += 1
    dt = time.perf_counter() - t0
    print(f"Li-Fe-O ({len(entries)} entries): {len(formulas)} compositions in {dt:.1f} s")
    print(f"  max |dV| vs get_element_profile (all segment boundaries): {worst_profile:.2e} V")
    print(f"  max |dV| vs get_chempot_range_stability_phase ({n_range}): {worst_range:.2e} V")
    for formula in ("LiFeO2", "Li5FeO4", "Li2FeO3", "Li2O", "LiFe5O8"):
        doc = window_doc(CSV, formula)
        print(
            f"  {formula:8s} {doc.reduction_limit_V:.3f}-{doc.oxidation_limit_V:.3f} V  "
            f"E_hull {1000 * doc.energy_above_hull_eV_atom:.1f} meV/atom  "
            f"red: {' + '.join(doc.reduction_products) or '-'}  "
            f"ox: {' + '.join(doc.oxidation_products)}"
        )
    plot_window(window_doc(CSV, "LiFeO2"), out_dir / "window_LiFeO2_pd_entries_test.png")
    print("CHGNet Li-O-Cl entries:")
    for formula in ("Li3OCl", "Li2O", "LiCl", "Li2O2"):
        doc = window_doc(CHGNET, formula)
        print(
            f"  {doc.formula:8s} {doc.reduction_limit_V:.3f}-{doc.oxidation_limit_V:.3f} V  "
            f"E_hull {1000 * doc.energy_above_hull_eV_atom:.1f} meV/atom  "
            f"ox: {doc.oxidation_reaction}"
        )
    plot_window(window_doc(CHGNET, "Li3OCl"), out_dir / "window_Li3OCl_chgnet.png")
    print(f"plots in {out_dir}")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("window_validation")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
