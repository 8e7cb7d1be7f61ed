"""VASP engine: atomate2's VASP makers, run through custodian, with ionflow's settings.

The makers are atomate2's (``RelaxMaker``, ``StaticMaker``, ``MDMaker``); ionflow fills
in the INCAR settings a transport study needs (NVT thermostats, RANDOM_SEED, NBLOCK,
Gamma-only k-points, ISPIN 1, LREAL Auto for MD),
and the custodian handlers (atomate2's MD set, plus custodian's ``WalltimeHandler`` when a
walltime is configured, read from ionflow's settings when the maker is built). A VASP command
the engine does not set is read from the settings of the node that runs the job
(:class:`ionflow.engines.commands.SettingsCommand`), never where the flow is built.

MD segments are not run through ``MDMaker.make`` (whose task document keeps every ionic
step in the main document, atomate2 issues #703/#671) but by
:class:`ionflow.engines.vasp_segment.VaspSegmentRunner`, which uses the maker's input set
generator and custodian settings and stores the frames in the data store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from atomate2.vasp.sets.core import MDSetGenerator
from pymatgen.io.vasp.inputs import Kpoints

from ionflow.engines.base import EngineAdapter
from ionflow.engines.commands import command_or_setting
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = [
    "MD_INCAR_DEFAULTS",
    "THERMOSTAT_INCAR",
    "IonflowMDSetGenerator",
    "VaspEngine",
    "md_handlers",
]

#: ionflow thermostat -> VASP NVT settings (MDALGO 2: Nose-Hoover, 3: Langevin)
THERMOSTAT_INCAR: dict[str, dict[str, Any]] = {
    "nose-hoover": {"MDALGO": 2, "SMASS": 0},
    "langevin": {"MDALGO": 3},
}

#: Langevin friction of the atoms (1/ps), VASP's LANGEVIN_GAMMA per species
LANGEVIN_GAMMA_PER_PS = 10.0

#: AIMD defaults on top of atomate2's MD set (supercells: no spin, real-space projection);
#: KPOINTS is Gamma only. Override any of them with the engine's ``incar``.
MD_INCAR_DEFAULTS: dict[str, Any] = {"ISPIN": 1, "LREAL": "Auto"}


@dataclass
class IonflowMDSetGenerator(MDSetGenerator):
    """atomate2's MD input set with ionflow's thermostat choice.

    Parameters
    ----------
    thermostat
        ``nose-hoover`` (MDALGO 2) or ``langevin`` (MDALGO 3, one LANGEVIN_GAMMA per
        species, which only the structure can tell).
    """

    thermostat: str = "nose-hoover"

    @property
    def incar_updates(self) -> dict:
        """INCAR updates of atomate2's MD set plus the thermostat."""
        updates = dict(super().incar_updates)
        updates.update(THERMOSTAT_INCAR[self.thermostat])
        if self.thermostat == "langevin":
            updates.pop("SMASS", None)
            n_types = len(self.structure.composition.elements)
            updates["LANGEVIN_GAMMA"] = [LANGEVIN_GAMMA_PER_PS] * n_types
        return updates


def md_handlers(wall_time_s: int | None = None) -> list[Any]:
    """Custodian handlers for VASP MD: atomate2's MD set, plus a WalltimeHandler if timed.

    Parameters
    ----------
    wall_time_s
        Queue walltime (s). The handler writes STOPCAR shortly before it, so VASP ends
        the segment cleanly with a CONTCAR the segment resumes from.

    Returns
    -------
    list
        Handler instances.
    """
    from custodian.vasp.handlers import (
        FrozenJobErrorHandler,
        IncorrectSmearingHandler,
        LargeSigmaHandler,
        MeshSymmetryErrorHandler,
        PositiveEnergyErrorHandler,
        StdErrHandler,
        VaspErrorHandler,
        WalltimeHandler,
    )

    handlers: list[Any] = [
        VaspErrorHandler(),
        MeshSymmetryErrorHandler(),
        PositiveEnergyErrorHandler(),
        FrozenJobErrorHandler(),
        StdErrHandler(),
        LargeSigmaHandler(),
        IncorrectSmearingHandler(),
    ]
    if wall_time_s:
        handlers.append(WalltimeHandler(wall_time=int(wall_time_s)))
    return handlers


@dataclass
class VaspEngine(EngineAdapter):
    """VASP through atomate2 and custodian.

    Parameters
    ----------
    vasp_cmd
        Command running VASP; None uses ``settings.vasp.cmd`` of the node running the job.
    vasp_gamma_cmd
        Command running Gamma-only VASP (custodian uses it for Gamma-only k-points);
        None uses ``settings.vasp.gamma_cmd`` of the node running the job.
    wall_time_s
        Queue walltime (s) for custodian's WalltimeHandler; None uses the settings.
    incar
        INCAR keys applied to every calculation (e.g. ``{"ENCUT": 400, "KSPACING": 0.5}``).
    write_input_set_kwargs
        Passed to atomate2's ``write_vasp_input_set`` (``{"potcar_spec": True}`` writes
        POTCAR.spec instead of POTCAR, as the replay tests do).
    """

    name: ClassVar[str] = "vasp"
    vasp_cmd: str | None = None
    vasp_gamma_cmd: str | None = None
    wall_time_s: int | None = None
    incar: dict[str, Any] = field(default_factory=dict)
    write_input_set_kwargs: dict[str, Any] = field(default_factory=dict)

    def _run_vasp_kwargs(self, handlers: list[Any] | None = None) -> dict[str, Any]:
        from ionflow.settings import get_settings

        settings = get_settings().vasp
        wall = self.wall_time_s if self.wall_time_s is not None else settings.wall_time_s
        kwargs: dict[str, Any] = {
            # unset commands are read on the node that runs the job (ionflow submit)
            "vasp_cmd": command_or_setting(self.vasp_cmd, "vasp", "cmd"),
            "vasp_gamma_cmd": command_or_setting(self.vasp_gamma_cmd, "vasp", "gamma_cmd"),
        }
        if handlers is not None:
            kwargs["handlers"] = handlers
        elif wall:
            kwargs["wall_time"] = int(wall)
        return kwargs

    def relax_maker(
        self,
        *,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        relax_cell: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return atomate2's VASP RelaxMaker (EDIFFG = -fmax, ISIF 2 or 3)."""
        from atomate2.vasp.jobs.core import RelaxMaker
        from atomate2.vasp.sets.core import RelaxSetGenerator

        incar = {
            "EDIFFG": -abs(fmax_eV_A),
            "NSW": int(max_steps),
            "ISIF": 3 if relax_cell else 2,
            **self.incar,
            **(overrides or {}),
        }
        return RelaxMaker(
            input_set_generator=RelaxSetGenerator(user_incar_settings=incar),
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs(),
        )

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's VASP StaticMaker."""
        from atomate2.vasp.jobs.core import StaticMaker
        from atomate2.vasp.sets.core import StaticSetGenerator

        incar = {**self.incar, **(overrides or {})}
        return StaticMaker(
            input_set_generator=StaticSetGenerator(user_incar_settings=incar),
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs(),
        )

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
        """Return atomate2's VASP MDMaker for NVT at one temperature.

        ``overrides`` are INCAR keys. ``RANDOM_SEED`` makes the initial velocities
        (and Langevin noise) reproducible; ``NBLOCK`` follows ``traj_interval``.
        """
        from atomate2.vasp.jobs.md import MDMaker

        if thermostat not in THERMOSTAT_INCAR:
            raise ConfigError(
                f"thermostat {thermostat!r} is not available for VASP NVT; choose "
                f"{' or '.join(THERMOSTAT_INCAR)}"
            )
        incar: dict[str, Any] = {**MD_INCAR_DEFAULTS, "NBLOCK": int(traj_interval), **self.incar}
        if seed is not None:
            incar["RANDOM_SEED"] = [int(seed), 0, 0]
        incar.update(overrides or {})
        generator = IonflowMDSetGenerator(
            ensemble="nvt",
            start_temp=float(temperature_K),
            end_temp=float(temperature_K),
            nsteps=int(n_steps),
            time_step=float(time_step_fs),
            thermostat=thermostat,
            user_incar_settings=incar,
            user_kpoints_settings=Kpoints.gamma_automatic((1, 1, 1)),
            auto_ispin=False,
        )
        from ionflow.settings import get_settings

        wall = self.wall_time_s if self.wall_time_s is not None else get_settings().vasp.wall_time_s
        return MDMaker(
            input_set_generator=generator,
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs(handlers=md_handlers(wall)),
        )

    def describe(self) -> dict[str, Any]:
        """Return engine name and the INCAR keys ionflow adds."""
        return {"engine": self.name, "incar": dict(self.incar)}
