"""CP2K climbing-image NEB (MOTION/BAND) through custodian.

atomate2 has no CP2K NEB maker and pymatgen's ``activate_motion`` only stubs a BAND
section, so :class:`Cp2kNebMaker` writes the input itself (see ``shared/docs/CP2K_NOTES.md``):
``RUN_TYPE BAND``, ``BAND_TYPE CI-NEB``, one ``&REPLICA`` per image read from an xyz file
(CP2K's ``&REPLICA/&COORD`` only takes bare numbers), DIIS band optimisation with fixed
endpoints, and a convergence control that is force-based like the other engines
(``MAX_FORCE``/``RMS_FORCE`` = fmax, displacement criteria switched off). The FORCE_EVAL
holds the cheap DFT settings of :mod:`ionflow.engines.cp2k.inputs` (SZV-MOLOPT-SR, RKS, Gamma,
OT) unless ``method_input`` replaces the method (e.g. a FIST force field).

The run goes through custodian with :class:`~ionflow.engines.cp2k.fixes.OwnProcessCp2kJob`
(CP2K_NOTES bug 5: custodian's ``Cp2kJob.terminate`` kills every CP2K on the host) and is
read back with :func:`ionflow.io.neb_folders.read_cp2k_band`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionflow.analysis.neb import neb_doc_from_raw
from ionflow.engines.band import OneJobNebMaker
from ionflow.engines.cp2k import custodian as cp2k_custodian
from ionflow.engines.cp2k.inputs import cheap_basis_and_potential, cp2k_walltime_s
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.io.cp2k import BOHR_A, HARTREE_EV
from ionflow.io.neb_folders import read_cp2k_band
from ionflow.schemas.neb import HopDoc, NebDoc
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["Cp2kNebMaker", "band_input", "write_band_inputs"]

logger = logging.getLogger(__name__)

#: eV/Å -> Hartree/bohr and eV/Å² -> Hartree/bohr²
EV_A_TO_AU = BOHR_A / HARTREE_EV
EV_A2_TO_AU = BOHR_A**2 / HARTREE_EV
PROJECT = "ionflow"


def _continuous_cart(images: Sequence[Structure]) -> list[np.ndarray]:
    """Cartesian positions made continuous along the band (no jumps across the cell)."""
    frac = images[0].frac_coords.copy()
    out = [frac @ images[0].lattice.matrix]
    for prev, cur in itertools.pairwise(images):
        step = cur.frac_coords - prev.frac_coords
        step -= np.round(step)
        frac = frac + step
        out.append(frac @ images[0].lattice.matrix)
    return out


def _dft_section(
    charge: int,
    cutoff_Ry: float,
    rel_cutoff_Ry: float,
    eps_scf: float,
    max_scf: int,
    functional: str,
    uks: bool,
) -> str:
    return f"""  METHOD QS
  &DFT
    BASIS_SET_FILE_NAME BASIS_MOLOPT
    POTENTIAL_FILE_NAME GTH_POTENTIALS
    CHARGE {int(charge)}
    UKS {"T" if uks else "F"}
    &MGRID
      CUTOFF {cutoff_Ry:g}
      REL_CUTOFF {rel_cutoff_Ry:g}
    &END MGRID
    &QS
      EPS_DEFAULT 1.0E-10
      EPS_PGF_ORB 1.0E-8
    &END QS
    &SCF
      SCF_GUESS RESTART
      EPS_SCF {eps_scf:.1E}
      MAX_SCF {int(max_scf)}
      &OT
        MINIMIZER DIIS
        PRECONDITIONER FULL_SINGLE_INVERSE
      &END OT
    &END SCF
    &XC
      &XC_FUNCTIONAL {functional}
      &END XC_FUNCTIONAL
    &END XC
  &END DFT
"""


def band_input(
    images: Sequence[Structure],
    *,
    climb: bool = True,
    spring_constant_eV_A2: float = 5.0,
    fmax_eV_A: float = 0.05,
    max_steps: int = 100,
    n_procs_per_replica: int = 1,
    charge: int = 0,
    cutoff_Ry: float = 300,
    rel_cutoff_Ry: float = 40,
    eps_scf: float = 1e-5,
    max_scf: int = 50,
    functional: str = "PBE",
    uks: bool = False,
    basis_and_potential: dict[str, dict[str, str]] | None = None,
    method_input: str | None = None,
) -> str:
    """Return the text of a CP2K CI-NEB input whose replicas are ``replica_<k>.xyz``.

    Parameters
    ----------
    images
        All images, endpoints included (their number is ``NUMBER_OF_REPLICA``).
    climb
        ``CI-NEB`` (else ``IT-NEB``).
    spring_constant_eV_A2
        ``K_SPRING`` (eV/Å², converted to Hartree/bohr²).
    fmax_eV_A
        ``MAX_FORCE`` and ``RMS_FORCE`` (eV/Å, converted to Hartree/bohr).
    max_steps
        ``OPTIMIZE_BAND/DIIS/MAX_STEPS``.
    n_procs_per_replica
        ``NPROC_REP`` (MPI ranks per replica group).
    charge, cutoff_Ry, rel_cutoff_Ry, eps_scf, max_scf, functional, uks
        DFT settings (cheap defaults from CP2K_NOTES).
    basis_and_potential
        ``{el: {"basis": ..., "potential": ...}}``; None picks the cheapest MOLOPT-SR set.
    method_input
        Replaces ``METHOD QS`` and ``&DFT`` (e.g. ``METHOD FIST`` with an ``&MM`` block).

    Returns
    -------
    str
        The input file.
    """
    if len(images) < 3:
        raise InputError(f"a band needs at least 3 images, got {len(images)}")
    lat = images[0].lattice
    elements = sorted({site.specie.symbol for site in images[0]})
    if method_input is None:
        bp = basis_and_potential or cheap_basis_and_potential(elements)
        missing = [el for el in elements if el not in bp]
        if missing:
            raise ConfigError(f"no basis/potential given for {', '.join(missing)}")
        kinds = "".join(
            f"    &KIND {el}\n      BASIS_SET {bp[el]['basis']}\n"
            f"      POTENTIAL {bp[el]['potential']}\n    &END KIND\n"
            for el in elements
        )
        method = _dft_section(charge, cutoff_Ry, rel_cutoff_Ry, eps_scf, max_scf, functional, uks)
    else:
        kinds, method = "", method_input.rstrip() + "\n"
    replicas = "".join(
        f"    &REPLICA\n      COORD_FILE_NAME replica_{k + 1}.xyz\n    &END REPLICA\n"
        for k in range(len(images))
    )
    f_au = fmax_eV_A * EV_A_TO_AU
    cell = "".join(
        f"      {name} {v[0]:.10f} {v[1]:.10f} {v[2]:.10f}\n"
        for name, v in zip("ABC", lat.matrix, strict=True)
    )
    return f"""&GLOBAL
  PROJECT {PROJECT}
  RUN_TYPE BAND
  PRINT_LEVEL LOW
&END GLOBAL
&MOTION
  &BAND
    BAND_TYPE {"CI-NEB" if climb else "IT-NEB"}
    NUMBER_OF_REPLICA {len(images)}
    NPROC_REP {int(n_procs_per_replica)}
    K_SPRING {spring_constant_eV_A2 * EV_A2_TO_AU:.6f}
    ROTATE_FRAMES F
    ALIGN_FRAMES F
    &CONVERGENCE_CONTROL
      MAX_FORCE {f_au:.6E}
      RMS_FORCE {f_au:.6E}
      MAX_DR 1.0E+3
      RMS_DR 1.0E+3
    &END CONVERGENCE_CONTROL
    &OPTIMIZE_BAND
      OPT_TYPE DIIS
      OPTIMIZE_END_POINTS F
      &DIIS
        MAX_STEPS {int(max_steps)}
      &END DIIS
    &END OPTIMIZE_BAND
{replicas}    &CONVERGENCE_INFO ON
    &END CONVERGENCE_INFO
    &PROGRAM_RUN_INFO ON
    &END PROGRAM_RUN_INFO
  &END BAND
  &PRINT
    &RESTART_HISTORY OFF
    &END RESTART_HISTORY
  &END PRINT
&END MOTION
&FORCE_EVAL
{method}  &SUBSYS
    &CELL
{cell}      PERIODIC XYZ
    &END CELL
    &TOPOLOGY
      COORD_FILE_NAME replica_1.xyz
      COORD_FILE_FORMAT XYZ
    &END TOPOLOGY
{kinds}  &END SUBSYS
&END FORCE_EVAL
"""


def write_band_inputs(images: Sequence[Structure], directory: str | Path, **settings: Any) -> Path:
    """Write ``cp2k.inp`` and one ``replica_<k>.xyz`` per image into ``directory``.

    Parameters
    ----------
    images
        All images, endpoints included.
    directory
        Target folder (created).
    **settings
        Passed to :func:`band_input`.

    Returns
    -------
    pathlib.Path
        The input file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for k, cart in enumerate(_continuous_cart(images)):
        lines = [str(len(cart)), f"replica {k + 1}"]
        lines += [
            f"{site.specie.symbol} {x:.10f} {y:.10f} {z:.10f}"
            for site, (x, y, z) in zip(images[0], cart, strict=True)
        ]
        (directory / f"replica_{k + 1}.xyz").write_text("\n".join(lines) + "\n")
    path = directory / "cp2k.inp"
    text = band_input(images, **settings)
    walltime = cp2k_walltime_s()
    if walltime is not None:  # stop cleanly (restart files written) before the queue does
        text = text.replace("&END GLOBAL", f"  WALLTIME {walltime}\n&END GLOBAL", 1)
    path.write_text(text)
    return path


#: Cp2kNebMaker fields passed on to :func:`band_input` under the same name
_BAND_INPUT_FIELDS = (
    "climb",
    "spring_constant_eV_A2",
    "fmax_eV_A",
    "max_steps",
    "n_procs_per_replica",
    "charge",
    "cutoff_Ry",
    "rel_cutoff_Ry",
    "eps_scf",
    "max_scf",
    "functional",
    "uks",
    "basis_and_potential",
    "method_input",
)


@dataclass
class Cp2kNebMaker(OneJobNebMaker):
    """CI-NEB with CP2K's BAND run type, through custodian.

    Parameters
    ----------
    name
        Job name.
    climb
        Climbing image.
    spring_constant_eV_A2
        Spring constant (eV/Å²).
    fmax_eV_A
        Force criterion (eV/Å) on the band (max and RMS).
    max_steps
        Band optimisation steps.
    charge
        Cell charge (e), e.g. -1 for a cell with one Li⁺ removed.
    cutoff_Ry, rel_cutoff_Ry
        Plane-wave cutoffs (Ry).
    eps_scf, max_scf
        SCF tolerance and steps.
    functional
        XC functional.
    uks
        Spin-polarised (UKS); about twice the cost.
    basis_and_potential
        Per-element basis and pseudopotential; None uses the cheapest MOLOPT-SR set.
    method_input
        Replaces the DFT method block (see :func:`band_input`).
    cp2k_cmd
        Command; None uses ``settings.cp2k.cmd``.
    n_procs_per_replica
        MPI ranks per replica group (``NPROC_REP``).
    wall_time_s
        Queue walltime for custodian's WalltimeHandler.
    max_errors
        Corrections custodian may make.
    """

    name: str = "cp2k neb"
    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 100
    charge: int = 0
    cutoff_Ry: float = 300
    rel_cutoff_Ry: float = 40
    eps_scf: float = 1e-5
    max_scf: int = 50
    functional: str = "PBE"
    uks: bool = False
    basis_and_potential: dict[str, dict[str, str]] | None = None
    method_input: str | None = None
    cp2k_cmd: str | None = None
    n_procs_per_replica: int = 1
    wall_time_s: int | None = None
    max_errors: int = 3

    def input_settings(self) -> dict[str, Any]:
        """Keyword arguments of :func:`band_input` from this maker's fields."""
        return {name: getattr(self, name) for name in _BAND_INPUT_FIELDS}

    def run(
        self,
        images: Sequence[Structure],
        directory: str | Path | None = None,
        *,
        label: str = "neb",
        hop: HopDoc | None = None,
        interpolation: str | None = None,
    ) -> NebDoc:
        """Run the band in ``directory`` (None: the current folder) without jobflow.

        :meth:`make`'s job calls it in the job's folder.
        """
        from pymatgen.core import Structure

        images = [im if isinstance(im, Structure) else Structure.from_dict(im) for im in images]
        directory = Path(Path.cwd() if directory is None else directory).resolve()
        write_band_inputs(images, directory, **self.input_settings())
        self._custodian(directory)
        raw = read_cp2k_band(directory, lattice=images[0].lattice.matrix, source="cp2k")
        if len(raw.images) != len(images):
            raise EngineError(
                f"CP2K wrote {len(raw.images)} replicas for a band of {len(images)} images"
            )
        raw.fmax_eV_A = self.fmax_eV_A
        return neb_doc_from_raw(
            raw,
            label=label,
            n_images=len(images) - 2,
            climb=self.climb,
            engine={"engine": "cp2k", "functional": self.functional, "charge": self.charge},
            hop=hop,
            interpolation=interpolation,
        )

    def _custodian(self, directory: Path) -> None:
        # custodian is an optional extra, imported when CP2K runs
        from custodian import Custodian
        from custodian.custodian import CustodianError

        cmd = shlex.split(self.cp2k_cmd or get_settings().cp2k.cmd)
        if not cmd:
            raise ConfigError("empty CP2K command")
        custodian = Custodian(
            cp2k_custodian.handlers("neb", self.wall_time_s),
            [cp2k_custodian.custodian_job(cmd)],
            validators=cp2k_custodian.validators(),
            max_errors=self.max_errors,
            directory=str(directory),
            polling_time_step=2,
            monitor_freq=10,
        )
        try:
            # some custodian CP2K handlers read their files relative to the working folder
            with contextlib.chdir(directory):
                custodian.run()
        except CustodianError as exc:
            raise EngineError(f"CP2K band in {directory} failed under custodian: {exc}") from None
        except FileNotFoundError as exc:
            raise EngineError(f"cannot run CP2K ({exc}); set IONFLOW_CP2K__CMD") from None
