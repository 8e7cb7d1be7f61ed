"""CI-NEB with a machine-learned potential: :class:`MlipNebMaker`.

atomate2's ``ForceFieldNebFromImagesMaker`` (ASE NEB) runs inside one job; the true forces
of the final band are then recomputed for the tangential forces and the NEB max force.
Its ``make(images, prev_dir=None, *, label, hop, interpolation, endpoint_dirs)`` returns a
job whose output is a :class:`~ionflow.schemas.neb.NebDoc`, like every engine's band maker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.analysis.neb import NebRawData, neb_doc_from_raw, neb_forces
from ionflow.engines.band import OneJobNebMaker
from ionflow.engines.mlip.quiet import banners_to_stderr
from ionflow.errors import ConfigError
from ionflow.schemas.neb import HopDoc, NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["MlipNebMaker"]


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
        from ase.optimize import BFGS, FIRE, LBFGS, MDMin
        from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker

        optimizers = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS, "MDMin": MDMin}
        if self.optimizer not in optimizers:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; use {', '.join(optimizers)}")
        images = _structures(images)
        # atomate2 0.1.5: AseNebFromImagesMaker.neb_kwargs defaults to {} and replaces
        # DEFAULT_NEB_KWARGS, so k and climb silently fall back to ASE's plain NEB with
        # k = 0.1; we always pass them explicitly. Its ForceFieldNebFromEndpointsMaker.make
        # takes `images` instead of the (endpoints, num_images) of its parent and never
        # interpolates, so ionflow interpolates itself and uses the from-images maker only.
        model: str | dict = self.model
        if "." in self.model:  # import path of any ASE calculator (atomate2 monty-dict form)
            module, _, cls = self.model.rpartition(".")
            model = {"@module": module, "@callable": cls}
        ff = ForceFieldNebFromImagesMaker(
            force_field_name=model,
            calculator_kwargs=dict(self.calculator_kwargs),
            neb_kwargs={
                "k": self.spring_constant_eV_A2,
                "climb": self.climb,
                "method": "improvedtangent",
            },
            relax_kwargs={"fmax": self.fmax_eV_A},
            steps=self.max_steps,
        )
        with banners_to_stderr():  # atomate2 loads the force field here
            result = ff._run_ase_safe(images=[im.copy() for im in images])
            final = _structures(result.images)
            energies, forces = self._evaluate(ff, final)
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
            converged=getattr(result.state, "value", result.state) == "successful",
            source="mlip",
            directory=str(Path.cwd()),
            climb=self.climb,
        )
        return neb_doc_from_raw(
            raw,
            label=label,
            n_images=len(images) - 2,
            climb=self.climb,
            engine={"engine": "mlip", "model": self.model},
            hop=hop,
            interpolation=interpolation,
        )

    @staticmethod
    def _evaluate(ff: Any, images: list[Structure]) -> tuple[Any, Any]:
        """Energies (eV) and true forces (eV/Å) of the final band."""
        import numpy as np
        from pymatgen.io.ase import AseAtomsAdaptor

        calc = ff.calculator
        energies, forces = [], []
        for image in images:
            atoms = AseAtomsAdaptor.get_atoms(image)
            atoms.calc = calc
            energies.append(float(atoms.get_potential_energy()))
            forces.append(np.array(atoms.get_forces()))
        return np.array(energies), np.array(forces)
