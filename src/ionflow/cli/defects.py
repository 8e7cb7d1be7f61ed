"""``ionflow defects generate``, ``ionflow defects li-series``, ``ionflow defects energies``.

``generate STRUCTURE --defect SPEC ...`` writes one POSCAR (or CIF) per configuration and
an ``index.json``; it never overwrites an existing file unless ``--force`` is given.
SPEC is either ``TYPE:SPECIES[@SEPARATION]`` (``schottky:Li,Cl@nearest``,
``vacancy:La``, ``cluster:Li_i,O_Cl@all``, ``frenkel:Li@2.9``) or a YAML mapping with any
key of a study's ``defects`` entries (``{type: vacancy, species: [La], compensation: Li_i}``).

``energies STUDY.yaml`` runs the formation-energy flow of a study (or, if a finished one
is in the store and ``--rerun`` is not given, reads it back) and prints a table.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.cli.common import (
    WORK_DIR_OPTION,
    command_group,
    echo,
    exit_if_failed,
    progress,
    run_section,
    settings_for,
)
from ionflow.errors import ConfigError, InputError
from ionflow.report.compare import defect_key
from ionflow.report.plots_defects import plot_formation_energy_diagram
from ionflow.report.published import published_for
from ionflow.safe_yaml import load_yaml_text

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.run.local import StudyRun
    from ionflow.schemas.defects import DefectStudyDoc

__all__ = ["INDEX_KEYS", "parse_defect_option", "register", "write_configs"]

#: Keys first in every ``index.json`` record (the rest of the provenance follows).
INDEX_KEYS = (
    "label",
    "kroger_vink",
    "composition",
    "n_atoms",
    "charge",
    "separation_A",
    "min_image_distance_A",
)
_SEPARATIONS = ("nearest", "farthest", "all")


def parse_defect_option(text: str) -> dict[str, Any]:
    """Turn a ``--defect`` value into a spec dict (see the module docstring)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = load_yaml_text(text, f"--defect {text!r}")
        except ConfigError as exc:
            raise InputError(str(exc)) from None
        if not isinstance(spec, dict):
            raise InputError(f"--defect {text!r}: expected a mapping")
        return spec
    body, _, sep = text.partition("@")
    kind, colon, species = body.partition(":")
    if not colon or not species:
        raise InputError(
            f"--defect {text!r}: write TYPE:SPECIES[@SEPARATION], e.g. schottky:Li,Cl@nearest"
        )
    items = [s.strip() for s in species.split(",") if s.strip()]
    spec: dict[str, Any] = {"type": kind.strip()}
    spec["defects" if kind.strip() in ("cluster", "pair") else "species"] = items
    if sep:
        sep = sep.strip()
        if sep not in _SEPARATIONS:
            try:
                sep = float(sep)
            except ValueError:
                raise InputError(
                    f"--defect {text!r}: separation must be nearest, farthest, all or Å"
                ) from None
        spec["separation"] = sep
    return spec


def read_structure(text: str) -> Structure:
    """Read ``builtin:NAME`` or a structure file pymatgen understands."""
    from ionflow.io.structures import read_structure as read_structure_file

    if text.startswith("builtin:"):
        from ionflow.structures.prototypes import build_prototype

        return build_prototype(text.removeprefix("builtin:"))
    path = Path(text)
    if not path.is_file():
        raise InputError(f"structure file {path} does not exist (or use builtin:Li3OCl)")
    return read_structure_file(path)


def write_configs(
    configs: list[Any], out: Path, fmt: str = "poscar", force: bool = False
) -> list[dict[str, Any]]:
    """Write one structure file per configuration and ``index.json``; return the index.

    Nothing is written if any target file exists and ``force`` is False.
    """
    suffix = {"poscar": ".vasp", "cif": ".cif"}.get(fmt)
    if suffix is None:
        raise InputError(f"--format {fmt!r}: choose poscar or cif")
    targets = [out / f"{c.label}{suffix}" for c in configs] + [out / "index.json"]
    _check_targets(targets, force)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for config, path in zip(configs, targets, strict=False):
        config.structure.to(filename=str(path), fmt=fmt)
        record = config.index_entry()
        index.append({k: record[k] for k in INDEX_KEYS} | record | {"file": path.name})
    (out / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
    return index


def _check_targets(targets: list[Path], force: bool) -> None:
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise InputError(
            f"{existing[0]} exists ({len(existing)} file(s) would be overwritten); use --force "
            "or another --out folder"
        )


def _parse_matrix(matrix: str | None) -> Any:
    if not matrix:
        return None
    try:
        mat = [int(x) for x in matrix.replace(",", " ").split()]
    except ValueError:
        raise InputError(f"--matrix {matrix!r}: give 3 or 9 integers") from None
    if len(mat) == 9:
        return [mat[0:3], mat[3:6], mat[6:9]]
    if len(mat) != 3:
        raise InputError(f"--matrix {matrix!r}: give 3 or 9 integers")
    return mat


def _table(doc: DefectStudyDoc) -> list[str]:
    mus = doc.chemical_potentials
    lines = [
        f"{doc.host_formula}: {len(doc.defects)} defect cells, host {doc.n_atoms_host} atoms, "
        f"engine {doc.engine.get('engine', '?')} {doc.engine.get('model', '')}".rstrip(),
        f"  mu ({mus.condition}, vertex {mus.vertex}): "
        + ", ".join(f"{el} {v:+.3f}" for el, v in mus.mu_relative_eV.items())
        + " eV vs elements",
        f"  {'label':<22} {'Kroger-Vink':<22} {'d_A':>6} {'d_rel_A':>7} {'E_f_eV':>8} "
        f"{'E_b_eV':>8} {'E_bfar_eV':>9} {'E_coul_eV':>9}",
    ]

    def fmt(value: float | None, spec: str, undetermined: bool = False) -> str:
        if undetermined:
            return "n.d."
        return "-" if value is None else format(value, spec)

    for d in doc.defects:
        b = d.binding
        lines.append(
            f"  {d.label:<22} {d.kroger_vink:<22} {fmt(d.separation_A, '6.2f'):>6} "
            f"{fmt(d.relaxed_separation_A, '7.2f'):>7} "
            f"{fmt(d.formation_energy_eV, '8.3f', not d.formation_energy_determined):>8} "
            f"{fmt(b and b.binding_energy_eV, '8.3f', b is not None and not b.determined):>8} "
            f"{fmt(b and b.binding_vs_farthest_eV, '9.3f'):>9} "
            f"{fmt(b and b.coulomb_energy_eV, '9.3f'):>9}"
            + {"part": "  (isolated part)", "reference": "  (farthest placement)"}.get(d.role, "")
        )
        if not d.formation_energy_determined:
            lines.append(f"    E_f not determined: {d.formation_energy_reason}")
        if b is not None and not b.determined:
            lines.append(
                f"    E_b not determined: {b.reason} (raw {b.raw_binding_energy_eV:+.3f} eV)"
            )
        if d.charge:
            parts = ""
            if d.correction_method == "freysoldt":
                parts = (
                    f": electrostatic {d.correction_electrostatic_eV:+.3f}, alignment "
                    f"{d.correction_alignment_eV:+.3f}"
                )
            elif d.correction_method == "kumagai":
                parts = (
                    f": point_charge {d.correction_point_charge_eV:+.3f}, alignment "
                    f"{d.correction_alignment_eV:+.3f}"
                )
            lines.append(
                f"    q {d.charge:+d}: {d.correction_method} correction "
                f"{d.correction_eV:+.3f} eV{parts}"
            )
    lines.append(
        "  E_b: vs isolated parts; E_bfar: vs the farthest placement of the same cluster in "
        "the cell; E_coul: screened point charges at the relaxed separation; n.d.: not "
        "determined (reason below the row)"
    )
    if doc.vbm_eV is not None:
        source = f" ({doc.vbm_source})" if doc.vbm_source else ""
        fermi = next((d.fermi_level_eV for d in doc.defects if d.charge), 0.0)
        lines.append(f"  charged cells: VBM {doc.vbm_eV:.3f} eV{source}, E_F - VBM {fermi:.3f} eV")
    lines += _thermo_lines(doc)
    if doc.missing:
        lines.append(f"  missing (failed): {', '.join(doc.missing)}")
    lines += [f"  warning: {w}" for w in doc.warnings]
    return lines


def _thermo_lines(doc: DefectStudyDoc) -> list[str]:
    """Return lines: formation energy at the VBM per chemical-potential limit, levels."""
    th = doc.thermodynamics
    if th is None:
        return []
    limits = list(th.chempot_limits)
    lines = [
        f"  formation energy at E_F = VBM per chemical-potential limit (eV; {th.corrections}):",
        f"    {'defect':<18} {'q':>3} " + " ".join(f"{lim[:16]:>16}" for lim in limits),
    ]
    reasons: dict[str, str] = {}
    for r in th.defects:
        values = " ".join(
            f"{'not determined':>16}" if v is None else f"{v:16.3f}"
            for v in (r.formation_energy_at_vbm_eV.get(lim) for lim in limits)
        )
        lines.append(f"    {r.name:<18} {r.charge:>+3d} {values}")
        for lim, why in r.not_determined.items():
            reasons.setdefault(f"{r.name} at {lim}", why)
    lines += [f"    {where}: not determined: {why}" for where, why in reasons.items()]
    for t in th.transition_levels:
        lines.append(
            f"    transition level {t.name} ({t.charges[0]:+d}/{t.charges[1]:+d}): "
            f"E_F = {t.fermi_level_eV:.3f} eV above the VBM"
        )
    return lines


def published_lines(doc: DefectStudyDoc, design: str) -> list[str]:
    """Return computed formation and binding energies beside a design's published ones.

    Each published value is matched with the lowest-energy requested configuration of the
    same point defects (:func:`ionflow.report.compare.defect_key`).
    """
    published = [
        p
        for p in published_for(design)
        if p.system == "defects" and p.quantity in ("formation_energy_eV", "binding_energy_eV")
    ]
    if not published:
        raise InputError(f"no published defect energies for design {design!r}")
    rows = [d for d in doc.defects if d.role == "requested"]
    lines = [
        f"  published ({design}) vs computed, eV:",
        f"    {'defects':<12} {'quantity':<18} {'published':>9} {'computed':>9} {'diff':>7}"
        "  config",
    ]
    for p in published:
        match = [d for d in rows if defect_key(d.label) == defect_key(p.selector or "")]
        best = min(match, key=lambda d: d.raw_formation_energy_eV) if match else None
        value, why = None, None
        if best is not None and p.quantity == "formation_energy_eV":
            value, why = best.formation_energy_eV, best.formation_energy_reason
        elif best is not None and best.binding is not None:
            value, why = best.binding.binding_energy_eV, best.binding.reason
            if why:
                why += f" (raw {best.binding.raw_binding_energy_eV:+.3f} eV)"
        quantity = p.quantity.removesuffix("_eV").replace("_", " ")
        if why:
            text = f"not determined: {why}"
        elif value is None:
            text = "not computed"
        else:
            text = f"{value:9.3f} {value - p.value:+7.3f}  {best.label}"
        lines.append(f"    {p.selector:<12} {quantity:<18} {p.value:9.3f} {text}")
    return lines


def _stored_doc(store: Any, study: str) -> DefectStudyDoc | None:
    from ionflow.schemas.defects import DefectStudyDoc

    docs = list(
        store.query(
            {"metadata.ionflow.study": study, "name": {"$regex": "^defect formation energies"}},
            properties=["output", "completed_at"],
            sort={"completed_at": -1},
            limit=1,
        )
    )
    if not docs or not isinstance(docs[0].get("output"), dict):
        return None
    output = {k: v for k, v in docs[0]["output"].items() if not k.startswith("@")}
    return DefectStudyDoc.model_validate(output)


def run_energies(
    study: Path, work_dir: Path | None, rerun: bool
) -> tuple[DefectStudyDoc, StudyRun | None]:
    """Run (or read back) the ``defects`` section of a study: ``run --only defects``.

    Returns the document and the finished run (None when read back from the store); a run
    whose formation-energy job did not come out at all exits 1 here with its first error.
    """
    from ionflow.config.study_file import load_study
    from ionflow.errors import ConfigError
    from ionflow.run.local import check_work_dir
    from ionflow.schemas.defects import DefectStudyDoc
    from ionflow.stores import open_job_store

    settings = settings_for(work_dir)
    loaded = load_study(study)
    with_defects = [s for s in loaded.systems if "defects" in s.sections]
    if len(with_defects) != 1:
        raise ConfigError(
            f"{study}: `defects energies` needs exactly one system with 'defects' and "
            f"'formation' sections (found {len(with_defects)}); use `ionflow run --only defects`"
        )
    name = with_defects[0].study.name
    check_work_dir(settings.work_dir)
    if not rerun:
        store = open_job_store(settings)
        try:
            stored = _stored_doc(store, name)
        finally:
            store.close()
        if stored is not None:
            progress(f"read stored result of study {name} (use --rerun to compute again)")
            return stored, None
    missing = f"the formation-energy job of {name} did not run"
    return run_section(loaded, settings, "defects", DefectStudyDoc, missing)


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow defects generate``, ``li-series`` and ``energies``."""
    defects = command_group(app, "defects", "Defect supercells and formation energies.")

    @defects.command("generate")
    def generate(
        structure: str = typer.Argument(..., help="Host structure file, or builtin:Li3OCl."),
        defect: list[str] = typer.Option(
            ..., "--defect", "-d", help="TYPE:SPECIES[@SEP] or a YAML mapping; repeatable."
        ),
        min_distance: float | None = typer.Option(
            None, "--supercell-min-distance", help="Minimum periodic-image distance (Å)."
        ),
        max_atoms: int = typer.Option(200, "--max-atoms", help="Supercell atom budget."),
        matrix: str | None = typer.Option(
            None, "--matrix", help="Explicit supercell, e.g. '2 2 2' (skips the search)."
        ),
        out: Path = typer.Option(Path("defects"), "--out", "-o", help="Output folder."),
        fmt: str = typer.Option("poscar", "--format", help="poscar or cif."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
        as_json: bool = typer.Option(False, "--json", help="Print the index as JSON."),
    ) -> None:
        """Write labelled defect supercells of STRUCTURE and a JSON index."""
        from ionflow.structures.defects import generate_defects
        from ionflow.structures.supercell import choose_supercell

        host = read_structure(structure)
        choice = choose_supercell(host, min_distance, max_atoms, _parse_matrix(matrix))
        configs = []
        for text in defect:
            configs.extend(generate_defects(choice, parse_defect_option(text)))
        index = write_configs(configs, out, fmt, force)
        if as_json:
            typer.echo(json.dumps(index, indent=2, ensure_ascii=False))
            return
        echo(
            f"supercell {choice.matrix} of {host.composition.reduced_formula}: "
            f"{choice.n_atoms} atoms, minimum image distance {choice.min_image_distance_A:.2f} Å"
        )
        for rec in index:
            sep = "-" if rec["separation_A"] is None else f"{rec['separation_A']:.2f} Å"
            echo(
                f"  {rec['file']:<28} {rec['kroger_vink']:<24} {rec['composition']:<14} "
                f"{rec['n_atoms']:>4} atoms  q={rec['charge']:+d}  d={sep}"
            )
        echo(f"wrote {len(index)} structures and index.json to {out}")

    @defects.command("li-series")
    def li_series(
        structure: str = typer.Argument(..., help="Host structure file, or builtin:NAME."),
        counts: str = typer.Option(..., "--counts", help="Li counts in the supercell: 4,6,8."),
        compensation: str = typer.Option("electronic", help="electronic or counter."),
        redox: str | None = typer.Option(None, "--redox", help="Redox species (electronic)."),
        counter: str | None = typer.Option(None, "--counter", help="Counter-cation (counter)."),
        matrix: str | None = typer.Option(None, "--matrix", help="Supercell, e.g. '2 2 2'."),
        keep: int = typer.Option(3, "--keep", help="Orderings kept per Li count."),
        starts: int = typer.Option(50, "--starts", help="Random starts per Li count."),
        seed: int = typer.Option(0, "--seed", help="Random seed."),
        out: Path = typer.Option(Path("li_series"), "--out", "-o", help="Output folder."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
        as_json: bool = typer.Option(False, "--json", help="Print the index as JSON."),
    ) -> None:
        """Write low-Ewald-energy Li orderings for each Li count and a JSON index."""
        from ionflow.structures.li_content import li_content_series

        try:
            li_counts = [int(x) for x in counts.replace(",", " ").split()]
        except ValueError:
            raise InputError(f"--counts {counts!r}: give integers, e.g. 4,6,8") from None
        host = read_structure(structure)
        mat = _parse_matrix(matrix)
        if mat is not None:
            host = host.make_supercell(mat, in_place=False)
        series = li_content_series(
            host,
            li_counts,
            compensation=compensation,
            redox_species=redox,
            counter_species=counter,
            n_starts=starts,
            n_keep=keep,
            seed=seed,
        )
        targets = [out / f"{c.label}.vasp" for c in series] + [out / "index.json"]
        _check_targets(targets, force)
        out.mkdir(parents=True, exist_ok=True)
        index = []
        for config, path in zip(series, targets, strict=False):
            config.structure.to(filename=str(path), fmt="poscar")
            index.append(
                config.model_dump(mode="json", exclude={"structure"}) | {"file": path.name}
            )
        (out / "index.json").write_text(json.dumps(index, indent=2))
        if as_json:
            typer.echo(json.dumps(index, indent=2))
            return
        for rec in index:
            echo(
                f"  {rec['file']:<16} {rec['composition']:<18} x={rec['x']:.3f}  "
                f"E_ewald={rec['ewald_energy_eV']:.3f} eV (+{rec['ewald_above_min_eV']:.3f})"
            )
        echo(f"wrote {len(index)} structures and index.json to {out}")

    @defects.command("energies")
    def energies(
        study: Path = typer.Argument(..., help="Study YAML with defects and formation sections."),
        work_dir: Path | None = WORK_DIR_OPTION,
        rerun: bool = typer.Option(False, "--rerun", help="Compute even if a result is stored."),
        as_json: bool = typer.Option(False, "--json", help="Print the document as JSON."),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write the formation-energy diagram PNG (needs the gap)."
        ),
        compare_published: str | None = typer.Option(
            None,
            "--compare-published",
            help="Design key (e.g. li3ocl): print the published Table 1 energies beside.",
        ),
    ) -> None:
        """Compute formation and binding energies of a study's defects (runs the flow locally)."""
        # engines print banners while they run (CHGNet: "CHGNet v0.3.0 initialized ..."):
        # to stderr, so stdout holds the results only (--json: one document)
        with contextlib.redirect_stdout(sys.stderr):
            doc, finished = run_energies(study, work_dir, rerun)
        if plot is not None:
            th = doc.thermodynamics
            if th is None:
                raise InputError("no formation-energy diagram in this result (see its warnings)")
            plot_formation_energy_diagram(th.envelopes, th.band_gap_eV or 0.0, plot)
        if as_json:
            data = doc.model_dump(
                mode="json", exclude={"defects": {"__all__": {"relaxed_structure"}}}
            )
            typer.echo(json.dumps(data, indent=2))
        else:
            lines = _table(doc)
            if compare_published:
                lines += published_lines(doc, compare_published)
            for line in lines:
                echo(line)
        if finished is not None:
            exit_if_failed(finished)
