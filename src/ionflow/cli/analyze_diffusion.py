"""``ionflow analyze diffusion`` and ``ionflow analyze arrhenius``: transport from trajectories.

The ``--json`` output is a fixed interface (other tools read its keys): one
:class:`~ionflow.schemas.transport.DiffusionResult` object per run, or one
:class:`~ionflow.schemas.transport.ArrheniusResult` with the per-temperature results.
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ionflow.analysis.trajectory import TrajectoryData
    from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

__all__ = ["RunOptions", "analyze_run", "parse_runspec", "register"]

METHODS = ("ionflow", "pymatgen")
DRIFTS = ("framework", "all", "none")


def parse_runspec(spec: str) -> tuple[float, list[Path]]:
    """Split ``T:FILE[,FILE...]`` into a temperature (K) and the files of one run.

    Parameters
    ----------
    spec
        The run specification.

    Returns
    -------
    tuple
        Temperature (K) and file paths.
    """
    head, sep, tail = spec.partition(":")
    if not sep or not tail.strip():
        raise InputError(f"run {spec!r}: expected TEMPERATURE:FILE[,FILE...], e.g. 900:vasprun.xml")
    try:
        temp = float(head.strip().removesuffix("K").removesuffix("k"))
    except ValueError:
        raise InputError(f"run {spec!r}: {head!r} is not a temperature in K") from None
    if not (math.isfinite(temp) and temp > 0):
        raise InputError(f"run {spec!r}: temperature must be > 0 K")
    files = [Path(p.strip()) for p in tail.split(",") if p.strip()]
    return temp, files


def _load(
    files: list[Path],
    time_step_fs: float | None,
    step_skip: int | None,
    cell: Path | None,
    stride: int,
) -> TrajectoryData:
    from ionflow.io.trajectories import read_run

    return read_run(files, time_step_fs, step_skip, cell, stride=stride)


@dataclass(frozen=True)
class RunOptions:
    """The options ``analyze diffusion`` and ``analyze arrhenius`` share (one place).

    Each field is one command-line option (:data:`_RUN_OPTIONS`); :func:`_with_run_options`
    adds them to a command and hands the command one ``opts``.

    Parameters
    ----------
    specie
        Mobile element.
    time_step
        MD time step (fs), DiffusionAnalyzer's ``time_step``; None: from the files.
    step_skip
        MD steps between stored frames, DiffusionAnalyzer's ``step_skip``; None: from
        the files (NBLOCK from an INCAR or vasprun.xml beside an XDATCAR).
    stride
        Analyse every N-th stored frame.
    method
        ``ionflow`` or ``pymatgen``.
    as_json, plot
        Print the result as JSON; write PNG plots into this folder.
    min_time, max_time
        Fit window in ps (ionflow method only); None chooses automatically.
    drift
        Drift removal (ionflow method only).
    cell
        CP2K cell/input file.
    """

    specie: str = "Li"
    time_step: float | None = None
    step_skip: int | None = None
    stride: int = 1
    method: str = "ionflow"
    as_json: bool = False
    plot: Path | None = None
    min_time: float | None = None
    max_time: float | None = None
    drift: str = "framework"
    cell: Path | None = None


def analyze_run(
    files: list[Path],
    temperature_K: float | None,
    opts: RunOptions = RunOptions(),
    haven_ratio: float | None = None,
) -> tuple[DiffusionResult, TrajectoryData]:
    """Read one run (one or more consecutive files) and analyse it.

    Parameters
    ----------
    files
        Consecutive segments of one run.
    temperature_K
        MD temperature (K); None takes it from the files.
    opts
        Specie, frame timing, method, fit window, drift and cell of the analysis.
    haven_ratio
        Divide the Nernst–Einstein conductivity by this (ionflow method only).

    Returns
    -------
    tuple
        The result and the trajectory it came from.
    """
    from ionflow.analysis.diffusion import TEMPERATURE_MISMATCH, analyze_diffusion

    specie, method, stride = opts.specie, opts.method, opts.stride
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if opts.drift not in DRIFTS:
        raise InputError(f"--drift must be one of {', '.join(DRIFTS)}, got {opts.drift!r}")
    traj = _load(files, opts.time_step, opts.step_skip, opts.cell, stride)
    if temperature_K is None:
        if traj.temperature_K is None:
            raise InputError(
                f"{traj.source}: the file does not state the temperature; pass --temperature"
            )
        temperature_K = traj.temperature_K
    if method == "pymatgen":
        from ionflow.analysis.pmg_compat import analyze_diffusion_pymatgen

        if traj.temperature_K is not None and (
            abs(traj.temperature_K - temperature_K) > TEMPERATURE_MISMATCH * temperature_K
        ):
            raise InputError(
                f"{traj.source}: the file says {traj.temperature_K:g} K but {temperature_K:g} K "
                "was given; pass the temperature the run was made at"
            )
        result = analyze_diffusion_pymatgen(traj, specie, temperature_K)
        return result.model_copy(update={"stride": stride}), traj
    result = analyze_diffusion(
        traj,
        specie,
        temperature_K,
        opts.min_time,
        opts.drift,  # type: ignore[arg-type]
        max_time_ps=opts.max_time,
        haven_ratio=haven_ratio,
    )
    return result.model_copy(update={"stride": stride}), traj


def _print_diffusion(r: DiffusionResult) -> None:
    from ionflow.report.transport import diffusion_text, haven_text

    d_txt, s_txt = diffusion_text(r)
    timing = f"{r.n_frames} frames × {r.time_step_fs:g} fs"
    if r.md_time_step_fs is not None and r.md_step_skip is not None:
        timing += f" (MD step {r.md_time_step_fs:g} fs × {r.md_step_skip} steps"
        timing += f", stride {r.stride})" if r.stride > 1 else ")"
    typer.echo(f"{r.source}")
    typer.echo(
        f"  {r.specie} at {r.temperature_K:g} K: {timing} ({r.duration_ps:.3g} ps), "
        f"{r.n_mobile} mobile of {r.n_atoms} atoms, method {r.method}"
    )
    typer.echo(f"  D = {d_txt}   (fit {r.fit_start_ps:.3g}–{r.fit_end_ps:.3g} ps)")
    typer.echo(f"  σ = {s_txt} (Nernst–Einstein)")
    typer.echo(
        f"  diffusing: {'yes' if r.diffusing else 'no'}; dimensionality {r.dimensionality}; "
        f"effective hops {r.n_effective_hops:.1f}; Haven ratio {haven_text(r)}"
    )
    if r.fit_window_rule:
        typer.echo(f"  fit window rule: {r.fit_window_rule}")
    for w in r.warnings:
        typer.echo(f"  warning: {w}")


def _print_arrhenius(fit: ArrheniusResult) -> None:
    for r in fit.results:
        _print_diffusion(r)
    t = fit.target_temperature_K
    if fit.not_determined:
        typer.echo(f"Arrhenius: Ea not determined: {fit.not_determined}")
    elif fit.activation_energy_eV is None:
        typer.echo("Arrhenius: no fit")
    else:
        std = fit.activation_energy_std_eV
        typer.echo(
            f"Arrhenius ({len(fit.fitted_temperatures_K)} temperatures): Ea = "
            f"{fit.activation_energy_eV:.3f}"
            + (f" ± {std:.3f}" if std is not None else "")
            + f" eV, D0 = {fit.prefactor_cm2_s or float('nan'):.3e} cm²/s"
        )
        if fit.conductivity_at_target_mS_cm is not None:
            ci = fit.conductivity_at_target_ci_mS_cm
            ci_txt = f" ({fit.confidence_level:.0%} CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else ""
            typer.echo(
                f"  D({t:g} K) = {fit.diffusivity_at_target_cm2_s:.3e} cm²/s, σ({t:g} K) = "
                f"{fit.conductivity_at_target_mS_cm:.3g} mS/cm{ci_txt}"
            )
    for w in fit.warnings:
        typer.echo(f"  warning: {w}")


#: (name, type, typer option) of each :class:`RunOptions` field, in --help order.
_RUN_OPTIONS = (
    ("specie", str, typer.Option("Li", "--specie", "-s", help="Mobile element.")),
    (
        "time_step",
        float | None,
        typer.Option(
            None,
            "--time-step",
            help="MD time step in fs (VASP POTIM), as DiffusionAnalyzer's time_step (default: "
            "from the file, or an INCAR/vasprun.xml beside an XDATCAR).",
        ),
    ),
    (
        "step_skip",
        int | None,
        typer.Option(
            None,
            "--step-skip",
            help="MD steps between stored frames (VASP NBLOCK), as DiffusionAnalyzer's "
            "step_skip (default: from the file, or an INCAR/vasprun.xml beside an XDATCAR).",
        ),
    ),
    ("stride", int, typer.Option(1, "--stride", help="Analyse every N-th stored frame.")),
    (
        "method",
        str,
        typer.Option(
            "ionflow",
            "--method",
            help="ionflow (per-ion σ) or pymatgen (DiffusionAnalyzer numbers).",
        ),
    ),
    ("as_json", bool, typer.Option(False, "--json", help="Print the result document as JSON.")),
    ("plot", Path | None, typer.Option(None, "--plot", help="Write PNG plots into this folder.")),
    (
        "min_time",
        float | None,
        typer.Option(None, "--min-time", help="Start of the MSD fit window (ps)."),
    ),
    (
        "max_time",
        float | None,
        typer.Option(None, "--max-time", help="End of the MSD fit window (ps)."),
    ),
    (
        "drift",
        str,
        typer.Option("framework", "--drift", help="Drift removed: framework, all, none."),
    ),
    (
        "cell",
        Path | None,
        typer.Option(None, "--cell", help="CP2K .cell or .inp file with the cell."),
    ),
)


def _with_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a typer command the :class:`RunOptions` options; it receives them as ``opts``."""
    signature = inspect.signature(command)
    own = [p for name, p in signature.parameters.items() if name != "opts"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, kind, option in _RUN_OPTIONS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        opts = RunOptions(**{name: kwargs.pop(name) for name, _, _ in _RUN_OPTIONS})
        command(opts=opts, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + shared)  # type: ignore[attr-defined]
    annotations = {k: v for k, v in command.__annotations__.items() if k != "opts"}
    wrapper.__annotations__ = annotations | {name: kind for name, kind, _ in _RUN_OPTIONS}
    return wrapper


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow analyze diffusion`` and ``ionflow analyze arrhenius``."""

    @analyze.command("diffusion")
    @_with_run_options
    def diffusion(
        opts: RunOptions,
        files: list[Path] = typer.Argument(..., help="Consecutive trajectory files of ONE run."),
        temperature: float | None = typer.Option(
            None, "--temperature", "-T", help="MD temperature in K (default: from the file)."
        ),
        density: Path | None = typer.Option(
            None, "--density", help="Write the mobile-ion density as a CHGCAR-style file."
        ),
        haven: float | None = typer.Option(
            None, "--haven-ratio", help="Divide the Nernst–Einstein conductivity by this."
        ),
    ) -> None:
        """Diffusivity, conductivity, Haven ratio and dimensionality from one MD run."""
        result, traj = analyze_run(files, temperature, opts, haven_ratio=haven)
        if opts.plot is not None:
            from ionflow.report.plots_transport import plot_msd

            plot_msd([result], Path(opts.plot) / f"msd_{result.temperature_K:g}K.png")
        if density is not None:
            from ionflow.analysis.density import density_chgcar

            density.parent.mkdir(parents=True, exist_ok=True)
            density_chgcar(traj, opts.specie).write_file(str(density))
        if opts.as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            _print_diffusion(result)

    @analyze.command("arrhenius")
    @_with_run_options
    def arrhenius(
        opts: RunOptions,
        runs: list[str] = typer.Argument(
            ..., help="Runs as TEMPERATURE:FILE[,FILE...] (files of one run comma-separated)."
        ),
        target_temperature: float = typer.Option(
            300.0, "--target-temperature", help="Extrapolation temperature (K)."
        ),
    ) -> None:
        """Arrhenius fit over several temperatures and the extrapolated conductivity."""
        results = []
        for spec in runs:
            temp, files = parse_runspec(spec)
            results.append(analyze_run(files, temp, opts)[0])
        if opts.method == "pymatgen":
            from ionflow.analysis.pmg_compat import fit_arrhenius_pymatgen

            fit = fit_arrhenius_pymatgen(results, target_temperature)
        else:
            from ionflow.analysis.arrhenius import fit_arrhenius

            fit = fit_arrhenius(results, target_temperature_K=target_temperature)
        if opts.plot is not None:
            from ionflow.report.plots_transport import plot_arrhenius, plot_msd

            plot_msd(results, Path(opts.plot) / "msd.png")
            plot_arrhenius(fit, results, Path(opts.plot) / "arrhenius.png")
        if opts.as_json:
            typer.echo(fit.model_dump_json(indent=2))
        else:
            _print_arrhenius(fit)
