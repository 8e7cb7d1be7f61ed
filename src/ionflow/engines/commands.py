"""Engine commands read from ionflow's settings on the machine that runs the job.

An engine whose command is not set (``vasp_cmd: null`` in an engine file) must not copy the
command of the machine that builds the flow into its makers: with ``ionflow submit`` that is
the login node, while the compute node's queue script exports its own ``IONFLOW_VASP__CMD``
(``configs/clusters/*.yaml``). The makers therefore hold a :class:`SettingsCommand`, which
is stored in the workflow as the name of a setting and read only when the job runs.

atomate2 0.1.5's ``run_vasp``/``run_cp2k`` (and ionflow's segment runners) begin with
``os.path.expandvars(cmd)``, which calls ``os.fspath`` on its argument; that is where a
:class:`SettingsCommand` turns into the node's command string. atomate2's own fallback
(``vasp_cmd=SETTINGS.VASP_CMD`` default arguments) reads ``ATOMATE2_*`` settings, not
ionflow's, so ionflow does not rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from monty.json import MSONable

from ionflow.errors import ConfigError
from ionflow.settings import IonflowSettings, engine_sections, get_settings

__all__ = ["SettingsCommand", "command_or_setting", "command_settings"]


def command_settings() -> dict[tuple[str, str], str]:
    """Return the (engine, setting) pairs a SettingsCommand may name, with their variable.

    Every ``*cmd`` key of an engine's settings section (``settings.vasp.gamma_cmd``);
    the environment variable is ``IONFLOW_<ENGINE>__<SETTING>``.
    """
    pairs = {}
    for engine in engine_sections():
        section = IonflowSettings.model_fields[engine].annotation
        for setting in getattr(section, "model_fields", {}):
            if setting.endswith("cmd"):
                pairs[(engine, setting)] = f"IONFLOW_{engine.upper()}__{setting.upper()}"
    return pairs


@dataclass(frozen=True)
class SettingsCommand(MSONable):
    """An engine command looked up in ionflow's settings each time it is used.

    Parameters
    ----------
    engine
        Settings section named after the engine (``settings.<engine>``).
    setting
        Key in that section: ``"cmd"`` or (VASP) ``"gamma_cmd"``.
    """

    engine: str
    setting: str = "cmd"

    def __post_init__(self) -> None:
        if (self.engine, self.setting) not in command_settings():
            known = ", ".join(f"{e}.{s}" for e, s in command_settings())
            raise ConfigError(f"no command setting {self.engine}.{self.setting}; known: {known}")

    def resolve(self) -> str:
        """Return the command from the settings of this process (file, then environment)."""
        command = getattr(getattr(get_settings(), self.engine), self.setting)
        if not str(command).strip():
            env = command_settings()[(self.engine, self.setting)]
            raise ConfigError(f"empty {self.engine} command; set {env} where the job runs")
        return str(command)

    def __fspath__(self) -> str:
        """Return :meth:`resolve` (``os.path.expandvars`` in atomate2's runners calls this)."""
        return self.resolve()

    def __str__(self) -> str:
        """Return :meth:`resolve`."""
        return self.resolve()


def command_or_setting(
    command: str | None, engine: str, setting: str = "cmd"
) -> str | SettingsCommand:
    """Return an explicit command unchanged, or a :class:`SettingsCommand` for None/empty.

    Parameters
    ----------
    command
        The engine file's command (``vasp_cmd`` etc.), or None.
    engine, setting
        The settings key read at run time when ``command`` is not given.

    Returns
    -------
    str or SettingsCommand
        What goes into atomate2's ``run_vasp_kwargs``/``run_cp2k_kwargs``.
    """
    if command:
        return command
    return SettingsCommand(engine, setting)
