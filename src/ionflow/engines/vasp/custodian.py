"""VASP under custodian: the one list of error handlers, validators, the job and inputs.

Every VASP run ionflow starts takes its handlers from :func:`handlers`:

- ``relax``, ``static``, ``neb``: custodian's default VASP set, the same classes in the same
  order as atomate2's ``atomate2.vasp.run.DEFAULT_HANDLERS``. The atomate2 makers therefore
  leave ``handlers`` unset and pass only ``wall_time`` (:func:`run_vasp_handler_kwargs`),
  which atomate2 turns into the same list plus a ``WalltimeHandler``;
- ``md``: the MD subset (no handler that edits IBRION/POTIM/NELM or the k-points of an
  ongoing MD run), passed explicitly;

each plus custodian's ``WalltimeHandler`` when a walltime is known (it writes STOPCAR
shortly before the walltime, so VASP ends cleanly with a CONTCAR to resume from).
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_HANDLERS",
    "INPUT_FILES",
    "MD_HANDLERS",
    "REQUIRED_INPUTS",
    "custodian_job",
    "handlers",
    "resume_from_contcar",
    "run_vasp_handler_kwargs",
    "validators",
]

#: custodian.vasp.handlers classes of relax/static/NEB runs (= atomate2's DEFAULT_HANDLERS)
DEFAULT_HANDLERS = (
    "VaspErrorHandler",
    "MeshSymmetryErrorHandler",
    "UnconvergedErrorHandler",
    "NonConvergingErrorHandler",
    "PotimErrorHandler",
    "PositiveEnergyErrorHandler",
    "FrozenJobErrorHandler",
    "StdErrHandler",
    "LargeSigmaHandler",
    "IncorrectSmearingHandler",
    "KspacingMetalHandler",
)
#: custodian.vasp.handlers classes of MD runs
MD_HANDLERS = (
    "VaspErrorHandler",
    "MeshSymmetryErrorHandler",
    "PositiveEnergyErrorHandler",
    "FrozenJobErrorHandler",
    "StdErrHandler",
    "LargeSigmaHandler",
    "IncorrectSmearingHandler",
)
_KINDS = {
    "relax": DEFAULT_HANDLERS,
    "static": DEFAULT_HANDLERS,
    "md": MD_HANDLERS,
    "neb": DEFAULT_HANDLERS,
}

#: input files copied into a custodian job folder, and those it must have
INPUT_FILES = ("INCAR", "POSCAR", "KPOINTS", "POTCAR", "POTCAR.spec", "WAVECAR", "CHGCAR")
REQUIRED_INPUTS = ("INCAR", "POSCAR")


def _names(kind: str) -> tuple[str, ...]:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(f"no VASP handlers for a {kind!r} run; use {', '.join(_KINDS)}") from None


def handlers(kind: str, walltime_s: float | None = None) -> list[Any]:
    """Return custodian's VASP handlers for one kind of run (see the module docstring).

    Parameters
    ----------
    kind
        ``relax``, ``static``, ``md`` or ``neb``.
    walltime_s
        Queue walltime (s); adds a ``WalltimeHandler``.

    Returns
    -------
    list
        Handler instances in priority order.
    """
    # custodian is a VASP/CP2K extra: imported when handlers are built
    from custodian.vasp import handlers as vasp_handlers

    out: list[Any] = [getattr(vasp_handlers, name)() for name in _names(kind)]
    if walltime_s:
        out.append(vasp_handlers.WalltimeHandler(wall_time=int(walltime_s)))
    return out


def run_vasp_handler_kwargs(kind: str, walltime_s: float | None = None) -> dict[str, Any]:
    """Return atomate2 ``run_vasp`` keywords giving :func:`handlers` of ``kind``.

    The default set is atomate2's own default, so only ``wall_time`` is passed (stored
    flows stay small); other kinds pass their handler list.
    """
    if _names(kind) == DEFAULT_HANDLERS:
        return {"wall_time": int(walltime_s)} if walltime_s else {}
    return {"handlers": handlers(kind, walltime_s)}


def validators() -> list[Any]:
    """Return custodian's VASP validators (atomate2's defaults)."""
    from custodian.vasp.validators import VaspFilesValidator, VasprunXMLValidator

    return [VasprunXMLValidator(), VaspFilesValidator()]


def custodian_job(command: list[str]) -> Any:
    """Return custodian's VaspJob for ``command`` (no automatic NPAR or Gamma switch)."""
    from custodian.vasp.jobs import VaspJob

    return VaspJob(vasp_cmd=command, auto_npar=False, auto_gamma=False)


def _valid_contcar(path: Path) -> bool:
    from pymatgen.io.vasp import Poscar

    try:
        return (
            path.is_file() and path.stat().st_size > 0 and len(Poscar.from_file(path).structure) > 0
        )
    except Exception:  # pymatgen raises many types for truncated files
        return False


def resume_from_contcar(earlier: list[Path], work_dir: Path) -> str | None:
    """Copy the last valid CONTCAR of the earlier attempts to ``work_dir/POSCAR``.

    Returns
    -------
    str or None
        The earlier folder resumed from (None: none had a valid CONTCAR).
    """
    for folder in reversed(earlier):
        if _valid_contcar(folder / "CONTCAR"):
            shutil.copy2(folder / "CONTCAR", work_dir / "POSCAR")
            return str(folder)
    return None
