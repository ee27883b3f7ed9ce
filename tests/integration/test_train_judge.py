"""Lab 2's judge of a student's mini-batch SGD, run in its sandbox (judge_runtime.probe) on hidden
data sets with a recording backprop of the check's own: a right train earns its points whatever
the student's backprop does, a mistake fails naming it, and code that reaches for the graders'
withheld answers earns nothing."""

from __future__ import annotations

import nbformat

from course.judge.plan import cached_plan
from course.judge.verdicts import judge_function
from course.notebooks import cell_by_grade_id
from course.outcomes import TestOutcome
from labs import cohorts
from tests.support.judged import NOTEBOOKS, judged, notebooks
from tests.support.paths import ROOT

CELL = "test_train"


def solution() -> str:
    source, _ = notebooks("lab2")
    return cohorts.solution_code(cell_by_grade_id(source, "train").source)


def judge(cell: str):
    return judged("lab2", cell, function="train")


def test_a_right_train_earns_its_points():
    judgement = judge(solution())
    assert judgement.verdicts[CELL].passed, judgement.verdicts[CELL].message
    assert judgement.problems == []


def test_a_mistake_fails_naming_it_on_a_hidden_data_set():
    verdict = judge(solution().replace("params[name] -= rate", "params[name] += rate")).verdicts[
        CELL
    ]
    assert not verdict.passed
    assert "hidden data set" in verdict.message and "not against it" in verdict.message


def test_train_is_judged_apart_from_a_backprop_that_does_not_even_compile():
    source, release = notebooks("lab2")
    broken = cohorts.Submission(
        "broken",
        "",
        edits=(("dloss_db1 = dloss_dA.sum(axis=0)", "dloss_db1 = dloss_dA.sum(axis=0))"),),
    )
    notebook = cohorts.build_submission(source, release, broken, "backprop")
    plan = cached_plan(ROOT / "source" / "lab2" / NOTEBOOKS["lab2"])
    (train_plan,) = plan.others
    judgement = judge_function(train_plan, source, notebook)
    assert judgement.verdicts[CELL].passed, judgement.verdicts[CELL].message
    whole = judge_function(plan, source, notebook)
    assert not any(verdict.passed for verdict in whole.verdicts.values())


def test_a_blank_train_fails_as_blank():
    cell = (
        "def train(X, T, params, batch_size, rate, n_epochs, rng):\n"
        "    raise NotImplementedError()\n"
    )
    assert judge(cell).verdicts[CELL].outcome is TestOutcome.BLANK


def test_the_graders_answers_are_withheld_from_train_too():
    cell = "from helpers.lab2 import check_step\n\n\n" + solution().replace(
        "    losses = [",
        "    check_step('A', None, None, None, None, None, None, None)\n    losses = [",
        1,
    )
    judgement = judge(cell)
    assert not judgement.verdicts[CELL].passed
    assert any("helpers.lab2.check_step" in p for p in judgement.problems), judgement.problems


def test_release_and_source_agree_on_the_train_test():
    source, release = notebooks("lab2")
    assert cell_by_grade_id(source, CELL).source == cell_by_grade_id(release, CELL).source
    assert nbformat.validate(release) is None
