"""CP2K under custodian: the one list of error handlers, the validators and the job.

Every CP2K run ionflow starts (atomate2 makers, MD segments, the CI-NEB band, a folder rerun
through :mod:`ionflow.hpc.custodian_run`) takes its handlers from :func:`handlers`:
custodian's CP2K set as atomate2 uses it (``atomate2.cp2k.run``), with
``UnconvergedRelaxationErrorHandler`` for relaxations only, and ``WalltimeHandler`` always.
CP2K's ``WalltimeHandler`` takes no walltime: it turns CP2K's own stop at
``GLOBAL/WALLTIME`` into a restartable checkpoint, and never fires when that is unset.

The job is :class:`~ionflow.engines.cp2k.fixes.OwnProcessCp2kJob` (CP2K_NOTES bug 5:
custodian's ``Cp2kJob.terminate`` kills every CP2K on the host).
"""

from __future__ import annotations

from typing import Any

from ionflow.engines.cp2k.fixes import OwnProcessCp2kJob
from ionflow.errors import ConfigError

__all__ = ["INPUT_FILES", "REQUIRED_INPUTS", "custodian_job", "handlers", "validators"]

#: custodian.cp2k.handlers classes of every run, before the kind-specific ones
_BASE = (
    "StdErrHandler",
    "UnconvergedScfErrorHandler",
    "DivergingScfErrorHandler",
    "FrozenJobErrorHandler",
    "AbortHandler",
    "NumericalPrecisionHandler",
)
_KINDS: dict[str, tuple[str, ...]] = {
    "relax": (*_BASE, "UnconvergedRelaxationErrorHandler", "WalltimeHandler"),
    "static": (*_BASE, "WalltimeHandler"),
    "md": (*_BASE, "WalltimeHandler"),
    "neb": (*_BASE, "WalltimeHandler"),
}

#: input files copied into a custodian job folder, and those it must have
INPUT_FILES = ("cp2k.inp",)
REQUIRED_INPUTS = ("cp2k.inp",)


def handlers(kind: str, walltime_s: float | None = None) -> list[Any]:
    """Return custodian's CP2K handlers, in priority order, for one ``kind`` of run.

    ``kind`` is ``relax``, ``static``, ``md`` or ``neb`` (see the module docstring);
    ``walltime_s`` is unused: CP2K stops itself at ``GLOBAL/WALLTIME`` (an input keyword).
    """
    # custodian is a VASP/CP2K extra: imported when handlers are built
    from custodian.cp2k import handlers as cp2k_handlers

    try:
        names = _KINDS[kind]
    except KeyError:
        raise ConfigError(f"no CP2K handlers for a {kind!r} run; use {', '.join(_KINDS)}") from None
    return [getattr(cp2k_handlers, name)() for name in names]


def validators(output_file: str = "cp2k.out") -> list[Any]:
    """Return custodian's CP2K validators (atomate2's default)."""
    from custodian.cp2k.validators import Cp2kOutputValidator

    return [Cp2kOutputValidator(output_file=output_file)]


def custodian_job(
    command: list[str], input_file: str = "cp2k.inp", output_file: str = "cp2k.out"
) -> OwnProcessCp2kJob:
    """Return the custodian job running CP2K ``command`` (stops only its own process)."""
    return OwnProcessCp2kJob(command, input_file=input_file, output_file=output_file)
