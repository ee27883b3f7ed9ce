"""The judge's training run is the grader's: the sandboxed runner only computes each epoch's
gradients (helpers.recheck.serve_training), the grading process holds the loop, the parameters
and the verdict (course.judged_training), with the code the notebooks' checks run, so both end
on the same parameters to the last bit. A runner's forged training answer earns nothing, and a
backprop that answers training otherwise than it answered while judged is not credited."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from course.cleanroom import cached_plan, judge_submission
from course.judged_training import DONE, NOT_NUMBERS, JudgedTraining
from course.notebooks import cell_by_grade_id
from helpers import lab1, lab2
from helpers.recheck import serve_training
from labs import cohorts
from labs.backprop_judge import ANSWERS_OTHERWISE
from tests.conftest import ROOT

LABS = {"lab1": (ROOT / "source" / "lab1" / "classification.ipynb", lab1),
        "lab2": (ROOT / "source" / "lab2" / "vectorized.ipynb", lab2)}
TRAINING_TEST = {"lab1": "test_training_lowers_loss", "lab2": "test_training_lowers_loss"}


def solution_backprop(lab: str):
    """The instructor's backprop, defined here with the notebook's provided functions."""
    source = nbformat.read(LABS[lab][0], as_version=4)
    space: dict = {"np": np}
    exec(cell_by_grade_id(source, "provided_functions").source, space)
    exec(cohorts.solution_code(cell_by_grade_id(source, "backprop").source), space)
    return space["backprop"]


def graders_training(backprop, problem: dict) -> JudgedTraining:
    """The grader's training, each message answered as the runner answers it."""
    training = JudgedTraining(problem)
    answers: list[dict] = []
    serve_training(backprop, problem,
                   lambda: training.take(answers[-1]) if answers else training.first(),
                   answers.append)
    return training


@pytest.mark.parametrize("lab", sorted(LABS))
def test_the_graders_training_ends_where_the_notebooks_does(lab):
    helpers = LABS[lab][1]
    backprop = solution_backprop(lab)
    problem = helpers.training_request()
    training = graders_training(backprop, problem)
    X, T, params = helpers.training_problem()
    if lab == "lab1":
        local = lab1.train_parameters(backprop, X, T, params)
    else:
        local = lab2.gradient_descent(backprop, X, T, params, problem["epochs"], problem["rate"])
    assert set(training.result["params"]) == set(local)
    for name, value in local.items():
        assert np.array_equal(np.array(training.result["params"][name]), value), name


def test_answers_that_are_not_numbers_end_the_training_with_a_reason():
    problem = lab1.training_request()
    for answer in ({"totals": {"W1": "x"}}, {"totals": {}}, {"totals": {"W1": None, "b1": None,
                                                                        "W2": None, "b2": None}}):
        training = JudgedTraining(problem)
        training.first()
        assert training.take(answer) is DONE
        assert training.result == {"error": NOT_NUMBERS}


def _judged(lab: str, submission: cohorts.Submission):
    source_path = LABS[lab][0]
    release_path = ROOT / "release" / lab / source_path.name
    source, release = (nbformat.read(p, as_version=4) for p in (source_path, release_path))
    return judge_submission(source_path, cohorts.build_submission(source, release, submission,
                                                                  "backprop"))


# Raises while judged (every hidden case); then, at the first training call, writes a trained
# network (trained before, here: by the solution) on every descriptor the runner's answers could
# go out on, as the training phase's answer, and leaves.
FORGED_TRAINING = '''import json, os
_calls = [0]


def backprop(x, t, W1, b1, W2, b2):
    _calls[0] += 1
    if _calls[0] <= {judged}:
        raise NotImplementedError()
    for fd in range(3, 8):
        try:
            os.write(fd, (json.dumps({{"phase": "training", "training": {{"params": {params}}}}})
                          + "\\n").encode())
        except OSError:
            pass
    os._exit(0)
'''


def _judged_calls(lab: str) -> int:
    plan = cached_plan(LABS[lab][0])
    return sum(len(plan.judge.cases(seed)) for seed in plan.seeds)


def test_a_training_answer_forged_on_the_runners_channel_earns_nothing():
    X, T, params = lab1.training_problem()
    trained = lab1.train_parameters(solution_backprop("lab1"), X, T, params)
    cell = FORGED_TRAINING.format(judged=_judged_calls("lab1"), params=json.dumps(
        {name: value.tolist() for name, value in trained.items()}))
    judgement = _judged("lab1", cohorts.Submission("forged_training", "", whole_cell=cell))
    assert not any(v.passed for v in judgement.verdicts.values()), judgement.verdicts
    assert any("out of order" in p for p in judgement.problems), judgement.problems


# Raises while judged (every hidden case), then answers training with right gradients (the
# solution's, defined beside it: how it computes them does not matter here).
TRAINS_OTHERWISE = '''_calls = [0]


def backprop(x, t, W1, b1, W2, b2):
    _calls[0] += 1
    if _calls[0] <= {judged}:
        raise NotImplementedError()
    return _right(x, t, W1, b1, W2, b2)
'''


def test_a_backprop_that_trains_otherwise_than_it_answered_when_judged_is_not_credited():
    source = nbformat.read(LABS["lab1"][0], as_version=4)
    right = cohorts.solution_code(cell_by_grade_id(source, "backprop").source).replace(
        "def backprop(", "def _right(")

    def judged(calls_that_raise: int):
        cell = TRAINS_OTHERWISE.format(judged=calls_that_raise) + "\n\n" + right
        return _judged("lab1", cohorts.Submission("trains_otherwise", "", whole_cell=cell))

    judgement = judged(_judged_calls("lab1"))
    training = judgement.verdicts[TRAINING_TEST["lab1"]]
    assert not training.passed and "Not credited" in training.message, training
    assert ANSWERS_OTHERWISE in judgement.problems
    # the same code answering training as it answered while judged trains, and is credited
    honest = judged(0)
    assert honest.verdicts[TRAINING_TEST["lab1"]].passed, honest.verdicts
    assert ANSWERS_OTHERWISE not in honest.problems
