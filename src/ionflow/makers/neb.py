"""NEB makers: path preparation and CI-NEB on every engine with one interface.

Every engine's band maker has ``make(images, prev_dir=None, *, label, hop, interpolation,
endpoint_dirs)`` and returns a job (or flow) whose output is a
:class:`~ionflow.schemas.neb.NebDoc`:

- :class:`MlipNebMaker` runs atomate2's ``ForceFieldNebFromImagesMaker`` (ASE NEB) inside one
  job, then recomputes the true forces of the final band to report tangential forces and the
  NEB max force;
- :class:`VaspNebMaker` runs atomate2's VASP ``NebFromImagesMaker`` (VTST CI-NEB: IBRION 3,
  IOPT 1, LCLIMB) and a collector that reads the image folders;
- :class:`ionflow.engines.cp2k_neb.Cp2kNebMaker` writes CP2K's MOTION/BAND CI-NEB.

:class:`NebFromEndpointsMaker` is the engine-agnostic flow: relax both endpoints with the
engine, interpolate (IDPP, linear fallback, overlap checks), run the band.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jobflow import Flow, Maker, job

from ionflow.errors import ConfigError
from ionflow.schemas.neb import HopDoc, NebDoc, NebPathDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from ionflow.engines.base import EngineAdapter

__all__ = [
    "MlipNebMaker",
    "NebFromEndpointsMaker",
    "VaspNebMaker",
    "collect_vasp_neb",
    "neb_images_maker",
    "prepare_path",
    "prepare_path_result",
]

logger = logging.getLogger(__name__)


def prepare_path_result(
    initial: Structure,
    final: Structure,
    n_images: int,
    interpolation: Literal["idpp", "linear"] = "idpp",
    min_distance_A: float = 0.7,
) -> NebPathDoc:
    """Match the endpoints, interpolate and check the band (plain function).

    Parameters
    ----------
    initial, final
        Endpoints (relaxed or not).
    n_images
        Intermediate images.
    interpolation
        ``idpp`` (linear fallback) or ``linear``.
    min_distance_A
        Smallest allowed interatomic distance in any image (Å).

    Returns
    -------
    NebPathDoc
        Images and the interpolation actually used.
    """
    from ionflow.structures.neb_path import closest_pair, interpolate_images, match_endpoints

    final = match_endpoints(initial, final)
    images, used = interpolate_images(
        initial, final, n_images, method=interpolation, min_distance_A=min_distance_A
    )
    return NebPathDoc(
        images=images,
        interpolation=used,  # type: ignore[arg-type]
        min_distance_A=min(closest_pair(im)[0] for im in images),
    )


@job(name="prepare neb path")
def prepare_path(
    initial: Structure,
    final: Structure,
    n_images: int,
    interpolation: str = "idpp",
    min_distance_A: float = 0.7,
) -> NebPathDoc:
    """Job wrapper of :func:`prepare_path_result`."""
    return prepare_path_result(initial, final, n_images, interpolation, min_distance_A)


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

        from ionflow.analysis.neb import neb_doc_from_raw, neb_forces
        from ionflow.analysis.neb_readers import NebRawData

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
    from ionflow.analysis.neb_readers import read_vasp_neb

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


def neb_images_maker(
    engine: EngineAdapter,
    *,
    climb: bool = True,
    spring_constant_eV_A2: float = 5.0,
    fmax_eV_A: float = 0.05,
    max_steps: int = 300,
    overrides: dict[str, Any] | None = None,
) -> Maker:
    """Return the band maker of an engine, configured the same way for every engine.

    Parameters
    ----------
    engine
        Engine adapter (``ionflow.engines.get_engine``).
    climb, spring_constant_eV_A2, fmax_eV_A, max_steps
        Band settings (eV/Å², eV/Å).
    overrides
        Engine-specific settings (INCAR keys for VASP, maker fields for CP2K/MLIP).

    Returns
    -------
    Maker
        :class:`MlipNebMaker`, :class:`VaspNebMaker` or ``Cp2kNebMaker``.
    """
    common = {
        "climb": climb,
        "spring_constant_eV_A2": spring_constant_eV_A2,
        "fmax_eV_A": fmax_eV_A,
        "max_steps": max_steps,
    }
    overrides = dict(overrides or {})
    if engine.name == "mlip":
        return MlipNebMaker(
            model=engine.model,  # type: ignore[attr-defined]
            calculator_kwargs=dict(engine.calculator_kwargs),  # type: ignore[attr-defined]
            **common,
            **overrides,
        )
    if engine.name == "vasp":
        return VaspNebMaker(
            incar={**engine.incar, **overrides},  # type: ignore[attr-defined]
            write_input_set_kwargs=dict(engine.write_input_set_kwargs),  # type: ignore[attr-defined]
            run_vasp_kwargs=engine._run_vasp_kwargs(),  # type: ignore[attr-defined]
            **common,
        )
    if engine.name == "cp2k":
        from ionflow.engines.cp2k_neb import Cp2kNebMaker

        from_engine = {
            "charge": getattr(engine, "charge", 0),
            "cp2k_cmd": getattr(engine, "cp2k_cmd", None),
            "wall_time_s": getattr(engine, "wall_time_s", None),
            "functional": getattr(engine, "functional", "PBE"),
        }
        return Cp2kNebMaker(**common, **{**from_engine, **overrides})
    raise ConfigError(f"no NEB maker for engine {engine.name!r}")


@dataclass
class NebFromEndpointsMaker(Maker):
    """Relax two endpoints, interpolate the band and run CI-NEB with any engine.

    Parameters
    ----------
    name
        Flow name prefix.
    engine
        Engine adapter.
    n_images
        Intermediate images.
    climb
        Climbing image.
    spring_constant_eV_A2
        Spring constant (eV/Å²).
    fmax_eV_A
        Band force criterion (eV/Å).
    max_steps
        Band optimiser steps.
    relax_endpoints
        Relax both endpoints first (positions only).
    relax_fmax_eV_A
        Endpoint force criterion (eV/Å).
    relax_max_steps
        Endpoint optimiser steps.
    interpolation
        ``idpp`` (linear fallback) or ``linear``.
    min_distance_A
        Smallest allowed interatomic distance in any image (Å).
    overrides
        Engine-specific band settings (see :func:`neb_images_maker`).
    relax_overrides
        Engine-specific endpoint relaxation settings.
    band
        Band maker to use instead of the engine's (any maker with the band interface).
    """

    name: str = "neb"
    engine: EngineAdapter | None = None
    n_images: int = 5
    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 300
    relax_endpoints: bool = True
    relax_fmax_eV_A: float = 0.02
    relax_max_steps: int = 300
    interpolation: Literal["idpp", "linear"] = "idpp"
    min_distance_A: float = 0.7
    overrides: dict[str, Any] = field(default_factory=dict)
    relax_overrides: dict[str, Any] = field(default_factory=dict)
    band: Maker | None = None

    def __post_init__(self) -> None:
        if self.engine is None:
            raise ConfigError("NebFromEndpointsMaker needs an engine adapter")
        if self.n_images < 1:
            raise ConfigError(f"n_images must be >= 1, got {self.n_images}")
        if self.interpolation not in ("idpp", "linear"):
            raise ConfigError(
                f"interpolation must be 'idpp' or 'linear', not {self.interpolation!r}"
            )

    def band_maker(self) -> Maker:
        """Return the band maker: ``band`` if given, else the engine's with these settings."""
        if self.band is not None:
            return self.band
        return neb_images_maker(
            self.engine,  # type: ignore[arg-type]
            climb=self.climb,
            spring_constant_eV_A2=self.spring_constant_eV_A2,
            fmax_eV_A=self.fmax_eV_A,
            max_steps=self.max_steps,
            overrides=self.overrides,
        )

    def make(
        self,
        initial: Structure,
        final: Structure,
        prev_dir: str | None = None,
        *,
        label: str = "hop",
        hop: HopDoc | None = None,
    ) -> Flow:
        """Build the flow; its output is the band's NebDoc.

        Job names: ``relax <label> initial``, ``relax <label> final``,
        ``prepare neb path <label>``, then the engine's band job(s) named after ``label``.
        """
        from ionflow.structures.neb_path import check_images, match_endpoints

        final = match_endpoints(initial, final)
        check_images([initial, final], self.min_distance_A)
        jobs: list[Any] = []
        endpoint_dirs = None
        start, end = initial, final
        if self.relax_endpoints:
            relax = self.engine.relax_maker(  # type: ignore[union-attr]
                fmax_eV_A=self.relax_fmax_eV_A,
                max_steps=self.relax_max_steps,
                overrides=dict(self.relax_overrides) or None,
            )
            relax_jobs = []
            for tag, structure in (("initial", initial), ("final", final)):
                rj = relax.make(structure, prev_dir=prev_dir)
                rj.name = f"relax {label} {tag}"
                relax_jobs.append(rj)
            jobs += relax_jobs
            start, end = relax_jobs[0].output.structure, relax_jobs[1].output.structure
            endpoint_dirs = [rj.output.dir_name for rj in relax_jobs]
        path = prepare_path(start, end, self.n_images, self.interpolation, self.min_distance_A)
        path.name = f"prepare neb path {label}"
        jobs.append(path)
        band_maker = self.band_maker()
        kwargs: dict[str, Any] = {
            "label": label,
            "hop": hop,
            "interpolation": path.output.interpolation,
            "endpoint_dirs": endpoint_dirs,
        }
        if isinstance(band_maker, VaspNebMaker):
            kwargs["n_images"] = self.n_images
        band = band_maker.make(path.output.images, **kwargs)
        band.name = f"{getattr(band_maker, 'name', 'neb')} {label}"
        jobs.append(band)
        return Flow(jobs, output=band.output, name=f"{self.name} {label}")
