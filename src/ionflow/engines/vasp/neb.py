"""VTST CI-NEB with VASP: :class:`VaspNebMaker` and its collector :func:`collect_vasp_neb`.

atomate2's VASP ``NebFromImagesMaker`` (IBRION 3, IOPT 1, LCLIMB) runs the band under
custodian; :func:`collect_vasp_neb` reads the image folders into a
:class:`~ionflow.schemas.neb.NebDoc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, job

from ionflow.analysis.neb import neb_doc_from_raw
from ionflow.errors import ConfigError
from ionflow.io.neb_folders import read_vasp_neb
from ionflow.schemas.neb import HopDoc, NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["VaspNebMaker", "collect_vasp_neb"]


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

    ends = None
    if endpoint_dirs is not None:
        ends = (strip_hostname(endpoint_dirs[0]), strip_hostname(endpoint_dirs[1]))
    raw = read_vasp_neb(strip_hostname(neb_dir), ends, source="vasp")
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
