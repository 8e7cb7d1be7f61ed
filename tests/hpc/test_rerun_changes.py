"""What a rerun changes, read from a failed attempt's folder (no launchpad, no queue)."""

from __future__ import annotations

import json

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Poscar

from ionflow.engines.vasp.adapter import VaspEngine
from ionflow.hpc.rerun_changes import custodian_incar_changes, rerun_changes


def _cell() -> Structure:
    return Structure(Lattice.cubic(4.0), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _log(folder, *actions):
    corrections = [{"errors": ["x"], "handler": {"@class": "H"}, "actions": [a]} for a in actions]
    (folder / "custodian.json").write_text(json.dumps([{"corrections": corrections}]))


def test_incar_changes_follow_custodian_in_order(tmp_path):
    _log(
        tmp_path,
        {"dict": "INCAR", "action": {"_set": {"ALGO": "Normal", "NELMIN": 8}}},
        {"file": "CONTCAR", "action": {"_file_copy": {"dest": "POSCAR"}}},
        {"dict": "INCAR", "action": {"_unset": {"ALGO": 1}}},
        {"dict": "INCAR", "action": {"_set": {"POTIM": 0.25}}},
    )
    assert custodian_incar_changes(tmp_path) == ({"NELMIN": 8, "POTIM": 0.25}, ["ALGO"])
    assert custodian_incar_changes(tmp_path / "absent") == ({}, [])


def test_neb_band_reruns_from_its_image_contcars(tmp_path):
    start, end = _cell(), _cell()
    end.translate_sites([0], [0.1, 0, 0])
    images = [start, *(start.interpolate(end, 4)[1:-1]), end]
    band = VaspEngine(write_input_set_kwargs={"potcar_spec": True}).neb_maker(overrides={"ISIF": 2})
    job = band.make(images, label="hop").jobs[0]  # atomate2's NebFromImagesMaker job
    firework = {"spec": {"_tasks": [{"job": job.as_dict()}]}}
    attempt = tmp_path / "attempt"
    for k, image in enumerate(images):
        sub = attempt / f"{k:02d}"
        sub.mkdir(parents=True)
        Poscar(image).write_file(sub / "POSCAR")
        if 0 < k < len(images) - 1:
            moved = image.copy()
            moved.translate_sites([1], [0.0, 0.01 * k, 0.0])
            Poscar(moved).write_file(sub / "CONTCAR")
    _log(attempt, {"dict": "INCAR", "action": {"_set": {"IBRION": 1, "ISIF": 2}}})
    changes = rerun_changes(firework, str(attempt))
    assert changes["incar_field"] == "input_set_generator.user_incar_settings"
    assert changes["incar_set"] == {"IBRION": 1}  # ISIF 2 was already set
    assert changes["images_from"] == str(attempt)
    new = [Structure.from_dict(d) for d in changes["images"]]
    assert len(new) == len(images)
    np.testing.assert_allclose(new[0].frac_coords, start.frac_coords)
    np.testing.assert_allclose(new[2].frac_coords[1], images[2].frac_coords[1] + [0, 0.02, 0])
    # a plain analysis job or a folder without outputs changes nothing
    assert rerun_changes({"spec": {"_tasks": [{"job": {"function": {}}}]}}, str(attempt)) == {}
    assert rerun_changes(firework, str(tmp_path / "gone")) == {}
