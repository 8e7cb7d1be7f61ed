"""``ionflow submit --dry-run --write-inputs DIR``: each job's engine inputs, before any run.

One folder per job (``NNN-<job name>``), written by the same code the job runs:

- atomate2 VASP makers (relax, static, ...): ``write_vasp_input_set`` with the maker's
  generator and ``write_input_set_kwargs`` → INCAR, KPOINTS, POSCAR, POTCAR.spec (POTCAR
  symbols only; the licensed POTCAR files are not needed);
- atomate2 CP2K makers: ``write_cp2k_input_set`` → ``cp2k.inp``;
- MD segments: the engine's segment runner (``dry_run_inputs``), as its first attempt;
- anything else with a maker (ASE/MLIP relaxations, NEB bands): the maker's settings as
  JSON (``ionflow.json``).

A job whose structure comes from an earlier job (a relaxed cell, the previous segment's
restart state) gets the structure that job starts from, and ``SOURCE.txt`` says so:
the geometry differs after the run, the settings do not. Analysis jobs write nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, OutputReference
from monty.json import jsanitize
from pymatgen.core import Structure

from ionflow.engines.segments import get_segment_runner
from ionflow.hpc.resources import iter_jobs
from ionflow.makers.md_segments import MD_SEGMENT_FUNCTION
from ionflow.schemas.md import MDRestartState

if TYPE_CHECKING:
    from jobflow import Job

__all__ = ["write_job_inputs"]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80]


def _producers(flow: Flow | Job) -> dict[str, Job]:
    return {job.uuid: job for job in iter_jobs(flow)}


def _structure_for(value: Any, producers: dict[str, Job], depth: int = 0) -> tuple[Any, str]:
    """Return (structure or restart state, where it came from) for a job argument."""
    if isinstance(value, (Structure, MDRestartState)):
        return value, "given"
    if isinstance(value, OutputReference) and depth < 50:
        upstream = producers.get(value.uuid)
        if upstream is not None:
            for arg in [*upstream.function_args, *upstream.function_kwargs.values()]:
                found, _ = _structure_for(arg, producers, depth + 1)
                if found is not None:
                    return found, f"the input of '{upstream.name}' (its output after the run)"
    return None, ""


def _write_maker_inputs(maker: Any, structure: Structure, folder: Path) -> list[str]:
    """Write an atomate2 maker's input files; return the file names (else JSON settings)."""
    generator = getattr(maker, "input_set_generator", None)
    kwargs = dict(getattr(maker, "write_input_set_kwargs", None) or {})
    if generator is not None and hasattr(maker, "run_vasp_kwargs"):
        from atomate2.vasp.files import write_vasp_input_set

        write_vasp_input_set(
            structure, generator, directory=folder, **{**kwargs, "potcar_spec": True}
        )
    elif generator is not None and hasattr(maker, "run_cp2k_kwargs"):
        from atomate2.cp2k.files import write_cp2k_input_set

        write_cp2k_input_set(structure, generator, directory=folder, **kwargs)
    else:
        settings = jsanitize(maker.as_dict(), strict=False, allow_bson=False)
        (folder / "ionflow.json").write_text(json.dumps(settings, indent=2, default=str))
    return sorted(p.name for p in folder.iterdir())


def write_job_inputs(flow: Flow | Job, directory: str | Path) -> list[dict[str, Any]]:
    """Write the engine inputs of every calculation job of ``flow`` under ``directory``.

    Returns
    -------
    list of dict
        Per written job: ``job`` name, ``folder`` and ``files``.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    producers = _producers(flow)
    written = []
    for n, job in enumerate(iter_jobs(flow)):
        owner = getattr(job.function, "__self__", None)
        args = list(job.function_args)
        if getattr(job.function, "__name__", "") == MD_SEGMENT_FUNCTION:
            maker, spec, start = args[0], args[1], args[2]
            start, source = _structure_for(start, producers)
        elif owner is not None and args:
            maker, spec = owner, None
            start, source = _structure_for(args[0], producers)
        else:
            continue  # analysis, summaries: no engine input
        folder = root / f"{n:03d}-{_slug(job.name)}"
        folder.mkdir(parents=True, exist_ok=True)
        if spec is not None and start is not None:
            get_segment_runner(maker).dry_run_inputs(maker, spec, start, folder)
            files = sorted(p.name for p in folder.iterdir())
        elif isinstance(start, Structure):
            files = _write_maker_inputs(maker, start, folder)
        else:
            settings = jsanitize(maker.as_dict(), strict=False, allow_bson=False)
            (folder / "ionflow.json").write_text(json.dumps(settings, indent=2, default=str))
            files, source = ["ionflow.json"], "known only at run time (settings only)"
        if source != "given":
            (folder / "SOURCE.txt").write_text(f"structure: {source}\n")
        written.append({"job": job.name, "folder": str(folder), "files": files})
    return written
