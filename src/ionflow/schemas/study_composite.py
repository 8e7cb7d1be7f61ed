"""Old module path of the study document classes (release 0.1, schema version 1).

Flows saved by that release (``flow.json.gz`` of a run, read by ``ionflow aimd resume``)
pass a ``DesignMeta`` to their collector job by this module path; it now is
:class:`~ionflow.schemas.study_doc.StudyRunMeta`. Nothing new imports this module.
"""

from ionflow.schemas.study_doc import StudyRunMeta as DesignMeta

__all__ = ["DesignMeta"]
