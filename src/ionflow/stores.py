"""The jobflow JobStore ionflow writes to, built from a store config file.

Two layouts ship in ``configs/stores/``:

- ``local.yaml``: embedded on-disk montydb (sqlite) in ``<work_dir>/store``; the
  default, needs no server.
- ``mongodb.yaml``: maggma ``MongoStore`` for documents and ``GridFSStore`` as the
  JobStore's ``data`` store for trajectories, images and volumetric files.

Credentials never live in config files: a spec names the environment variables
(``uri_env``, ``username_env``, ``password_env``) that hold them, and :func:`describe_store`
masks them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ionflow.config.base import ConfigModel, load_yaml_model
from ionflow.errors import StoreError

if TYPE_CHECKING:
    from jobflow import JobStore
    from maggma.core import Store

    from ionflow.settings import IonflowSettings

__all__ = [
    "StoreConfig",
    "StoreSpec",
    "build_store",
    "default_store_config",
    "describe_store",
    "get_job_store",
    "load_store_config",
]

DATA_STORE_NAME = "data"


class StoreSpec(ConfigModel):
    """One maggma store."""

    type: Literal["montydb", "mongodb", "gridfs", "memory"] = Field(..., description="Backend.")
    path: str | None = Field(
        None, description="montydb folder; '{work_dir}' is replaced by the settings' work_dir."
    )
    database: str = Field("ionflow", description="Database name.")
    collection: str = Field("outputs", description="Collection (GridFS bucket) name.")
    host: str = Field("localhost", description="MongoDB host (ignored when uri_env is set).")
    port: int = Field(27017, gt=0, lt=65536, description="MongoDB port.")
    uri_env: str | None = Field(
        None, description="Environment variable holding a full mongodb:// URI (with credentials)."
    )
    username_env: str | None = Field(None, description="Environment variable with the user name.")
    password_env: str | None = Field(None, description="Environment variable with the password.")
    auth_source: str | None = Field(None, description="MongoDB authSource database.")
    tls: bool = Field(False, description="Use TLS for the MongoDB connection.")
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


def _env(name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise StoreError(f"environment variable {name} (named in the store config) is not set")
    return value


def _mongo_client_kwargs(spec: StoreSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if spec.tls:
        kwargs["tls"] = True
    return kwargs


def build_store(spec: StoreSpec, work_dir: Path) -> Store:
    """Build one maggma store from its spec (not yet connected).

    Parameters
    ----------
    spec
        The store spec.
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
    uri = _env(spec.uri_env)
    if uri:
        common["uri"] = uri
    else:
        common.update(host=spec.host, port=spec.port)
        user, password = _env(spec.username_env), _env(spec.password_env)
        if user:
            common["username"] = user
        if password:
            common["password"] = password
    if spec.auth_source:
        common["auth_source"] = spec.auth_source
    client_kwargs = _mongo_client_kwargs(spec)
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

    from ionflow.settings import get_settings

    settings = settings or get_settings()
    if config is None:
        config = (
            load_store_config(settings.store_config)
            if settings.store_config
            else default_store_config()
        )
    docs = build_store(config.docs_store, settings.work_dir)
    additional = {}
    if config.data_store is not None:
        additional[DATA_STORE_NAME] = build_store(config.data_store, settings.work_dir)
    return JobStore(docs, additional_stores=additional)


def describe_store(config: StoreConfig, work_dir: Path) -> str:
    """Return a one-line description of a store layout with credentials masked."""
    spec = config.docs_store
    if spec.type == "montydb":
        path = (spec.path or "{work_dir}/store").replace("{work_dir}", str(work_dir))
        return f"montydb at {path} (collection {spec.collection})"
    if spec.type == "memory":
        return "in-memory store (lost at exit)"
    where = f"URI from ${spec.uri_env}" if spec.uri_env else f"{spec.host}:{spec.port}"
    return f"MongoDB {where}, database {spec.database}, collection {spec.collection} (credentials masked)"
