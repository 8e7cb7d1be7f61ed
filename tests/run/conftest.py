"""Fixtures of the local-run tests: a store every worker process can open."""

from __future__ import annotations

import pytest

from ionflow.settings import get_settings
from ionflow.stores import default_store_config, open_job_store


@pytest.fixture
def disk_store(tmp_path):
    """An on-disk (montydb) JobStore in the test's work folder."""
    settings = get_settings(work_dir=tmp_path / "work")
    store = open_job_store(settings, default_store_config())
    yield store
    store.close()
