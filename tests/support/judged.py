"""A lab's submissions judged directly by the trusted judge, without nbgrader: for tests of
what the judge decides about a piece of student code."""

from __future__ import annotations

import nbformat

from course.judge.api import Judgement
from course.judge.plan import cached_plan
from course.judge.runner import BUDGETS
from course.judge.verdicts import judge_function
from course.notebooks import cell_by_grade_id
from labs import cohorts
from labs.lab1.judge import JUDGE as LAB1_JUDGE
from labs.lab2.judge import JUDGE as LAB2_JUDGE
from tests.support.paths import ROOT

NOTEBOOKS = {"lab1": "classification.ipynb", "lab2": "vectorized.ipynb", "lab3": "layers.ipynb"}
JUDGES = {"lab1": LAB1_JUDGE, "lab2": LAB2_JUDGE}  # the labs whose backprop is judged by step
WHOLE = "test_backprop_returns_parameter_gradients"
TRAINING = "test_training_lowers_loss"


def notebooks(lab: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The lab's instructor notebook and its student version."""
    source = nbformat.read(ROOT / "source" / lab / NOTEBOOKS[lab], as_version=4)
    release = nbformat.read(ROOT / "release" / lab / NOTEBOOKS[lab], as_version=4)
    return source, release


def solution(lab: str) -> str:
    """The solution's backprop cell, as a student who solved it would hand it in."""
    source, _ = notebooks(lab)
    return cohorts.solution_code(cell_by_grade_id(source, "backprop").source)


def judged(
    lab: str,
    cell: str,
    own_cell: str = "",
    function: str = "backprop",
    budgets: tuple[float, float, float] = BUDGETS,
) -> Judgement:
    """The judge's verdicts on the cells of the graded ``function`` of a submission whose cell
    of that function is ``cell`` (and with a cell of the student's own, ``own_cell``, above it
    when given), within the CPU ``budgets``; the lab's other graded functions are left
    unjudged."""
    source, release = notebooks(lab)
    submission = cohorts.Submission("derived", "", whole_cell=cell, own_cell=own_cell)
    notebook = cohorts.build_submission(source, release, submission, function)
    plan = next(
        plan
        for plan in cached_plan(ROOT / "source" / lab / NOTEBOOKS[lab]).every()
        if plan.judge.graded_cell == function
    )
    return judge_function(plan, source, notebook, budgets=budgets)
