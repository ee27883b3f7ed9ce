"""nbgrader preprocessors of the course: feedback without hidden tests, bounded outputs.

Feedback without hidden tests (``HideHiddenTests``, for ``generate_feedback``):
nbgrader's feedback HTML shows each test cell as autograded, hidden tests included, and a
failing test's traceback quotes the lines around the failing call. This preprocessor removes
the hidden-test regions from grade cells and reduces each error in them to its type and
message (the message says which step failed and why; it never contains test code). Student code
can read cell sources as they run (``In``, IPython's hooks, its callers' frames) and print them
anywhere, so every output of every cell that quotes a line of a hidden region is removed too.
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import LimitOutput, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Integer

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


class LimitOutputSize(LimitOutput):
    """nbgrader's LimitOutput (lines of output and traceback), plus a cap on characters.

    One print of 100 MB is a single line, which LimitOutput lets through into the graded
    notebook, the gradebook's copy and the feedback page; this cuts every text output to
    ``max_chars`` and drops any other output larger than ``max_bytes``.
    """

    max_chars = Integer(20_000, help="maximum characters of one text output").tag(config=True)
    max_bytes = Integer(5 * 1024**2, help="maximum size of one rich output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.text) > self.max_chars:
                output.text = output.text[: self.max_chars] + "\n... Output truncated ...\n"
            for mime, value in list(output.get("data", {}).items()):
                text = value if isinstance(value, str) else "".join(value)
                if mime.startswith("text/") and len(text) > self.max_chars:
                    output.data[mime] = text[: self.max_chars] + "\n... Output truncated ...\n"
                elif len(text) > self.max_bytes:
                    output.data = {"text/plain": f"[{mime} output of {len(text)} bytes removed]"}
                    break
        return cell, resources
