"""Old home of the study's engine look-up, now :mod:`ionflow.config.engine`.

Kept only for ``runner.py`` and ``flows/study.py``, which import it here until they are
rewritten; it is the one module of ``ionflow.engines`` that imports ``config``.
"""

from ionflow.config.engine import engine_for_study, engine_kwargs_for_study, engine_name_for_study

__all__ = ["engine_for_study", "engine_kwargs_for_study", "engine_name_for_study"]
