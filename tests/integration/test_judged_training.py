"""The judge's training run is the grader's: the sandboxed runner only computes each epoch's
gradients (judge_runtime.runner.serve_training), the grading process holds the loop, the parameters
and the verdict (course.judge.training), with the code the notebooks' checks run, so both end
on the same parameters to the last bit. A runner's forged training answer earns nothing, and a
backprop that answers training otherwise than it answered while judged is not credited."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pytest

from course.judge.conversation import Conversation
from course.judge.plan import cached_plan
from course.judge.training import DONE, NOT_NUMBERS, JudgedTraining
from course.judge.verdicts import judge_function
from course.notebooks import cell_by_grade_id
from helpers import lab1, lab2
from judge_runtime.runner import serve_training
from labs import cohorts
from labs.backprop_judge import ANSWERS_OTHERWISE
from tests.support.paths import ROOT
from tests.support.student_code import CENTRAL_DIFFERENCES

LABS = {
    "lab1": (ROOT / "source" / "lab1" / "classification.ipynb", lab1),
    "lab2": (ROOT / "source" / "lab2" / "vectorized.ipynb", lab2),
}
TRAINING_TEST = {"lab1": "test_training_lowers_loss", "lab2": "test_training_lowers_loss"}


def solution_backprop(lab: str):
    """The instructor's backprop, defined here with the notebook's provided functions."""
    source = nbformat.read(LABS[lab][0], as_version=4)
    space: dict = {"np": np}
    exec(cell_by_grade_id(source, "provided_functions").source, space)
    exec(cohorts.solution_code(cell_by_grade_id(source, "backprop").source), space)
    return space["backprop"]


def graders_training(backprop, problem: dict, reached=None) -> JudgedTraining:
    """The grader's training (stopping once ``reached``), each message answered as the runner
    answers it."""
    training = JudgedTraining(problem, reached=reached)
    answers: list[dict] = []
    serve_training(
        backprop,
        problem,
        lambda: training.take(answers[-1]) if answers else training.first(),
        answers.append,
    )
    return training


@pytest.mark.parametrize("lab", sorted(LABS))
def test_the_graders_training_ends_where_the_notebooks_does(lab):
    helpers = LABS[lab][1]
    backprop = solution_backprop(lab)
    problem = helpers.training_request()
    # stopping where the lab's judge stops it
    training = graders_training(
        backprop, problem, cached_plan(LABS[lab][0]).judge.training_reached()
    )
    X, T, params = helpers.training_problem()
    if lab == "lab1":
        local = lab1.train_parameters(backprop, X, T, params)
    else:
        local = lab2.gradient_descent(
            backprop, X, T, params, problem["epochs"], problem["rate"], lab1.training_reached(X, T)
        )
    assert training.epoch < problem["epochs"]  # it stopped once the loss was low enough
    assert set(training.result["params"]) == set(local)
    for name, value in local.items():
        assert np.array_equal(np.array(training.result["params"][name]), value), name


def test_answers_that_are_not_numbers_end_the_training_with_a_reason():
    """Whatever the runner sends (its code is the student's to replace), the grader fails the
    training closed: no exception, no parameter grown without bound."""
    problem = lab1.training_request()
    names = list(problem["params"])
    growing = [
        {name: np.zeros((10**4, 1, 1)).tolist() for name in names},
        {name: np.zeros((10**2, 1, 1, 1)).tolist() for name in names},
    ]
    for answers in (
        [{"totals": {"W1": "x"}}],
        [{"totals": {}}],
        [{"totals": dict.fromkeys(names)}],
        [{"totals": {name: [10**400] for name in names}}],
        [{"totals": totals} for totals in growing],
    ):
        training = JudgedTraining(problem)
        training.first()
        replies = [training.take(answer) for answer in answers]
        assert replies[-1] is DONE, answers
        assert training.result == {"error": NOT_NUMBERS}


def test_a_gradient_of_another_shape_is_broadcast_as_the_notebooks_training_does():
    """A bias gradient summed to a number moves every bias alike, in the notebook and here."""
    problem = lab1.training_request()
    training = JudgedTraining(problem)
    params = training.first()["params"]
    totals = {name: np.zeros(np.shape(value)).tolist() for name, value in params.items()}
    totals["b2"] = 1.5
    moved = training.take({"totals": totals})["params"]
    assert np.allclose(
        np.array(moved["b2"]), np.array(params["b2"]) - problem["rate"] * 1.5 / len(problem["X"])
    )


def _judged(lab: str, submission: cohorts.Submission):
    source_path = LABS[lab][0]
    release_path = ROOT / "release" / lab / source_path.name
    source, release = (nbformat.read(p, as_version=4) for p in (source_path, release_path))
    return judge_function(  # backprop alone: the lab's other graded functions are not its
        cached_plan(source_path),
        source,
        cohorts.build_submission(source, release, submission, "backprop"),
    )


# Raises while judged (every hidden case); then, at the first training call, writes a trained
# network (trained before, here: by the solution) on every descriptor the runner's answers could
# go out on, as the training phase's answer, and leaves.
FORGED_TRAINING = """import json, os
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
"""


def _judged_calls(lab: str) -> int:
    plan = cached_plan(LABS[lab][0])
    return sum(len(plan.judge.cases(seed)) for seed in plan.seeds)


def test_a_training_answer_forged_on_the_runners_channel_earns_nothing():
    X, T, params = lab1.training_problem()
    trained = lab1.train_parameters(solution_backprop("lab1"), X, T, params)
    cell = FORGED_TRAINING.format(
        judged=_judged_calls("lab1"),
        params=json.dumps({name: value.tolist() for name, value in trained.items()}),
    )
    judgement = _judged("lab1", cohorts.Submission("forged_training", "", whole_cell=cell))
    assert not any(v.passed for v in judgement.verdicts.values()), judgement.verdicts
    assert any("out of order" in p for p in judgement.problems), judgement.problems


# Raises while judged (every hidden case), then answers training with right gradients (the
# solution's, defined beside it: how it computes them does not matter here).
TRAINS_OTHERWISE = """_calls = [0]


def backprop(x, t, W1, b1, W2, b2):
    _calls[0] += 1
    if _calls[0] <= {judged}:
        raise NotImplementedError()
    return _right(x, t, W1, b1, W2, b2)
"""


def test_a_backprop_that_trains_otherwise_than_it_answered_when_judged_is_not_credited():
    source = nbformat.read(LABS["lab1"][0], as_version=4)
    right = cohorts.solution_code(cell_by_grade_id(source, "backprop").source).replace(
        "def backprop(", "def _right("
    )

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


# The runner's training server replaced by the student's cell, to answer with sums of its own.
SERVER_REPLACED = """import __main__


def _serve(function, problem, receive, send):
    while "params" in (message := receive()) or "probe" in message:
        send({"phase": "gradients", "error": "NotImplementedError"})


_replaced = setattr(__main__, "serve_training", _serve)
"""


def test_a_runner_whose_training_server_was_replaced_is_not_credited_and_flagged():
    judgement = _judged("lab1", cohorts.Submission("server_replaced", "", own_cell=SERVER_REPLACED))
    training = judgement.verdicts[TRAINING_TEST["lab1"]]
    assert (
        not training.passed
        and "Not credited: it replaced the grader's __main__.serve_training" in training.message
    ), training
    assert any(
        "may not be the student's own work" in p and "before training" in p
        for p in judgement.problems
    ), judgement.problems


# Raises while judged (every hidden case, and the training's probe of one), then trains by
# finite differences of the provided functions (from its {numerical_from}-th training call):
# what it calls while training is counted as while judged.
TRAINS_NUMERICALLY = """_calls = [0]


def backprop(x, t, W1, b1, W2, b2):
    _calls[0] += 1
    if _calls[0] <= {judged} + 1:
        raise NotImplementedError()
    if _calls[0] <= {judged} + 1 + {zeros}:
        return np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]

    def loss():
        y = softmax(params[2] @ logistic(params[0] @ x + params[1]) + params[3])
        return -np.sum(t * np.log(y))

""" + CENTRAL_DIFFERENCES.replace("{", "{{").replace("}", "}}")

NUMERICAL_STOPPED = (
    r"Not credited: it called (logistic|softmax) \d{3,} times in one call "
    r"\(differentiating numerically\?\)\. The instructor will review it\."
)


@pytest.mark.parametrize("zero_epochs", [0, 1])
def test_numerical_differentiation_while_training_is_flagged_and_ends_the_training(zero_epochs):
    """Only while training, from the first epoch or after a first answered with zeros (the
    first epoch is always traced; the forward calls are read on every one)."""
    cell = TRAINS_NUMERICALLY.format(
        judged=_judged_calls("lab1"), zeros=zero_epochs * lab1.TRAINING_POINTS
    )
    judgement = _judged("lab1", cohorts.Submission("trains_numerically", "", whole_cell=cell))
    assert any(
        "may not be the student's own work" in p
        and re.search(r"it called (logistic|softmax) \d{3,} times in one call", p)
        for p in judgement.problems
    ), judgement.problems
    training = judgement.verdicts["test_training_lowers_loss"]
    assert not training.passed
    assert re.fullmatch(NUMERICAL_STOPPED, training.message), training.message


def test_a_loop_over_the_samples_calling_the_forward_functions_is_no_accusation():
    """Lab 2: the logistic called once per sample, in training 80 times a call: the loop
    check's to judge, not numerical differentiation."""
    looped = cohorts.Submission(
        "loops_logistic",
        "",
        edits=(("H = logistic(A)", "H = np.array([logistic(row) for row in A])"),),
    )
    judgement = _judged("lab2", looped)
    assert not any("own work" in p for p in judgement.problems), judgement.problems
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert failed == {"test_no_loop_over_samples"}, failed


def test_a_training_that_ends_early_still_counts_epochs_after_its_first():
    problem = lab1.training_request()
    training = graders_training(
        solution_backprop("lab1"), problem, cached_plan(LABS["lab1"][0]).judge.training_reached()
    )
    assert training.epoch < problem["epochs"]
    # none counted after the first among those run: a chance of (7/8)**(epochs run - 1)
    assert any(0 < epoch < training.epoch for epoch in training.counted_epochs)


def test_the_runner_is_not_told_how_many_calls_end_the_training():
    request = cached_plan(LABS["lab1"][0]).judge.request(cached_plan(LABS["lab1"][0]), "")
    assert request["training"]["max_most_called_count"] > 0  # the grader's own copy keeps it
    sent = Conversation(request, ()).first
    assert "max_most_called_count" not in sent["training"] and "X" in sent["training"]


def test_a_forged_function_name_never_reaches_a_message():
    """The counts' names come from the runner, whose code is the student's: only a name that
    is a Python identifier is kept."""
    problem = lab1.training_request()
    training = JudgedTraining(problem)
    params = training.first()["params"]
    zeros = {name: np.zeros(np.shape(value)).tolist() for name, value in params.items()}
    training.take(
        {
            "totals": zeros,
            "own_calls": 999,
            "own_most_called": "\x1b]52;c;owned\x07",
            "most_called_count": 500,
            "most_called": "logistic",
        }
    )
    assert training.calls_seen == {
        "own_calls": 999,
        "own_most_called": "",
        "most_called_count": 500,
        "most_called": "logistic",
    }
