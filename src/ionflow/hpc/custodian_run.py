"""Run a prepared VASP or CP2K folder through custodian with the engine's error handlers.

atomate2's VASP and CP2K jobs already run custodian internally; this module is for the
cases ionflow handles itself: rerunning a calculation folder (e.g. the folder of a failed
attempt) and the fault tests. The handler sets follow atomate2's defaults
(``atomate2.vasp.run.DEFAULT_HANDLERS``, ``atomate2.cp2k.run``), plus custodian's
``WalltimeHandler`` when a walltime is known.

A job run after ``ionflow rerun`` finds its earlier attempts in the Firework spec
(``_ionflow_attempts``, written to ``FW.json`` by the rocket); for VASP it resumes from the
last attempt's CONTCAR when that is a valid structure. Earlier folders are only read.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
from pathlib import Path
from typing import Any, Literal

from jobflow import job
from pydantic import BaseModel, ConfigDict, Field

from ionflow.errors import ConfigError, EngineError, InputError

__all__ = [
    "CustodianRunDoc",
    "custodian_calculation",
    "engine_handlers",
    "engine_validators",
    "previous_attempt_dirs",
    "run_custodian",
]

logger = logging.getLogger(__name__)

Engine = Literal["vasp", "cp2k"]
#: input files copied into the job folder, per engine
INPUT_FILES: dict[str, tuple[str, ...]] = {
    "vasp": ("INCAR", "POSCAR", "KPOINTS", "POTCAR", "POTCAR.spec", "WAVECAR", "CHGCAR"),
    "cp2k": ("cp2k.inp",),
}
REQUIRED_INPUTS: dict[str, tuple[str, ...]] = {"vasp": ("INCAR", "POSCAR"), "cp2k": ("cp2k.inp",)}


class CustodianRunDoc(BaseModel):
    """What a custodian run did: corrections per handler and where it ran."""

    model_config = ConfigDict(extra="forbid")

    engine: str = Field(..., description="vasp or cp2k.")
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


def engine_handlers(engine: str, wall_time_s: int | None = None) -> list[Any]:
    """Return custodian's error handlers for an engine (atomate2's defaults).

    Parameters
    ----------
    engine
        ``"vasp"`` or ``"cp2k"``.
    wall_time_s
        Queue walltime (s); for VASP adds custodian's WalltimeHandler (stops the run
        cleanly before the queue kills it). CP2K always has its WalltimeHandler, which
        works from CP2K's own ``GLOBAL/WALLTIME``.

    Returns
    -------
    list
        Handler instances in priority order.
    """
    if engine == "vasp":
        from custodian.vasp.handlers import (
            FrozenJobErrorHandler,
            IncorrectSmearingHandler,
            KspacingMetalHandler,
            LargeSigmaHandler,
            MeshSymmetryErrorHandler,
            NonConvergingErrorHandler,
            PositiveEnergyErrorHandler,
            PotimErrorHandler,
            StdErrHandler,
            UnconvergedErrorHandler,
            VaspErrorHandler,
            WalltimeHandler,
        )

        handlers: list[Any] = [
            VaspErrorHandler(),
            MeshSymmetryErrorHandler(),
            UnconvergedErrorHandler(),
            NonConvergingErrorHandler(),
            PotimErrorHandler(),
            PositiveEnergyErrorHandler(),
            FrozenJobErrorHandler(),
            StdErrHandler(),
            LargeSigmaHandler(),
            IncorrectSmearingHandler(),
            KspacingMetalHandler(),
        ]
        if wall_time_s:
            handlers.append(WalltimeHandler(wall_time=int(wall_time_s)))
        return handlers
    if engine == "cp2k":
        from custodian.cp2k.handlers import (
            AbortHandler,
            DivergingScfErrorHandler,
            FrozenJobErrorHandler,
            NumericalPrecisionHandler,
            StdErrHandler,
            UnconvergedRelaxationErrorHandler,
            UnconvergedScfErrorHandler,
            WalltimeHandler,
        )

        handlers = [
            StdErrHandler(),
            UnconvergedScfErrorHandler(),
            DivergingScfErrorHandler(),
            FrozenJobErrorHandler(),
            AbortHandler(),
            NumericalPrecisionHandler(),
            UnconvergedRelaxationErrorHandler(),
            # CP2K stops itself at GLOBAL/WALLTIME (set by the input set); this handler
            # turns that stop into a restartable checkpoint, so it is always on (as in atomate2)
            WalltimeHandler(),
        ]
        return handlers
    raise ConfigError(f"no custodian handlers for engine {engine!r}; use vasp or cp2k")


def engine_validators(engine: str) -> list[Any]:
    """Return custodian's validators for an engine (atomate2's defaults)."""
    if engine == "vasp":
        from custodian.vasp.validators import VaspFilesValidator, VasprunXMLValidator

        return [VasprunXMLValidator(), VaspFilesValidator()]
    if engine == "cp2k":
        from custodian.cp2k.validators import Cp2kOutputValidator

        return [Cp2kOutputValidator()]
    raise ConfigError(f"no custodian validators for engine {engine!r}; use vasp or cp2k")


def _custodian_job(engine: str, command: list[str]) -> Any:
    if engine == "vasp":
        from custodian.vasp.jobs import VaspJob

        return VaspJob(vasp_cmd=command, auto_npar=False, auto_gamma=False)
    from custodian.cp2k.jobs import Cp2kJob

    return Cp2kJob(cp2k_cmd=command)


def _corrections(directory: Path) -> tuple[int, list[dict[str, Any]]]:
    from ionflow.hpc.failures import read_custodian_log

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
        ``"vasp"`` or ``"cp2k"``.
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
    custodian = Custodian(
        handlers if handlers is not None else engine_handlers(engine, wall_time_s),
        [_custodian_job(engine, cmd)],
        validators=validators if validators is not None else engine_validators(engine),
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


def _valid_contcar(path: Path) -> bool:
    from pymatgen.io.vasp import Poscar

    try:
        return (
            path.is_file() and path.stat().st_size > 0 and len(Poscar.from_file(path).structure) > 0
        )
    except Exception:  # pymatgen raises many types for truncated files
        return False


def prepare_inputs(engine: str, input_dir: Path, work_dir: Path) -> str | None:
    """Copy inputs into ``work_dir``; for VASP resume from the last attempt's CONTCAR.

    Returns
    -------
    str or None
        The earlier attempt folder resumed from, if any.
    """
    if engine not in INPUT_FILES:
        raise ConfigError(f"engine {engine!r} cannot run under custodian here; use vasp or cp2k")
    missing = [f for f in REQUIRED_INPUTS[engine] if not (input_dir / f).is_file()]
    if missing:
        raise InputError(f"input folder {input_dir} lacks {', '.join(missing)}")
    for name in INPUT_FILES[engine]:
        if (input_dir / name).is_file() and input_dir.resolve() != work_dir.resolve():
            shutil.copy2(input_dir / name, work_dir / name)
    if engine == "vasp":
        for earlier in reversed(previous_attempt_dirs(work_dir)):
            if _valid_contcar(earlier / "CONTCAR"):
                shutil.copy2(earlier / "CONTCAR", work_dir / "POSCAR")
                return str(earlier)
    return None


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
        ``"vasp"`` or ``"cp2k"``.
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
    from ionflow.settings import get_settings

    here = Path.cwd()
    resumed = prepare_inputs(engine, Path(input_dir), here)
    if command is None:
        settings = get_settings()
        command = settings.vasp.cmd if engine == "vasp" else settings.cp2k.cmd
    doc = run_custodian(engine, here, command, max_errors=max_errors, wall_time_s=wall_time_s)
    doc.resumed_from = resumed
    doc.previous_attempts = [str(p) for p in previous_attempt_dirs(here)]
    return doc
