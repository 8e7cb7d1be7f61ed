"""Read results back from the JobStore: studies, their jobs and the key numbers per study.

All functions take a connected JobStore and only read from it. Filters (:class:`Filters`)
select by study, host formula, defect label, engine, temperature range and state; rows are
plain dicts ready for a table, JSON or CSV. Job states come from the store (a stored output
means COMPLETED) and, when the caller passes the launchpad's Firework rows, from FireWorks
(READY, RUNNING, FIZZLED, ... for work that has not stored anything yet).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ionflow.errors import InputError, StoreError
from ionflow.io.run_marker import effective_state, find_run_markers
from ionflow.schemas.study_doc import STUDY_DOC_KINDS, StudyDoc
from ionflow.schemas.transport import judge_arrhenius

if TYPE_CHECKING:
    from jobflow import JobStore

__all__ = [
    "Filters",
    "collect_results",
    "list_jobs",
    "list_studies",
    "load_study_doc",
    "merge_launchpad_jobs",
    "merge_launchpad_studies",
    "merge_run_markers",
]

_STUDY_QUERY = {"output.kind": "transport_study"}
_TEMPERATURE_IN_NAME = re.compile(r"(\d+(?:\.\d+)?)\s*K\b")


def _reduced(formula: str | None) -> str | None:
    """Reduced formula in pymatgen's order (so 'Li3OCl' matches 'Li3ClO'); None if unparsable."""
    if not formula:
        return None
    from pymatgen.core import Composition, Element

    try:
        comp = Composition(formula)
    except (ValueError, KeyError, TypeError):
        return None
    if not comp or not all(isinstance(el, Element) for el in comp.elements):
        return None
    return comp.reduced_formula


@dataclass
class Filters:
    """Row filters shared by ``ionflow query`` sub-commands (None: no filter).

    Parameters
    ----------
    study
        Study name.
    formula
        Host formula (any order of elements: Li3OCl = Li3ClO).
    defect
        Defect label (exact, or a substring such as ``V_Li``).
    engine
        Engine name (mlip, vasp, cp2k).
    t_min_K, t_max_K
        Temperature range (K); a study matches if any of its temperatures is inside.
    state
        State (COMPLETED, READY, RUNNING, FIZZLED, ...), case-insensitive.
    """

    study: str | None = None
    formula: str | None = None
    defect: str | None = None
    engine: str | None = None
    t_min_K: float | None = None
    t_max_K: float | None = None
    state: str | None = None

    def __post_init__(self) -> None:
        for name in ("t_min_K", "t_max_K"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise InputError(f"{name} must be a temperature > 0 K, got {value}")
        if self.t_min_K is not None and self.t_max_K is not None and self.t_min_K > self.t_max_K:
            raise InputError(f"temperature range is empty: {self.t_min_K} K > {self.t_max_K} K")
        if self.formula is not None and _reduced(self.formula) is None:
            raise InputError(f"formula {self.formula!r} is not a chemical formula")

    def store_criteria(self, prefix: str) -> dict[str, Any]:
        """MongoDB criteria for the filters that map to stored fields under ``prefix``."""
        crit: dict[str, Any] = {}
        if self.study:
            crit[f"{prefix}.study"] = self.study
        if self.engine:
            crit[f"{prefix}.engine"] = self.engine
        return crit

    def temperature_ok(self, temps: list[float]) -> bool:
        """Return True if any temperature lies in the range (or no range is set)."""
        if self.t_min_K is None and self.t_max_K is None:
            return True
        lo = self.t_min_K if self.t_min_K is not None else -math.inf
        hi = self.t_max_K if self.t_max_K is not None else math.inf
        return any(lo <= t <= hi for t in temps)

    def matches(self, row: dict[str, Any]) -> bool:
        """Apply every filter to a study or job row."""
        if self.study and row.get("study") != self.study:
            return False
        if self.engine and row.get("engine") not in (None, self.engine):
            return False
        if self.formula and _reduced(row.get("host_formula")) != _reduced(self.formula):
            return False
        if self.defect and not any(self.defect in d for d in row.get("defects") or []):
            return False
        temps = row.get("temperatures_K")
        if temps is None and row.get("temperature_K") is not None:
            temps = [row["temperature_K"]]
        if (self.t_min_K is not None or self.t_max_K is not None) and not temps:
            return False
        if temps and not self.temperature_ok(temps):
            return False
        return not (self.state and str(row.get("state", "")).upper() != self.state.upper())


def _study_row(doc: dict[str, Any]) -> dict[str, Any]:
    out = doc["output"]
    meta = out["meta"]
    # judged as when read into the models: an Ea <= 0 (older documents) is not a result
    fit = judge_arrhenius(out.get("arrhenius") or {})
    hop_fit = judge_arrhenius(out.get("hop_arrhenius") or {})
    source = "tracer D"
    if fit.get("activation_energy_eV") is None and hop_fit.get("activation_energy_eV") is not None:
        fit, source = hop_fit, "hop count"  # the estimate that uses every hop
    return {
        "study": meta["study"],
        "run_id": meta["run_id"],
        "created_at": str(out.get("created_at")),
        "host_formula": meta["host_formula"],
        "cell_formula": out.get("cell_formula"),
        "engine": meta["engine"],
        "defects": meta.get("defect_labels", []),
        "temperatures_K": meta.get("temperatures_K", []),
        "state": _transport_state(out),
        "missing_temperatures_K": out.get("missing_temperatures_K", []),
        "activation_energy_eV": fit.get("activation_energy_eV"),
        "activation_energy_std_eV": fit.get("activation_energy_std_eV"),
        "conductivity_300K_mS_cm": fit.get("conductivity_at_target_mS_cm"),
        "conductivity_300K_ci_mS_cm": fit.get("conductivity_at_target_ci_mS_cm"),
        "arrhenius_source": source if fit.get("activation_energy_eV") is not None else None,
        "arrhenius_not_determined": fit.get("not_determined") or hop_fit.get("not_determined"),
        "diffusion": _diffusion_rows(out),
        "report_dir": out.get("report_dir"),
        "job_uuid": doc.get("uuid"),
    }


def _diffusion_rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    """D per temperature of a stored transport summary, with its hop count if counted."""
    hops = {c.get("temperature_K"): c for c in out.get("hop_counts") or []}
    rows = []
    for r in out.get("diffusion") or []:
        t = r.get("temperature_K")
        count = hops.get(t) or {}
        rows.append(
            {
                "temperature_K": t,
                "diffusivity_cm2_s": r.get("diffusivity_cm2_s"),
                "diffusivity_std_cm2_s": r.get("diffusivity_std_cm2_s"),
                "diffusing": r.get("diffusing"),
                "n_hops": count.get("n_hops"),
                "framework_intact": count.get("framework_intact"),
            }
        )
    return rows


def _transport_state(out: dict[str, Any]) -> str:
    """COMPLETED, PARTIAL (some temperatures failed) or FAILED (none produced a result)."""
    if not out.get("missing_temperatures_K"):
        return "COMPLETED"
    return "PARTIAL" if out.get("diffusion") else "FAILED"


def _unstored_row(
    source: dict[str, Any], created_at: Any, defects: list[str] | None, state: str
) -> dict[str, Any]:
    """Return the study row of a run that stored no summary (workflow, local state file)."""
    return {
        "study": source.get("study"),
        "run_id": source.get("run_id"),
        "created_at": created_at,
        "host_formula": source.get("host_formula"),
        "cell_formula": source.get("cell_formula"),
        "engine": source.get("engine"),
        "defects": defects or [],
        "temperatures_K": source.get("temperatures_K") or [],
        "state": state,
        "missing_temperatures_K": [],
        "activation_energy_eV": None,
        "activation_energy_std_eV": None,
        "conductivity_300K_mS_cm": None,
        "conductivity_300K_ci_mS_cm": None,
        "arrhenius_source": None,
        "arrhenius_not_determined": None,
        "diffusion": [],
        "report_dir": None,
        "job_uuid": None,
    }


def merge_run_markers(
    rows: list[dict[str, Any]], runs_dir: Any, filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Add local runs that stored no summary (killed, running, failed) and failed-job states.

    Parameters
    ----------
    rows
        Rows from :func:`list_studies` (unfiltered by state).
    runs_dir
        The work directory's ``runs`` folder (each local run leaves a ``run.json`` there).
    filters
        The same filters as the stored rows.

    Returns
    -------
    list of dict
        Stored rows (state PARTIAL/FAILED when the run recorded failed jobs) and one row per
        run without a stored summary (RUNNING, INTERRUPTED or FAILED), each with the
        ``resume_command`` that finishes it; newest first.
    """
    filters = filters or Filters()
    by_run = {(r["study"], r["run_id"]): r for r in rows}
    extra = []
    for marker in find_run_markers(runs_dir):
        state = effective_state(marker)
        failures = marker.get("failures") or []
        # a multi-system study stores one transport summary per system (<study>-<key>)
        stored = [
            r
            for (study, run_id), r in by_run.items()
            if run_id == marker.get("run_id")
            and (study == marker.get("study") or study.startswith(f"{marker.get('study')}-"))
        ]
        if stored:
            for row in stored:
                if state in ("PARTIAL", "FAILED") and row["state"] == "COMPLETED":
                    row["state"] = "PARTIAL"
                if state != "COMPLETED":
                    row["failed_jobs"] = failures
                    row["resume_command"] = marker.get("resume_command")
            continue
        row = _unstored_row(
            marker, created_at=marker.get("started_at"), defects=marker.get("defects"), state=state
        )
        row |= {
            "failed_jobs": failures,
            "log_file": marker.get("log_file"),
            "resume_command": marker.get("resume_command"),
        }
        extra.append(row)
    # filters (the state above all) apply after the run states are known
    merged = [r for r in rows + extra if filters.matches(r)]
    return sorted(merged, key=lambda r: str(r["run_id"]), reverse=True)


def list_studies(
    store: JobStore, study: str | None = None, filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Return one summary row per stored study run, newest first.

    Parameters
    ----------
    store
        A connected JobStore.
    study
        Only runs of this study name.
    filters
        Further filters (formula, defect, engine, temperature range, state).

    Returns
    -------
    list of dict
        Rows with study, run id, formula, engine, defects, temperatures, Ea and sigma(300 K).
    """
    filters = filters or Filters()
    criteria = dict(_STUDY_QUERY)
    if study:
        criteria["output.meta.study"] = study
    criteria |= filters.store_criteria("output.meta")
    rows = [_study_row(d) for d in store.query(criteria, properties=["output", "uuid"])]
    rows = [r for r in rows if filters.matches(r)]
    return sorted(rows, key=lambda r: r["run_id"], reverse=True)


def load_study_doc(store: JobStore, study: str, run_id: str | None = None) -> StudyDoc:
    """Return the result document of a study run (the newest when ``run_id`` is None).

    The one loader of study documents: it reads every released version (a version-2
    :class:`~ionflow.schemas.study_doc.StudyDoc`, a version-1 design summary, a version-1
    transport summary) and returns the current schema. ``study`` may also name one system
    of a study with several (``li3ocl-vacancy``): its transport summary, as a study.

    Raises
    ------
    StoreError
        No document of that study (or run) is stored; the message lists the known ones.
    """
    criteria: dict[str, Any] = {
        "output.kind": {"$in": list(STUDY_DOC_KINDS)},
        "output.meta.study": study,
    }
    if run_id:
        criteria["output.meta.run_id"] = run_id
    docs = list(store.query(criteria, properties=["output"]))
    if not docs:
        known = sorted(
            {
                d["output"]["meta"]["study"]
                for d in store.query(
                    {"output.kind": {"$in": list(STUDY_DOC_KINDS)}},
                    properties=["output.meta.study"],
                )
            }
        )
        hint = f"; stored studies: {', '.join(known)}" if known else "; the store holds no studies"
        which = f"run {run_id} of study {study!r}" if run_id else f"study {study!r}"
        raise StoreError(f"no results for {which}{hint} (run it with `ionflow run STUDY.yaml`)")

    def rank(doc: dict[str, Any]) -> tuple[str, int]:
        # newest run first; within a run the top document before its transport part
        output = doc["output"]
        return output["meta"]["run_id"], -STUDY_DOC_KINDS.index(output["kind"])

    return StudyDoc.from_stored(max(docs, key=rank)["output"])


def _job_temperature(name: str | None, output: Any) -> float | None:
    if isinstance(output, dict):
        value = output.get("temperature_K")
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    match = _TEMPERATURE_IN_NAME.search(name or "")
    return float(match.group(1)) if match else None


def list_jobs(
    store: JobStore,
    study: str | None = None,
    run_id: str | None = None,
    filters: Filters | None = None,
) -> list[dict]:
    """Return the stored jobs of ionflow studies (name, uuid, run, temperature, completion).

    Parameters
    ----------
    store
        A connected JobStore.
    study, run_id
        Only jobs of this study / run.
    filters
        Further filters.

    Returns
    -------
    list of dict
        One row per stored job output (newest index of each job).
    """
    filters = filters or Filters()
    criteria: dict[str, Any] = {"metadata.ionflow.study": {"$exists": True}}
    if study:
        criteria["metadata.ionflow.study"] = study
    if run_id:
        criteria["metadata.ionflow.run_id"] = run_id
    criteria |= filters.store_criteria("metadata.ionflow")
    props = ["uuid", "index", "name", "completed_at", "metadata", "output.temperature_K"]
    newest: dict[str, dict[str, Any]] = {}
    for d in store.query(criteria, properties=props):
        if d["uuid"] not in newest or d.get("index", 1) > newest[d["uuid"]].get("index", 1):
            newest[d["uuid"]] = d
    rows = [
        _job_row(
            d.get("metadata", {}).get("ionflow", {}),
            d.get("name"),
            d.get("uuid"),
            index=d.get("index", 1),
            temperature_K=_job_temperature(d.get("name"), d.get("output")),
            state="COMPLETED",
            completed_at=str(d.get("completed_at")),
        )
        for d in newest.values()
    ]
    rows = [r for r in rows if filters.matches(r)]
    return sorted(rows, key=lambda r: (r["run_id"] or "", r["completed_at"]))


def _job_row(tag: dict[str, Any], name: str | None, uuid: str | None, **fields: Any) -> dict:
    """Return one job row: the study tag's keys, the job's name and uuid, then ``fields``.

    ``tag`` is the job's ``metadata.ionflow`` or a Firework's study tag (``study``,
    ``run_id``, ``host_formula``, ``engine``, ``defect_labels``).
    """
    row = {
        "study": tag.get("study"),
        "run_id": tag.get("run_id"),
        "job": name,
        "uuid": uuid,
        "index": None,
        "host_formula": tag.get("host_formula"),
        "engine": tag.get("engine"),
        "defects": tag.get("defect_labels", []),
        "temperature_K": None,
        "state": None,
        "fw_id": None,
        "completed_at": None,
    }
    return row | fields


def merge_launchpad_jobs(
    rows: list[dict[str, Any]], fireworks: list[dict[str, Any]], filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Add FireWorks states to job rows and rows for work with no stored output yet.

    Parameters
    ----------
    rows
        Rows from :func:`list_jobs` (unfiltered by state).
    fireworks
        One dict per Firework: ``fw_id``, ``uuid``, ``name``, ``state`` and the study tag
        (``study``, ``run_id``, ``host_formula``, ``engine``, ``defect_labels``).
    filters
        Filters applied to the merged rows.

    Returns
    -------
    list of dict
        Merged rows; the FireWorks state wins except that a stored output is COMPLETED.
    """
    filters = filters or Filters()
    by_uuid = {r["uuid"]: dict(r) for r in rows}
    for fw in fireworks:
        row = by_uuid.get(fw["uuid"])
        if row is None:
            row = _job_row(
                fw,
                fw.get("name"),
                fw["uuid"],
                temperature_K=_job_temperature(fw.get("name"), None),
                state=fw["state"],
            )
            by_uuid[fw["uuid"]] = row
        elif fw["state"] != "COMPLETED":
            row["state"] = f"COMPLETED (Firework {fw['state']})"
        row["fw_id"] = fw["fw_id"]
    merged = [r for r in by_uuid.values() if filters.matches(r)]
    return sorted(merged, key=lambda r: (r["run_id"] or "", r["fw_id"] or 0, r["job"] or ""))


def merge_launchpad_studies(
    rows: list[dict[str, Any]], workflows: list[dict[str, Any]], filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Add study runs that are on the launchpad but have no summary in the store yet.

    Parameters
    ----------
    rows
        Rows from :func:`list_studies` (unfiltered by state).
    workflows
        One dict per workflow: ``fw_id``, ``state`` and the submission metadata
        (``study``, ``run_id``, ``host_formula``, ``engine``, ``defect_labels``,
        ``temperatures_K``, ``cell_formula``).
    filters
        Filters applied to the merged rows.

    Returns
    -------
    list of dict
        Study rows, newest first; a stored summary is COMPLETED whatever FireWorks says.
    """
    filters = filters or Filters()
    by_run = {r["run_id"]: dict(r) for r in rows}
    for wf in workflows:
        if not wf.get("run_id") or wf["run_id"] in by_run:
            continue
        by_run[wf["run_id"]] = _unstored_row(
            wf,
            created_at=wf.get("submitted_at"),
            defects=wf.get("defect_labels"),
            state=wf["state"],
        )
    merged = [r for r in by_run.values() if filters.matches(r)]
    return sorted(merged, key=lambda r: r["run_id"], reverse=True)


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _barriers(output: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
    """NEB barriers: finite numbers under keys holding 'barrier' and ending in _eV.

    Read from the output itself (a NEB document) and from its ``hops`` list (study summaries).
    """
    out = []
    hops = output.get("hops") if isinstance(output.get("hops"), list) else []
    for doc in [output, *[h for h in hops if isinstance(h, dict)]]:
        label = doc.get("hop_label") or doc.get("label") or name
        for key, value in doc.items():
            if "barrier" in key and key.endswith("_eV") and _finite(value) is not None:
                out.append({"label": label, "quantity": key, "value_eV": float(value)})
    return out


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats (the same number stored by a job and by a study summary)."""
    seen, out = set(), []
    for row in rows:
        key = tuple(sorted((k, str(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _formation(output: dict[str, Any]) -> list[dict[str, Any]]:
    docs = output.get("defects") if isinstance(output.get("defects"), list) else [output]
    out = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        # a formation energy that is not a result is stored as None with its reason
        why = d.get("formation_energy_reason")
        if _finite(d.get("formation_energy_eV")) is not None or why:
            binding = d.get("binding") or {}
            out.append(
                {
                    "label": d.get("label"),
                    "kroger_vink": d.get("kroger_vink"),
                    "charge": d.get("charge", 0),
                    "formation_energy_eV": _finite(d.get("formation_energy_eV")),
                    "formation_energy_reason": why,
                    "binding_energy_eV": _finite(binding.get("binding_energy_eV")),
                    "binding_energy_reason": binding.get("reason"),
                }
            )
    return out


def _result_row(run: dict[str, Any]) -> dict[str, Any]:
    """One row of :func:`collect_results`: the run's identity and Arrhenius fit, no numbers yet.

    ``run`` is a study row of :func:`list_studies`, or a job's study tag with ``study``,
    ``run_id``, ``state`` and ``defects`` set (no fit: those keys are None).
    """
    low, high = run.get("conductivity_300K_ci_mS_cm") or [None, None]
    return {
        "study": run["study"],
        "run_id": run["run_id"],
        "host_formula": run.get("host_formula"),
        "engine": run.get("engine"),
        "defects": run["defects"],
        "temperatures_K": run.get("temperatures_K", []),
        "state": run["state"],
        "activation_energy_eV": run.get("activation_energy_eV"),
        "activation_energy_std_eV": run.get("activation_energy_std_eV"),
        "conductivity_300K_mS_cm": run.get("conductivity_300K_mS_cm"),
        "conductivity_300K_ci_low_mS_cm": low,
        "conductivity_300K_ci_high_mS_cm": high,
        "barriers": [],
        "formation_energies": [],
    }


def collect_results(store: JobStore, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Return the key numbers per study run: Ea, sigma(300 K) ± CI, barriers, formation energies.

    Transport numbers come from each run's summary document; barriers and formation
    energies from any stored job output of the same study and run that carries them
    (NEB documents and ``hops`` lists: fields named ``*barrier*_eV``; defect documents and
    ``defects`` lists: ``formation_energy_eV``). A number stored twice is listed once.

    Parameters
    ----------
    store
        A connected JobStore.
    filters
        Row filters.

    Returns
    -------
    list of dict
        One row per (study, run id), newest first.
    """
    filters = filters or Filters()
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in list_studies(store):
        runs[(row["study"], row["run_id"])] = _result_row(row)
    criteria = {
        "metadata.ionflow.study": {"$exists": True},
        "$or": [
            {"output.formation_energy_eV": {"$exists": True}},
            {"output.defects.formation_energy_eV": {"$exists": True}},
            {"output.barrier_forward_eV": {"$exists": True}},
            {"output.hops.barrier_forward_eV": {"$exists": True}},
            {"name": {"$regex": "neb|barrier", "$options": "i"}},
        ],
    }
    for d in store.query(criteria, properties=["name", "output", "metadata"]):
        meta = d.get("metadata", {}).get("ionflow", {})
        key = (meta.get("study"), meta.get("run_id"))
        output = d.get("output")
        if not isinstance(output, dict) or key[0] is None:
            continue
        if key not in runs:  # a run with no transport summary: from its jobs' study tag
            defects = meta.get("defect_labels", [])
            runs[key] = _result_row({**meta, "defects": defects, "state": "COMPLETED"})
        run = runs[key]
        run["barriers"] += _barriers(output, d.get("name"))
        run["formation_energies"] += _formation(output)
    for run in runs.values():
        run["barriers"] = _unique(run["barriers"])
        run["formation_energies"] = _unique(run["formation_energies"])
    rows = [r for r in runs.values() if filters.matches(r)]
    return sorted(rows, key=lambda r: (r["study"], r["run_id"] or ""), reverse=True)
