"""Old path of :mod:`ionflow.engines.cp2k.fixes`: custodian.json names the CP2K job here."""

from ionflow.engines.cp2k.fixes import OwnProcessCp2kJob

__all__ = ["OwnProcessCp2kJob"]
