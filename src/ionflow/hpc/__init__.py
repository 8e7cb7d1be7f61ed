"""HPC submission with FireWorks: cluster configs, launchpad sessions, submit, launch, rerun.

Submodules are imported lazily by the CLI; importing this package loads nothing heavy.

- :mod:`ionflow.hpc.config`: cluster YAML (launchpad, FireWorker, Slurm/PBS queue) models.
- credentials and masking live in the core module :mod:`ionflow.secrets` (stores use them too).
- :mod:`ionflow.hpc.launchpad`: launchpad sessions (MongoDB, or a mongomock file + fcntl lock).
- :mod:`ionflow.hpc.submit`: study flow → FireWorks workflow with study metadata; queue launches.
- :mod:`ionflow.hpc.rocket`: the rocket ionflow sends to the queue.
- :mod:`ionflow.hpc.failures`: failed and lost runs, grouped by error type; reruns.
- :mod:`ionflow.hpc.custodian_run`: engine handler sets and custodian runs with attempt history.
- :mod:`ionflow.hpc.resources`: job kinds, per-kind queue resources (category, _queueadapter).
- :mod:`ionflow.hpc.rerun_changes`: what a rerun changes (custodian's INCAR fixes, CONTCAR).
- :mod:`ionflow.hpc.inputs`: each job's engine inputs for ``submit --write-inputs``.
- :mod:`ionflow.hpc.firetask`: the Firetask carrying the store (stock rlaunch/qlaunch).
"""
