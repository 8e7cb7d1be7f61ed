"""The engine adapter interface: what ionflow needs from a calculation code.

Code outside ``ionflow.engines`` never compares engine names; it asks the adapter: a
maker (:meth:`EngineAdapter.relax_maker`, ``static_maker``, ``md_maker``, ``neb_maker``,
``locpot_relax_maker``), a capability (:attr:`EngineAdapter.capabilities`), custodian's
handlers for a kind of run, or the adapter keywords that come from the settings or the cell.
The list of engines is :mod:`ionflow.engines.registry` (re-exported here for old imports).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ionflow.engines.registry import ENGINES, adapter_options, get_engine
from ionflow.errors import ConfigError
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from jobflow import Maker

    from ionflow.settings import IonflowSettings

__all__ = [
    "CAPABILITIES",
    "CUSTODIAN_KINDS",
    "ENGINES",
    "EngineAdapter",
    "MDRequest",
    "NebRequest",
    "RelaxRequest",
    "adapter_options",
    "get_engine",
]

#: capabilities an adapter may declare, and what each promises
CAPABILITIES: dict[str, str] = {
    "relax": "relax_maker works",
    "static": "static_maker works",
    "md": "md_maker works and an MD segment runner chains its segments",
    "neb": "neb_maker returns a band maker",
    "charged_cells": "runs cells with a net charge (Structure.charge reaches the code)",
    "locpot": "locpot_relax_maker writes the electrostatic potential (Freysoldt correction)",
    "site_potentials": "every run writes the electrostatic potential at each atom's core "
    "(Kumagai/eFNV correction; locpot_relax_maker(potential=False) runs charged cells)",
    "custodian": "runs under custodian; custodian_handlers/validators/job are defined",
    "dft": "electronic-structure code (a machine-learned prescreen is worth running first)",
}

#: kinds of run custodian handlers are asked for
CUSTODIAN_KINDS = ("relax", "static", "md", "neb")


@dataclass(frozen=True)
class RelaxRequest:
    """A geometry relaxation asked of an engine (:meth:`EngineAdapter.relax_maker`).

    Parameters
    ----------
    fmax_eV_A
        Force tolerance (eV/Å).
    max_steps
        Largest number of ionic steps.
    relax_cell
        Relax the cell as well as the positions.
    """

    fmax_eV_A: float = 0.05
    max_steps: int = 300
    relax_cell: bool = False


@dataclass(frozen=True)
class MDRequest:
    """One NVT MD run asked of an engine (:meth:`EngineAdapter.md_maker`).

    Parameters
    ----------
    temperature_K
        Thermostat temperature (K).
    n_steps
        MD steps.
    time_step_fs
        Time step (fs).
    thermostat
        ionflow thermostat name (``"nose-hoover"``, ...); each engine says which it runs.
    seed
        Seed of the initial velocities (None: the engine's default).
    traj_interval
        Steps between stored frames.
    """

    temperature_K: float
    n_steps: int
    time_step_fs: float
    thermostat: str = "nose-hoover"
    seed: int | None = None
    traj_interval: int = 1


@dataclass(frozen=True)
class NebRequest:
    """A CI-NEB band asked of an engine (:meth:`EngineAdapter.neb_maker`).

    Parameters
    ----------
    climb
        Climbing image on.
    spring_constant_eV_A2
        Spring constant between images (eV/Å²).
    fmax_eV_A
        Force tolerance (eV/Å).
    max_steps
        Largest number of band optimisation steps.
    """

    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 300


class EngineAdapter(ABC):
    """What ionflow needs from a calculation code.

    Each maker method returns a jobflow Maker (usually an atomate2 one) whose
    ``make(structure, prev_dir=None)`` runs one calculation. ``overrides`` are
    engine-specific input-set settings passed through unchanged (INCAR keys, CP2K sections,
    ASE kwargs). An adapter is a dataclass whose fields are the engine file's ``adapter``
    keys; every field has a default.

    The keyword interface of :meth:`relax_maker`, :meth:`md_maker` and :meth:`neb_maker`
    is written here once: it gathers the arguments into a :class:`RelaxRequest`,
    :class:`MDRequest` or :class:`NebRequest` and calls the engine's ``_relax_maker``,
    ``_md_maker`` or ``_neb_maker`` with it and the overrides (a copied dict).
    """

    name: ClassVar[str]
    #: what this engine can do (keys of :data:`CAPABILITIES`)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: atomate2 MD maker base class ("module:class") -> ionflow segment runner ("module:class")
    segment_runners: ClassVar[dict[str, str]] = {}
    #: the engine's ``custodian.py`` (``handlers(kind, walltime_s)``, ``validators()``,
    #: ``custodian_job(command)``, ``INPUT_FILES``, ``REQUIRED_INPUTS``); None: no custodian
    custodian_module: ClassVar[ModuleType | None] = None

    def relax_maker(
        self,
        *,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        relax_cell: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return a maker for a geometry relaxation (the engine's ``_relax_maker``)."""
        request = RelaxRequest(fmax_eV_A, max_steps, relax_cell)
        return self._relax_maker(request, dict(overrides or {}))

    def _relax_maker(self, relax: RelaxRequest, overrides: dict[str, Any]) -> Maker:
        """Return the engine's relaxation maker (every engine with ``relax``)."""
        raise ConfigError(f"no relaxation maker for engine {self.name!r}")

    @abstractmethod
    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return a maker for a single-point energy."""

    def md_maker(
        self,
        *,
        temperature_K: float,
        n_steps: int,
        time_step_fs: float,
        thermostat: str = "nose-hoover",
        seed: int | None = None,
        traj_interval: int = 1,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return a maker for one NVT MD run (the engine's ``_md_maker``)."""
        request = MDRequest(
            temperature_K=float(temperature_K),
            n_steps=int(n_steps),
            time_step_fs=float(time_step_fs),
            thermostat=thermostat,
            seed=seed,
            traj_interval=int(traj_interval),
        )
        return self._md_maker(request, dict(overrides or {}))

    def _md_maker(self, md: MDRequest, overrides: dict[str, Any]) -> Maker:
        """Return the engine's NVT MD maker (every engine with ``md``)."""
        raise ConfigError(f"no MD maker for engine {self.name!r}")

    def neb_maker(
        self,
        *,
        climb: bool = True,
        spring_constant_eV_A2: float = 5.0,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return this engine's CI-NEB band maker (the engine's ``_neb_maker``).

        The maker's ``make(images, prev_dir=None, *, label, hop, interpolation,
        endpoint_dirs)`` returns a job or flow whose output is a
        :class:`~ionflow.schemas.neb.NebDoc`. ``overrides`` are engine-specific band
        settings (INCAR keys for VASP, maker fields for CP2K and MLIP).
        """
        request = NebRequest(climb, spring_constant_eV_A2, fmax_eV_A, max_steps)
        return self._neb_maker(request, dict(overrides or {}))

    def _neb_maker(self, neb: NebRequest, overrides: dict[str, Any]) -> Maker:
        """Return the engine's band maker (every engine with ``neb``)."""
        raise ConfigError(f"no NEB maker for engine {self.name!r}")

    def locpot_relax_maker(
        self,
        *,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        overrides: dict[str, Any] | None = None,
        potential: bool = True,
    ) -> Maker:
        """Return a fixed-cell relax maker that also writes the electrostatic potential.

        Only for engines with the ``locpot`` capability (the Freysoldt correction of
        charged defect cells reads it); the cell's ``Structure.charge`` reaches the code.
        ``potential=False``: the charged cell only, no potential file (the Kumagai
        correction reads the per-atom potentials of the ``site_potentials`` capability).
        The engine's ``_locpot_relax_maker`` builds it.
        """
        request = RelaxRequest(fmax_eV_A, max_steps, relax_cell=False)
        return self._locpot_relax_maker(request, dict(overrides or {}), potential)

    def _locpot_relax_maker(
        self, relax: RelaxRequest, overrides: dict[str, Any], potential: bool = True
    ) -> Maker:
        """Return the engine's LOCPOT-writing relax maker (every engine with ``locpot``)."""
        raise ConfigError(
            f"engine {self.name!r} writes no electrostatic potential (no 'locpot' capability)"
        )

    def describe(self) -> dict[str, Any]:
        """Return engine name and settings for provenance in result documents."""
        return {"engine": self.name}

    @classmethod
    def settings_options(cls, settings: IonflowSettings) -> dict[str, Any]:
        """Return adapter keywords taken from ionflow's settings (lowest priority)."""
        return {}

    @classmethod
    def charge_options(cls, charge: int) -> dict[str, Any]:
        """Return adapter keywords for a cell of total charge ``charge`` (e).

        Engines that read the charge from the structure return ``{}``.
        """
        return {}

    # -- custodian (engines with the "custodian" capability) -----------------------------

    def custodian_handlers(self, kind: str, walltime_s: float | None = None) -> list[Any]:
        """Return custodian's error handlers for one kind of run (empty: no custodian).

        Parameters
        ----------
        kind
            One of :data:`CUSTODIAN_KINDS`.
        walltime_s
            Queue walltime (s), for the handler that stops the run cleanly before it.

        Returns
        -------
        list
            Handler instances in priority order (from :attr:`custodian_module`).
        """
        if self.custodian_module is None:
            return []
        return self.custodian_module.handlers(kind, walltime_s)

    def custodian_validators(self) -> list[Any]:
        """Return custodian's validators for this engine's runs."""
        if self.custodian_module is None:
            return []
        return self.custodian_module.validators()

    def custodian_job(self, command: list[str]) -> Any:
        """Return the custodian job running ``command`` in a prepared folder."""
        if self.custodian_module is None:
            raise ConfigError(f"engine {self.name!r} does not run under custodian")
        return self.custodian_module.custodian_job(command)

    @property
    def custodian_inputs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Input files a prepared custodian folder may hold (copied) and must hold."""
        module = self.custodian_module
        if module is None:
            return (), ()
        return module.INPUT_FILES, module.REQUIRED_INPUTS

    def resume_inputs(self, earlier: list[Path], work_dir: Path) -> str | None:
        """Continue from an earlier attempt's output in ``work_dir`` (None: start over).

        Parameters
        ----------
        earlier
            Folders of earlier attempts, oldest first (only read).
        work_dir
            The new attempt's folder, inputs already copied.

        Returns
        -------
        str or None
            The earlier folder resumed from.
        """
        return None

    def settings_command(self) -> str:
        """Return the command of this engine in the settings of this process."""
        section = getattr(get_settings(), self.name, None)
        if section is None or not hasattr(section, "cmd"):
            raise ConfigError(f"ionflow settings have no command for engine {self.name!r}")
        return str(section.cmd)
