"""Launchpad sessions: MongoDB, or a mongomock JSON file guarded by an exclusive file lock.

FireWorks' file-backed mongomock launchpad (``mongomock-persistence``) loads the whole
file when a client is created and writes its whole copy back when the client is garbage
collected. Two processes therefore overwrite each other's work (last writer wins), and a
rocket killed by the queue writes nothing. :func:`launchpad_session` makes it safe:

    lock ``<file>.lock`` (fcntl, exclusive) → load the file → operate → write it
    atomically (temp file + rename; ``.bak`` keeps the previous copy) → detach the
    client's finalizer so no stale copy is ever written later → unlock.

Everything ionflow does with a launchpad goes through a session, and the rocket ionflow
sends to the queue uses :class:`SessionLaunchPad`, which opens one short session per
LaunchPad call. A checkout is thus on disk before the job starts: two workers can never
take the same Firework, and a rocket killed at its time limit leaves a RUNNING Firework
that lost-run detection finds.

With ``type: mongodb`` a session is a plain FireWorks ``LaunchPad`` on a checked connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.errors import IonflowError, StoreError
from ionflow.hpc.fw_objects import register_fireworks_objects
from ionflow.secrets import mask, mask_uri, resolve_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fireworks import LaunchPad

    from ionflow.hpc.config import LaunchpadConfig

__all__ = [
    "LaunchpadError",
    "SessionLaunchPad",
    "describe_launchpad",
    "launchpad_session",
]

logger = logging.getLogger(__name__)

_THREAD_LOCKS: dict[str, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()
_LOCAL = threading.local()


class LaunchpadError(StoreError):
    """The FireWorks launchpad cannot be opened, read or written."""


def describe_launchpad(config: LaunchpadConfig, work_dir: Path) -> str:
    """Return a one-line description of a launchpad with credentials masked."""
    if config.type == "mongomock_file":
        return f"mongomock file {config.file_path(work_dir)} (database {config.database})"
    tls = ", TLS" if config.tls else ""
    return mask_uri(
        f"MongoDB {config.server()}, database {config.database}{tls} (credentials masked)"
    )


# ---------------------------------------------------------------- file lock


def _thread_lock(key: str) -> threading.RLock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.RLock())


@contextlib.contextmanager
def _exclusive_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold ``<path>.lock`` exclusively (threads of this process and other processes)."""
    key = str(path)
    rlock = _thread_lock(key)
    if not rlock.acquire(timeout=timeout_s):
        raise LaunchpadError(
            f"launchpad {path} is busy in this process for more than {timeout_s:g} s"
        )
    try:
        lock_path = path.with_name(path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LaunchpadError(
                            f"launchpad {path} stayed locked by another process for more than "
                            f"{timeout_s:g} s (lock file {lock_path})"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        rlock.release()


# ---------------------------------------------------------------- mongomock file


def _load_server_store(path: Path) -> tuple[Any, str]:
    """Load the mongomock file into a ServerStore; return it with the file's text."""
    import bson.json_util
    import mongomock_persistence  # noqa: F401  (patches mongomock's stores with to/from dict)
    from mongomock.store import DatabaseStore, ServerStore

    try:
        text = path.read_text(encoding="utf-8")
        data = bson.json_util.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LaunchpadError(
            f"launchpad file {path} cannot be read ({type(exc).__name__}); it was left untouched. "
            f"Restore {path.name}.bak or move the file aside"
        ) from None
    if not isinstance(data, dict):
        raise LaunchpadError(
            f"launchpad file {path} does not hold a database mapping; left untouched"
        )
    store = ServerStore.__new__(ServerStore)
    try:
        store._databases = {k: DatabaseStore.from_dict(v) for k, v in data.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LaunchpadError(
            f"launchpad file {path} is not a mongomock database ({type(exc).__name__}); "
            "left untouched"
        ) from None
    # No finalizer: this copy is written only by _flush, inside the lock.
    store._filename = None
    return store, text


def _flush(store: Any, path: Path, original: str) -> None:
    """Write the store back atomically if it changed (previous copy kept as ``.bak``)."""
    import bson.json_util

    text = bson.json_util.dumps(store.to_dict())
    if text == original:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    if original:
        path.with_name(path.name + ".bak").write_text(original, encoding="utf-8")
    os.replace(tmp, path)


def _bind_launchpad(client: Any, database: str) -> LaunchPad:
    """Return a FireWorks LaunchPad using an existing (mongomock) client.

    FireWorks' ``LaunchPad.__init__`` always builds its own client (a mongomock-persistence
    one only if ``MONGOMOCK_SERVERSTORE_FILE`` was set before fireworks was imported, which
    then reads and later rewrites the file on its own), so the attributes it sets up are
    bound here to our client instead.
    """
    import gridfs
    from fireworks import LaunchPad
    from fireworks.fw_config import GRIDFS_FALLBACK_COLLECTION, STREAM_LOGLEVEL
    from fireworks.utilities.fw_utilities import get_fw_logger

    register_fireworks_objects()  # loads never walk FireWorks' packages (fw_objects)
    lp = LaunchPad.__new__(LaunchPad)
    lp.host, lp.port, lp.name = "mongomock-file", None, database
    lp.username = lp.password = None
    lp.authsource, lp.mongoclient_kwargs, lp.uri_mode = database, {}, False
    lp.logdir, lp.strm_lvl = None, STREAM_LOGLEVEL
    lp.m_logger = get_fw_logger("launchpad", l_dir=None, stream_level="WARNING")
    lp.user_indices, lp.wf_user_indices = [], []
    lp.connection = client
    lp.db = client[database]
    lp.fireworks, lp.launches = lp.db.fireworks, lp.db.launches
    lp.offline_runs, lp.fw_id_assigner = lp.db.offline_runs, lp.db.fw_id_assigner
    lp.workflows = lp.db.workflows
    lp.gridfs_fallback = (
        gridfs.GridFS(lp.db, GRIDFS_FALLBACK_COLLECTION) if GRIDFS_FALLBACK_COLLECTION else None
    )
    lp.backup_launch_data, lp.backup_fw_data = {}, {}
    return lp


def _is_initialised(lp: LaunchPad) -> bool:
    return lp.fw_id_assigner.count_documents({}) > 0


def _initialise(lp: LaunchPad) -> None:
    """Create FireWorks' id counters in an empty database (never resets a used one)."""
    if lp.workflows.count_documents({}) or lp.fireworks.count_documents({}):
        raise LaunchpadError("launchpad holds workflows but no id counter; refusing to reset it")
    lp.reset("", require_password=False, max_reset_wo_password=0)


@contextlib.contextmanager
def _file_session(config: LaunchpadConfig, work_dir: Path, create: bool) -> Iterator[LaunchPad]:
    import mongomock
    import mongomock.gridfs

    path = config.file_path(work_dir)
    missing = f"launchpad file {path} does not exist; `ionflow submit` creates it"
    if not path.parent.is_dir():
        if not create:
            raise LaunchpadError(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(path, config.lock_timeout_s):
        if not path.exists():
            if not create:
                raise LaunchpadError(missing)
            path.write_text("{}", encoding="utf-8")
        store, original = _load_server_store(path)
        mongomock.gridfs.enable_gridfs_integration()
        client = mongomock.MongoClient(_store=store)
        lp = _bind_launchpad(client, config.database)
        if not _is_initialised(lp):
            if not create:
                raise LaunchpadError(f"launchpad file {path} was never initialised; submit first")
            _initialise(lp)
        yield lp
        # reached only when the body did not raise: a failed operation writes nothing
        _flush(store, path, original)


# ---------------------------------------------------------------- MongoDB


def _mongo_launchpad(config: LaunchpadConfig, create: bool) -> LaunchPad:
    from fireworks import LaunchPad

    register_fireworks_objects()
    secrets_file = config.secrets_path
    client_kwargs = config.client_kwargs()
    try:
        if config.uri_env:
            uri = resolve_secret(config.uri_env, secrets_file)
            lp = LaunchPad(
                host=uri, name=config.database, uri_mode=True, mongoclient_kwargs=client_kwargs
            )
        else:
            user = (
                resolve_secret(config.username_env, secrets_file) if config.username_env else None
            )
            password = (
                resolve_secret(config.password_env, secrets_file) if config.password_env else None
            )
            lp = LaunchPad(
                host=config.host,
                port=config.port,
                name=config.database,
                username=user,
                password=password,
                authsource=config.auth_source,
                mongoclient_kwargs=client_kwargs,
            )
        lp.connection.admin.command("ping")
        if not _is_initialised(lp):
            if not create:
                raise LaunchpadError(
                    f"launchpad database {config.database} was never initialised; submit first"
                )
            _initialise(lp)
    except IonflowError:
        raise
    except Exception as exc:  # pymongo raises many types for unreachable/auth/TLS problems
        raise LaunchpadError(
            f"cannot reach the launchpad ({describe_launchpad(config, Path('.'))}): "
            f"{type(exc).__name__}: {mask(str(exc))[:300]}"
        ) from None
    return lp


@contextlib.contextmanager
def launchpad_session(
    config: LaunchpadConfig, work_dir: Path, *, create: bool = False
) -> Iterator[LaunchPad]:
    """Open the launchpad for one operation.

    Parameters
    ----------
    config
        The cluster's launchpad section.
    work_dir
        ionflow work directory (for ``{work_dir}`` in a mongomock file path).
    create
        Create and initialise the launchpad if it does not exist yet (never resets one).

    Yields
    ------
    fireworks.LaunchPad
        A LaunchPad valid only inside the ``with`` block. For a mongomock file the
        changes are written when the block exits normally and discarded if it raises.
    """
    key = f"{config.type}:{config.file_path(work_dir) if config.path else id(config)}"
    open_sessions: dict[str, LaunchPad] = _LOCAL.__dict__.setdefault("open", {})
    if key in open_sessions:  # nested session in the same thread: reuse it
        yield open_sessions[key]
        return
    if config.type == "mongomock_file":
        cm = _file_session(config, work_dir, create)
    else:
        cm = contextlib.nullcontext(_mongo_launchpad(config, create))
    with cm as lp:
        open_sessions[key] = lp
        try:
            yield lp
        finally:
            open_sessions.pop(key, None)
            if config.type == "mongodb":
                lp.connection.close()


class SessionLaunchPad:
    """A LaunchPad stand-in whose every method call runs in its own :func:`launchpad_session`.

    Used by the rocket ionflow sends to the queue, so a long job never holds the launchpad
    lock and every state change (checkout, ping, completion) is on disk at once.

    Parameters
    ----------
    config
        Launchpad section of the cluster config.
    work_dir
        ionflow work directory.
    on_checkout
        Called as ``on_checkout(lp, firework, launch_id)`` inside the checkout's session.
    """

    logdir = None
    strm_lvl = "INFO"

    def __init__(
        self,
        config: LaunchpadConfig,
        work_dir: Path,
        on_checkout: Callable[[LaunchPad, Any, int], None] | None = None,
    ) -> None:
        self._config = config
        self._work_dir = work_dir
        self._on_checkout = on_checkout
        # FireWorks keeps pre-checkout copies on the LaunchPad object for restore_backup_data
        self._backup_launch_data: dict = {}
        self._backup_fw_data: dict = {}

    def get_logdir(self) -> None:
        """Return the log folder (FireWorks' own log files are not written)."""
        return None

    def __getattr__(self, name: str) -> Any:
        from fireworks import LaunchPad

        if name.startswith("_") and name != "_get_a_fw_to_run":
            raise AttributeError(name)
        if not callable(getattr(LaunchPad, name, None)):
            raise AttributeError(f"SessionLaunchPad has no attribute {name!r}")

        def call(*args: Any, **kwargs: Any) -> Any:
            with launchpad_session(self._config, self._work_dir) as lp:
                lp.backup_launch_data = self._backup_launch_data
                lp.backup_fw_data = self._backup_fw_data
                result = getattr(lp, name)(*args, **kwargs)
                if name == "checkout_fw" and self._on_checkout and result and result[0]:
                    self._on_checkout(lp, result[0], result[1])
                return result

        call.__name__ = name
        return call
