"""The jobflow JobStore ionflow writes to, built from a store config file.

Two layouts ship in ``configs/stores/``:

- ``local.yaml``: embedded on-disk montydb (sqlite) in ``<work_dir>/store``; the
  default, needs no server.
- ``mongodb.yaml``: maggma ``MongoStore`` for documents and ``GridFSStore`` as the
  JobStore's ``data`` store for trajectories, images and volumetric files.

Credentials never live in config files: a spec names the environment variables
(``uri_env``, ``username_env``, ``password_env``) that hold them (looked up in the
environment, then in a private secrets file, see :mod:`ionflow.secrets`), and
:func:`describe_store` and every error message mask them.

:func:`open_job_store` connects with a bounded server timeout, turns unreachable or
damaged stores into one :class:`~ionflow.errors.StoreError` (nothing is written then) and
creates the indexes users query on (:data:`INDEXED_FIELDS`; MongoDB only, montydb has
no indexes).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ionflow.config.base import ConfigModel, load_yaml_model
from ionflow.config.mongo import MongoConnection
from ionflow.errors import ConfigError, IonflowError, StoreError, StoreMissingError
from ionflow.secrets import mask, resolve_secret
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jobflow import JobStore
    from maggma.core import Store

    from ionflow.settings import IonflowSettings

__all__ = [
    "INDEXED_FIELDS",
    "StoreConfig",
    "StoreSpec",
    "build_store",
    "connect_job_store",
    "default_store_config",
    "describe_store",
    "ensure_indexes",
    "get_job_store",
    "get_store_config",
    "is_shared_store",
    "load_store_config",
    "open_job_store",
]

DATA_STORE_NAME = "data"
logger = logging.getLogger(__name__)

#: document fields ``ionflow query`` filters and sorts on (indexed in MongoDB)
INDEXED_FIELDS: tuple[str, ...] = (
    "uuid",
    "index",
    "name",
    "completed_at",
    "metadata.ionflow.study",
    "metadata.ionflow.run_id",
    "metadata.ionflow.host_formula",
    "metadata.ionflow.engine",
    "metadata.ionflow.defect_labels",
    "metadata.ionflow.temperatures_K",
    "output.kind",
    "output.meta.study",
    "output.meta.run_id",
)
#: fields of the GridFS files collection holding job outputs' bulky objects
DATA_INDEXED_FIELDS: tuple[str, ...] = ("metadata.job_uuid", "metadata.job_index")


class StoreSpec(MongoConnection):
    """One maggma store."""

    type: Literal["montydb", "mongodb", "gridfs", "memory"] = Field(..., description="Backend.")
    path: str | None = Field(
        None, description="montydb folder; '{work_dir}' is replaced by the settings' work_dir."
    )
    database: str = Field("ionflow", description="Database name.")
    collection: str = Field("outputs", description="Collection (GridFS bucket) name.")
    compression: bool = Field(True, description="zlib-compress GridFS blobs.")


class StoreConfig(ConfigModel):
    """A JobStore: a documents store plus an optional ``data`` store for bulky objects."""

    docs_store: StoreSpec
    data_store: StoreSpec | None = None


def default_store_config() -> StoreConfig:
    """Return the embedded on-disk montydb layout (``configs/stores/local.yaml``)."""
    return StoreConfig(
        docs_store=StoreSpec(type="montydb", path="{work_dir}/store", collection="outputs"),
        data_store=StoreSpec(type="montydb", path="{work_dir}/store", collection="outputs_data"),
    )


def load_store_config(path: str | Path) -> StoreConfig:
    """Read and validate a store YAML file."""
    return load_yaml_model(path, StoreConfig)


def get_store_config(settings: IonflowSettings) -> StoreConfig:
    """Return the store layout of the settings (their ``store_config`` file, else montydb)."""
    if settings.store_config:
        return load_store_config(settings.store_config)
    return default_store_config()


def _env(name: str | None, spec: StoreSpec) -> str | None:
    if name is None:
        return None
    try:
        return resolve_secret(name, spec.secrets_path)
    except ConfigError as exc:
        raise StoreError(f"store config: {exc}") from None


def build_store(spec: StoreSpec, work_dir: Path) -> Store:
    """Build one maggma store from its spec (not yet connected).

    Parameters
    ----------
    spec
        Backend (montydb, mongodb, gridfs or memory) and where its data lives.
    work_dir
        Substituted for ``{work_dir}`` in montydb paths.

    Returns
    -------
    maggma.core.Store
        The store.
    """
    from maggma.stores import GridFSStore, MemoryStore, MongoStore, MontyStore

    if spec.type == "memory":
        return MemoryStore(collection_name=spec.collection)
    if spec.type == "montydb":
        path = (spec.path or "{work_dir}/store").replace("{work_dir}", str(work_dir))
        return MontyStore(
            collection_name=spec.collection,
            database_path=str(Path(path).expanduser()),
            database_name=spec.database,
            storage="sqlite",
        )
    common: dict[str, Any] = {"database": spec.database, "collection_name": spec.collection}
    uri = _env(spec.uri_env, spec)
    if uri:
        common["uri"] = uri
    else:
        common.update(host=spec.host, port=spec.port)
        user, password = _env(spec.username_env, spec), _env(spec.password_env, spec)
        if user:
            common["username"] = user
        if password:
            common["password"] = password
    if spec.auth_source:
        common["auth_source"] = spec.auth_source
    client_kwargs = spec.client_kwargs()
    if client_kwargs:
        common["mongoclient_kwargs"] = client_kwargs
    if spec.type == "mongodb":
        return MongoStore(**common)
    return GridFSStore(compression=spec.compression, **common)


def get_job_store(
    settings: IonflowSettings | None = None, config: StoreConfig | None = None
) -> JobStore:
    """Build the JobStore ionflow reads and writes.

    Parameters
    ----------
    settings
        ionflow settings (default: :func:`ionflow.settings.get_settings`).
    config
        Store layout; default: the settings' ``store_config`` file, else embedded montydb.

    Returns
    -------
    jobflow.JobStore
        The store, not yet connected.
    """
    from jobflow import JobStore

    settings = settings or get_settings()
    if config is None:
        config = get_store_config(settings)
    docs = build_store(config.docs_store, settings.work_dir)
    additional = {}
    if config.data_store is not None:
        additional[DATA_STORE_NAME] = build_store(config.data_store, settings.work_dir)
    return JobStore(docs, additional_stores=additional)


def ensure_indexes(store: JobStore) -> list[str]:
    """Create the indexes of :data:`INDEXED_FIELDS` on a connected MongoDB JobStore.

    montydb and memory stores have no indexes; nothing is done for them.

    Returns
    -------
    list of str
        Fields indexed (empty for montydb/memory stores).
    """
    from maggma.stores import GridFSStore, MongoStore, MontyStore

    done: list[str] = []
    docs = store.docs_store
    if isinstance(docs, MongoStore) and not isinstance(docs, MontyStore):
        for key in INDEXED_FIELDS:
            docs._collection.create_index(key, background=True)
            done.append(key)
    for extra in store.additional_stores.values():
        if isinstance(extra, GridFSStore):
            for key in DATA_INDEXED_FIELDS:
                extra._files_collection.create_index(key, background=True)
                done.append(f"data:{key}")
    return done


@contextlib.contextmanager
def _montydb_lock(store: JobStore) -> Iterator[list[Any]]:
    """Hold an exclusive lock on every montydb folder of the store; yield its MontyStores.

    maggma's ``MontyStore.connect`` rewrites ``monty.storage.cfg`` each time, and a process
    connecting at the same moment can read a half-written file (``ValueError: Empty module
    name``); montydb also decides that a collection exists when its sqlite file exists but
    creates the file before the table (``OperationalError: no such table: documents``).
    Connecting and creating collections one process at a time closes both windows.
    """
    import fcntl

    from maggma.stores import MontyStore

    montys = [s for s in (store.docs_store, *store.additional_stores.values())]
    montys = [s for s in montys if isinstance(s, MontyStore)]
    folders = sorted({Path(m.database_path) for m in montys})
    with contextlib.ExitStack() as stack:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context(open(folder / ".ionflow.lock", "a"))
            fcntl.flock(lock, fcntl.LOCK_EX)
            stack.callback(fcntl.flock, lock, fcntl.LOCK_UN)
        yield montys


def _create_montydb_collections(montys: list[Any]) -> None:
    """Create missing montydb collections (call inside :func:`_montydb_lock`)."""
    for monty in montys:
        database = monty._collection.database
        if monty.collection_name not in database.list_collection_names():
            database.create_collection(monty.collection_name)


def connect_job_store(store: JobStore) -> None:
    """Connect a JobStore and check it can be read (montydb folders one process at a time).

    Parameters
    ----------
    store
        The store (a copy made in another process, too: a worker of a local run).
    """
    with _montydb_lock(store) as montys:
        store.connect()
        store.docs_store.count({"uuid": "__ionflow_probe__"})  # forces a real read
        for extra in store.additional_stores.values():
            extra.count({"job_uuid": "__ionflow_probe__"})
        _create_montydb_collections(montys)


def is_shared_store(store: JobStore) -> bool:
    """Return whether other processes can open the same store (not an in-memory one).

    maggma's ``MemoryStore`` (which its on-disk ``MontyStore`` subclasses) and a MongoDB
    store patched with mongomock (tests) live in this process only.
    """
    from maggma.stores import MemoryStore, MontyStore

    for part in (store.docs_store, *store.additional_stores.values()):
        in_memory = isinstance(part, MemoryStore) and not isinstance(part, MontyStore)
        collection = getattr(part, "_coll", None)
        if in_memory or type(collection).__module__.startswith("mongomock"):
            return False
    return True


def open_job_store(
    settings: IonflowSettings | None = None,
    config: StoreConfig | None = None,
    create_indexes: bool = True,
    must_exist: bool = False,
) -> JobStore:
    """Build, connect and check the JobStore; one clear error if it cannot be used.

    Parameters
    ----------
    settings, config
        As in :func:`get_job_store`.
    create_indexes
        Create the query indexes (MongoDB) after connecting.
    must_exist
        Read commands (``query``, ``report``): an embedded store that does not exist yet is
        an error instead of being created (a typo in ``-w`` must not create a work dir).

    Returns
    -------
    jobflow.JobStore
        The connected store.
    """
    settings = settings or get_settings()
    config = config or get_store_config(settings)
    where = describe_store(config, settings.work_dir)
    for spec in (config.docs_store, config.data_store):
        if spec is not None and spec.type == "montydb":
            folder = Path(
                (spec.path or "{work_dir}/store").replace("{work_dir}", str(settings.work_dir))
            )
            if folder.expanduser().exists() and not folder.expanduser().is_dir():
                raise StoreError(f"store path {folder} is not a folder; move it aside")
            if must_exist and not folder.expanduser().is_dir():
                where_dir = settings.work_dir
                reason = (
                    f"work directory {where_dir} does not exist"
                    if not Path(where_dir).exists()
                    else f"{where_dir} holds no result store ({folder} does not exist)"
                )
                raise StoreMissingError(
                    f"{reason}; nothing was created — check -w / $IONFLOW_WORK_DIR (a study "
                    "run with `ionflow run` creates it)"
                )
    store = get_job_store(settings, config)
    try:
        connect_job_store(store)
    except IonflowError:
        raise
    except Exception as exc:  # backends raise many types (sqlite, pymongo, OSError)
        raise StoreError(
            f"cannot open the result store ({where}): {type(exc).__name__}: "
            f"{mask(str(exc))[:300]}; nothing was written — check the store config, the "
            "server, or move a damaged store aside"
        ) from None
    if create_indexes:
        try:
            ensure_indexes(store)
        except Exception as exc:  # e.g. a read-only MongoDB user may not create indexes
            logger.warning(
                "could not create store indexes (%s): %s", type(exc).__name__, mask(str(exc))
            )
    return store


def describe_store(config: StoreConfig, work_dir: Path) -> str:
    """Return a one-line description of a store layout with credentials masked."""
    spec = config.docs_store
    if spec.type == "montydb":
        path = (spec.path or "{work_dir}/store").replace("{work_dir}", str(work_dir))
        return f"montydb at {path} (collection {spec.collection})"
    if spec.type == "memory":
        return "in-memory store (lost at exit)"
    return (
        f"MongoDB {spec.server()}, database {spec.database}, collection {spec.collection} "
        "(credentials masked)"
    )
