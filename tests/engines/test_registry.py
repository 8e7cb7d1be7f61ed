"""The engine registry is the only list of engines, and an engine is one unit.

- no engine name is written as a string literal in ``src/ionflow`` outside ``engines/``;
- the default engine is the registry's (``DEFAULT_ENGINE``), unless the settings name one;
- ``engines/`` imports no higher layer;
- every registered adapter implements the interface and declares its capabilities;
- custodian handlers of VASP relax/MD/NEB runs come from ``engines/vasp/custodian.py``;
- a fourth engine registered with one line runs through a relax maker.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from ionflow.engines import registry
from ionflow.engines.base import CAPABILITIES, CUSTODIAN_KINDS, EngineAdapter
from ionflow.errors import ConfigError
from ionflow.settings import IonflowSettings, get_settings
from ionflow.testing.md import LennardJonesEngine, memory_job_store

SRC = Path(__file__).resolve().parents[2] / "src" / "ionflow"

#: higher layers engines/ must not import
FORBIDDEN = ("ionflow.makers", "ionflow.flows", "ionflow.config", "ionflow.hpc", "ionflow.cli")


def _python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_engine_names_appear_only_in_the_registry():
    names = set(registry.engine_names())
    found = []
    for path in _python_files(SRC):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("engines/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "engine names outside engines/ (ask the adapter):\n" + "\n".join(found)


def test_default_engine_is_the_registry_default_unless_the_settings_name_one():
    settings = get_settings()
    assert settings.engine is None
    assert registry.DEFAULT_ENGINE == "mlip"
    assert registry.default_engine(settings) == "mlip"
    assert registry.default_engine(IonflowSettings(engine="cp2k")) == "cp2k"


def test_engines_import_no_higher_layer():
    found = []
    for path in _python_files(SRC / "engines"):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            found += [f"{rel}:{node.lineno}: {m}" for m in modules if m.startswith(FORBIDDEN)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", registry.engine_names())
def test_registered_adapter_implements_the_interface(name):
    cls = registry.adapter_class(name)
    assert issubclass(cls, EngineAdapter)
    assert not inspect.isabstract(cls)
    assert cls.name == name
    assert "capabilities" in vars(cls), f"{cls.__name__} must declare its capabilities"
    assert cls.capabilities, f"{cls.__name__} declares no capabilities"
    assert cls.capabilities <= set(CAPABILITIES)
    assert {"relax", "static", "md"} <= cls.capabilities
    assert cls.segment_runners, "an md engine names its segment runner"
    engine = registry.get_engine(name)
    assert engine.describe()["engine"] == name
    if "neb" in cls.capabilities:
        assert cls._neb_maker is not EngineAdapter._neb_maker
        assert hasattr(engine.neb_maker(), "make")
    if "locpot" in cls.capabilities:
        assert cls._locpot_relax_maker is not EngineAdapter._locpot_relax_maker
    for kind in CUSTODIAN_KINDS:
        handlers = engine.custodian_handlers(kind, 3600)
        assert bool(handlers) == ("custodian" in cls.capabilities), (name, kind)
    if "custodian" in cls.capabilities:
        copied, required = engine.custodian_inputs
        assert set(required) <= set(copied)
        assert engine.custodian_validators()


def test_unknown_engine_is_named_with_the_choices():
    with pytest.raises(ConfigError, match="unknown engine 'qe'; choose one of cp2k, mlip, vasp"):
        registry.get_engine("qe")
    assert registry.engines_with("locpot") == ("vasp",)
    assert registry.engines_with("custodian") == ("vasp", "cp2k")


def _types(handlers):
    return [type(h) for h in handlers]


def test_vasp_handlers_of_relax_md_and_neb_come_from_one_place():
    from atomate2.vasp.run import DEFAULT_HANDLERS

    from ionflow.engines.vasp import custodian
    from ionflow.hpc.custodian_run import engine_handlers

    engine = registry.get_engine("vasp", wall_time_s=3600)
    # relax/static/neb use custodian's default set (atomate2's default) plus a walltime
    # handler: the configured walltime, else the queue job's, read on the node
    for kind in ("relax", "static", "neb"):
        assert _types(engine.custodian_handlers(kind))[:-1] == _types(DEFAULT_HANDLERS)
        assert _types(engine.custodian_handlers(kind))[-1] is custodian.JobWalltimeHandler
        assert _types(engine.custodian_handlers(kind, 3600)) == _types(
            custodian.handlers(kind, 3600)
        )
    relax = engine.relax_maker()
    assert _types(relax.run_vasp_kwargs["handlers"]) == _types(custodian.handlers("relax", 3600))
    assert type(relax.run_vasp_kwargs["handlers"][-1]).__name__ == "WalltimeHandler"
    assert relax.run_vasp_kwargs["handlers"][-1].wall_time == 3600
    band = engine.neb_maker()
    assert band.run_vasp_kwargs["handlers"][-1].wall_time == 3600
    # md passes its own list
    md = engine.md_maker(temperature_K=600, n_steps=10, time_step_fs=1.0)
    assert _types(md.run_vasp_kwargs["handlers"]) == _types(custodian.handlers("md", 3600))
    assert md.run_vasp_kwargs["handlers"][-1].wall_time == 3600
    # a rerun under ionflow's custodian_run asks the same place
    assert _types(engine_handlers("vasp", 3600)) == _types(custodian.handlers("relax", 3600))
    assert _types(engine_handlers("vasp", kind="md")) == _types(custodian.handlers("md"))


def test_mlip_engine_gets_no_vasp_keys_for_charged_cells():
    engine = registry.get_engine("mlip")
    assert "locpot" not in engine.capabilities
    assert engine.custodian_handlers("relax") == []
    with pytest.raises(ConfigError, match="no 'locpot' capability"):
        engine.locpot_relax_maker()


class FourthEngine(LennardJonesEngine):
    """A new engine: its own adapter class and one registry line, nothing else."""

    name = "lj4"
    capabilities = frozenset({"relax", "static", "md"})
    neb_maker = EngineAdapter.neb_maker  # no NEB: the base class says so (the LJ stand-in has one)


def test_a_fourth_engine_needs_one_folder_and_one_registry_line(monkeypatch, tmp_path):
    from ionflow.config.engine import EngineConfig
    from ionflow.engines.segments import get_segment_runner
    from ionflow.hpc.custodian_run import engine_handlers

    monkeypatch.setitem(registry.ENGINES, "lj4", f"{__name__}:FourthEngine")
    assert "lj4" in registry.engine_names()
    assert EngineConfig(engine="lj4").engine == "lj4"  # engine files accept it
    engine = registry.get_engine("lj4")
    assert isinstance(engine, FourthEngine)
    assert registry.engines_with("relax")[-1] == "lj4"
    with pytest.raises(ConfigError, match="no custodian handlers for engine 'lj4'"):
        engine_handlers("lj4")
    with pytest.raises(ConfigError, match="no NEB maker for engine 'lj4'"):
        engine.neb_maker()
    md = engine.md_maker(temperature_K=100, n_steps=2, time_step_fs=2.0)
    assert get_segment_runner(md) is not None

    argon = Structure(
        Lattice.cubic(5.3), ["Ar"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.52]]
    )
    relax = engine.relax_maker(fmax_eV_A=0.05, max_steps=50).make(argon)
    responses = run_locally(relax, store=memory_job_store(), root_dir=tmp_path, ensure_success=True)
    out = responses[relax.uuid][1].output
    assert out.structure.num_sites == 4
    assert out.output.energy < 0
