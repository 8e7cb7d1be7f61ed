from pathlib import Path

import pytest

from ionflow.engines.registry import default_engine
from ionflow.errors import ConfigError
from ionflow.settings import get_settings, reset_settings


def test_defaults_and_derived_dirs(tmp_path):
    s = get_settings()
    assert s.work_dir == tmp_path / "work"
    assert s.engine is None  # the registry's default engine (DEFAULT_ENGINE, "mlip")
    assert default_engine(s) == "mlip"
    assert s.mlip.model == "CHGNet"
    assert s.store_dir == s.work_dir / "store"
    assert s.runs_dir == s.work_dir / "runs"
    assert s.reports_dir == s.work_dir / "reports"


def test_env_vars_nested(monkeypatch):
    monkeypatch.setenv("IONFLOW_VASP__CMD", "srun -n 4 vasp_std")
    monkeypatch.setenv("IONFLOW_ENGINE", "cp2k")
    reset_settings()
    s = get_settings()
    assert s.vasp.cmd == "srun -n 4 vasp_std"
    assert s.engine == "cp2k"


def test_yaml_file_and_priority(tmp_path, monkeypatch):
    cfg = tmp_path / "ionflow.yaml"
    cfg.write_text("engine: vasp\ncp2k:\n  cmd: mpirun -np 2 cp2k.psmp\nwork_dir: /tmp/from-file\n")
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(cfg))
    reset_settings()
    s = get_settings()
    assert s.engine == "vasp"
    assert s.cp2k.cmd == "mpirun -np 2 cp2k.psmp"
    # the environment (set by the autouse fixture) wins over the file
    assert s.work_dir == tmp_path / "work"
    assert s.config_file == cfg


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("engine: gaussian\n", "engine"),
        ("vasp:\n  cmnd: x\n", "vasp.cmnd"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_bad_settings_file_names_key(tmp_path, monkeypatch, content, fragment):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(cfg))
    reset_settings()
    with pytest.raises(ConfigError, match=fragment):
        get_settings()


def test_missing_named_settings_file(monkeypatch, tmp_path):
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "nope.yaml"))
    reset_settings()
    with pytest.raises(ConfigError, match="does not exist"):
        get_settings()


def test_overrides_do_not_replace_cached(tmp_path):
    base = get_settings()
    other = get_settings(work_dir=Path("/tmp/elsewhere"))
    assert other.work_dir == Path("/tmp/elsewhere")
    assert get_settings() is base
