"""Bad input to ``ionflow run``: one clear error, nothing in an existing store changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ionflow.config import load_system
from ionflow.errors import ConfigError, InputError, StoreError
from ionflow.run.local import check_work_dir
from ionflow.settings import get_settings
from ionflow.stores import open_job_store as open_store
from ionflow.study.cell import build_cell

BASE = """
name: bad_input
structure: {builtin: Li3OCl}
supercell: {matrix: [1, 1, 1]}
md: {temperatures_K: [1000], production_steps: 10}
"""


def study(tmp_path: Path, text: str = BASE) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ionflow.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def seeded_store(tmp_path):
    """A work dir whose store already holds one document."""
    settings = get_settings()
    check_work_dir(settings.work_dir)
    store = open_store(settings)
    store.docs_store.update({"uuid": "keep-me", "index": 1, "output": {"x": 1}}, key=["uuid"])
    store.close()
    return settings


def stored_uuids(settings) -> list[str]:
    store = open_store(settings)
    try:
        return sorted(d["uuid"] for d in store.docs_store.query({}, properties=["uuid"]))
    finally:
        store.close()


def test_unreadable_structure_file(tmp_path, seeded_store):
    bad = tmp_path / "garbage.cif"
    bad.write_text("this is not a crystal structure\n")
    path = study(tmp_path, BASE.replace("{builtin: Li3OCl}", f"{{file: {bad}}}"))
    with pytest.raises(InputError, match=r"cannot read structure file .*garbage\.cif"):
        build_cell(load_system(path))
    res = run_cli("run", str(path))
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: cannot read structure file")
    assert "Traceback" not in res.stderr
    assert stored_uuids(seeded_store) == ["keep-me"]


def test_missing_structure_file(tmp_path):
    path = study(tmp_path, BASE.replace("{builtin: Li3OCl}", "{file: nowhere.cif}"))
    with pytest.raises(InputError, match=r"nowhere\.cif does not exist"):
        build_cell(load_system(path))


def test_species_not_in_structure(tmp_path, seeded_store):
    path = study(tmp_path, BASE + "analysis: {specie: Na}\n")
    with pytest.raises(InputError, match="'Na' is not in the structure \\(Cl, Li, O\\)"):
        build_cell(load_system(path))
    res = run_cli("run", str(path))
    assert res.returncode == 2
    assert "Na" in res.stderr
    assert stored_uuids(seeded_store) == ["keep-me"]


def test_nonpositive_temperature_cli(tmp_path):
    path = study(tmp_path, BASE.replace("[1000]", "[0]"))
    res = run_cli("run", str(path))
    assert res.returncode == 2
    assert "md.temperatures_K" in res.stderr
    assert "temperature 0" in res.stderr


def test_work_dir_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        check_work_dir(f)


def test_work_dir_not_writable():
    # /proc refuses new folders even for root, so this runs as any user
    with pytest.raises(ConfigError, match="is not writable"):
        check_work_dir(Path("/proc/ionflow-work"))


def test_corrupt_store_is_reported_and_left_alone(tmp_path, seeded_store):
    coll = seeded_store.work_dir / "store" / "ionflow" / "outputs.collection"
    assert coll.is_file()
    coll.write_bytes(b"\x00garbage, not sqlite\x00" * 10)
    before = coll.read_bytes()
    with pytest.raises(StoreError, match="cannot open the result store"):
        open_store(seeded_store)
    res = run_cli("query", "--json", env={"IONFLOW_WORK_DIR": str(seeded_store.work_dir)})
    assert res.returncode == 2
    assert res.stderr.startswith("error: cannot open the result store")
    assert coll.read_bytes() == before


def test_unknown_study_in_report(tmp_path, seeded_store):
    res = run_cli("report", "nope", env={"IONFLOW_WORK_DIR": str(seeded_store.work_dir)})
    assert res.returncode == 2
    assert "no results for study 'nope'" in res.stderr
