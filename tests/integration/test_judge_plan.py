"""The judge's plan: every grade cell of the instructor's notebook is one check the judge
re-runs, read from the cell's code however it is written; a cell it cannot read stops
grading with its name instead of being left to the student's kernel."""

from __future__ import annotations

import nbformat
import pytest

from course.judge.api import PlanError
from course.judge.plan import judged_calls, plan_from_source
from course.notebooks import cell_by_grade_id, cells_by_grade_id
from labs.lab1.cohort import ALL_TESTS, LAB1_COHORT, write_cohort
from labs.lab1.judge import JUDGE
from tests.support.commands import run_course
from tests.support.paths import LAB, ROOT, SOURCE_NOTEBOOK
from tests.support.scratch import make_scratch_course


def test_every_grade_cell_of_the_lab_is_judged():
    plan = plan_from_source(SOURCE_NOTEBOOK.resolve())
    graded = {
        grade_id
        for grade_id, cell in cells_by_grade_id(
            nbformat.read(SOURCE_NOTEBOOK, as_version=4)
        ).items()
        if cell.metadata["nbgrader"].get("grade") and not cell.metadata["nbgrader"].get("solution")
    }
    assert set(plan.all_cells()) == graded == set(ALL_TESTS)


@pytest.mark.parametrize(
    "call",
    [
        'check_step_on_hidden_cases("dloss_dh", backprop, seed=5)',
        "check_step_on_hidden_cases('dloss_dh', backprop, seed=5)",
        "check_step_on_hidden_cases(name='dloss_dh', backprop=backprop, seed=5)",
        "check_step_on_hidden_cases('dloss_dh', backprop, 5)",
        "check_step_on_hidden_cases(\n    'dloss_dh',\n    backprop,\n    seed=5,\n)",
        "if True:\n    check_step_on_hidden_cases('dloss_dh', backprop, seed=5, n_cases=4)",
    ],
)
def test_a_check_is_read_however_it_is_written(call):
    assert judged_calls(
        f"from helpers.lab1 import check_step_on_hidden_cases\n{call}\n", JUDGE
    ) == [("step", "dloss_dh", 5)]


@pytest.mark.parametrize(
    "call, why",
    [
        ("check_step_on_hidden_cases('dloss_dx', backprop, seed=5)", "is not a step"),
        ("check_step_on_hidden_cases('dloss_dh', backprop, seed=SEED)", "needs a literal 'seed'"),
        ("check_step_on_hidden_cases('dloss_dh', my_function, seed=5)", "does not check backprop"),
        ("check_step_on_hidden_cases('dloss_dh', backprop)", "missing a required argument"),
        ("check_backprop_gradients_on_hidden_cases(backprop, seed=1.5)", "whole number"),
    ],
)
def test_a_check_the_judge_cannot_follow_is_refused(call, why):
    with pytest.raises(PlanError, match=why):
        judged_calls(call, JUDGE)


def test_a_grade_cell_without_a_judged_check_stops_grading_and_names_it(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    write_cohort(ROOT, LAB, course / "submitted", LAB1_COHORT[:1])
    source = course / "source" / LAB / SOURCE_NOTEBOOK.name
    nb = nbformat.read(source, as_version=4)
    cell = cell_by_grade_id(nb, "test_dloss_dW1")
    cell.source = cell.source.replace("check_step_on_hidden_cases", "my_own_check")
    nbformat.write(nb, source)
    result = run_course("grade", LAB, "--quiet", cwd=course)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the judge cannot grade classification.ipynb: test_dloss_dW1: calls 0" in result.stderr
    assert not (course / "autograded").exists()
