"""``ionflow analyze neb DIR [--json]``: barriers of an existing VASP NEB or CP2K BAND run.

The ``--json`` output is a fixed interface: ``barrier_forward_eV``, ``barrier_backward_eV``
(null when the band is unconverged), ``energies_eV`` (relative to the first image),
``n_images`` (intermediate images), ``climbing_image``, plus ``converged``,
``max_force_eV_A``, ``fmax_eV_A``, ``reaction_coordinate_A``, ``source``, ``label`` and
``message``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["analyze_neb_dir", "register"]


def analyze_neb_dir(
    folder: Path,
    endpoints: tuple[Path, Path] | None = None,
    fmax_eV_A: float | None = None,
):
    """Read and analyse a NEB folder.

    Parameters
    ----------
    folder
        VASP NEB root (00 … NN) or CP2K BAND folder.
    endpoints
        VASP endpoint relaxation folders (their OUTCARs give the endpoint energies).
    fmax_eV_A
        Force criterion to use instead of the one in the inputs (eV/Å).

    Returns
    -------
    NebDoc
        The analysed band.
    """
    from ionflow.analysis.neb import neb_doc_from_raw
    from ionflow.io.neb_folders import read_neb_dir

    raw = read_neb_dir(folder, endpoints)
    if fmax_eV_A is not None:
        raw.fmax_eV_A = fmax_eV_A
        raw.converged = None
    path = Path(folder).resolve()
    label = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return neb_doc_from_raw(raw, label=label)


def _print(doc) -> None:
    typer.echo(f"{doc.label} ({doc.source}, {doc.method}, {doc.n_images} intermediate images)")
    force = f"{doc.max_force_eV_A:.4f}" if doc.max_force_eV_A is not None else "n/a"
    crit = f"{doc.fmax_eV_A:.4f}" if doc.fmax_eV_A is not None else "n/a"
    typer.echo(f"  max force {force} eV/Å (criterion {crit} eV/Å): {doc.message}")
    if doc.converged:
        typer.echo(
            f"  barrier forward {doc.barrier_forward_eV:.4f} eV, "
            f"backward {doc.barrier_backward_eV:.4f} eV, climbing image {doc.climbing_image}"
        )
    typer.echo("  image   r (Å)   E - E0 (eV)")
    for k, (r, e) in enumerate(
        zip(doc.reaction_coordinate_A, doc.relative_energies_eV, strict=True)
    ):
        mark = "  <- climbing image" if k == doc.climbing_image else ""
        typer.echo(f"  {k:5d} {r:7.3f} {e:12.5f}{mark}")


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow analyze neb``."""

    @analyze.command("neb")
    def neb(
        folder: Path = typer.Argument(
            ..., help="VASP NEB folder (00, 01, …, NN with OUTCARs) or CP2K BAND folder."
        ),
        endpoints: tuple[Path, Path] | None = typer.Option(
            None,
            "--endpoints",
            help="VASP: the two endpoint relaxation folders holding the endpoint OUTCARs.",
        ),
        fmax: float | None = typer.Option(
            None, "--fmax", help="Force criterion in eV/Å (default: from the inputs)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the fixed JSON keys."),
        plot: Path | None = typer.Option(None, "--plot", help="Write the energy profile PNG."),
    ) -> None:
        """Barriers, energies and climbing image of a finished NEB run."""
        doc = analyze_neb_dir(folder, endpoints, fmax)
        if plot is not None:
            from ionflow.report.plots_neb import plot_neb_profile

            plot_neb_profile(doc, plot)
        if as_json:
            typer.echo(json.dumps(doc.summary(), indent=2))
        else:
            _print(doc)
