"""nbgrader preprocessor: feedback shows the judge's results, not what the student's code printed.

Everything the kernel printed while grading is the student's code speaking, and it ran on the
grading machine after the hidden tests had been sent to the kernel: a cell of theirs can print
IPython's history (``In``, hidden tests included) compressed and encoded, the grader's
environment, or anything a hook or a background thread saw, and no filter of known text can
recognise an encoding. So a feedback page keeps the outputs of test cells only (each holds the
judge's verdict alone, see ``course.nbgrader_ext.judge_cells``); every other code cell's outputs
are replaced by one line saying where to find them: the student's own notebook has them.
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

NOT_SHOWN = "[the outputs of this cell are in your own notebook; feedback shows test results]\n"


class HideStudentOutputs(NbGraderPreprocessor):
    """Replace the outputs of every code cell but the test cells with :data:`NOT_SHOWN`."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or (is_grade(cell) and not is_solution(cell)):
            return cell, resources
        if cell.get("outputs"):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=NOT_SHOWN)]
        return cell, resources
