"""Narrow workarounds for CP2K bugs in pymatgen 2026.10 / atomate2 0.1.5 / custodian 2026.10.

Each fix names the bug (numbers as in ``shared/docs/CP2K_NOTES.md``) and touches only
what that bug needs.

1. pymatgen ``io/cp2k/sets.py`` ``activate_motion`` builds the THERMOSTAT section with
   a plain-string TYPE keyword and fails on write (``'str' object has no attribute
   'get_str'``): :func:`thermostat_override` repeats TYPE as a real keyword.
2. atomate2 ``CalculationInput.cleanup_dft`` calls ``v.upper()`` on every value; RKS
   runs (``UKS F``, an int/bool) fail after CP2K finished: :func:`patch_cleanup_dft`.
3. atomate2's CP2K trajectory parser passes a dict of columns as ``frame_properties``
   (``Size of the frame properties 6 does not equal the number of frames``): ionflow's
   MD makers set ``store_trajectory=False`` and parse frames themselves.
5. custodian ``Cp2kJob.terminate`` runs ``killall cp2k.psmp`` and kills every CP2K on
   the host when a handler fires: :class:`OwnProcessCp2kJob` stops only its own process.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from custodian.cp2k.jobs import Cp2kJob
from pydantic import field_validator

__all__ = ["OwnProcessCp2kJob", "patch_cleanup_dft", "thermostat_override"]

logger = logging.getLogger(__name__)


def thermostat_override(cp2k_type: str) -> dict[str, Any]:
    """Return ``override_default_params`` that set MOTION/MD/THERMOSTAT/TYPE (bug 1)."""
    return {"MOTION": {"MD": {"THERMOSTAT": {"TYPE": cp2k_type}}}}


_PATCHED = False


def patch_cleanup_dft() -> None:
    """Make atomate2's ``CalculationInput.cleanup_dft`` skip non-string values (bug 2).

    The replacement validator looks at string values only; everything else about the
    schema is atomate2's.
    """
    global _PATCHED
    if _PATCHED:
        return
    from atomate2.cp2k.schemas import calculation

    original = calculation.CalculationInput

    class CalculationInput(original):  # type: ignore[misc, valid-type]
        @field_validator("dft", mode="before")
        @classmethod
        def cleanup_dft(cls, dft: dict) -> dict:
            """Convert UKS strings to UKS=True, skipping non-string values."""
            if any(isinstance(v, str) and v.upper() == "UKS" for v in dft.values()):
                dft["UKS"] = True
            return dft

    CalculationInput.__name__ = original.__name__
    CalculationInput.__qualname__ = original.__qualname__
    calculation.CalculationInput = CalculationInput
    # documents read back from a store validate Calculation.input with the field's class:
    # point the field at the fixed class and rebuild the models that nest it
    from atomate2.cp2k.schemas import task

    calculation.Calculation.model_fields["input"].annotation = CalculationInput
    calculation.Calculation.model_rebuild(force=True)
    task.TaskDocument.model_rebuild(force=True)
    _PATCHED = True


class OwnProcessCp2kJob(Cp2kJob):
    """custodian's Cp2kJob that terminates only the process it started (bug 5)."""

    def run(self, directory: str = "./") -> Any:
        """Start CP2K and remember the process."""
        self._process = super().run(directory=directory)
        return self._process

    def terminate(self, directory: str = "./") -> None:
        """Stop this job's CP2K process (not every ``cp2k.psmp`` on the host)."""
        process = getattr(self, "_process", None)
        if process is None or process.poll() is not None:
            return
        logger.info("terminating CP2K process %d", process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except Exception:  # still alive after 30 s
            process.kill()
