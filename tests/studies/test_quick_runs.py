"""The --quick design studies run for real with CHGNet (minutes each: marked slow).

Run one with ``python -m pytest tests/studies/test_quick_runs.py -m slow -k lacl3``.
Each test checks that every system of the --quick settings ran every section, that the
stored StudyDoc holds finite transport results for every temperature, and that the
report with the comparison to the published numbers was written. The numbers themselves
(MLIP vs DFT, picosecond runs) are reported, not asserted: see the report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ionflow.config.study_file import load_study
from ionflow.run.local import run_study
from ionflow.settings import get_settings

pytestmark = [pytest.mark.slow, pytest.mark.mlff]

STUDIES = Path(__file__).resolve().parents[2] / "configs" / "studies"


@pytest.mark.parametrize("design", ["li3ocl", "li3obr", "lacl3", "llto", "lita2po8"])
def test_quick_study_runs(design, tmp_path):
    quick = load_study(STUDIES / f"{design}.yaml", quick=True)
    settings = get_settings(work_dir=tmp_path / "work")
    doc = run_study(quick, settings, echo=lambda line: None).doc
    assert [s.key for s in doc.systems] == [s.key for s in quick.systems]
    for system in doc.systems:
        assert system.missing_sections == [], system.key
        if system.transport is not None:
            temps = [r.temperature_K for r in system.transport.diffusion]
            study = next(s.study for s in quick.systems if s.key == system.key)
            assert temps == study.md.temperatures_K
            for r in system.transport.diffusion:
                assert math.isfinite(r.diffusivity_cm2_s)
        for hop in system.hops:
            assert hop.converged == (hop.barrier_forward_eV is not None)
    folder = Path(doc.report_dir)
    assert "## Which published trends hold" in (folder / "report.md").read_text()
    payload = json.loads((folder / "comparison.json").read_text())
    assert payload["design"] == design
    assert payload["trends"]
