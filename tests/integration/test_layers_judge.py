"""Lab 3's judges, each function judged apart in its sandbox: every planted misconception
costs its function and is named; a layer's mistake never reaches the network's or training's
verdict (they are judged with the graders' layers and network); the network is judged on
architectures the notebook never shows; and code that reaches for the graders' answers gets
nothing for it and is named."""

from __future__ import annotations

import nbformat
import pytest

from course.judge.plan import cached_plan
from course.judge.verdicts import judge_function
from course.outcomes import TestOutcome
from helpers import layers_check
from labs import cohorts
from labs.lab3 import cohort, hidden
from labs.lab3.judge import JUDGES
from tests.support.judged import NOTEBOOKS, notebooks
from tests.support.paths import ROOT

SOURCE = ROOT / "source" / "lab3" / NOTEBOOKS["lab3"]
NAMED = [s for s in cohort.MISTAKES if s.misconception]


def _judged(function: str, submission: cohorts.Submission):
    """The judgement of ``function``'s test in the notebook ``submission`` hands in."""
    source, release = notebooks("lab3")
    notebook = cohorts.build_submission(source, release, submission, function)
    plan = next(p for p in cached_plan(SOURCE).every() if p.judge.graded_cell == function)
    return judge_function(plan, source, notebook)


def _function_of(test: str) -> str:
    name = test.removeprefix("test_")
    return "Network" if name == "network" else name


@pytest.mark.parametrize("submission", NAMED, ids=lambda s: s.student)
def test_each_planted_misconception_costs_its_function_and_is_named(submission):
    (test,) = submission.expected_failures
    judgement = _judged(_function_of(test), submission)
    assert not judgement.verdicts[test].passed
    assert judgement.misconceptions == {test: submission.misconception}
    message = judgement.verdicts[test].message
    question = next(m for m in layers_check.MISTAKES if m.key == submission.misconception).question
    assert "hidden case" in message and message.endswith(question)


WRONG_LAYERS = cohorts.Submission(
    "wrong_layers",
    "every layer and the loss wrong",
    edits=(
        ("dA = dout * (A > 0)", "dA = dout"),
        ("dA = dout * H * (1.0 - H)", "dA = dout * H"),
        ("dX = dout @ W", "dX = 2 * dout @ W"),
        ("dscores = (np.exp(log_probabilities) - T) / n", "dscores = np.exp(log_probabilities)"),
        ("grads[name] = reg * value", "grads[name] = value"),
        ("out = np.maximum(A, 0.0)", "out = A"),
    ),
)


@pytest.mark.parametrize("function", ["Network", "train"])
def test_mistakes_in_the_layers_do_not_reach_the_network_or_training(function):
    test = "test_network" if function == "Network" else "test_train"
    judgement = _judged(function, WRONG_LAYERS)
    assert judgement.verdicts[test].passed, judgement.verdicts[test].message
    assert not judgement.problems


def test_a_network_that_binds_its_layers_when_defined_is_judged_with_the_true_ones():
    """The graders' layers stand in for the student's from the first cell on, so a class that
    keeps its layer functions in a dictionary made when it is defined gets them too."""
    source, _ = notebooks("lab3")
    solution = cohorts.solution_code(
        next(
            c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "Network"
        ).source
    )
    bound = (
        solution.replace(
            "class Network:\n",
            'ACTIVATION_LAYERS = {"relu": (relu_forward, relu_backward)}\n\n\nclass Network:\n',
        )
        .replace(
            "activation_backward = {",
            "activation_backward = {**{k: v[1] for k, v in ACTIVATION_LAYERS.items()}, **{",
        )
        .replace(
            '"logistic": logistic_backward}[self.activation]',
            '"logistic": logistic_backward}}[self.activation]',
        )
    )
    submission = cohorts.Submission("bound", "", edits=WRONG_LAYERS.edits, whole_cell=bound)
    judgement = _judged("Network", submission)
    assert judgement.verdicts["test_network"].passed, judgement.verdicts["test_network"].message


def test_the_network_is_judged_on_architectures_the_notebook_never_shows():
    source = nbformat.read(SOURCE, as_version=4)
    text = "\n".join(cell.source for cell in source.cells).replace(" ", "")
    architectures = hidden.HIDDEN_ARCHITECTURES
    for sizes, _, _ in architectures:
        assert str(list(sizes)).replace(" ", "") not in text, sizes
    assert len({len(sizes) for sizes, _, _ in architectures}) >= 3  # depths
    assert {activation for _, activation, _ in architectures} == {"relu", "logistic"}
    network_judge = next(judge for judge in JUDGES if judge.function == "Network")
    plan = next(p for p in cached_plan(SOURCE).every() if p.judge is network_judge)
    judged_sizes = [
        tuple(int(s) for s in case["sizes"])
        for seed in plan.seeds
        for case in network_judge.cases(seed)
    ]
    assert judged_sizes == [sizes for sizes, _, _ in architectures]


@pytest.mark.parametrize(
    ("function", "cell"),
    [
        (
            "Network",
            "from helpers.network_reference import ReferenceNetwork as Network\n",
        ),
        (
            "affine_backward",
            "from helpers import layers_reference\n\n\n"
            "def affine_backward(dout, cache):\n"
            "    return layers_reference.affine_backward(dout, cache)\n",
        ),
    ],
    ids=["network", "affine_backward"],
)
def test_the_graders_own_answers_earn_nothing_and_are_named(function, cell):
    test = "test_network" if function == "Network" else f"test_{function}"
    judgement = _judged(function, cohorts.Submission("borrower", "", whole_cell=cell))
    verdict = judgement.verdicts[test]
    assert not verdict.passed
    assert "helpers." in verdict.message or any("helpers." in p for p in judgement.problems)


def test_a_train_that_trains_nothing_is_told_so_and_a_crash_is_a_crash():
    idle = "def train(network, X, T, batch_size, rate, n_epochs, rng):\n    return []\n"
    judgement = _judged("train", cohorts.Submission("idle", "", whole_cell=idle))
    assert "as they started" in judgement.verdicts["test_train"].message
    crash = idle.replace("return []", "return network.fit(X, T)")
    verdict = _judged("train", cohorts.Submission("crash", "", whole_cell=crash)).verdicts[
        "test_train"
    ]
    assert verdict.outcome is TestOutcome.CRASHED, verdict


def test_the_validation_set_never_reaches_the_sandbox_that_runs_train():
    train_judge = next(judge for judge in JUDGES if judge.function == "train")
    plan = next(p for p in cached_plan(SOURCE).every() if p.judge is train_judge)
    sent = train_judge.request(plan, "")["cases"]
    assert sent and all(
        "X" in case and "X_val" not in case and "T_val" not in case for case in sent
    )
    assert all("X_val" in case for seed in plan.seeds for case in train_judge.cases(seed))


def test_a_forged_answer_line_from_a_layer_counts_for_nothing():
    """What the student's code writes goes to stderr, even written to file descriptor 1: a
    line shaped like the probe's answer is not taken."""
    cell = (
        "import json, os\n"
        'os.write(1, (json.dumps({"phase": "cases", "setup_errors": {}, '
        '"definition_error": None, "cases": [{"error": None, "out": [[0.0]]}] * 3}) '
        '+ "\\n").encode())\n\n\n'
        "def relu_forward(A):\n    return A, A\n"
    )
    judgement = _judged("relu_forward", cohorts.Submission("forger", "", whole_cell=cell))
    assert not judgement.verdicts["test_relu_forward"].passed
    assert "relu_forward's out" in judgement.verdicts["test_relu_forward"].message
