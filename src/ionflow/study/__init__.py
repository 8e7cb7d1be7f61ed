"""From a study file to one jobflow Flow.

- :mod:`ionflow.study.cell`: the host and the simulation cell of a system, built once.
- :mod:`ionflow.study.build`: :func:`~ionflow.study.build.build_study`, the one builder:
  every system's sections (``defects``, ``neb``, ``md``, ``window``) and the collector
  whose output is the :class:`~ionflow.schemas.study_doc.StudyDoc`. ``ionflow run`` gives
  the flow to :mod:`ionflow.run.local`, ``ionflow submit`` the same flow to FireWorks.
"""
