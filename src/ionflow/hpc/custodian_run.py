"""Run a prepared VASP or CP2K folder through custodian with the engine's error handlers.

atomate2's VASP and CP2K jobs already run custodian internally; this module is for the
cases ionflow handles itself: rerunning a calculation folder (e.g. the folder of a failed
attempt) and the fault tests. Handlers, validators, the custodian job and the input files
come from the engine's adapter (``engine.custodian_handlers(kind, walltime_s)``, defined
once per engine in ``ionflow.engines.<engine>.custodian``); a rerun folder is treated as a
relaxation unless ``kind`` says otherwise.

A job run after ``ionflow rerun`` finds its earlier attempts in the Firework spec
(``_ionflow_attempts``, written to ``FW.json`` by the rocket); an engine that can resume
(VASP: the last attempt's valid CONTCAR) starts from it. Earlier folders are only read.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import job
from pydantic import BaseModel, ConfigDict, Field

from ionflow.engines.registry import engines_with, get_engine
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.io.custodian import read_custodian_log

if TYPE_CHECKING:
    from ionflow.engines.base import EngineAdapter

__all__ = [
    "CustodianRunDoc",
    "custodian_calculation",
    "engine_handlers",
    "engine_validators",
    "previous_attempt_dirs",
    "run_custodian",
]

logger = logging.getLogger(__name__)


class CustodianRunDoc(BaseModel):
    """What a custodian run did: corrections per handler and where it ran."""

    model_config = ConfigDict(extra="forbid")

    engine: str = Field(..., description="Engine name (one with the custodian capability).")
    dir_name: str = Field(..., description="Folder the calculation ran in.")
    command: list[str] = Field(..., description="Engine command as run by custodian.")
    n_runs: int = Field(..., ge=1, description="Engine runs (1 + corrected restarts).")
    corrections: list[dict[str, Any]] = Field(
        default_factory=list, description="Per correction: handler, errors, actions."
    )
    resumed_from: str | None = Field(
        None, description="Folder of the earlier attempt whose final structure was the start."
    )
    previous_attempts: list[str] = Field(
        default_factory=list, description="Folders of earlier attempts (never modified)."
    )


def _custodian_engine(engine: str) -> EngineAdapter:
    """Return the adapter of an engine that runs under custodian (else a ConfigError)."""
    adapter = get_engine(engine)
    if "custodian" not in adapter.capabilities:
        usable = " or ".join(engines_with("custodian"))
        raise ConfigError(
            f"no custodian handlers for engine {engine!r}: it cannot run under custodian; "
            f"use {usable}"
        )
    return adapter


def engine_handlers(engine: str, wall_time_s: int | None = None, kind: str = "relax") -> list[Any]:
    """Return custodian's error handlers for an engine (the adapter's, for ``kind``).

    Parameters
    ----------
    engine
        A registered engine with the ``custodian`` capability.
    wall_time_s
        Queue walltime (s); for VASP adds custodian's WalltimeHandler (stops the run
        cleanly before the queue kills it). CP2K always has its WalltimeHandler, which
        works from CP2K's own ``GLOBAL/WALLTIME``.
    kind
        ``relax``, ``static``, ``md`` or ``neb``.

    Returns
    -------
    list
        Handler instances in priority order.
    """
    return _custodian_engine(engine).custodian_handlers(kind, wall_time_s)


def engine_validators(engine: str) -> list[Any]:
    """Return custodian's validators for an engine (the adapter's)."""
    return _custodian_engine(engine).custodian_validators()


def _corrections(directory: Path) -> tuple[int, list[dict[str, Any]]]:
    path = directory / "custodian.json"
    runs = json.loads(path.read_text()) if path.is_file() else []
    # each custodian job runs once, plus once more after every correction
    n_runs = sum(1 + len(r.get("corrections", [])) for r in runs if isinstance(r, dict))
    return max(n_runs, 1), read_custodian_log(directory)


def run_custodian(
    engine: str,
    directory: str | Path,
    command: str | list[str],
    max_errors: int = 5,
    wall_time_s: int | None = None,
    handlers: list[Any] | None = None,
    validators: list[Any] | None = None,
) -> CustodianRunDoc:
    """Run the engine in a prepared folder under custodian.

    Parameters
    ----------
    engine
        A registered engine with the ``custodian`` capability.
    directory
        Folder holding the inputs; outputs and custodian's ``error.N.tar.gz`` go there.
    command
        Engine command (string split like a shell would, or a list).
    max_errors
        Corrections custodian may make before giving up.
    wall_time_s
        Queue walltime (s) for the WalltimeHandler.
    handlers, validators
        Override the engine defaults.

    Returns
    -------
    CustodianRunDoc
        Runs and corrections.

    Raises
    ------
    EngineError
        When custodian gives up; the message lists the errors its handlers saw.
    """
    from custodian import Custodian
    from custodian.custodian import CustodianError

    directory = Path(directory).resolve()
    cmd = shlex.split(command) if isinstance(command, str) else list(command)
    if not cmd:
        raise ConfigError(f"empty {engine} command")
    adapter = _custodian_engine(engine)
    custodian = Custodian(
        handlers if handlers is not None else adapter.custodian_handlers("relax", wall_time_s),
        [adapter.custodian_job(cmd)],
        validators=validators if validators is not None else adapter.custodian_validators(),
        max_errors=max_errors,
        directory=str(directory),
        polling_time_step=1,
        monitor_freq=5,
    )
    try:
        custodian.run()
    except CustodianError as exc:
        _, corrections = _corrections(directory)
        seen = sorted({e for c in corrections for e in c["errors"]})
        raise EngineError(
            f"custodian gave up on {engine} in {directory} ({type(exc).__name__}: {exc}); "
            f"errors seen: {', '.join(seen) or 'none recognised'}"
        ) from None
    n_runs, corrections = _corrections(directory)
    return CustodianRunDoc(
        engine=engine, dir_name=str(directory), command=cmd, n_runs=n_runs, corrections=corrections
    )


def previous_attempt_dirs(folder: str | Path = ".") -> list[Path]:
    """Return earlier attempts' folders recorded by ``ionflow rerun`` (read from FW.json)."""
    fw_json = Path(folder) / "FW.json"
    if not fw_json.is_file():
        return []
    try:
        spec = json.loads(fw_json.read_text()).get("spec", {})
    except (OSError, ValueError):
        return []
    dirs = [Path(a["launch_dir"]) for a in spec.get("_ionflow_attempts", []) if a.get("launch_dir")]
    return [d for d in dirs if d.is_dir()]


def prepare_inputs(engine: str, input_dir: Path, work_dir: Path) -> str | None:
    """Copy inputs into ``work_dir``; resume from an earlier attempt if the engine can.

    Returns
    -------
    str or None
        The earlier attempt folder resumed from, if any.
    """
    adapter = _custodian_engine(engine)
    copied, required = adapter.custodian_inputs
    missing = [f for f in required if not (input_dir / f).is_file()]
    if missing:
        raise InputError(f"input folder {input_dir} lacks {', '.join(missing)}")
    for name in copied:
        if (input_dir / name).is_file() and input_dir.resolve() != work_dir.resolve():
            shutil.copy2(input_dir / name, work_dir / name)
    return adapter.resume_inputs(previous_attempt_dirs(work_dir), work_dir)


@job(name="custodian calculation")
def custodian_calculation(
    engine: str,
    input_dir: str,
    command: str | None = None,
    max_errors: int = 5,
    wall_time_s: int | None = None,
) -> CustodianRunDoc:
    """Copy a prepared input folder into the job folder and run it under custodian.

    Parameters
    ----------
    engine
        A registered engine with the ``custodian`` capability.
    input_dir
        Folder with the inputs (INCAR/POSCAR/KPOINTS/POTCAR or cp2k.inp); only read.
    command
        Engine command; default from the ionflow settings (``IONFLOW_VASP__CMD`` etc.).
    max_errors
        Corrections custodian may make.
    wall_time_s
        Queue walltime (s) for custodian's WalltimeHandler.

    Returns
    -------
    CustodianRunDoc
        The run with its corrections.
    """
    here = Path.cwd()
    resumed = prepare_inputs(engine, Path(input_dir), here)
    if command is None:
        command = get_engine(engine).settings_command()
    doc = run_custodian(engine, here, command, max_errors=max_errors, wall_time_s=wall_time_s)
    doc.resumed_from = resumed
    doc.previous_attempts = [str(p) for p in previous_attempt_dirs(here)]
    return doc
