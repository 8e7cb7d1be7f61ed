"""Launchpad sessions: file lock, atomic flush, corrupt/unreachable launchpads, MongoDB path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ionflow.errors import ConfigError
from ionflow.hpc.config import LaunchpadConfig
from ionflow.hpc.launchpad import (
    LaunchpadError,
    describe_launchpad,
    launchpad_session,
)
from ionflow.testing.processes import run_in_processes, spawn_context
from ionflow.testing.workers import add_workflows, checkout_all, hold_lock, script_workflow


def file_config(**kw) -> LaunchpadConfig:
    return LaunchpadConfig(type="mongomock_file", path="{work_dir}/lp/launchpad.json", **kw)


def touch(cfg: LaunchpadConfig, work_dir: Path, create: bool = False) -> None:
    """Open and close a session (raises what opening raises)."""
    with launchpad_session(cfg, work_dir, create=create):
        pass


def _workflow(n: int, name: str = "t"):
    return script_workflow(n, name)


def test_session_persists_and_only_writes_on_success(tmp_path):
    cfg = file_config()
    with pytest.raises(LaunchpadError, match="does not exist; `ionflow submit` creates it"):
        touch(cfg, tmp_path)
    with launchpad_session(cfg, tmp_path, create=True) as lp:
        lp.add_wf(_workflow(3))
        with launchpad_session(cfg, tmp_path) as inner:  # nested: same object, no deadlock
            assert inner is lp
    path = tmp_path / "lp" / "launchpad.json"
    saved = path.read_bytes()
    with launchpad_session(cfg, tmp_path) as lp:
        assert sorted(lp.get_fw_ids()) == [1, 2, 3]
    assert path.read_bytes() == saved  # a read-only session does not rewrite the file
    with pytest.raises(RuntimeError, match="boom"), launchpad_session(cfg, tmp_path) as lp:  # noqa: PT012
        lp.add_wf(_workflow(2))
        raise RuntimeError("boom")
    assert path.read_bytes() == saved  # the failed operation wrote nothing
    with launchpad_session(cfg, tmp_path) as lp:
        assert lp.fireworks.count_documents({}) == 3


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json at all", "cannot be read"),
        (b"[1, 2, 3]", "does not hold a database mapping"),
        (b'{"fireworks": {"fireworks": 7}}', "is not a mongomock database"),
    ],
)
def test_corrupt_launchpad_is_reported_and_left_alone(tmp_path, content, match):
    path = tmp_path / "lp" / "launchpad.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(LaunchpadError, match=match):
        touch(file_config(), tmp_path, create=True)
    assert path.read_bytes() == content
    assert not path.with_name("launchpad.json.bak").exists()


def test_concurrent_workers_never_share_or_lose_a_firework(tmp_path):
    cfg = file_config()
    with launchpad_session(cfg, tmp_path, create=True) as lp:
        lp.add_wf(_workflow(40))
    # fresh interpreters (spawn): a worker that dies or raises fails the test, never hangs it
    taken = run_in_processes(checkout_all, [(str(tmp_path), str(tmp_path))] * 4)
    added = run_in_processes(add_workflows, [str(tmp_path)] * 4)
    flat = [i for t in taken for i in t]
    assert sorted(flat) == list(range(1, 41))  # each Firework checked out exactly once
    ids = [i for a in added for i in a]
    assert len(set(ids)) == 40  # concurrent adds got distinct ids
    with launchpad_session(cfg, tmp_path) as lp:
        assert lp.fireworks.count_documents({"state": "RUNNING"}) == 40
        assert lp.launches.count_documents({}) == 40
        assert lp.workflows.count_documents({}) == 21
        assert lp.fireworks.count_documents({}) == 80


def test_lock_timeout_names_the_lock(tmp_path):
    cfg = file_config(lock_timeout_s=0.3)
    with launchpad_session(cfg, tmp_path, create=True):
        pass
    lock = tmp_path / "lp" / "launchpad.json.lock"
    ctx = spawn_context()
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=hold_lock, args=(str(lock), ready, release))
    proc.start()
    try:
        assert ready.wait(60)
        with pytest.raises(LaunchpadError, match="stayed locked by another process"):
            touch(cfg, tmp_path)
    finally:
        release.set()
        proc.join(10)


@pytest.mark.mongo
def test_mongodb_launchpad_against_mongomock(tmp_path, monkeypatch, caplog):
    import mongomock

    server = mongomock.MongoClient()._store
    seen = []

    def fake_client(host=None, *args, **kwargs):
        seen.append((host, kwargs))
        return mongomock.MongoClient(_store=server)

    monkeypatch.setattr("fireworks.core.launchpad.MongoClient", fake_client)
    secret = "pw-7f3a9c"
    monkeypatch.setenv("TEST_LP_URI", f"mongodb://alice:{secret}@db.example.org/?authSource=admin")
    cfg = LaunchpadConfig(type="mongodb", uri_env="TEST_LP_URI", database="fw_test", tls=True)
    with launchpad_session(cfg, tmp_path, create=True) as lp:
        lp.add_wf(_workflow(2))
    with launchpad_session(cfg, tmp_path) as lp:
        assert lp.fireworks.count_documents({}) == 2
    host, kwargs = seen[0]
    assert host.endswith("@db.example.org/?authSource=admin")  # the URI reached the client
    assert kwargs["tls"] is True
    assert kwargs["serverSelectionTimeoutMS"] == 10000
    text = describe_launchpad(cfg, tmp_path) + caplog.text
    assert "TEST_LP_URI" in text
    assert secret not in text


@pytest.mark.mongo
def test_unreachable_mongodb_launchpad_is_one_clear_error(tmp_path, monkeypatch):
    secret = "pw-unreachable-91"
    monkeypatch.setenv("TEST_LP_USER", "bob")
    monkeypatch.setenv("TEST_LP_PASSWORD", secret)
    cfg = LaunchpadConfig(
        type="mongodb",
        host="127.0.0.1",
        port=1,
        username_env="TEST_LP_USER",
        password_env="TEST_LP_PASSWORD",
        server_selection_timeout_ms=300,
    )
    with (
        pytest.raises(
            LaunchpadError, match=r"cannot reach the launchpad \(MongoDB 127.0.0.1:1"
        ) as err,
        launchpad_session(cfg, tmp_path),
    ):
        pass
    assert secret not in str(err.value)


def test_missing_credential_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_LP_URI", raising=False)
    monkeypatch.setenv("IONFLOW_SECRETS_FILE", str(tmp_path / "absent.yaml"))
    cfg = LaunchpadConfig(type="mongodb", uri_env="NOPE_LP_URI")
    with pytest.raises(ConfigError, match="credential variable NOPE_LP_URI is not set: export it"):
        touch(cfg, tmp_path)


def test_cli_reports_a_corrupt_launchpad_in_one_line(tmp_path, capsys):
    from tests.hpc.conftest import write_cluster

    from ionflow.cli.main import main
    from ionflow.settings import get_settings

    cluster = write_cluster(tmp_path)
    path = get_settings().work_dir / "launchpad" / "launchpad.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"fireworks": {"fireworks": {"name": "fireworks", "documents": [[1, ')
    before = path.read_bytes()
    for args in (["rerun", "--dry-run"], ["launch"], ["query", "jobs"]):
        capsys.readouterr()
        assert main([*args, "--cluster", str(cluster)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: launchpad file {path} cannot be read"), err
        assert "\n" not in err
    assert path.read_bytes() == before


def test_query_jobs_lists_submitted_work_before_any_result_is_stored(tmp_path, capsys):
    """After `submit`, before any job finished, there is no result store yet: `query jobs
    --cluster` lists the launchpad's Fireworks and creates no store."""
    import json

    from tests.hpc.conftest import write_cluster

    from ionflow.cli.main import main
    from ionflow.hpc.config import load_cluster_config
    from ionflow.settings import get_settings

    cluster = write_cluster(tmp_path)
    work_dir = get_settings().work_dir
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: pending\nstructure: {builtin: Li3OCl}\nsupercell: {matrix: [2, 2, 2]}\n"
        "defects:\n  - {type: vacancy, species: [Li]}\n"
        "md: {temperatures_K: [1200], production_steps: 20}\n"
    )
    assert main(["submit", str(study), "--cluster", str(cluster)]) == 0
    with launchpad_session(load_cluster_config(cluster).launchpad, work_dir) as lp:
        n_fireworks = lp.fireworks.count_documents({})
    assert n_fireworks > 1
    assert not (work_dir / "store").exists()
    before = sorted(p.relative_to(work_dir) for p in work_dir.rglob("*"))
    capsys.readouterr()
    assert main(["query", "jobs", "--cluster", str(cluster), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == n_fireworks
    assert {r["study"] for r in rows} == {"pending"}
    assert {r["state"] for r in rows} <= {"READY", "WAITING"}
    assert sorted(p.relative_to(work_dir) for p in work_dir.rglob("*")) == before
