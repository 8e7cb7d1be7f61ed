"""The engine adapter of a study: one place that reads the study's engine settings.

Every builder that needs a study's engine (``ionflow run``, design studies, the composite
sections, ``ionflow neb run``) calls :func:`engine_for_study`, so the ``engine_config``
file of a study is honoured the same way everywhere. Keyword arguments are layered:

1. ionflow settings (``settings.mlip.model`` for the mlip engine);
2. the engine file's ``adapter`` mapping;
3. keywords the caller knows from the cell (e.g. the CP2K ``charge``).

The input-set ``overrides`` of the engine file are already merged under the study's
``engine_overrides`` when the study is loaded (:class:`ionflow.config.study.StudyConfig`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ionflow.config.study import StudyConfig
    from ionflow.engines.base import EngineAdapter
    from ionflow.settings import IonflowSettings

__all__ = ["engine_for_study", "engine_kwargs_for_study", "engine_name_for_study"]


def engine_name_for_study(config: StudyConfig, settings: IonflowSettings) -> str:
    """Return the study's engine, or the settings' default when it names none."""
    return config.engine or settings.engine


def engine_kwargs_for_study(
    config: StudyConfig, settings: IonflowSettings, **extra: Any
) -> dict[str, Any]:
    """Return the adapter keyword arguments of a study's engine.

    Parameters
    ----------
    config
        The validated study (its ``engine_config`` file, if any, exists and matches).
    settings
        ionflow settings.
    **extra
        Keywords that win over the file (e.g. ``charge`` computed from the cell).

    Returns
    -------
    dict
        Keywords for ``get_engine(name, **kwargs)``.
    """
    from ionflow.config.engine import load_engine_config

    kwargs: dict[str, Any] = {}
    if engine_name_for_study(config, settings) == "mlip":
        kwargs["model"] = settings.mlip.model
    if config.engine_config is not None:
        kwargs.update(load_engine_config(config.engine_config).adapter)
    kwargs.update(extra)
    return kwargs


def engine_for_study(config: StudyConfig, settings: IonflowSettings, **extra: Any) -> EngineAdapter:
    """Return the engine adapter of a study (see the module docstring for the layering).

    Parameters
    ----------
    config
        The validated study.
    settings
        ionflow settings.
    **extra
        Keywords that win over the engine file.

    Returns
    -------
    EngineAdapter
        The adapter, built through ``ionflow.engines.get_engine`` (looked up at call time,
        so tests can replace it in one place).
    """
    from ionflow import engines

    name = engine_name_for_study(config, settings)
    return engines.get_engine(name, **engine_kwargs_for_study(config, settings, **extra))
