"""Result stores: the same tests on the embedded montydb store and on the MongoDB + GridFS
code path (maggma MongoStore/GridFSStore with their client patched to mongomock, since no
MongoDB server can run here); unreachable and damaged stores; concurrent writers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ionflow.errors import StoreError
from ionflow.settings import get_settings
from ionflow.stores import (
    INDEXED_FIELDS,
    StoreConfig,
    StoreSpec,
    describe_store,
    ensure_indexes,
    get_store_config,
    open_job_store,
)
from ionflow.testing.processes import run_in_processes
from ionflow.testing.workers import write_store_docs

REPO = Path(__file__).resolve().parents[1]
MONGO_SECRET = "pw-store-5e1d"


def _mongomock_pymongo_shim(monkeypatch) -> None:
    """mongomock 4.3 predates pymongo 4.11, whose ReplaceOne/UpdateOne pass ``sort=`` to the
    bulk builder (TypeError: add_replace() got an unexpected keyword argument 'sort').
    Drop the argument when it is unset; tests only."""
    from mongomock.collection import BulkOperationBuilder

    for name in ("add_replace", "add_update"):
        original = getattr(BulkOperationBuilder, name)

        def wrapper(self, *args, _original=original, sort=None, **kwargs):
            assert sort is None, "sorted bulk writes are not supported by mongomock"
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(BulkOperationBuilder, name, wrapper)


@pytest.fixture(params=["montydb", pytest.param("mongodb", marks=pytest.mark.mongo)])
def store_settings(request, tmp_path, monkeypatch):
    """Settings whose store is montydb in the work dir, or MongoDB+GridFS on mongomock."""
    if request.param == "mongodb":
        import mongomock
        import mongomock.gridfs

        _mongomock_pymongo_shim(monkeypatch)
        mongomock.gridfs.enable_gridfs_integration()
        server = mongomock.MongoClient()._store
        calls = []

        def client(*args, **kwargs):
            calls.append((args, kwargs))
            return mongomock.MongoClient(_store=server)

        monkeypatch.setattr("maggma.stores.mongolike.MongoClient", client)
        monkeypatch.setattr("maggma.stores.gridfs.MongoClient", client)
        cfg = yaml.safe_load((REPO / "configs" / "stores" / "mongodb.yaml").read_text())
        path = tmp_path / "mongodb.yaml"
        path.write_text(yaml.safe_dump(cfg))
        monkeypatch.setenv("IONFLOW_STORE_CONFIG", str(path))
        monkeypatch.setenv("IONFLOW_MONGO_URI", f"mongodb://ionflow:{MONGO_SECRET}@db.example.org/")
        request.node.mongo_calls = calls
    from ionflow.settings import reset_settings

    reset_settings()
    settings = get_settings()
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return settings


def test_job_outputs_and_bulky_data_round_trip(store_settings):
    from jobflow import job, run_locally
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.trajectory import Trajectory

    @job(data=[Trajectory])
    def make_traj(n_frames: int):
        cell = Structure(Lattice.cubic(4.0), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
        frames = [cell.copy() for _ in range(n_frames)]
        for i, frame in enumerate(frames):
            frame.translate_sites([0], [0.01 * i, 0, 0])
        return {"trajectory": Trajectory.from_structures(frames), "n_frames": n_frames}

    j = make_traj(7)
    store = open_job_store(store_settings)
    try:
        run_locally(j, store=store, ensure_success=True)
        raw = store.docs_store.query_one({"uuid": j.uuid})
        assert raw["output"]["n_frames"] == 7
        assert "blob_uuid" in raw["output"]["trajectory"]  # the trajectory is not in the document
        assert store.additional_stores["data"].count() == 1
        loaded = store.query_one({"uuid": j.uuid}, load=True)["output"]["trajectory"]
        traj = Trajectory.from_dict(loaded)
        assert len(traj) == 7
        assert traj[6][0].frac_coords[0] == pytest.approx(0.06)  # fractional shift of frame 6
    finally:
        store.close()


def test_indexes_on_queried_fields(store_settings):
    store = open_job_store(store_settings)
    try:
        config = get_store_config(store_settings)
        if config.docs_store.type == "mongodb":
            info = store.docs_store._collection.index_information()
            indexed = {key for idx in info.values() for key, _ in idx["key"]}
            assert set(INDEXED_FIELDS) <= indexed
            files = store.additional_stores["data"]._files_collection.index_information()
            assert {"metadata.job_uuid", "metadata.job_index"} <= {
                key for idx in files.values() for key, _ in idx["key"]
            }
        else:
            assert ensure_indexes(store) == []  # montydb has no indexes
    finally:
        store.close()


def test_store_description_masks_credentials(store_settings, request):
    config = get_store_config(store_settings)
    text = describe_store(config, store_settings.work_dir)
    assert MONGO_SECRET not in text
    if config.docs_store.type == "mongodb":
        assert text.startswith("MongoDB URI from $IONFLOW_MONGO_URI, database ionflow")
        open_job_store(store_settings).close()
        (args, kwargs) = request.node.mongo_calls[0]
        assert MONGO_SECRET in args[0]  # the client got the URI from the environment ...
        assert kwargs["serverSelectionTimeoutMS"] == 10000  # ... with a bounded timeout


@pytest.mark.mongo
def test_unreachable_mongodb_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("T_STORE_USER", "carol")
    monkeypatch.setenv("T_STORE_PW", MONGO_SECRET)
    spec = StoreSpec(
        type="mongodb",
        host="127.0.0.1",
        port=1,
        username_env="T_STORE_USER",
        password_env="T_STORE_PW",
        server_selection_timeout_ms=300,
    )
    with pytest.raises(
        StoreError, match=r"cannot open the result store \(MongoDB 127.0.0.1:1"
    ) as err:
        open_job_store(get_settings(), StoreConfig(docs_store=spec))
    assert MONGO_SECRET not in str(err.value)
    assert "nothing was written" in str(err.value)


def test_missing_credential_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("T_NOT_SET", raising=False)
    monkeypatch.setenv("IONFLOW_SECRETS_FILE", str(tmp_path / "absent.yaml"))
    spec = StoreSpec(type="mongodb", uri_env="T_NOT_SET")
    with pytest.raises(StoreError, match="credential variable T_NOT_SET is not set"):
        open_job_store(get_settings(), StoreConfig(docs_store=spec))


def test_damaged_montydb_store_is_left_untouched(tmp_path):
    settings = get_settings()
    store = open_job_store(settings)
    store.docs_store.update({"uuid": "a", "index": 1, "output": 1}, key=["uuid", "index"])
    store.close()
    coll = settings.work_dir / "store" / "ionflow" / "outputs.collection"
    coll.write_bytes(b"not sqlite" * 50)
    before = {p: p.read_bytes() for p in (settings.work_dir / "store").rglob("*") if p.is_file()}
    with pytest.raises(
        StoreError, match=r"cannot open the result store \(montydb at .*DatabaseError"
    ):
        open_job_store(settings)
    after = {p: p.read_bytes() for p in (settings.work_dir / "store").rglob("*") if p.is_file()}
    assert after == before


def test_concurrent_writers_to_the_embedded_store(tmp_path):
    settings = get_settings()
    open_job_store(settings).close()  # create the store first, as the first job would
    n, workers = 60, 3
    run_in_processes(write_store_docs, [(str(settings.work_dir), w, n) for w in range(workers)])
    store = open_job_store(settings)
    try:
        assert store.docs_store.count() == n * workers
        assert store.additional_stores["data"].count() == n * workers
        for w in range(workers):
            got = sorted(d["output"]["i"] for d in store.docs_store.query({"output.worker": w}))
            assert got == list(range(n))
    finally:
        store.close()
