"""Credentials for MongoDB launchpads and stores, and masking them in anything printed.

Config files committed to a repository never hold credentials. They name environment
variables instead (``uri_env: IONFLOW_MONGO_URI``); a value is looked up

1. in the environment, then
2. in a private secrets file outside any git work tree (``$IONFLOW_SECRETS_FILE`` or
   ``~/.ionflow/secrets.yaml``): a YAML mapping ``VARIABLE: value`` that only its owner
   may read (``chmod 600``).

Every value looked up is remembered so :func:`mask` can blank it out of error messages.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

from ionflow.errors import ConfigError
from ionflow.safe_yaml import load_yaml_file

__all__ = ["MaskingFormatter", "default_secrets_file", "mask", "mask_uri", "resolve_secret"]

_SEEN_SECRETS: set[str] = set()
_URI_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<cred>[^@/\s]+)@", re.I)
#: ``user:password@host`` without a scheme (pymongo accepts it as a host)
_BARE_CREDENTIALS = re.compile(r"(?<![\w.:/-])[^@/\s:'\"]+:[^@/\s'\"]+@(?=[\w.\[-])")
_URI_PASSWORD_PARAM = re.compile(
    r"(?P<key>(?:password|pwd|tlsCertificateKeyFilePassword)=)[^&\s]+", re.I
)
MASK = "***"


def default_secrets_file() -> Path:
    """Return the secrets file: ``$IONFLOW_SECRETS_FILE`` or ``~/.ionflow/secrets.yaml``."""
    return Path(os.environ.get("IONFLOW_SECRETS_FILE", "~/.ionflow/secrets.yaml")).expanduser()


def _inside_git_tree(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def _read_secrets_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    repo = _inside_git_tree(path)
    if repo is not None:
        raise ConfigError(
            f"secrets file {path} is inside the git work tree {repo}; move it outside any "
            "repository (e.g. ~/.ionflow/secrets.yaml)"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"secrets file {path} can be read by other users; run `chmod 600 {path}`")
    try:
        data = load_yaml_file(path) or {}
    except ConfigError:
        # the parser message may quote a secret: do not repeat it
        raise ConfigError(
            f"secrets file {path} is not valid YAML (or its aliases expand beyond the limit)"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError(f"secrets file {path} must be a mapping VARIABLE: value")
    return {k: str(v) for k, v in data.items() if v is not None}


def resolve_secret(name: str, secrets_file: Path | None = None) -> str:
    """Return the value of a credential variable from the environment or the secrets file.

    Parameters
    ----------
    name
        Variable name, e.g. ``IONFLOW_MONGO_URI``.
    secrets_file
        Private YAML file consulted when the variable is not in the environment
        (default: :func:`default_secrets_file`).

    Returns
    -------
    str
        The value (remembered for :func:`mask`).
    """
    value = os.environ.get(name)
    where = secrets_file or default_secrets_file()
    if value is None:
        value = _read_secrets_file(where).get(name)
    if value is None or value == "":
        raise ConfigError(
            f"credential variable {name} is not set: export it, or add `{name}: ...` to {where} "
            "(chmod 600)"
        )
    _SEEN_SECRETS.add(value)
    return value


def mask_uri(uri: str) -> str:
    """Replace the ``user:password@`` part and password parameters of a URI with ``***``."""
    uri = _URI_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", uri)
    uri = _BARE_CREDENTIALS.sub(f"{MASK}@", uri)
    return _URI_PASSWORD_PARAM.sub(lambda m: f"{m.group('key')}{MASK}", uri)


def mask(text: str) -> str:
    """Blank out URI credentials and every secret looked up so far from ``text``."""
    text = mask_uri(str(text))
    for secret in sorted(_SEEN_SECRETS, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text


class MaskingFormatter(logging.Formatter):
    """Log formatter that blanks credentials (URI passwords, looked-up secrets) out.

    Parameters
    ----------
    fmt
        Format string (as :class:`logging.Formatter`).
    inner
        Formatter to wrap instead (keeps a handler's own format); None: use ``fmt``.
    """

    def __init__(self, fmt: str | None = None, inner: logging.Formatter | None = None) -> None:
        super().__init__(fmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then mask it."""
        text = self.inner.format(record) if self.inner is not None else super().format(record)
        return mask(text)
