"""VASP engine: atomate2's VASP makers, run through custodian, with ionflow's settings.

The makers are atomate2's (``RelaxMaker``, ``StaticMaker``, ``MDMaker``); ionflow fills
in the INCAR settings a transport study needs (NVT thermostats, RANDOM_SEED, NBLOCK,
Gamma-only k-points, ISPIN 1, LREAL Auto for MD; :mod:`ionflow.engines.vasp.inputs`),
and the custodian handlers (:mod:`ionflow.engines.vasp.custodian`, with custodian's
``WalltimeHandler`` when a walltime is configured, read from ionflow's settings when the
maker is built). A VASP command the engine does not set is read from the settings of the
node that runs the job (:class:`ionflow.engines.commands.SettingsCommand`), never where
the flow is built.

MD segments are not run through ``MDMaker.make`` (whose task document keeps every ionic
step in the main document, atomate2 issues #703/#671) but by
:class:`ionflow.engines.vasp.segment.VaspSegmentRunner`, which uses the maker's input set
generator and custodian settings and stores the frames in the data store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from pymatgen.io.vasp.inputs import Kpoints

from ionflow.engines.base import EngineAdapter, MDRequest, NebRequest, RelaxRequest
from ionflow.engines.commands import command_or_setting
from ionflow.engines.vasp import custodian
from ionflow.engines.vasp.inputs import (
    LOCPOT_INCAR,
    MD_INCAR_DEFAULTS,
    THERMOSTAT_INCAR,
    IonflowMDSetGenerator,
)
from ionflow.engines.vasp.neb import VaspNebMaker
from ionflow.errors import ConfigError
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from pathlib import Path

    from jobflow import Maker

__all__ = ["VaspEngine", "md_handlers"]


#: custodian's handlers of a VASP MD run, ``md_handlers(walltime_s)`` (kept for old imports)
md_handlers = partial(custodian.handlers, "md")


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
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {
            "relax",
            "static",
            "md",
            "neb",
            "charged_cells",
            "locpot",
            "site_potentials",
            "custodian",
            "dft",
        }
    )
    segment_runners: ClassVar[dict[str, str]] = {
        "atomate2.vasp.jobs.base:BaseVaspMaker": "ionflow.engines.vasp.segment:VaspSegmentRunner"
    }
    custodian_module = custodian
    vasp_cmd: str | None = None
    vasp_gamma_cmd: str | None = None
    wall_time_s: int | None = None
    incar: dict[str, Any] = field(default_factory=dict)
    write_input_set_kwargs: dict[str, Any] = field(default_factory=dict)

    def _run_vasp_kwargs(self, kind: str) -> dict[str, Any]:
        """atomate2 ``run_vasp`` keywords: commands and the custodian handlers of ``kind``."""
        wall = self.wall_time_s if self.wall_time_s is not None else get_settings().vasp.wall_time_s
        return {
            # unset commands are read on the node that runs the job (ionflow submit)
            "vasp_cmd": command_or_setting(self.vasp_cmd, self.name, "cmd"),
            "vasp_gamma_cmd": command_or_setting(self.vasp_gamma_cmd, self.name, "gamma_cmd"),
            **custodian.run_vasp_handler_kwargs(kind, wall),
        }

    def _relax_maker(self, relax: RelaxRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's VASP RelaxMaker (EDIFFG = -fmax, ISIF 2 or 3)."""
        from atomate2.vasp.jobs.core import RelaxMaker
        from atomate2.vasp.sets.core import RelaxSetGenerator

        incar = {
            "EDIFFG": -abs(relax.fmax_eV_A),
            "NSW": int(relax.max_steps),
            "ISIF": 3 if relax.relax_cell else 2,
            **self.incar,
            **overrides,
        }
        return RelaxMaker(
            input_set_generator=RelaxSetGenerator(user_incar_settings=incar),
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs("relax"),
        )

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's VASP StaticMaker."""
        from atomate2.vasp.jobs.core import StaticMaker
        from atomate2.vasp.sets.core import StaticSetGenerator

        incar = {**self.incar, **(overrides or {})}
        return StaticMaker(
            input_set_generator=StaticSetGenerator(user_incar_settings=incar),
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs("static"),
        )

    def _md_maker(self, md: MDRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's VASP MDMaker for NVT at one temperature.

        ``overrides`` are INCAR keys. ``RANDOM_SEED`` makes the initial velocities
        (and Langevin noise) reproducible; ``NBLOCK`` follows ``traj_interval``.
        """
        from atomate2.vasp.jobs.md import MDMaker

        if md.thermostat not in THERMOSTAT_INCAR:
            raise ConfigError(
                f"thermostat {md.thermostat!r} is not available for VASP NVT; choose "
                f"{' or '.join(THERMOSTAT_INCAR)}"
            )
        incar: dict[str, Any] = {**MD_INCAR_DEFAULTS, "NBLOCK": md.traj_interval, **self.incar}
        if md.seed is not None:
            incar["RANDOM_SEED"] = [int(md.seed), 0, 0]
        incar.update(overrides)
        generator = IonflowMDSetGenerator(
            ensemble="nvt",
            start_temp=md.temperature_K,
            end_temp=md.temperature_K,
            nsteps=md.n_steps,
            time_step=md.time_step_fs,
            thermostat=md.thermostat,
            user_incar_settings=incar,
            user_kpoints_settings=Kpoints.gamma_automatic((1, 1, 1)),
            auto_ispin=False,
        )
        return MDMaker(
            input_set_generator=generator,
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs("md"),
        )

    def _neb_maker(self, neb: NebRequest, overrides: dict[str, Any]) -> VaspNebMaker:
        """Return :class:`VaspNebMaker` with this engine's INCAR, commands and walltime.

        ``overrides`` are INCAR keys (applied over the engine's ``incar``).
        """
        return VaspNebMaker(
            incar={**self.incar, **overrides},
            write_input_set_kwargs=dict(self.write_input_set_kwargs),
            run_vasp_kwargs=self._run_vasp_kwargs("neb"),
            **dataclasses.asdict(neb),
        )

    def _locpot_relax_maker(
        self, relax: RelaxRequest, overrides: dict[str, Any], potential: bool = True
    ) -> Maker:
        """Return the fixed-cell RelaxMaker with LVHAR and NELECT from ``Structure.charge``.

        Adds :data:`~ionflow.engines.vasp.inputs.LOCPOT_INCAR` over ``overrides`` (not
        with ``potential=False``: OUTCAR's site potentials need no INCAR key) and sets the
        input set's ``use_structure_charge``.
        """
        maker = self._relax_maker(relax, {**overrides, **(LOCPOT_INCAR if potential else {})})
        generator = dataclasses.replace(maker.input_set_generator, use_structure_charge=True)
        return dataclasses.replace(maker, input_set_generator=generator)

    def resume_inputs(self, earlier: list[Path], work_dir: Path) -> str | None:
        """Start from the last earlier attempt's valid CONTCAR."""
        return custodian.resume_from_contcar(earlier, work_dir)

    def describe(self) -> dict[str, Any]:
        """Return engine name and the INCAR keys ionflow adds."""
        return {"engine": self.name, "incar": dict(self.incar)}
