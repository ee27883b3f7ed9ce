"""nbgrader preprocessor: feedback without hidden tests (``HideHiddenTests``, for
``generate_feedback``).

nbgrader's feedback HTML shows each test cell as autograded, hidden tests included, and a
failing test's traceback quotes the lines around the failing call. This preprocessor removes
the hidden-test regions from grade cells and reduces each error in them to its type and
message (the message says which step failed and why; it never contains test code). Student code
can read cell sources as they run (``In``, IPython's hooks, its callers' frames) and print them
anywhere, so every output of every cell that quotes a line of a hidden region is removed too.
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

from course.regions import hidden_test_delimiters, region_lines, without_regions


def _output_text(output) -> str:
    parts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
    parts += [v if isinstance(v, str) else "".join(v) for v in output.get("data", {}).values()]
    return "\n".join(parts)


QUOTED = "[output removed: it quoted the hidden tests]\n"


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden tests and traceback context from the grade cells of a graded notebook, and
    every output that quotes them."""

    def preprocess(self, nb, resources):
        # The regions exactly as nbgrader's ClearHiddenTests finds them (course.regions).
        self._delimiters = hidden_test_delimiters(self.config)
        self._secrets = {self._delimiters.begin, self._delimiters.end} | {
            line
            for cell in nb.cells
            if cell.cell_type == "code" and is_grade(cell)
            for line in region_lines(cell.source, self._delimiters)
        }
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.source = without_regions(cell.source, self._delimiters)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        for position, output in enumerate(cell.get("outputs", [])):
            text = _output_text(output)
            if any(secret in text for secret in self._secrets):
                cell.outputs[position] = nbformat.v4.new_output(
                    "stream", name="stdout", text=QUOTED
                )
        return cell, resources
