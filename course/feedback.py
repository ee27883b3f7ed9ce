"""Feedback without hidden tests: an nbgrader preprocessor for ``generate_feedback``.

nbgrader's feedback HTML shows each test cell as autograded, hidden tests included, and a
failing test's traceback quotes the lines around the failing call. This preprocessor removes
the hidden-test regions from grade cells and reduces each error in them to its type and
message (the message says which step failed and why; it never contains test code).
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"


def strip_hidden_regions(source: str) -> str:
    """``source`` without the lines from BEGIN HIDDEN TESTS to END HIDDEN TESTS."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            hidden = True
        elif line.strip() == END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n" if kept else ""


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden tests and traceback context from the grade cells of a graded notebook."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.source = strip_hidden_regions(cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
