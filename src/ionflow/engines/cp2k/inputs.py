"""CP2K inputs: the cheap, working settings and atomate2 input set generators using them.

:func:`cheap_basis_and_potential` (smallest MOLOPT-SR basis with its matching GTH-PBE
pseudopotential for each element, read from CP2K's own data files), :func:`cheap_dft_settings`
(the settings measured in ``shared/docs/CP2K_NOTES.md``: RKS, Gamma only, OT, 200/40 Ry, loose
EPS), :func:`pymatgen_cp2k_settings` (points pymatgen at its CP2K YAML data folder while
inputs are generated, without touching ``CP2K_DATA_DIR``, which the CP2K binary itself reads)
and the static, relax and MD input set generators of :class:`ionflow.engines.cp2k.Cp2kEngine`
(the NEB code imports them too). The package ``ionflow.engines.cp2k`` re-exports every name
(workflows stored under the old ``engines/cp2k.py`` module).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atomate2.cp2k.sets.core import MDSetGenerator, RelaxSetGenerator, StaticSetGenerator
from pymatgen.io.cp2k.inputs import Keyword

from ionflow.engines.cp2k.fixes import thermostat_override
from ionflow.errors import ConfigError
from ionflow.settings import CP2K_DEFAULT_BASIS_DIR, get_settings, job_walltime

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = [
    "CHEAP_BASIS",
    "CP2K_SYSTEM_DATA_DIR",
    "PROJECT",
    "IonflowCp2kMDSetGenerator",
    "IonflowCp2kRelaxSetGenerator",
    "IonflowCp2kStaticSetGenerator",
    "apply_job_walltime",
    "cheap_basis_and_potential",
    "cheap_dft_settings",
    "cp2k_basis_dir",
    "cp2k_walltime_s",
    "pymatgen_cp2k_settings",
    "resolve_pmg_cp2k_data_dir",
]

#: CP2K's own basis/potential files when nothing else is configured (Debian's cp2k-data);
#: ``settings.cp2k.basis_dir`` or ``$CP2K_DATA_DIR`` take priority (cp2k_basis_dir)
CP2K_SYSTEM_DATA_DIR = CP2K_DEFAULT_BASIS_DIR


def cp2k_basis_dir() -> Path:
    """Return CP2K's basis/potential folder: settings, ``$CP2K_DATA_DIR``, then the default."""
    return get_settings().cp2k.resolved_basis_dir()


#: seconds CP2K keeps free before the queue job's end (GLOBAL/WALLTIME), at most 20 %
CP2K_WALLTIME_BUFFER_S = 300


def apply_job_walltime(cp2k_input: Any, environ: Any = None) -> int | None:
    """Set ``GLOBAL/WALLTIME`` from the queue job's remaining time (on the node).

    CP2K then stops cleanly, writing its restart files, before the queue kills it, and
    custodian's CP2K ``WalltimeHandler`` turns that stop into a restartable checkpoint.

    Returns
    -------
    int or None
        The walltime set (s), or None outside a queue job.
    """
    seconds = cp2k_walltime_s(environ)
    if seconds is not None:
        cp2k_input["GLOBAL"]["WALLTIME"] = Keyword("WALLTIME", seconds)
    return seconds


def cp2k_walltime_s(environ: Any = None) -> int | None:
    """Return the ``GLOBAL/WALLTIME`` (s) for this queue job (None outside one)."""
    _, remaining = job_walltime(environ)
    if not remaining or remaining <= 0:
        return None
    return max(int(remaining - min(CP2K_WALLTIME_BUFFER_S, 0.2 * remaining)), 1)


#: basis family of the cheap settings and the atomate2/pymatgen project name
CHEAP_BASIS = "SZV-MOLOPT-SR-GTH"
PROJECT = "CP2K"


@functools.cache
def _molopt_valence(basis_name: str, data_dir: str) -> dict[str, int]:
    """Element -> valence q of ``basis_name`` in CP2K's BASIS_MOLOPT."""
    text = (Path(data_dir) / "BASIS_MOLOPT").read_text()
    out: dict[str, int] = {}
    for match in re.finditer(rf"^\s*([A-Z][a-z]?)\s+{re.escape(basis_name)}\b(.*)$", text, re.M):
        q = re.search(r"-q(\d+)", match.group(2))
        if q:
            out.setdefault(match.group(1), int(q.group(1)))
    return out


def cheap_basis_and_potential(
    elements: set[str] | list[str], data_dir: str | Path | None = None
) -> dict[str, dict[str, str]]:
    """Return pymatgen ``basis_and_potential`` for the cheapest working CP2K settings.

    Parameters
    ----------
    elements
        Element symbols of the structure.
    data_dir
        CP2K's data folder (holding ``BASIS_MOLOPT``); default :func:`cp2k_basis_dir`.

    Returns
    -------
    dict
        ``{el: {"basis": "SZV-MOLOPT-SR-GTH", "potential": "GTH-PBE-q<n>"}}``.
    """
    data_dir = data_dir if data_dir is not None else cp2k_basis_dir()
    valence = _molopt_valence(CHEAP_BASIS, str(data_dir))
    missing = sorted(set(elements) - set(valence))
    if missing:
        raise ConfigError(
            f"no {CHEAP_BASIS} basis for {', '.join(missing)} in {data_dir}/BASIS_MOLOPT; "
            "pass basis_and_potential for them in the CP2K engine's input_settings"
        )
    return {
        el: {"basis": CHEAP_BASIS, "potential": f"GTH-PBE-q{valence[el]}"}
        for el in sorted(elements)
    }


def cheap_dft_settings(charge: int = 0, cutoff_Ry: float = 200, rel_cutoff_Ry: float = 40) -> dict:
    """Return atomate2 ``user_input_settings`` of the cheap CP2K setup (no basis entries).

    RKS, no smearing, OT with a STRICT (non-rotating) algorithm, EPS_SCF 1e-5,
    EPS_DEFAULT 1e-10, no analytic stress: about 4x faster than atomate2's defaults on
    small Li3OCl cells (CP2K_NOTES). Use with Gamma-only k-points.
    """
    return {
        "cutoff": cutoff_Ry,
        "rel_cutoff": rel_cutoff_Ry,
        "eps_scf": 1e-5,
        "eps_default": 1e-10,
        "eps_pgf_orb": 1e-8,
        "smearing": False,
        "spin_polarized": False,
        "algorithm": "STRICT",
        "rotation": False,
        "max_scf": 50,
        "override_default_params": {
            "FORCE_EVAL": {"STRESS_TENSOR": "NONE", "DFT": {"CHARGE": int(charge)}}
        },
    }


@contextlib.contextmanager
def pymatgen_cp2k_settings(data_dir: str | Path | None, functional: str) -> Iterator[None]:
    """Point pymatgen's CP2K input sets at their YAML data folder and functional.

    pymatgen reads ``PMG_CP2K_DATA_DIR`` from its settings (``.pmgrc.yaml``) or the
    ``CP2K_DATA_DIR`` environment variable, which the CP2K binary also reads (and would
    then miss its own BASIS_MOLOPT). This sets pymatgen's in-process settings only.
    """
    from pymatgen.core import SETTINGS

    keys = {"PMG_CP2K_DATA_DIR": str(data_dir) if data_dir else None}
    keys["PMG_DEFAULT_CP2K_FUNCTIONAL"] = functional
    old = {k: SETTINGS.get(k) for k in keys}
    for key, value in keys.items():
        if value is not None and not SETTINGS.get(key):
            SETTINGS[key] = value
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                SETTINGS.pop(key, None)
            else:
                SETTINGS[key] = value


def resolve_pmg_cp2k_data_dir(data_dir: str | None = None) -> str:
    """Return pymatgen's CP2K YAML folder: argument, settings, env or .pmgrc.yaml.

    Raises
    ------
    ConfigError
        If none is configured or the folder does not exist.
    """
    found = data_dir or get_settings().cp2k.data_dir or os.environ.get("PMG_CP2K_DATA_DIR")
    if not found:
        from pymatgen.core import SETTINGS

        found = SETTINGS.get("PMG_CP2K_DATA_DIR")
    if not found or not Path(found).is_dir():
        raise ConfigError(
            "pymatgen's CP2K data folder is not set up: run "
            "'pmg config --cp2k <CP2K data dir> <dir>' once and set IONFLOW_CP2K__DATA_DIR=<dir>"
        )
    return str(found)


@dataclass
class _CheapCp2kMixin:
    """Generator mix-in: cheap basis for the structure's elements, pymatgen data folder.

    Parameters
    ----------
    cheap
        Use :func:`cheap_basis_and_potential` for the structure's elements.
    pmg_data_dir, functional
        pymatgen CP2K YAML folder and XC functional for input generation (so the job
        needs no ``.pmgrc.yaml`` on the machine it runs on).
    """

    cheap: bool = True
    pmg_data_dir: str | None = None
    functional: str = "PBE"

    def get_input_set(
        self, structure: Any = None, prev_dir: Any = None, optional_files: Any = None
    ) -> Any:
        """Generate the input set with pymatgen pointed at its CP2K data.

        A structure with a non-zero ``charge`` (a charged defect cell) sets the DFT CHARGE.
        """
        with pymatgen_cp2k_settings(self.pmg_data_dir, self.functional):
            input_set = super().get_input_set(structure, prev_dir, optional_files)
        apply_job_walltime(input_set.cp2k_input)
        charge = getattr(structure, "charge", 0)
        if charge:
            # a charged defect cell carries its own charge; the engine-wide CHARGE of the
            # settings (0 by default) would otherwise run it neutral
            dft = input_set.cp2k_input["FORCE_EVAL"]["DFT"]
            dft["CHARGE"] = Keyword("CHARGE", round(charge))
        return input_set

    def get_input_updates(self, structure: Structure, *args: Any, **kwargs: Any) -> dict:
        """Return the parent's updates plus the cheap basis for the structure's elements."""
        updates = dict(super().get_input_updates(structure, *args, **kwargs))
        if self.cheap:
            elements = {el.symbol for el in structure.composition.elements}
            updates["basis_and_potential"] = cheap_basis_and_potential(elements)
        return updates


@dataclass
class IonflowCp2kStaticSetGenerator(_CheapCp2kMixin, StaticSetGenerator):
    """atomate2's CP2K static set with the cheap basis and the pymatgen data folder."""


@dataclass
class IonflowCp2kRelaxSetGenerator(_CheapCp2kMixin, RelaxSetGenerator):
    """atomate2's CP2K relax set with the cheap basis and the pymatgen data folder."""


@dataclass
class IonflowCp2kMDSetGenerator(_CheapCp2kMixin, MDSetGenerator):
    """atomate2's CP2K MD input set, NVT, with ionflow's segment settings.

    Parameters
    ----------
    temperature_K, time_step_fs, n_steps
        Thermostat temperature (K), time step (fs) and MD steps of the run.
    thermostat
        CP2K thermostat type (NOSE).
    traj_interval
        Steps between written positions/velocities.
    restart_every
        Steps between ``.restart`` files (the resume granularity).
    restart_file
        ``&EXT_RESTART`` file to continue from (positions, velocities, thermostat,
        counters), or None for a fresh start.
    step_start
        Step counter of a fresh start (so CP2K numbers frames on ionflow's global axis).
    """

    temperature_K: float = 300.0
    time_step_fs: float = 1.0
    n_steps: int = 10
    thermostat: str = "NOSE"
    traj_interval: int = 1
    restart_every: int = 1
    restart_file: str | None = None
    step_start: int = 0
    sort_structure: bool = False  # frames must keep ionflow's atom order

    def get_input_updates(self, structure: Structure, *args: Any, **kwargs: Any) -> dict:
        """MD settings of one segment (plus the cheap basis for the structure's elements)."""
        updates = super().get_input_updates(structure, *args, **kwargs)
        updates["activate_motion"] = {
            "ensemble": "NVT",
            "temperature": float(self.temperature_K),
            "timestep": float(self.time_step_fs),
            "nsteps": int(self.n_steps),
            "thermostat": self.thermostat,
        }
        every = {"EACH": {"MD": int(self.traj_interval)}}
        motion: dict[str, Any] = thermostat_override(self.thermostat)["MOTION"]
        motion["PRINT"] = {
            "TRAJECTORY": every,
            "VELOCITIES": every,
            "RESTART": {"EACH": {"MD": int(self.restart_every)}, "BACKUP_COPIES": 0},
            "RESTART_HISTORY": {"EACH": {"MD": 0}},
        }
        if self.step_start and not self.restart_file:
            motion["MD"]["STEP_START_VAL"] = int(self.step_start)
            motion["MD"]["TIME_START_VAL"] = float(self.step_start * self.time_step_fs)
        override: dict[str, Any] = {"MOTION": motion}
        if self.restart_file:
            override["EXT_RESTART"] = {
                "RESTART_FILE_NAME": self.restart_file,
                "RESTART_COUNTERS": True,
                "RESTART_POS": True,
                "RESTART_VEL": True,
                "RESTART_THERMOSTAT": True,
                "RESTART_DEFAULT": False,
            }
        updates["override_default_params"] = override
        return updates
