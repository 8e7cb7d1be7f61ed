"""Faults and bad input (issue 19): every one ends in a clear refusal, never in a wrong
number, a hang or a leak.

Each test drives the CLI (``ionflow.cli.main.main``, stdout and stderr captured apart) with
one hostile but realistic input and asserts the exit status, the message and that nothing
stored changed (a hash of every file of the work directory before and after). The MD-segment
join checks of ``analyze diffusion`` (the same XDATCAR twice, reversed segments) are in
``tests/io/test_trajectories*.py`` (issue 16).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from monty.serialization import dumpfn
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.cli.main import main
from ionflow.config.bounds import MAX_TEMPERATURE_K, check_md_memory, md_memory_bytes
from ionflow.errors import ConfigError
from ionflow.io.run_marker import effective_state, read_marker
from ionflow.run.local import check_work_dir
from ionflow.safe_yaml import MAX_EXPANDED_NODES, load_yaml_text
from ionflow.secrets import mask
from ionflow.settings import get_settings
from ionflow.stores import open_job_store
from ionflow.testing.md import LennardJonesEngine

REPO = Path(__file__).resolve().parents[1]

BASE = """name: faults
structure: {builtin: Li3OCl}
supercell: {matrix: [1, 1, 1]}
relax: {enabled: false}
md: {temperatures_K: [1000, 1200], production_steps: 20, equilibration_steps: 0}
"""


def tree_hash(root: Path) -> str:
    """Hash of every file name and content under ``root`` ('absent' if it does not exist)."""
    if not root.exists():
        return "absent"
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``ionflow ARGS`` in-process; return (status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    """The stderr of a refused command: exactly one non-empty line starting 'error: '."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "internal error" not in err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def work(tmp_path) -> Path:
    """A work dir whose store already holds one document (what must never change)."""
    settings = get_settings(work_dir=tmp_path / "work")
    check_work_dir(settings.work_dir)
    store = open_job_store(settings)
    store.docs_store.update({"uuid": "keep-me", "index": 1, "output": {"x": 1}}, key=["uuid"])
    store.close()
    return settings.work_dir


def study_file(tmp_path: Path, text: str = BASE, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- usage errors: exit 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["query", "--jsn"], "No such option: --jsn"),
        (["analyze", "neb"], "Missing argument"),
        (["analyze", "diffusion", "x.gz", "-T", "abc"], "'-T'"),
        (["defects", "generate", "builtin:Li3OCl"], "Missing option '--defect'"),
        (["nosuch"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, work, args, says):
    before = tree_hash(work)
    status, out, err = cli(capsys, *args, "-w", work) if args[0] == "query" else cli(capsys, *args)
    assert status == 2
    line = one_error_line(err)
    assert says in line
    assert "--help" in line
    assert out == ""
    assert tree_hash(work) == before


# ---------------------------------------------------------------- bounds at load time


@pytest.mark.parametrize(
    ("md", "says"),
    [
        ("temperatures_K: [1.0e12]", f"outside 0 < T <= {MAX_TEMPERATURE_K:g} K"),
        ("temperatures_K: [.nan]", "finite number"),
        ("temperatures_K: [1000], time_step_fs: .inf", "finite number"),
        ("temperatures_K: [1000], production_steps: 1000000000000", "less than or equal"),
        ("temperatures_K: [-5]", "outside 0 < T"),
        ("temperatures_K: [1000], production_steps: 1000000, segment_steps: 1", "1000000 chained"),
        ("temperatures_K: [1000], segments: 1000000", "less than or equal to 1000"),
        ("temperatures_K: [1000]}\nneb: {n_images: 100000", "neb.n_images"),
    ],
)
def test_unphysical_md_values_are_refused_before_any_work(tmp_path, capsys, work, md, says):
    path = study_file(tmp_path, BASE.replace(BASE.splitlines()[-1], f"md: {{{md}}}"))
    before = tree_hash(work)
    status, out, err = cli(capsys, "run", path, "-w", work)
    assert status == 2
    assert says in one_error_line(err)
    assert out == ""
    assert tree_hash(work) == before
    assert not (work / "runs").exists()


def test_md_memory_estimate_refuses_runs_that_cannot_fit(tmp_path, capsys, work, monkeypatch):
    # 2e7 frames of 5 atoms x 3 x 8 B x 4 arrays = 9.6 GB; pretend 1 GiB is available
    assert md_memory_bytes(20_000_000, 0, 1, 5) == (20_000_000 + 1) * 5 * 3 * 8 * 4
    with pytest.raises(ConfigError, match=r"need about 8\.94 GiB but 1 GiB"):
        check_md_memory("x", 20_000_000, 0, 1, 5, available=2**30)
    assert check_md_memory("x", 1000, 0, 1, 5, available=2**30) == 1001 * 5 * 96
    monkeypatch.setattr("ionflow.config.bounds.available_memory_bytes", lambda: 2**30)
    text = BASE.replace("production_steps: 20", "production_steps: 20000000")
    before = tree_hash(work)
    status, _, err = cli(capsys, "run", study_file(tmp_path, text), "-w", work)
    assert status == 2
    line = one_error_line(err)
    assert "20,000,001 stored frames of 5 atoms" in line
    assert "1 GiB of memory is available" in line
    assert tree_hash(work) == before
    assert not (work / "runs").exists()


@pytest.mark.parametrize(
    "supercell",
    ["{max_atoms: 10000000}", "{min_image_distance_A: 500, max_atoms: 10000000}"],
)
def test_huge_supercell_budget_answers_at_once(tmp_path, capsys, work, supercell):
    text = BASE.replace("{matrix: [1, 1, 1]}", supercell)
    before = tree_hash(work)
    t0 = time.monotonic()
    status, _, err = cli(capsys, "run", study_file(tmp_path, text), "-w", work)
    elapsed = time.monotonic() - t0
    assert status == 2
    line = one_error_line(err)
    assert "screens at most 1000" in line
    assert "explicit supercell matrix" in line
    assert elapsed < 30  # was minutes of 100 % CPU (the search was quadratic in the budget)
    assert tree_hash(work) == before


def test_defects_generate_huge_budget_is_refused(tmp_path, capsys):
    out_dir = tmp_path / "defects"
    t0 = time.monotonic()
    status, _, err = cli(
        capsys, "defects", "generate", "builtin:Li3OCl", "-d", "vacancy:Li",
        "--max-atoms", "10000000", "-o", out_dir,
    )  # fmt: skip
    assert time.monotonic() - t0 < 30
    assert status == 2
    assert "max_atoms=10000000" in one_error_line(err)
    assert not out_dir.exists()
    # an explicit matrix is checked before the cell is built (5e9 atoms would hang)
    status, _, err = cli(
        capsys, "defects", "generate", "builtin:Li3OCl", "-d", "vacancy:Li",
        "--matrix", "1000 1000 1000", "--max-atoms", "10000000", "-o", out_dir,
    )  # fmt: skip
    assert status == 2
    assert "gives 5000000000 atoms > max_atoms=10000000" in one_error_line(err)


def _alias_bomb(levels: int = 9) -> str:
    lines = ["    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines)


def test_yaml_alias_bomb_is_refused_without_memory_growth(tmp_path, capsys, work):
    text = BASE + "engine_overrides:\n  calculator_kwargs:\n" + _alias_bomb() + "\n"
    path = study_file(tmp_path, text)
    before = tree_hash(work)
    tracemalloc.start()
    try:
        status, _, err = cli(capsys, "run", path, "-w", work)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 2
    line = one_error_line(err)
    assert "alias" in line
    assert f"{MAX_EXPANDED_NODES:,}" in line
    assert peak < 50 * 2**20  # 9^10 values would be tens of GB
    assert tree_hash(work) == before
    # ordinary anchors and merge keys still work; a recursive alias is refused
    assert load_yaml_text("a: &a {x: 1}\nb: {<<: *a, y: 2}\n", "t") == {
        "a": {"x": 1},
        "b": {"x": 1, "y": 2},
    }
    with pytest.raises(ConfigError, match="recursive"):
        load_yaml_text("a: &a [1, *a]\n", "t")


def test_defect_option_alias_bomb_is_refused(tmp_path, capsys):
    bomb = "{" + ", ".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'x'}]" for i in range(10)
    ) + "}"  # fmt: skip
    status, _, err = cli(
        capsys, "defects", "generate", "builtin:Li3OCl", "-d", bomb, "-o", tmp_path / "d"
    )
    assert status == 2
    assert "alias" in one_error_line(err)


# ---------------------------------------------------------------- values inside files


def test_nan_energy_in_entries_file(tmp_path, capsys, work):
    entries = tmp_path / "entries.csv"
    entries.write_text("Name,Li,O,Final energy\nLi,1,0,-1.9\nLi2O,2,1,nan\nO2,0,2,-9.8\n")
    before = tree_hash(work)
    status, out, err = cli(capsys, "analyze", "window", entries, "--formula", "Li2O")
    assert status == 2
    line = one_error_line(err)
    assert "entries.csv" in line
    assert "non-finite energy" in line
    assert out == ""
    entries.write_text("Name,Li,O,Final energy\nLi,1,0,-1.9\nLi2O,2,1,inf\nO2,0,2,-9.8\n")
    status, _, err = cli(capsys, "analyze", "window", entries, "--formula", "Li2O")
    assert status == 2
    assert "non-finite energy" in one_error_line(err)
    assert tree_hash(work) == before


# ---------------------------------------------------------------- NEB folders vs IMAGES


@pytest.fixture
def si_neb(shared_dir):
    root = shared_dir / "data" / "neb" / "atomate2_si_vacancy_neb"
    return (
        root / "NEB" / "outputs",
        root / "relax_endpoint_1" / "outputs",
        root / "relax_endpoint_2" / "outputs",
    )


def test_neb_with_last_image_folders_missing_is_refused(si_neb, tmp_path, capsys):
    neb, ep1, ep2 = si_neb
    # the complete band reads: 0.1585 eV (pymatgen NEBAnalysis agrees, tests/io)
    status, out, _ = cli(capsys, "analyze", "neb", neb, "--endpoints", ep1, ep2, "--json")
    assert status == 0
    assert json.loads(out)["barrier_forward_eV"] == pytest.approx(0.15848, abs=1e-4)
    cut = tmp_path / "neb"
    shutil.copytree(neb, cut)
    shutil.rmtree(cut / "03")
    shutil.rmtree(cut / "04")
    before = tree_hash(cut)
    status, out, err = cli(capsys, "analyze", "neb", cut, "--endpoints", ep1, ep2)
    assert status == 2
    line = one_error_line(err)
    assert "INCAR IMAGES = 3" in line
    assert "00 … 04" in line
    assert "3 were found (00, 01, 02)" in line
    assert "0.069" not in out  # the wrong barrier is never printed
    # without the INCAR, the endpoint relaxation still tells 02 is not the end point
    (cut / "INCAR.gz").unlink()
    status, _, err = cli(capsys, "analyze", "neb", cut, "--endpoints", ep1, ep2)
    assert status == 2
    assert "does not belong to this band" in one_error_line(err)
    assert tree_hash(cut) != before  # only the INCAR this test removed
    # endpoint folders given in reverse order
    status, _, err = cli(capsys, "analyze", "neb", neb, "--endpoints", ep2, ep1)
    assert status == 2
    assert "reverse order" in one_error_line(err)


def test_cp2k_band_with_last_replicas_missing_is_refused(tmp_path, capsys):
    band = tmp_path / "band"
    shutil.copytree(REPO / "tests" / "data" / "neb" / "cp2k_lj_band", band)
    status, out, _ = cli(capsys, "analyze", "neb", band, "--json")
    assert status == 0
    full = json.loads(out)["barrier_forward_eV"]
    for k in (4, 5):  # the last two replicas' files deleted: the band would end at replica 3
        (band / f"ionflow-BAND{k}.out.gz").unlink()
        (band / f"ionflow-pos-Replica_nr_{k}-1.xyz.gz").unlink()
    status, out, err = cli(capsys, "analyze", "neb", band, "--json")
    assert status == 2
    line = one_error_line(err)
    assert "NUMBER_OF_REPLICA 5" in line
    assert "ionflow-BAND3.out / Replica_nr_3" in line
    assert out == ""
    assert full > 0


# ---------------------------------------------------------------- read commands never create


@pytest.mark.parametrize(
    "command", [["query", "--json"], ["report", "faults"], ["aimd", "segments"]]
)
def test_read_commands_never_create_a_store(tmp_path, capsys, command):
    typo = tmp_path / "wrok"
    status, out, err = cli(capsys, *command, "-w", typo)
    assert status == 2
    line = one_error_line(err)
    assert f"work directory {typo} does not exist" in line
    assert "nothing was created" in line
    assert out == ""
    assert not typo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, err = cli(capsys, *command, "-w", empty)
    assert status == 2
    assert "holds no result store" in one_error_line(err)
    assert list(empty.iterdir()) == []


# ---------------------------------------------------------------- no secret in any output


def test_credentials_never_printed_or_logged(tmp_path, capsys, monkeypatch):
    password = "Pa55-w0rd-never-shown"
    store_yaml = tmp_path / "store.yaml"
    store_yaml.write_text(
        "docs_store: {type: mongodb, host: 'mongodb://alice:" + password + "@127.0.0.1:9/x', "
        "server_selection_timeout_ms: 100}\n"
    )
    env_store = tmp_path / "store_env.yaml"
    env_store.write_text(
        "docs_store: {type: mongodb, uri_env: IONFLOW_TEST_URI, server_selection_timeout_ms: 100}\n"
    )
    monkeypatch.setenv("IONFLOW_TEST_URI", f"mongodb://bob:{password}@127.0.0.1:9/x")
    outputs = []
    for config in (store_yaml, env_store):
        settings_file = tmp_path / f"settings-{config.stem}.yaml"
        settings_file.write_text(f"store_config: {config}\n")
        monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(settings_file))
        work = tmp_path / f"work-{config.stem}"
        work.mkdir()
        for args in (["query"], ["run", study_file(tmp_path)], ["report", "x"]):
            for debug in ([], ["--debug"]):
                try:
                    status, out, err = cli(capsys, *debug, *args, "-w", work)
                except Exception as exc:  # --debug re-raises: the traceback text counts too
                    status, (out, err) = 2, capsys.readouterr()
                    err += f"{type(exc).__name__}: {exc}"
                assert status == 2
                outputs += [out, err]
        assert "cannot open the result store" in err
        outputs += [p.read_text(errors="replace") for p in work.rglob("*") if p.is_file()]
    assert outputs
    assert not [o for o in outputs if password in o]
    assert any("***@127.0.0.1" in o for o in outputs)


# ---------------------------------------------------------------- failure is failure


class _OutOfMemoryRunner:
    """An MD segment runner that fails as the 1e12-step run did."""

    def run(self, *args, **kwargs):
        raise MemoryError(
            "Unable to allocate 7.28 TiB for an array with shape (1000000000000, 5, 3) and "
            "data type float64"
        )


def test_crashed_md_job_fails_the_run_and_query_says_so(tmp_path, capsys, work, monkeypatch):
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    monkeypatch.setattr(
        "ionflow.makers.md_segments.get_segment_runner", lambda maker: _OutOfMemoryRunner()
    )
    status, out, err = cli(capsys, "run", study_file(tmp_path), "-w", work)
    assert status == 1
    assert "FAILED md 1000K production 0: MemoryError: Unable to allocate 7.28 TiB" in err
    summary = [line for line in err.splitlines() if line.startswith("study faults run")]
    assert summary[-1].startswith("study faults run ")
    assert "FAILED, 2 job(s) failed; first: md 1000K production 0: MemoryError" in summary[-1]
    log = next((work / "logs").glob("faults-*.log"))
    run_dir = next((work / "runs" / "faults").iterdir())
    resume = f"ionflow aimd resume {run_dir} -w {work}"
    assert f"log: {log}" in err
    assert f"run folder: {run_dir}" in err
    assert f"resume after a kill: {resume}" in err  # printed at the start
    assert f"re-run the failed jobs: {resume}" in err  # and on failure
    assert "MemoryError" in log.read_text()
    marker = read_marker(run_dir)
    assert marker["state"] == "FAILED"
    assert [f["job"] for f in marker["failures"]] == [
        "md 1000K production 0",
        "md 1200K production 0",
    ]
    status, out, _ = cli(capsys, "query", "--json", "-w", work)
    assert status == 0
    (row,) = json.loads(out)
    assert row["state"] == "FAILED"
    assert row["resume_command"] == resume
    assert row["activation_energy_eV"] is None
    for state, n_rows in (("COMPLETED", 0), ("failed", 1)):
        status, out, _ = cli(capsys, "query", "--json", "--state", state, "-w", work)
        assert status == 0
        assert len(json.loads(out)) == n_rows


def _stored_uuids(work: Path) -> set[str]:
    """The uuids of every document of the work dir's store (the kept one included)."""
    store = open_job_store(get_settings(work_dir=work))
    try:
        return {doc["uuid"] for doc in store.docs_store.query({}, properties=["uuid"])}
    finally:
        store.close()


def test_failed_neb_job_fails_neb_run(tmp_path, capsys, work, monkeypatch):
    """``ionflow neb run``: a band that raises ends in exit 1 with the first error."""
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    monkeypatch.setattr(
        "ionflow.engines.mlip.neb.MlipNebMaker.run", _OutOfMemoryRunner.run, raising=True
    )
    neb = "{cutoff_A: 4.0, max_hops: 1, n_images: 1, max_steps: 5, relax_endpoints: false}"
    text = (
        "name: nebfault\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        f"supercell: {{matrix: [2, 2, 2]}}\ndefects: [{{type: vacancy, species: [Li]}}]\n"
        f"neb: {neb}\n"
    )
    status, out, err = cli(capsys, "neb", "run", study_file(tmp_path, text), "-w", work)
    assert status == 1
    first = [line for line in err.splitlines() if line.startswith("study nebfault run ")][-1]
    assert "PARTIAL, 1 job(s) failed; first: mlip neb nebfault V_Li hop 1: " in first
    assert "MemoryError: Unable to allocate 7.28 TiB" in first
    assert "V_Li hop 1: FAILED (no band" in out  # the summary is printed first
    assert "keep-me" in _stored_uuids(work)


def test_failed_defect_job_fails_defects_energies(tmp_path, capsys, work, monkeypatch):
    """``ionflow defects energies``: a relaxation that raises ends in exit 1."""
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    monkeypatch.setattr("atomate2.ase.jobs.AseRelaxMaker.run_ase", _OutOfMemoryRunner.run)
    entries = tmp_path / "entries.json"
    toy = {"Li": -1.9, "Cl2": -3.6, "O2": -9.8, "Li2O": -14.8, "LiCl": -7.9, "Li3OCl": -22.8}
    dumpfn([ComputedEntry(f, e) for f, e in toy.items()], entries)
    text = (
        "name: deffault\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        "supercell: {matrix: [2, 2, 2]}\ndefects: [{type: vacancy, species: [Li]}]\n"
        "relax: {fmax_eV_A: 0.2, max_steps: 30}\n"
        "formation: {entries: entries.json, condition: Li-rich}\n"
    )
    args = ("defects", "energies", study_file(tmp_path, text), "-w", work)
    status, out, err = cli(capsys, *args)
    assert status == 1
    first = [line for line in err.splitlines() if line.startswith("study deffault run ")][-1]
    assert "job(s) failed; first: " in first
    assert "MemoryError: Unable to allocate 7.28 TiB" in first
    assert out == ""  # no table: the run produced no formation energies
    assert "keep-me" in _stored_uuids(work)


_SLOW_RUN = """
import sys, time
import pytest
from ionflow.testing.md import LennardJonesEngine

class SlowRunner:
    def run(self, *args, **kwargs):
        time.sleep(600)

mp = pytest.MonkeyPatch()
mp.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
mp.setattr("ionflow.makers.md_segments.get_segment_runner", lambda maker: SlowRunner())
from ionflow.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_killed_run_is_listed_with_its_resume_command(tmp_path, capsys, work):
    script = tmp_path / "slow_run.py"
    script.write_text(_SLOW_RUN)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, str(script), "run", str(study_file(tmp_path)), "-w", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "running md 1000K" in line:
                break
        text = "".join(lines)
        assert "resume after a kill: ionflow aimd resume " in text, text
        run_dir = Path(text.split("run folder: ", 1)[1].splitlines()[0])
        assert (run_dir / "flow.json.gz").is_file()
        status, out, _ = cli(capsys, "query", "--json", "-w", work)
        (row,) = json.loads(out)
        assert row["state"] == "RUNNING"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert effective_state(read_marker(run_dir)) == "INTERRUPTED"
    status, out, _ = cli(capsys, "query", "--json", "-w", work)
    assert status == 0
    (row,) = json.loads(out)
    assert row["state"] == "INTERRUPTED"
    assert row["run_id"] == run_dir.name
    assert row["resume_command"] == f"ionflow aimd resume {run_dir} -w {work}"
    status, out, _ = cli(capsys, "query", "-w", work)
    assert f"INTERRUPTED: ionflow aimd resume {run_dir} -w {work}\n" in out
    before = tree_hash(work)
    status, out, err = cli(capsys, "report", "faults", "-w", work)
    assert status == 2
    line = one_error_line(err)
    assert "no results for study 'faults'" in line
    assert f"run {run_dir.name} is INTERRUPTED (resume: ionflow aimd resume {run_dir}" in line
    assert tree_hash(work) == before


class _InterruptedRunner:
    """An MD segment runner interrupted by Ctrl-C."""

    def run(self, *args, **kwargs):
        raise KeyboardInterrupt


def test_ctrl_c_marks_the_run_interrupted_and_says_how_to_resume(
    tmp_path, capsys, work, monkeypatch
):
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    monkeypatch.setattr(
        "ionflow.makers.md_segments.get_segment_runner", lambda maker: _InterruptedRunner()
    )
    status, _, err = cli(capsys, "run", study_file(tmp_path), "-w", work)
    assert status == 130
    run_dir = next((work / "runs" / "faults").iterdir())
    assert f"run interrupted; resume it with: ionflow aimd resume {run_dir} -w {work}" in err
    assert read_marker(run_dir)["state"] == "INTERRUPTED"
    status, out, _ = cli(capsys, "query", "--json", "-w", work)
    (row,) = json.loads(out)
    assert row["state"] == "INTERRUPTED"


def test_masking_of_uri_credentials(monkeypatch):
    # only the URI patterns here: credentials looked up by earlier tests (a user "bob" in the
    # launchpad tests) are masked everywhere by design
    monkeypatch.setattr("ionflow.secrets._SEEN_SECRETS", set())
    assert mask("mongodb://alice:pw1@db:27017/x failed") == "mongodb://***@db:27017/x failed"
    assert (
        mask("host alice:pw2@db.example.org:27017 refused")
        == "host ***@db.example.org:27017 refused"
    )
    assert (
        mask("mongodb+srv://u:p@c.net/?password=abc&w=1")
        == "mongodb+srv://***@c.net/?password=***&w=1"
    )
    # no credentials: unchanged
    for text in ("mail bob@example.com", "at 12:30 on x@y", "/path/to:file"):
        assert mask(text) == text


def test_log_lines_are_masked(tmp_path, capsys, caplog):
    cli(capsys, "query", "-w", tmp_path / "nope")  # installs the masking on the root handlers
    logging.getLogger("ionflow.faults").warning("cannot reach mongodb://u:%s@h:1/x", "pw-42-xyz")
    assert "pw-42-xyz" not in caplog.text
    assert "mongodb://***@h:1/x" in caplog.text
