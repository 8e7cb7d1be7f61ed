"""The band maker of engines that run a whole CI-NEB band inside one job (MLIP, CP2K).

:class:`OneJobNebMaker` holds what those makers share: the band settings' check and the
``make(images, prev_dir=None, *, label, hop, interpolation, endpoint_dirs)`` job that
every engine's band maker offers, which calls the engine's ``run`` in the job's folder
and returns the analysed :class:`~ionflow.schemas.neb.NebDoc` (images go to the data
store).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobflow import Maker, job

from ionflow.errors import ConfigError
from ionflow.schemas.neb import HopDoc, NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["OneJobNebMaker"]


@dataclass
class OneJobNebMaker(Maker):
    """A CI-NEB band run inside one job; subclasses define the fields and :meth:`run`.

    Subclasses are dataclasses with at least ``fmax_eV_A``, ``spring_constant_eV_A2``
    and ``max_steps`` fields.
    """

    def __post_init__(self) -> None:
        if self.fmax_eV_A <= 0 or self.spring_constant_eV_A2 <= 0 or self.max_steps < 1:
            raise ConfigError("fmax_eV_A and spring_constant_eV_A2 must be > 0, max_steps >= 1")

    @job(data=["images"], output_schema=NebDoc)
    def make(
        self,
        images: Sequence[Structure],
        prev_dir: str | None = None,
        *,
        label: str = "neb",
        hop: HopDoc | None = None,
        interpolation: str | None = None,
        endpoint_dirs: Sequence[str] | None = None,
        n_images: int | None = None,
    ) -> NebDoc:
        """Run the band in the job's folder and return its analysed document.

        ``n_images`` is part of every band maker's ``make`` (VASP needs it when the job
        is built); here the band is built from ``images`` when the job runs.
        """
        return self.run(images, label=label, hop=hop, interpolation=interpolation)

    def run(self, images: Sequence[Structure], **kwargs: Any) -> NebDoc:
        """Run the band without jobflow (``label``, ``hop``, ``interpolation`` keywords)."""
        raise NotImplementedError
