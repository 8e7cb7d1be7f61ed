"""CI-NEB with a machine-learned potential: :class:`MlipNebMaker`.

ASE's CI-NEB runs inside one job with atomate2's force-field calculator (the model loaded
once per process and shared by the images); the true forces of the final band give the
tangential forces and the NEB max force.
Its ``make(images, prev_dir=None, *, label, hop, interpolation, endpoint_dirs)`` returns a
job whose output is a :class:`~ionflow.schemas.neb.NebDoc`, like every engine's band maker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from atomate2.forcefields.utils import revert_default_dtype

from ionflow.analysis.neb import NebRawData, neb_doc_from_raw, neb_forces
from ionflow.engines.band import OneJobNebMaker
from ionflow.engines.mlip.calculators import calculator_copy, shared_calculator
from ionflow.errors import ConfigError
from ionflow.schemas.neb import NO_SADDLE, HopDoc, NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["FLAT_BAND_EV", "MlipNebMaker", "refuse_flat_band"]

#: a converged band whose images rise less than this (eV) above both ends has no saddle
FLAT_BAND_EV = 0.005


def _structures(images: Sequence[Any]) -> list[Structure]:
    from pymatgen.core import Structure

    return [im if isinstance(im, Structure) else Structure.from_dict(im) for im in images]


@dataclass
class MlipNebMaker(OneJobNebMaker):
    """CI-NEB with a machine-learned potential (atomate2 force-field NEB from images).

    Parameters
    ----------
    name
        Job name.
    model
        Force field as atomate2 spells it (``"CHGNet"``), or the import path of an ASE
        calculator class (``"ase.calculators.lj.LennardJones"``).
    calculator_kwargs
        Passed to the ASE calculator.
    climb
        Climbing image.
    spring_constant_eV_A2
        Spring constant (eV/Å²).
    fmax_eV_A
        Force criterion on the NEB forces (eV/Å).
    max_steps
        Optimiser steps.
    optimizer
        ASE optimiser name (``"FIRE"``, ``"BFGS"``, ...).
    """

    name: str = "mlip neb"
    model: str = "CHGNet"
    calculator_kwargs: dict[str, Any] = field(default_factory=dict)
    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 500
    optimizer: str = "FIRE"

    def run(
        self,
        images: Sequence[Structure],
        *,
        label: str = "neb",
        hop: HopDoc | None = None,
        interpolation: str | None = None,
    ) -> NebDoc:
        """Run the band without jobflow (what :meth:`make`'s job calls)."""
        from ase.mep import NEB
        from ase.optimize import BFGS, FIRE, LBFGS, MDMin
        from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker
        from pymatgen.io.ase import AseAtomsAdaptor

        optimizers = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS, "MDMin": MDMin}
        if self.optimizer not in optimizers:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; use {', '.join(optimizers)}")
        images = _structures(images)
        model: str | dict = self.model
        if "." in self.model:  # import path of any ASE calculator (atomate2 monty-dict form)
            module, _, cls = self.model.rpartition(".")
            model = {"@module": module, "@callable": cls}
        # atomate2 builds the calculator (any force field it knows); the band runs on ASE's
        # NEB directly. atomate2 0.1.5's AseNebInterface deep-copies the model into every
        # image and attaches an observer that asks each image for stress and magnetic
        # moments at every step (a second, full model evaluation when only forces are
        # needed); its neb_kwargs default {} silently means ASE's plain NEB with k = 0.1.
        ff = ForceFieldNebFromImagesMaker(
            force_field_name=model, calculator_kwargs=dict(self.calculator_kwargs)
        )
        calc = shared_calculator(ff, lean=True)
        atoms = [AseAtomsAdaptor.get_atoms(im) for im in images]
        for image in atoms:
            image.calc = calculator_copy(calc)  # own results cache, shared model
        band = NEB(atoms, k=self.spring_constant_eV_A2, climb=False, method="improvedtangent")
        with revert_default_dtype():  # as atomate2's _run_ase_safe: CHGNet sets float32
            opt = optimizers[self.optimizer](band, logfile=None)
            if self.climb:
                # plain NEB first (to 3x the criterion, at most half the steps): a climbing
                # image switched on in a raw interpolated band climbs whatever spike it has
                opt.run(fmax=3 * self.fmax_eV_A, steps=max(1, self.max_steps // 2))
                band.climb = True
            left = max(1, self.max_steps - opt.nsteps)
            converged = opt.run(fmax=self.fmax_eV_A, steps=left)
            energies = np.array([float(a.get_potential_energy()) for a in atoms])
            forces = np.array([np.array(a.get_forces()) for a in atoms])
        final = [AseAtomsAdaptor.get_structure(a) for a in atoms]
        nf = neb_forces(
            final,
            energies,
            forces,
            spring_constant_eV_A2=self.spring_constant_eV_A2,
            climb=self.climb,
        )
        raw = NebRawData(
            images=final,
            energies_eV=energies,
            tangential_forces_eV_A=nf.tangential_eV_A,
            max_force_eV_A=nf.max_force_eV_A,
            fmax_eV_A=self.fmax_eV_A,
            converged=bool(converged),
            source="mlip",
            directory=str(Path.cwd()),
            climb=self.climb,
        )
        doc = neb_doc_from_raw(
            raw,
            label=label,
            n_images=len(images) - 2,
            climb=self.climb,
            engine={"engine": "mlip", "model": self.model},
            hop=hop,
            interpolation=interpolation,
        )
        return refuse_flat_band(doc)


def refuse_flat_band(doc: NebDoc, flat_eV: float = FLAT_BAND_EV) -> NebDoc:
    """Report no barrier for a band without a saddle point between its endpoints.

    A converged band whose intermediate images rise less than ``flat_eV`` above the
    higher endpoint has no transition state: the energy is flat or rises monotonically
    from one end to the other, so the higher end is not a minimum of the potential in
    this cell (it would relax toward the other) and "highest image minus endpoint" is
    an endpoint energy difference, not a barrier. The --quick LaCl3 study printed such
    "barriers" (0 and 0.001 eV: two Li in a short channel slide freely along it). The
    document keeps the energies and says why.
    """
    energies = doc.relative_energies_eV
    if not doc.converged or len(energies) < 3:
        return doc
    rise = max(energies[1:-1]) - max(energies[0], energies[-1])
    if rise >= flat_eV:
        return doc
    span_meV = 1000 * (max(energies) - min(energies))
    return doc.model_copy(
        update={
            "converged": False,
            "barrier_forward_eV": None,
            "barrier_backward_eV": None,
            "spline_barrier_forward_eV": None,
            "message": (
                f"{NO_SADDLE}: the band is flat or monotonic (images span {span_meV:.1f} "
                f"meV, none rises {1000 * flat_eV:g} meV above the higher endpoint), so the "
                "endpoints are not separate minima in this cell and there is no barrier"
            ),
        }
    )
