"""VASP under custodian: the one list of error handlers, validators, the job and inputs.

Every VASP run ionflow starts takes its handlers from :func:`handlers`:

- ``relax``, ``static``, ``neb``: custodian's default VASP set, the same classes in the same
  order as atomate2's ``atomate2.vasp.run.DEFAULT_HANDLERS``. The atomate2 makers therefore
  leave ``handlers`` unset and pass only ``wall_time`` (:func:`run_vasp_handler_kwargs`),
  which atomate2 turns into the same list plus a ``WalltimeHandler``;
- ``md``: the MD subset (no handler that edits IBRION/POTIM/NELM or the k-points of an
  ongoing MD run), passed explicitly;

each plus a walltime handler (it writes STOPCAR shortly before the walltime, so VASP ends
cleanly with a CONTCAR to resume from): custodian's ``WalltimeHandler`` with the walltime
given in the engine settings, else :class:`JobWalltimeHandler`, which reads the queue job's
remaining time on the node when the job starts (``IONFLOW_JOB_END_EPOCH`` exported by
ionflow's queue script; see :func:`ionflow.settings.job_walltime`) and does nothing
outside a queue job.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import TYPE_CHECKING, Any

from custodian.vasp.handlers import WalltimeHandler

from ionflow.errors import ConfigError
from ionflow.settings import job_walltime

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_HANDLERS",
    "INPUT_FILES",
    "MD_HANDLERS",
    "REQUIRED_INPUTS",
    "JobWalltimeHandler",
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


class JobWalltimeHandler(WalltimeHandler):
    """custodian's VASP ``WalltimeHandler`` sized from the queue job it runs in.

    Built (or deserialized from a Firework) on the node, it takes the job's remaining
    walltime from the environment (:func:`ionflow.settings.job_walltime`), counted from
    that moment; outside a queue job it never fires. A walltime given explicitly is used
    as custodian's own handler would. It serializes without the resolved value, so a flow
    written inside one queue job does not carry that job's clock to the next.
    """

    def __init__(
        self,
        wall_time: int | None = None,
        buffer_time: int = 300,
        electronic_step_stop: bool = False,
    ) -> None:
        super().__init__(
            wall_time=wall_time, buffer_time=buffer_time, electronic_step_stop=electronic_step_stop
        )
        self._given = {"wall_time": wall_time, "buffer_time": buffer_time}
        if wall_time is None:
            _, remaining = job_walltime()
            self.wall_time = int(remaining) if remaining and remaining > 0 else None
            self.start_time = self.prev_check_time = dt.datetime.now()
            if self.wall_time:
                # a short queue job keeps at most a fifth of its time as buffer, else the
                # handler would stop VASP at its first check
                self.buffer_time = min(buffer_time, max(self.wall_time // 5, 1))

    def as_dict(self) -> dict[str, Any]:
        """Serialize the given settings (not the walltime resolved on this node)."""
        return super().as_dict() | self._given


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
        Walltime (s) from the settings: custodian's ``WalltimeHandler`` with it; None
        adds :class:`JobWalltimeHandler` (the queue job's remaining time, on the node).

    Returns
    -------
    list
        Handler instances in priority order.
    """
    from custodian.vasp import handlers as vasp_handlers

    out: list[Any] = [getattr(vasp_handlers, name)() for name in _names(kind)]
    if walltime_s:
        out.append(WalltimeHandler(wall_time=int(walltime_s)))
    else:
        out.append(JobWalltimeHandler())
    return out


def run_vasp_handler_kwargs(kind: str, walltime_s: float | None = None) -> dict[str, Any]:
    """Return atomate2 ``run_vasp`` keywords giving :func:`handlers` of ``kind``.

    The handler list is always passed: atomate2 adds a walltime handler only for a
    walltime known when the flow is built, and the queue job's is known only on the node.
    """
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
