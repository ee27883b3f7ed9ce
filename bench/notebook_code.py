"""Load the code of a lab notebook's cells by grade_id, so benchmarks time the real thing."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def cell_source(notebook: Path, grade_id: str) -> str:
    """Source of the cell whose nbgrader grade_id is ``grade_id``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"{notebook} has no cell with grade_id {grade_id!r}")
