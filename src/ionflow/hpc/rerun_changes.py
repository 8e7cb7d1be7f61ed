"""What a rerun changes so it continues a failed attempt instead of repeating it.

For a FIZZLED or lost VASP job built from an atomate2-style maker (relaxation, static,
NEB band), the failed attempt's folder tells how to continue:

- **INCAR**: the corrections custodian made (``custodian.json``: ``{"dict": "INCAR",
  "action": {"_set": ..., "_unset": ...}}``) are applied to the maker's INCAR settings
  (``input_set_generator.user_incar_settings``, or the NEB maker's ``incar``), so the
  rerun starts with them instead of failing the same way first;
- **geometry**: the attempt's last valid ``CONTCAR`` becomes the job's input structure
  (NEB: the ``01..NN`` image CONTCARs between the endpoint POSCARs become the images).

:func:`rerun_changes` reads them (nothing is modified; ``ionflow rerun --dry-run`` prints
them); :func:`apply_rerun_changes` writes them into the Firework spec, together with the
attempt history in the job's metadata (stored with the job's output document).
MD segments are not changed: they resume from their checkpoints by themselves.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pymatgen.io.vasp import Poscar

from ionflow.io.custodian import read_custodian_log
from ionflow.io.streams import read_text
from ionflow.io.vasp_outputs import find_file, read_contcar_text

if TYPE_CHECKING:
    from fireworks import LaunchPad

__all__ = ["JOB_PATH", "apply_rerun_changes", "custodian_incar_changes", "rerun_changes"]

#: where the jobflow job sits in a Firework document
JOB_PATH = "spec._tasks.0.job"


def custodian_incar_changes(launch_dir: str | Path | None) -> tuple[dict[str, Any], list[str]]:
    """Return (INCAR keys set, INCAR keys removed) by custodian in a folder, in order."""
    values: dict[str, Any] = {}
    removed: list[str] = []
    for correction in read_custodian_log(launch_dir):
        for action in correction.get("actions") or []:
            if not isinstance(action, dict) or action.get("dict") != "INCAR":
                continue
            change = action.get("action") or {}
            for key, value in (change.get("_set") or {}).items():
                values[key] = value
                if key in removed:
                    removed.remove(key)
            for key in change.get("_unset") or {}:
                values.pop(key, None)
                if key not in removed:
                    removed.append(key)
    return values, removed


def _structure(text: str | None) -> Any:
    if not text:
        return None
    try:
        structure = Poscar.from_str(text).structure
    except Exception:  # a half-written CONTCAR of a killed run
        return None
    return structure if len(structure) else None


def _neb_images(folder: Path) -> list[Any] | None:
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if len(subs) < 3:
        return None
    ends = [find_file(subs[0], "POSCAR"), find_file(subs[-1], "POSCAR")]
    if None in ends:
        return None
    images = [_structure(read_text(ends[0]))]  # type: ignore[arg-type]
    images += [_structure(read_contcar_text(sub)) for sub in subs[1:-1]]
    images.append(_structure(read_text(ends[1])))  # type: ignore[arg-type]
    return None if any(i is None for i in images) else images


def _incar_field(bound: dict[str, Any]) -> str | None:
    generator = bound.get("input_set_generator")
    if isinstance(generator, dict) and "user_incar_settings" in generator:
        return "input_set_generator.user_incar_settings"
    if isinstance(bound.get("incar"), dict):
        return "incar"
    return None


def _get(d: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        d = d[key]
    return d


def rerun_changes(firework: dict[str, Any], launch_dir: str | None) -> dict[str, Any]:
    """Return what a rerun of ``firework`` changes, from its failed attempt's folder.

    Parameters
    ----------
    firework
        The Firework document (``lp.fireworks`` row).
    launch_dir
        Folder of the failed (or lost) attempt.

    Returns
    -------
    dict
        ``{}`` when nothing changes, else any of ``incar_set`` (key → value),
        ``incar_unset`` (keys), ``structure_from`` / ``images_from`` (the folder) and the
        new ``structure`` / ``images`` (pymatgen dicts), ``incar_field`` (maker field).
    """
    job = ((firework.get("spec") or {}).get("_tasks") or [{}])[0].get("job")
    if not isinstance(job, dict) or not launch_dir or not Path(launch_dir).is_dir():
        return {}
    bound = (job.get("function") or {}).get("@bound")
    if not isinstance(bound, dict):
        return {}  # a plain @job function (MD segment, analysis): nothing to carry over
    field = _incar_field(bound)
    if field is None:
        return {}  # not a VASP maker
    out: dict[str, Any] = {}
    values, removed = custodian_incar_changes(launch_dir)
    current = _get(bound, field) or {}
    values = {k: v for k, v in values.items() if current.get(k) != v}
    removed = [k for k in removed if k in current]
    if values or removed:
        out |= {"incar_field": field, "incar_set": values, "incar_unset": removed}
    folder = Path(launch_dir)
    args = job.get("function_args") or []
    if (args and isinstance(args[0], list)) or field == "incar":
        images = _neb_images(folder)
        if images is not None:
            out |= {"images_from": str(folder), "images": [i.as_dict() for i in images]}
    else:
        structure = _structure(read_contcar_text(folder))
        if structure is not None:
            out |= {"structure_from": str(folder), "structure": structure.as_dict()}
    return out


def apply_rerun_changes(
    lp: LaunchPad, fw_id: int, changes: dict[str, Any], attempt: dict[str, Any]
) -> None:
    """Write ``changes`` into the Firework's job and append ``attempt`` to its history.

    The history goes to the job's metadata (``ionflow_attempts``), which jobflow stores
    with the job's output, so the stored document says how many attempts it took and
    what changed between them.
    """
    doc = lp.fireworks.find_one({"fw_id": fw_id}, {"spec._tasks": 1})
    job = copy.deepcopy(doc["spec"]["_tasks"][0]["job"])
    updates: dict[str, Any] = {}
    if changes.get("incar_field"):
        bound = job["function"]["@bound"]
        path = f"{JOB_PATH}.function.@bound.{changes['incar_field']}"
        incar = dict(_get(bound, changes["incar_field"]) or {})
        incar.update(changes.get("incar_set") or {})
        for key in changes.get("incar_unset") or []:
            incar.pop(key, None)
        updates[path] = incar
    if changes.get("structure"):
        updates[f"{JOB_PATH}.function_args.0"] = changes["structure"]
    if changes.get("images"):
        updates[f"{JOB_PATH}.function_args.0"] = changes["images"]
    history = list((job.get("metadata") or {}).get("ionflow_attempts") or [])
    updates[f"{JOB_PATH}.metadata.ionflow_attempts"] = [*history, attempt]
    lp.fireworks.update_one({"fw_id": fw_id}, {"$set": updates})
