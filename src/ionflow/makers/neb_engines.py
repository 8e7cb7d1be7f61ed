"""Band makers of the NEB pipeline, one per engine, all with the same interface.

``make(images, prev_dir=None, *, label, hop, interpolation, endpoint_dirs)`` returns a job
(or flow) whose output is a :class:`~ionflow.schemas.neb.NebDoc`:

- :class:`MlipNebMaker`: atomate2's ``ForceFieldNebFromImagesMaker`` (ASE NEB) inside one
  job; the true forces of the final band are recomputed for the tangential forces and the
  NEB max force;
- :class:`VaspNebMaker`: atomate2's VASP ``NebFromImagesMaker`` (VTST CI-NEB: IBRION 3,
  IOPT 1, LCLIMB) and :func:`collect_vasp_neb`, which reads the image folders;
- ``Cp2kNebMaker`` lives in :mod:`ionflow.engines.cp2k_neb`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, job

from ionflow.errors import ConfigError
from ionflow.schemas.neb import HopDoc, NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["MlipNebMaker", "VaspNebMaker", "collect_vasp_neb"]


def _structures(images: Sequence[Any]) -> list[Structure]:
    from pymatgen.core import Structure

    return [im if isinstance(im, Structure) else Structure.from_dict(im) for im in images]


@dataclass
class MlipNebMaker(Maker):
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
    ) -> NebDoc:
        """Run the band and return its analysed document (images go to the data store)."""
        return self.run(images, label=label, hop=hop, interpolation=interpolation)

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

        from ionflow.analysis.neb import NebRawData, neb_doc_from_raw, neb_forces

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


@job(data=["images"], output_schema=NebDoc, name="collect vasp neb")
def collect_vasp_neb(
    neb_dir: str,
    endpoint_dirs: Sequence[str] | None,
    *,
    label: str = "neb",
    climb: bool = True,
    n_images: int | None = None,
    engine: dict | None = None,
    hop: HopDoc | None = None,
    interpolation: str | None = None,
) -> NebDoc:
    """Read a finished VASP NEB folder (and its endpoint relaxations) into a NebDoc."""
    from atomate2.utils.path import strip_hostname

    from ionflow.analysis.neb import neb_doc_from_raw
    from ionflow.io.neb_folders import read_vasp_neb

    ends = None
    if endpoint_dirs is not None:
        ends = (strip_hostname(endpoint_dirs[0]), strip_hostname(endpoint_dirs[1]))
    raw = read_vasp_neb(strip_hostname(neb_dir), ends)
    return neb_doc_from_raw(
        raw,
        label=label,
        n_images=n_images,
        climb=climb,
        engine=engine or {"engine": "vasp"},
        hop=hop,
        interpolation=interpolation,
    )


@dataclass
class VaspNebMaker(Maker):
    """VTST CI-NEB with VASP through atomate2's ``NebFromImagesMaker`` and custodian.

    Parameters
    ----------
    name
        Job name.
    climb
        Climbing image (LCLIMB, IOPT 1, IBRION 3).
    spring_constant_eV_A2
        Spring constant (eV/Å²), written as ``SPRING = -k``.
    fmax_eV_A
        Force criterion, written as ``EDIFFG = -fmax``.
    max_steps
        ``NSW``.
    incar
        Further INCAR keys (ENCUT, KSPACING, ...).
    write_input_set_kwargs
        Passed to atomate2's ``write_vasp_input_set`` (``{"potcar_spec": True}`` in tests).
    run_vasp_kwargs
        Passed to atomate2's ``run_vasp`` (command, walltime); ``job_type`` is set to NEB.
    """

    name: str = "vasp neb"
    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 200
    incar: dict[str, Any] = field(default_factory=dict)
    write_input_set_kwargs: dict[str, Any] = field(default_factory=dict)
    run_vasp_kwargs: dict[str, Any] = field(default_factory=dict)

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
    ) -> Flow:
        """Return the NEB job and its collector (output: the collector's NebDoc).

        ``n_images`` (intermediate images) is needed when ``images`` is a job output
        reference, since VASP's IMAGES must be known when the job is built.
        """
        from atomate2.vasp.jobs.neb import NebFromImagesMaker
        from atomate2.vasp.run import JobType
        from atomate2.vasp.sets.core import NebSetGenerator

        if n_images is None:
            if not isinstance(images, list | tuple):
                raise ConfigError("VaspNebMaker.make needs n_images when images is a reference")
            n_images = len(images) - 2
        incar = {
            "EDIFFG": -abs(self.fmax_eV_A),
            "SPRING": -abs(self.spring_constant_eV_A2),
            "NSW": int(self.max_steps),
            **self.incar,
        }
        # a fresh generator and maker per call: atomate2's make() writes num_images and
        # kpoints_kludge into itself, which must not leak between hops
        generator = NebSetGenerator(
            num_images=n_images, climbing_image=self.climb, user_incar_settings=incar
        )
        run_kwargs = {
            "vasp_job_kwargs": {"output_file": "vasp.out", "stderr_file": "std_err.txt"},
            **self.run_vasp_kwargs,
            "job_type": JobType.NEB,
        }
        run_kwargs.pop("handlers", None)
        neb_job = NebFromImagesMaker(
            name=f"{self.name} {label}",
            input_set_generator=generator,
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=run_kwargs,
        ).make(images, prev_dir=prev_dir)
        collect = collect_vasp_neb(
            neb_job.output.dir_name,
            endpoint_dirs,
            label=label,
            climb=self.climb,
            n_images=n_images,
            engine={"engine": "vasp", "incar": dict(self.incar)},
            hop=hop,
            interpolation=interpolation,
        )
        collect.name = f"collect {self.name} {label}"
        return Flow([neb_job, collect], output=collect.output, name=f"{self.name} {label}")
