"""The MongoDB connection settings shared by the result store and the FireWorks launchpad.

Credentials never sit in a config file: ``uri_env``, ``username_env`` and
``password_env`` name environment variables (or keys of the private ``secrets_file``,
:func:`ionflow.secrets.resolve_secret`) that hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ionflow.config.base import ConfigModel
from ionflow.secrets import mask

__all__ = ["MongoConnection"]


class MongoConnection(ConfigModel):
    """Where a MongoDB server is and how to log in (fields of a store or launchpad config)."""

    host: str = Field("localhost", description="MongoDB host (ignored when uri_env is set).")
    port: int = Field(27017, gt=0, lt=65536, description="MongoDB port.")
    uri_env: str | None = Field(
        None, description="Environment variable holding a full mongodb:// URI (with credentials)."
    )
    username_env: str | None = Field(None, description="Environment variable with the user name.")
    password_env: str | None = Field(None, description="Environment variable with the password.")
    auth_source: str | None = Field(None, description="MongoDB authSource database.")
    tls: bool = Field(False, description="Use TLS for the MongoDB connection.")
    tls_ca_file: str | None = Field(None, description="CA bundle for TLS (path, ~ expanded).")
    server_selection_timeout_ms: int = Field(
        10000, gt=0, description="How long to wait for the MongoDB server (ms)."
    )
    secrets_file: str | None = Field(
        None, description="Private YAML of credential variables (default ~/.ionflow/secrets.yaml)."
    )

    @property
    def secrets_path(self) -> Path | None:
        """The ``secrets_file`` with ``~`` expanded (None: the default file)."""
        return Path(self.secrets_file).expanduser() if self.secrets_file else None

    def client_kwargs(self) -> dict[str, Any]:
        """Return the ``pymongo.MongoClient`` keywords: server timeout and TLS."""
        kwargs: dict[str, Any] = {"serverSelectionTimeoutMS": self.server_selection_timeout_ms}
        if self.tls:
            kwargs["tls"] = True
            if self.tls_ca_file:
                kwargs["tlsCAFile"] = str(Path(self.tls_ca_file).expanduser())
        return kwargs

    def server(self) -> str:
        """Return where the server is, without credentials (``host:port`` or the URI's variable)."""
        return f"URI from ${self.uri_env}" if self.uri_env else mask(f"{self.host}:{self.port}")
