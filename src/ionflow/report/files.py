"""What every report writer does the same way: its folder, its plots section, its files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["plots_section", "report_dir", "write_report_files"]


def report_dir(out_dir: str | Path) -> Path:
    """Return ``out_dir`` as a Path, creating the folder (and its parents) if needed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def plots_section(plots: dict[str, str]) -> list[str]:
    """Return the Markdown lines of a ``## Plots`` section (caption -> PNG file name)."""
    return ["## Plots", "", *(f"![{kind}]({name})" for kind, name in plots.items())]


def write_report_files(out_dir: Path, markdown: str, doc: BaseModel) -> None:
    """Write ``report.md`` and ``summary.json`` (the document as JSON) into ``out_dir``."""
    (out_dir / "report.md").write_text(markdown)
    (out_dir / "summary.json").write_text(doc.model_dump_json(indent=2))
