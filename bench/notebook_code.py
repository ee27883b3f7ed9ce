"""Load the code of a lab notebook's cells by grade_id, so benchmarks time the real thing."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course.notebooks import cell_by_grade_id

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the course's own labs/ (instructor-only, never installed)
    sys.path.insert(0, str(ROOT))


def cell_source(notebook: Path, grade_id: str) -> str:
    """Source of the cell whose nbgrader grade_id is ``grade_id``."""
    return cell_by_grade_id(nbformat.read(notebook, as_version=4), grade_id).source
