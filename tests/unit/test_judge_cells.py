"""What the student's kernel said about a test cell is compared with the judge only where the
kernel's run could say anything: from the first cell the executor stopped for time onwards,
nothing the kernel printed is a disagreement (the stopped cell never finished); and only the
executor, never the kernel's own output, says a cell was stopped."""

from __future__ import annotations

import nbformat
from traitlets.config import Config

from course.judge.api import Verdict
from course.nbgrader_ext.bounded_execute import STOPPED_CELLS, BoundedExecute
from course.nbgrader_ext.judge_cells import kernel_disagreements

DEFINES_F = "def f():\n    return 1\n"
TEST_F = "assert f() == 1"


def _executed(first_cell: str) -> tuple[nbformat.NotebookNode, dict]:
    """A notebook of ``first_cell``, then a grade cell testing ``f``, run by the course's
    executor with a one-second cell limit."""
    test = nbformat.v4.new_code_cell(TEST_F)
    test.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "test_f",
        "points": 1,
        "schema_version": 3,
    }
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first_cell), test])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    config = Config()
    config.Execute.timeout = 1
    return BoundedExecute(config=config).preprocess(nb, {})


def test_a_test_failing_in_the_kernel_but_passing_the_judge_is_a_disagreement():
    nb, resources = _executed("pass")  # f never defined: the kernel's test fails
    assert resources[STOPPED_CELLS] == []
    assert kernel_disagreements(nb, {"test_f": Verdict(True)}, resources[STOPPED_CELLS]) == [
        "test_f (failed in the notebook, passed when judged)"
    ]
    nb, resources = _executed(DEFINES_F)
    assert kernel_disagreements(nb, {"test_f": Verdict(True)}, resources[STOPPED_CELLS]) == []


def test_tests_after_a_cell_stopped_for_time_are_no_disagreement():
    nb, resources = _executed("while True:\n    pass\n" + DEFINES_F)
    assert resources[STOPPED_CELLS] == [0]
    assert nb.cells[1].outputs[0].ename == "NameError"  # as the kernel left it
    assert kernel_disagreements(nb, {"test_f": Verdict(True)}, resources[STOPPED_CELLS]) == []


def test_an_error_the_kernel_names_like_a_time_out_stops_nothing():
    forged = "raise type('CellTimeoutError', (Exception,), {})('used more than 1 s')"
    nb, resources = _executed(forged)
    assert nb.cells[0].outputs[0].ename == "CellTimeoutError"
    assert resources[STOPPED_CELLS] == []
    assert kernel_disagreements(nb, {"test_f": Verdict(True)}, resources[STOPPED_CELLS]) == [
        "test_f (failed in the notebook, passed when judged)"
    ]
