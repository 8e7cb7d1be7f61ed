"""CP2K engine: atomate2's CP2K makers with cheap, working defaults and the known bugs fixed.

The input side (cheap basis and DFT settings, pymatgen's CP2K data folder, the input set
generators) lives in :mod:`ionflow.engines.cp2k.inputs`, custodian's handlers in
:mod:`ionflow.engines.cp2k.custodian`, the CI-NEB band in :mod:`ionflow.engines.cp2k.neb`.

MD segments are run by :class:`ionflow.engines.cp2k.segment.Cp2kSegmentRunner` from the
maker's input set generator, continuing each segment from the previous one's
``.restart`` file (``&EXT_RESTART``: positions, velocities, thermostat, step counter).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from pymatgen.io.vasp.inputs import Kpoints

from ionflow.dicts import deep_merge
from ionflow.engines.base import EngineAdapter, MDRequest, NebRequest, RelaxRequest
from ionflow.engines.commands import command_or_setting
from ionflow.engines.cp2k import custodian
from ionflow.engines.cp2k.fixes import patch_cleanup_dft
from ionflow.engines.cp2k.inputs import (
    IonflowCp2kMDSetGenerator,
    IonflowCp2kRelaxSetGenerator,
    IonflowCp2kStaticSetGenerator,
    cheap_dft_settings,
    resolve_pmg_cp2k_data_dir,
)
from ionflow.engines.cp2k.neb import Cp2kNebMaker
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = ["THERMOSTATS", "Cp2kEngine", "md_handlers"]

#: ionflow thermostat -> CP2K MOTION/MD/THERMOSTAT/TYPE. CSVR is left out on purpose:
#: custodian's SCF restarts rewrite cp2k.inp from the .restart file and truncate its
#: &RNG_INIT (CP2K_NOTES bug 4), so only NOSE survives custodian corrections.
THERMOSTATS = {"nose-hoover": "NOSE"}


#: CP2K engine ``input_settings`` key -> Cp2kNebMaker field (the band writes its own input)
_BAND_SETTINGS = {
    "cutoff": "cutoff_Ry",
    "rel_cutoff": "rel_cutoff_Ry",
    "eps_scf": "eps_scf",
    "max_scf": "max_scf",
}


#: custodian's handlers of a CP2K MD run, ``md_handlers(walltime_s)`` (kept for old imports)
md_handlers = partial(custodian.handlers, "md")


@dataclass
class Cp2kEngine(EngineAdapter):
    """CP2K through atomate2 and custodian, cheap settings by default.

    Parameters
    ----------
    cp2k_cmd
        Command running CP2K; None uses ``settings.cp2k.cmd`` of the node running the job.
    data_dir
        pymatgen CP2K YAML folder (``pmg config --cp2k``); None uses the settings.
    functional
        XC functional.
    charge
        Total charge of the cell (e), e.g. -1 for a cell with one Li removed.
    cheap
        Use :func:`cheap_dft_settings` and :func:`cheap_basis_and_potential`.
    input_settings
        Extra atomate2 ``user_input_settings`` (applied last).
    wall_time_s
        Queue walltime (s) for custodian's WalltimeHandler.
    """

    name: ClassVar[str] = "cp2k"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"relax", "static", "md", "neb", "charged_cells", "custodian", "dft"}
    )
    segment_runners: ClassVar[dict[str, str]] = {
        "atomate2.cp2k.jobs.base:BaseCp2kMaker": "ionflow.engines.cp2k.segment:Cp2kSegmentRunner"
    }
    custodian_module = custodian
    cp2k_cmd: str | None = None
    data_dir: str | None = None
    functional: str = "PBE"
    charge: int = 0
    cheap: bool = True
    input_settings: dict[str, Any] = field(default_factory=dict)
    wall_time_s: int | None = None

    def __post_init__(self) -> None:
        patch_cleanup_dft()  # CP2K_NOTES bug 2: RKS task documents

    def _user_settings(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        base = cheap_dft_settings(self.charge) if self.cheap else {}
        return deep_merge(deep_merge(base, self.input_settings), overrides or {})

    @classmethod
    def charge_options(cls, charge: int) -> dict[str, Any]:
        """Return ``{"charge": charge}``: the CP2K input's CHARGE comes from the adapter."""
        return {"charge": charge}

    def _run_cp2k_kwargs(self, kind: str) -> dict[str, Any]:
        """atomate2 ``run_cp2k`` keywords: command and the custodian handlers of ``kind``."""
        return {
            # an unset command is read on the node that runs the job (ionflow submit)
            "cp2k_cmd": command_or_setting(self.cp2k_cmd, self.name),
            "handlers": custodian.handlers(kind, self.wall_time_s),
        }

    def _generator_kwargs(self) -> dict[str, Any]:
        return {
            "user_kpoints_settings": Kpoints.gamma_automatic((1, 1, 1)),
            "sort_structure": False,
            "cheap": self.cheap,
            "pmg_data_dir": resolve_pmg_cp2k_data_dir(self.data_dir),
            "functional": self.functional,
        }

    def _relax_maker(self, relax: RelaxRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's CP2K RelaxMaker (GEO_OPT, force tolerance in Ha/bohr)."""
        from atomate2.cp2k.jobs.core import RelaxMaker

        settings = self._user_settings(overrides)
        settings.setdefault("override_default_params", {})
        ev_a_to_ha_bohr = 1 / 51.42208619083232
        settings["override_default_params"]["MOTION"] = {
            "GEO_OPT": {
                "MAX_FORCE": relax.fmax_eV_A * ev_a_to_ha_bohr,
                "MAX_ITER": int(relax.max_steps),
            }
        }
        return RelaxMaker(
            input_set_generator=IonflowCp2kRelaxSetGenerator(
                user_input_settings=settings, **self._generator_kwargs()
            ),
            run_cp2k_kwargs=self._run_cp2k_kwargs("relax"),
        )

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's CP2K StaticMaker."""
        from atomate2.cp2k.jobs.core import StaticMaker

        return StaticMaker(
            input_set_generator=IonflowCp2kStaticSetGenerator(
                user_input_settings=self._user_settings(overrides), **self._generator_kwargs()
            ),
            run_cp2k_kwargs=self._run_cp2k_kwargs("static"),
        )

    def _md_maker(self, md: MDRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's CP2K MDMaker (NVT, Nose-Hoover) with the cheap settings.

        ``overrides`` are atomate2 ``user_input_settings`` (pymatgen DftSet keywords and
        ``override_default_params`` sections). ``seed`` is not passed: CP2K draws the
        initial velocities from its own fixed default seed, so runs are reproducible.
        """
        from atomate2.cp2k.jobs.core import MDMaker

        if md.thermostat not in THERMOSTATS:
            raise ConfigError(
                f"thermostat {md.thermostat!r} is not available for the cp2k engine; use "
                "nose-hoover (CSVR restarts break under custodian, see CP2K_NOTES bug 4)"
            )
        generator = IonflowCp2kMDSetGenerator(
            temperature_K=md.temperature_K,
            time_step_fs=md.time_step_fs,
            n_steps=md.n_steps,
            thermostat=THERMOSTATS[md.thermostat],
            traj_interval=md.traj_interval,
            user_input_settings=self._user_settings(overrides),
            **self._generator_kwargs(),
        )
        return MDMaker(
            input_set_generator=generator,
            run_cp2k_kwargs=self._run_cp2k_kwargs("md"),
            # CP2K_NOTES bug 3: atomate2's trajectory parser fails; ionflow parses frames
            task_document_kwargs={"store_trajectory": False},
        )

    def _neb_maker(self, neb: NebRequest, overrides: dict[str, Any]) -> Cp2kNebMaker:
        """Return :class:`Cp2kNebMaker` with this engine's charge, command and DFT settings.

        The engine's ``input_settings`` (``cutoff``, ``rel_cutoff``, ``eps_scf``,
        ``max_scf``) carry over to the band; ``overrides`` are maker fields and win.
        """
        from_engine: dict[str, Any] = {
            "charge": self.charge,
            "cp2k_cmd": self.cp2k_cmd,
            "wall_time_s": self.wall_time_s,
            "functional": self.functional,
        }
        for key, field_name in _BAND_SETTINGS.items():
            if key in self.input_settings:
                from_engine[field_name] = self.input_settings[key]
        return Cp2kNebMaker(
            **dataclasses.asdict(neb),
            **{**from_engine, **overrides},
        )

    def describe(self) -> dict[str, Any]:
        """Return engine name and the main DFT settings."""
        return {
            "engine": self.name,
            "functional": self.functional,
            "charge": self.charge,
            "cheap": self.cheap,
        }
