"""Old path of :mod:`ionflow.engines.cp2k.neb`: stored flows name ``Cp2kNebMaker`` here."""

from ionflow.engines.cp2k.neb import Cp2kNebMaker, band_input, write_band_inputs

__all__ = ["Cp2kNebMaker", "band_input", "write_band_inputs"]
