"""``ionflow analyze diffusion|arrhenius`` end to end (files → JSON keys, plots, errors)."""

from __future__ import annotations

import json
import math

import pytest

from ionflow.cli.main import main

DIFFUSION_KEYS = {
    "specie",
    "temperature_K",
    "n_frames",
    "n_mobile",
    "time_step_fs",
    "diffusivity_cm2_s",
    "diffusivity_std_cm2_s",
    "conductivity_mS_cm",
    "conductivity_std_mS_cm",
    "haven_ratio",
    "dimensionality",
    "diffusing",
}
ARRHENIUS_KEYS = {
    "activation_energy_eV",
    "activation_energy_std_eV",
    "prefactor_cm2_s",
    "diffusivity_at_target_cm2_s",
    "conductivity_at_target_mS_cm",
    "conductivity_at_target_ci_mS_cm",
    "target_temperature_K",
    "results",
}
KB = 8.617333262e-5


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def arrhenius_files(tmp_path, random_walk, xdatcar_writer):
    """XDATCARs of random walks with D following Ea = 0.3 eV at three temperatures."""
    specs = []
    for k, t in enumerate((800.0, 1000.0, 1300.0)):
        d = 5e-4 * math.exp(-0.3 / (KB * t))
        walk = random_walk(
            n_frames=800, n_li=24, n_fw=8, diffusivity_cm2_s=d, time_step_fs=20.0, seed=k
        )
        path = tmp_path / f"T{t:g}" / "XDATCAR.gz"
        path.parent.mkdir()
        xdatcar_writer(path, walk)
        specs.append(f"{t:g}:{path}")
    return specs


def test_diffusion_json_keys_and_plot(capsys, tmp_path, aimd_dir):
    run = aimd_dir / "li6ps5cl_500K_0p/run1/XDATCAR.gz"
    code, out, err = _run(
        capsys,
        "analyze",
        "diffusion",
        str(run),
        "-T",
        "500",
        "--time-step",
        "2",
        "--step-skip",
        "50",
        "--json",
        "--plot",
        str(tmp_path / "plots"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc.keys() >= DIFFUSION_KEYS
    assert doc["n_frames"] == 140
    assert doc["n_mobile"] == 192
    assert doc["time_step_fs"] == 100.0
    assert doc["diffusing"] is True
    assert (tmp_path / "plots" / "msd_500K.png").stat().st_size > 10_000


def test_density_file(capsys, tmp_path, random_walk, xdatcar_writer):
    from pymatgen.io.vasp import Chgcar

    path = tmp_path / "XDATCAR"
    xdatcar_writer(path, random_walk(n_frames=200, n_li=10, n_fw=4))
    code, _, err = _run(
        capsys,
        "analyze",
        "diffusion",
        str(path),
        "-T",
        "900",
        "--time-step",
        "10",
        "--step-skip",
        "1",
        "--density",
        str(tmp_path / "LI_DENSITY"),
    )
    assert code == 0, err
    chg = Chgcar.from_file(str(tmp_path / "LI_DENSITY"))
    assert chg.data["total"].mean() == pytest.approx(10, rel=1e-6)


def test_two_segments_are_one_run_and_methods_differ(capsys, aimd_dir):
    runs = [str(aimd_dir / f"li6ps5cl_500K_0p/run{i}/XDATCAR.gz") for i in (1, 2)]
    code, out, _ = _run(
        capsys,
        "analyze",
        "diffusion",
        *runs,
        "-T",
        "500",
        "--time-step",
        "2",
        "--step-skip",
        "50",
        "--method",
        "pymatgen",
        "--json",
    )
    assert code == 0
    pmg = json.loads(out)
    assert pmg["n_frames"] == 280
    assert pmg["method"] == "pymatgen"
    code, out, _ = _run(
        capsys, "analyze", "diffusion", *runs, "-T", "500", "--time-step", "2", "--step-skip", "50"
    )
    assert code == 0
    assert "D = " in out
    assert "diffusing: yes" in out


def test_arrhenius_end_to_end(capsys, tmp_path, arrhenius_files):
    code, out, err = _run(
        capsys,
        "analyze",
        "arrhenius",
        *arrhenius_files,
        "--time-step",
        "2",
        "--step-skip",
        "10",
        "--json",
        "--plot",
        str(tmp_path / "plots"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc.keys() >= ARRHENIUS_KEYS
    assert len(doc["results"]) == 3
    assert all(r.keys() >= DIFFUSION_KEYS for r in doc["results"])
    ea, sd = doc["activation_energy_eV"], doc["activation_energy_std_eV"]
    assert abs(ea - 0.3) < 4 * sd
    lo, hi = doc["conductivity_at_target_ci_mS_cm"]
    assert lo < doc["conductivity_at_target_mS_cm"] < hi
    assert (tmp_path / "plots" / "arrhenius.png").stat().st_size > 10_000
    assert (tmp_path / "plots" / "msd.png").stat().st_size > 10_000


MD = ["--time-step", "2", "--step-skip", "50"]  # POTIM, NBLOCK of the Li6PS5Cl run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diffusion", "{run}", "-T", "500", *MD, "--specie", "Na"], "no Na atoms"),
        (["diffusion", "{run}", "-T", "0", *MD], "> 0 K"),
        (["diffusion", "{run}", "-T", "500"], "pass --time-step"),
        (["diffusion", "{run}", *MD], "--temperature"),
        (["diffusion", "missing.xml", "-T", "500"], "does not exist"),
        (["arrhenius", "500{run}"], "TEMPERATURE:FILE"),
        (["arrhenius", "hot:{run}"], "not a temperature"),
        (["arrhenius", "0:{run}", *MD], "> 0 K"),
        (["diffusion", "{run}", "-T", "500", *MD, "--method", "magic"], "method"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, aimd_dir, args, message):
    run = str(aimd_dir / "li6ps5cl_500K_0p/run1/XDATCAR.gz")
    argv = ["analyze", *[a.replace("{run}", run) for a in args]]
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_single_frame_and_mismatched_temperature(capsys, tmp_path, aimd_dir):
    import gzip

    src = aimd_dir / "pmg_vasprun_md_si" / "vasprun.md.xml.gz"
    with gzip.open(src, "rt") as fh:
        text = fh.read()
    cut = [i for i in range(len(text)) if text.startswith("<calculation>", i)][1]
    one = tmp_path / "vasprun.xml"
    one.write_text(text[:cut])
    code, _, err = _run(capsys, "analyze", "diffusion", str(one), "--specie", "Si")
    assert code == 2
    assert "single frame" in err
    code, _, err = _run(
        capsys, "analyze", "arrhenius", f"1200:{src}", f"2000:{src}", "--specie", "Si"
    )
    assert code == 2
    assert "file says 2000 K" in err


def test_pymatgen_method_with_diffusion_analyzer_arguments_gives_its_numbers(
    capsys, tmp_path, aimd_dir
):
    """The call a DiffusionAnalyzer user makes (time_step=POTIM, step_skip=NBLOCK) agrees."""
    import gzip
    import shutil
    import warnings

    pad = pytest.importorskip("pymatgen.analysis.diffusion.analyzer")
    from pymatgen.io.vasp import Xdatcar

    src = aimd_dir / "pmg_xdatcar_lisi" / "XDATCAR_traj.gz"
    path = tmp_path / "XDATCAR"
    with gzip.open(src, "rb") as fin, open(path, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structures = Xdatcar(str(path)).structures
    theirs = pad.DiffusionAnalyzer.from_structures(structures, "Li", 900.0, 2, 50)
    args = ["analyze", "diffusion", str(path), "-T", "900", "--method", "pymatgen", "--json"]
    code, out, err = _run(capsys, *args, "--time-step", "2", "--step-skip", "50")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["diffusivity_cm2_s"] == pytest.approx(theirs.diffusivity, rel=1e-6)
    assert doc["diffusivity_std_cm2_s"] == pytest.approx(theirs.diffusivity_std_dev, rel=1e-6)
    assert doc["conductivity_mS_cm"] == pytest.approx(theirs.conductivity, rel=1e-6)
    assert (doc["md_time_step_fs"], doc["md_step_skip"], doc["time_step_fs"]) == (2.0, 50, 100.0)
    # the same from POTIM/NBLOCK in an INCAR beside the XDATCAR, no options needed
    (tmp_path / "INCAR").write_text("POTIM = 2\nNBLOCK = 50\n")
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    assert json.loads(out)["diffusivity_cm2_s"] == pytest.approx(theirs.diffusivity, rel=1e-6)
    # values contradicting the INCAR are refused, naming both
    code, _, err = _run(capsys, *args, "--time-step", "1")
    assert code == 2
    assert "--time-step 1 fs" in err
    assert "POTIM = 2 fs" in err
