"""File readers and writers of ionflow; everything below works on arrays and objects.

Modules
-------
- :mod:`ionflow.io.streams`: plain/compressed streams, truncation warnings.
- :mod:`ionflow.io.trajectories`: any MD trajectory file → ``TrajectoryData`` (picks the
  reader by name; ASE and pymatgen-JSON trajectories; joins segments of one run).
- :mod:`ionflow.io.vasp`: streaming ``vasprun.xml`` and ``XDATCAR`` trajectory readers.
- :mod:`ionflow.io.vasp_outputs`: VASP run folders: MD ionic steps, CONTCAR, ML_ABN,
  LOCPOT planar averages, VBM.
- :mod:`ionflow.io.cp2k`: the CP2K xyz frame parser, input (``&CELL``/``&MD``) and
  ``.ener`` readers, MD ``-pos-`` trajectories.
- :mod:`ionflow.io.neb_folders`: finished NEB runs (VASP 00..NN folders, CP2K BAND).
- :mod:`ionflow.io.entries`: computed-entries JSON/CSV files.
- :mod:`ionflow.io.structures`: structure files (a study's host, NEB endpoints, a folder
  of competing phases).

Layering: ``io`` may import :mod:`ionflow.analysis`, :mod:`ionflow.structures`,
:mod:`ionflow.schemas` and :mod:`ionflow.errors`; ``analysis`` never imports ``io``.
"""
