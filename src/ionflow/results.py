"""Read results back from the JobStore: studies, their summary documents and jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.errors import StoreError

if TYPE_CHECKING:
    from jobflow import JobStore

    from ionflow.schemas.study import StudyDoc

__all__ = ["get_study_doc", "list_jobs", "list_studies"]

_STUDY_QUERY = {"output.kind": "transport_study"}


def _study_row(doc: dict[str, Any]) -> dict[str, Any]:
    out = doc["output"]
    meta = out["meta"]
    fit = out.get("arrhenius") or {}
    return {
        "study": meta["study"],
        "run_id": meta["run_id"],
        "created_at": str(out.get("created_at")),
        "host_formula": meta["host_formula"],
        "cell_formula": out.get("cell_formula"),
        "engine": meta["engine"],
        "defects": meta.get("defect_labels", []),
        "temperatures_K": meta.get("temperatures_K", []),
        "state": "COMPLETED",
        "missing_temperatures_K": out.get("missing_temperatures_K", []),
        "activation_energy_eV": fit.get("activation_energy_eV"),
        "activation_energy_std_eV": fit.get("activation_energy_std_eV"),
        "conductivity_300K_mS_cm": fit.get("conductivity_at_target_mS_cm"),
        "conductivity_300K_ci_mS_cm": fit.get("conductivity_at_target_ci_mS_cm"),
        "report_dir": out.get("report_dir"),
        "job_uuid": doc.get("uuid"),
    }


def list_studies(store: JobStore, study: str | None = None) -> list[dict[str, Any]]:
    """Return one summary row per stored study run, newest first.

    Parameters
    ----------
    store
        A connected JobStore.
    study
        Only runs of this study name.

    Returns
    -------
    list of dict
        Rows with study, run id, formula, engine, defects, temperatures, Ea and σ(300 K).
    """
    criteria = dict(_STUDY_QUERY)
    if study:
        criteria["output.meta.study"] = study
    rows = [_study_row(d) for d in store.query(criteria, properties=["output", "uuid"])]
    return sorted(rows, key=lambda r: r["run_id"], reverse=True)


def get_study_doc(store: JobStore, study: str, run_id: str | None = None) -> StudyDoc:
    """Return the summary document of a study run (the newest when ``run_id`` is None)."""
    from ionflow.schemas.study import StudyDoc

    criteria = {**_STUDY_QUERY, "output.meta.study": study}
    if run_id:
        criteria["output.meta.run_id"] = run_id
    docs = list(store.query(criteria, properties=["output"]))
    if not docs:
        known = sorted({r["study"] for r in list_studies(store)})
        hint = f"; stored studies: {', '.join(known)}" if known else "; the store holds no studies"
        which = f"run {run_id} of study {study!r}" if run_id else f"study {study!r}"
        raise StoreError(f"no results for {which}{hint}")
    newest = max(docs, key=lambda d: d["output"]["meta"]["run_id"])
    return StudyDoc.model_validate(newest["output"])


def list_jobs(store: JobStore, study: str | None = None, run_id: str | None = None) -> list[dict]:
    """Return the stored jobs of ionflow studies (name, uuid, run, completion time)."""
    criteria: dict[str, Any] = {"metadata.ionflow.study": {"$exists": True}}
    if study:
        criteria["metadata.ionflow.study"] = study
    if run_id:
        criteria["metadata.ionflow.run_id"] = run_id
    rows = []
    for d in store.query(criteria, properties=["uuid", "name", "completed_at", "metadata"]):
        meta = d.get("metadata", {}).get("ionflow", {})
        rows.append(
            {
                "study": meta.get("study"),
                "run_id": meta.get("run_id"),
                "job": d.get("name"),
                "uuid": d.get("uuid"),
                "state": "COMPLETED",
                "completed_at": str(d.get("completed_at")),
            }
        )
    return sorted(rows, key=lambda r: (r["run_id"] or "", r["completed_at"]))
