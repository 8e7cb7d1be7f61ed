"""Old path of :mod:`ionflow.engines.cp2k.inputs`: stored flows name its input sets here."""

from ionflow.engines.cp2k.inputs import (
    IonflowCp2kMDSetGenerator,
    IonflowCp2kRelaxSetGenerator,
    IonflowCp2kStaticSetGenerator,
)

__all__ = [
    "IonflowCp2kMDSetGenerator",
    "IonflowCp2kRelaxSetGenerator",
    "IonflowCp2kStaticSetGenerator",
]
