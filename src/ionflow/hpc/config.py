"""Cluster configs (``configs/clusters/*.yaml``): launchpad, FireWorker and queue.

A cluster file has three sections::

    name: mycluster
    launchpad:            # where FireWorks keeps the workflows
      type: mongodb       # or mongomock_file (local use and tests: one JSON file + a file lock)
      uri_env: IONFLOW_LAUNCHPAD_URI
      database: fireworks
    fworker:              # what a compute node offers
      vasp_cmd: "srun vasp_std"
      scratch_dir: /scratch/$USER
    queue:                # how jobs are sent to the queue
      type: slurm         # or pbs
      partition: standard
      walltime: "04:00:00"
    resources:            # optional: per job kind, over the queue section
      analysis: {ntasks: 1, walltime: "00:30:00"}
      md: {nodes: 2, ntasks_per_node: 64, walltime: "24:00:00"}

With ``resources``, every Firework gets the FireWorks category of its job kind
(``analysis``, ``md``, ``neb``, ``relax``: see :mod:`ionflow.hpc.resources`) and that
kind's queue settings as its ``_queueadapter``; ``ionflow launch`` sends one queue job per
kind with READY work, its rocket taking only that category.

Credentials never appear in the file: MongoDB settings name environment variables
(:mod:`ionflow.secrets`). ``{work_dir}`` in paths is replaced by the ionflow work
directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ionflow.config.base import ConfigModel, load_yaml_model
from ionflow.config.mongo import MongoConnection
from ionflow.errors import ConfigError

__all__ = [
    "JOB_KINDS",
    "ClusterConfig",
    "FWorkerConfig",
    "KindResources",
    "LaunchpadConfig",
    "QueueConfig",
    "find_cluster_file",
    "format_walltime",
    "load_cluster_config",
    "parse_walltime_s",
]

_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|_URI$|^MONGO", re.I)
_WALLTIME = re.compile(r"^(?:(?P<d>\d+)-)?(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2})$")


def parse_walltime_s(value: str | int) -> int:
    """Parse a walltime (``HH:MM:SS``, ``D-HH:MM:SS`` or whole minutes) into seconds."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value) * 60
    match = _WALLTIME.match(str(value).strip())
    if not match:
        raise ValueError(f"walltime {value!r} is not HH:MM:SS, D-HH:MM:SS or whole minutes")
    d, h, m, s = (int(match.group(k) or 0) for k in ("d", "h", "m", "s"))
    if m >= 60 or s >= 60:
        raise ValueError(f"walltime {value!r} has minutes or seconds >= 60")
    return ((d * 24 + h) * 60 + m) * 60 + s


def format_walltime(seconds: int) -> str:
    """Format seconds as ``HH:MM:SS`` (hours may exceed 24; Slurm and PBS accept it)."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


class LaunchpadConfig(MongoConnection):
    """The FireWorks database: MongoDB in production, a mongomock JSON file for local use."""

    type: Literal["mongodb", "mongomock_file"] = Field(..., description="Backend.")
    path: str | None = Field(
        None,
        description="mongomock_file only: the JSON file; '{work_dir}' is replaced. Every access "
        "holds an exclusive lock on '<path>.lock'.",
    )
    database: str = Field("fireworks", description="Database name.")
    lock_timeout_s: float = Field(
        300.0, gt=0, description="mongomock_file: longest wait for the file lock (s)."
    )

    @model_validator(mode="after")
    def _check_backend(self) -> LaunchpadConfig:
        if self.type == "mongomock_file" and not self.path:
            raise ValueError("a mongomock_file launchpad needs 'path'")
        if self.type == "mongodb" and self.path:
            raise ValueError("'path' is only for type mongomock_file")
        if "@" in self.host or "://" in self.host:
            raise ValueError(
                "host must be a plain host name; put a full URI (with credentials) in the "
                "environment variable named by uri_env"
            )
        return self

    def file_path(self, work_dir: Path) -> Path:
        """Return the mongomock file with ``{work_dir}``, ``~`` and ``$VARS`` expanded."""
        raw = (self.path or "").replace("{work_dir}", str(work_dir))
        return Path(os.path.expandvars(raw)).expanduser().resolve()


#: the environment variables each FireWorker setting is exported as (ionflow's, atomate2's)
_EXPORTS: dict[str, tuple[str, ...]] = {
    "vasp_cmd": ("IONFLOW_VASP__CMD", "ATOMATE2_VASP_CMD"),
    "vasp_gamma_cmd": ("IONFLOW_VASP__GAMMA_CMD", "ATOMATE2_VASP_GAMMA_CMD"),
    "vasp_ncl_cmd": ("IONFLOW_VASP__NCL_CMD", "ATOMATE2_VASP_NCL_CMD"),
    "cp2k_cmd": ("IONFLOW_CP2K__CMD", "ATOMATE2_CP2K_CMD"),
    "cp2k_data_dir": ("CP2K_DATA_DIR", "IONFLOW_CP2K__BASIS_DIR"),
    "mpi_launcher": ("IONFLOW_MPI",),
    "scratch_dir": ("IONFLOW_SCRATCH_DIR", "ATOMATE2_CUSTODIAN_SCRATCH_DIR"),
}


class FWorkerConfig(ConfigModel):
    """The FireWorker: name, which Fireworks it takes, engine commands and scratch space."""

    name: str = Field("ionflow_worker", description="FireWorker name recorded with each launch.")
    category: str | list[str] | None = Field(
        None, description="Only run Fireworks with this _category (None: any)."
    )
    query: dict[str, Any] = Field(
        default_factory=dict, description="Extra MongoDB query restricting the Fireworks run."
    )
    vasp_cmd: str | None = Field(None, description="Command running VASP, with its MPI launcher.")
    vasp_gamma_cmd: str | None = Field(None, description="Command running Gamma-only VASP.")
    vasp_ncl_cmd: str | None = Field(None, description="Command running non-collinear VASP.")
    cp2k_cmd: str | None = Field(None, description="Command running CP2K, with its MPI launcher.")
    cp2k_data_dir: str | None = Field(
        None,
        description="CP2K's basis/potential folder on the node (exported as CP2K_DATA_DIR "
        "and IONFLOW_CP2K__BASIS_DIR).",
    )
    mpi_launcher: str | None = Field(
        None, description="MPI launcher prefix (srun, mpirun -np 64), exported as IONFLOW_MPI."
    )
    scratch_dir: str | None = Field(
        None, description="Per-worker scratch for custodian runs ($VARS expanded on the node)."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment exported in the queue script."
    )

    @field_validator("env")
    @classmethod
    def _no_secrets(cls, env: dict[str, str]) -> dict[str, str]:
        for key in env:
            if _SECRET_NAME.search(key):
                raise ValueError(
                    f"{key} looks like a credential; never write credentials in a cluster "
                    "file: export it in your environment or put it in ~/.ionflow/secrets.yaml"
                )
        return env

    def exports(self) -> dict[str, str]:
        """Return the environment variables this worker sets for ionflow and atomate2."""
        out: dict[str, str] = {}
        for name, variables in _EXPORTS.items():
            value = getattr(self, name)
            if value:
                out |= dict.fromkeys(variables, value)
        return out | dict(self.env)


class QueueConfig(ConfigModel):
    """Queue resources of one job (Slurm or PBS), modules and commands around the rocket."""

    type: Literal["slurm", "pbs"] = Field(..., description="Queue system.")
    queue: str | None = Field(
        None,
        alias="partition",
        description="Slurm partition or PBS queue ('partition' or 'queue').",
    )
    account: str | None = Field(None, description="Account / project charged.")
    nodes: int = Field(1, ge=1, description="Nodes per job.")
    ntasks: int | None = Field(None, ge=1, description="MPI tasks per job (Slurm --ntasks).")
    ntasks_per_node: int | None = Field(None, ge=1, description="MPI tasks per node.")
    cpus_per_task: int | None = Field(
        None, ge=1, description="Threads per task; also exported as OMP_NUM_THREADS."
    )
    walltime: str = Field("01:00:00", description="HH:MM:SS, D-HH:MM:SS or whole minutes.")
    mem: str | None = Field(None, description="Memory per node, e.g. '64G' (Slurm --mem).")
    qos: str | None = Field(None, description="Slurm QOS.")
    constraint: str | None = Field(None, description="Slurm node constraint.")
    gres: str | None = Field(None, description="Slurm generic resources, e.g. 'gpu:1'.")
    pbs_style: Literal["select", "nodes"] = Field(
        "select", description="PBS resource syntax: PBS Pro 'select=' or Torque 'nodes=:ppn='."
    )
    job_name: str = Field("ionflow", description="Queue job name.")
    modules: list[str] = Field(default_factory=list, description="Modules loaded before the run.")
    pre_commands: list[str] = Field(
        default_factory=list, description="Shell lines before the rocket (e.g. activate a venv)."
    )
    post_commands: list[str] = Field(default_factory=list, description="Shell lines after it.")
    launch_dir: str = Field(
        "{work_dir}/queue", description="Where queue scripts and launcher_* folders are written."
    )
    python: str | None = Field(
        None, description="Python running the rocket on the node (default: the submitting one)."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Extra FireWorks CommonAdapter keys (escape hatch)."
    )

    @field_validator("walltime", mode="before")
    @classmethod
    def _check_walltime(cls, value: Any) -> str:
        seconds = parse_walltime_s(value)
        if seconds < 60:
            raise ValueError(f"walltime {value!r} is shorter than one minute")
        return format_walltime(seconds)

    @model_validator(mode="after")
    def _check_system(self) -> QueueConfig:
        if self.type == "pbs":
            slurm_only = [k for k in ("qos", "constraint", "gres") if getattr(self, k)]
            if slurm_only:
                raise ValueError(f"{', '.join(slurm_only)}: Slurm-only keys in a PBS queue")
        return self

    @property
    def walltime_s(self) -> int:
        """Walltime in seconds."""
        return parse_walltime_s(self.walltime)

    @property
    def total_tasks(self) -> int:
        """MPI tasks of one job (``ntasks``, else nodes x ``ntasks_per_node``, else nodes)."""
        if self.ntasks:
            return self.ntasks
        return self.nodes * (self.ntasks_per_node or 1)

    @property
    def total_cores(self) -> int:
        """Cores of one job (tasks x threads per task)."""
        return self.total_tasks * (self.cpus_per_task or 1)


#: job kinds a cluster file can size separately (``resources:``)
JOB_KINDS = ("analysis", "md", "neb", "relax")
_KIND_KEYS = ("nodes", "ntasks", "ntasks_per_node", "cpus_per_task", "walltime", "mem", "gres")


class KindResources(ConfigModel):
    """Queue resources of one job kind; unset keys come from the ``queue`` section."""

    nodes: int | None = Field(None, ge=1, description="Nodes per job.")
    ntasks: int | None = Field(None, ge=1, description="MPI tasks per job.")
    ntasks_per_node: int | None = Field(None, ge=1, description="MPI tasks per node.")
    cpus_per_task: int | None = Field(None, ge=1, description="Threads per task.")
    walltime: str | None = Field(None, description="HH:MM:SS, D-HH:MM:SS or whole minutes.")
    mem: str | None = Field(None, description="Memory per node.")
    gres: str | None = Field(None, description="Slurm generic resources.")

    @field_validator("walltime", mode="before")
    @classmethod
    def _check_walltime(cls, value: Any) -> str | None:
        return None if value is None else QueueConfig._check_walltime(value)


class ClusterConfig(ConfigModel):
    """A whole cluster file."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="Cluster name.")
    description: str = Field("", description="Free text.")
    launchpad: LaunchpadConfig
    fworker: FWorkerConfig = Field(default_factory=FWorkerConfig)
    queue: QueueConfig
    resources: dict[Literal["analysis", "md", "neb", "relax"], KindResources] = Field(
        default_factory=dict,
        description="Queue resources per job kind (analysis, md, neb, relax) over 'queue'.",
    )
    source: str | None = Field(None, description="File this config was read from (set on load).")

    @model_validator(mode="after")
    def _check_resources(self) -> ClusterConfig:
        if self.resources and self.fworker.category:
            raise ValueError(
                "fworker.category and resources exclude each other: with resources every "
                f"Firework's category is its job kind ({', '.join(JOB_KINDS)})"
            )
        for kind in self.resources:
            try:
                self.queue_for(kind)
            except ValueError as exc:
                raise ValueError(f"resources.{kind}: {exc}") from None
        return self

    def queue_for(self, kind: str | None) -> QueueConfig:
        """Return the queue section with the resources of job ``kind`` applied."""
        res = self.resources.get(kind) if kind else None  # type: ignore[call-overload]
        if res is None:
            return self.queue
        update = {k: getattr(res, k) for k in _KIND_KEYS if getattr(res, k) is not None}
        if res.ntasks is not None and res.ntasks_per_node is None:
            update["ntasks_per_node"] = None  # ntasks alone: the kind's total, not per node
        if res.ntasks_per_node is not None and res.ntasks is None:
            update["ntasks"] = None
        data = self.queue.model_dump(by_alias=True) | update
        return QueueConfig.model_validate(data)

    def categories(self) -> list[str]:
        """FireWorks categories the Fireworks of this cluster carry ([] when not sized)."""
        return list(JOB_KINDS) if self.resources else []


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("IONFLOW_CLUSTERS_DIR"):
        dirs.append(Path(os.environ["IONFLOW_CLUSTERS_DIR"]).expanduser())
    dirs.append(Path("~/.ionflow/clusters").expanduser())
    repo_configs = Path(__file__).resolve().parents[3] / "configs" / "clusters"
    dirs.append(repo_configs)
    return dirs


def find_cluster_file(name_or_path: str | Path) -> Path:
    """Return the cluster file for a path, or a name looked up in the cluster folders.

    Folders searched for ``<name>.yaml``: ``$IONFLOW_CLUSTERS_DIR``, ``~/.ionflow/clusters``
    and the repository's ``configs/clusters``.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.resolve()
    if path.suffix or os.sep in str(name_or_path):
        raise ConfigError(f"cluster config {path} does not exist")
    for folder in _search_dirs():
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name_or_path}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    searched = ", ".join(str(d) for d in _search_dirs())
    raise ConfigError(f"no cluster config named {name_or_path!r} (searched {searched})")


def load_cluster_config(name_or_path: str | Path) -> ClusterConfig:
    """Read and validate a cluster file (errors name the offending key).

    Parameters
    ----------
    name_or_path
        A YAML path, or a cluster name (see :func:`find_cluster_file`).

    Returns
    -------
    ClusterConfig
        The validated config, with ``source`` set to the absolute file path.
    """
    path = find_cluster_file(name_or_path)
    return load_yaml_model(path, ClusterConfig, source=str(path))
