"""Lab 3's judges, each function judged apart in its sandbox: every planted misconception
costs its function and is named; a layer's mistake never reaches the network's or training's
verdict (they are judged with the graders' layers and network); the network is judged on
architectures the notebook never shows; and code that reaches for the graders' answers gets
nothing for it and is named."""

from __future__ import annotations

import functools

import nbformat
import pytest

from course.case_keys import student_seed
from course.judge.plan import cached_plan
from course.judge.verdicts import judge_function
from course.notebooks import cell_by_grade_id
from course.outcomes import TestOutcome
from labs import cohorts
from labs.lab3 import cohort, hidden, truths
from labs.lab3.judge import JUDGES
from tests.support.judged import NOTEBOOKS, notebooks
from tests.support.paths import ROOT

SOURCE = ROOT / "source" / "lab3" / NOTEBOOKS["lab3"]
NAMED = [s for s in cohort.MISTAKES if s.misconception]


def _judged(function: str, submission: cohorts.Submission, **other_cells: str):
    """The judgement of ``function``'s test in the notebook ``submission`` hands in, with the
    solution cells ``other_cells`` names (by grade id) written as given."""
    source, release = notebooks("lab3")
    notebook = cohorts.build_submission(source, release, submission, function)
    for grade_id, code in other_cells.items():
        cell_by_grade_id(notebook, grade_id).source = code
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
    question = next(m for m in truths.MISTAKES if m.key == submission.misconception).question
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
    network_judge = next(judge for judge in JUDGES if judge.function == "Network")
    plan = next(p for p in cached_plan(SOURCE).every() if p.judge is network_judge)
    widths = set()
    for key in ("one student", "another"):
        student = plan.for_student(functools.partial(student_seed, key))
        architectures = [
            tuple(int(s) for s in case["sizes"])
            for seed in student.seeds
            for case in network_judge.cases(seed)
        ]
        for sizes in architectures:
            assert str(list(sizes)).replace(" ", "") not in text, sizes
        assert len({len(sizes) for sizes in architectures}) >= 3  # depths
        widths.add(tuple(architectures))
    assert len(widths) == 2  # each student's hidden widths are their own
    assert {activation for _, activation, _ in hidden.HIDDEN_ARCHITECTURES} == {"relu", "logistic"}


@pytest.mark.parametrize(
    ("function", "cell"),
    [
        (
            "Network",
            "from helpers.layers_numerical import NumericalNetwork as Network\n",
        ),
        (
            "affine_backward",
            "from helpers import layers_numerical\n\n\n"
            "def affine_backward(dout, cache):\n"
            "    return layers_numerical.affine_backward(dout, cache)\n",
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
    assert "0 samples in" in judgement.verdicts["test_train"].message
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


SIGMOID_BELOW = """\
def logistic_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def _sigmoid(A):
    return 0.5 * (1.0 + np.tanh(0.5 * A))
"""


def test_a_helper_written_in_a_later_cell_above_the_tests_is_there_when_judged():
    """The kernel had it when the test ran: so does the judge."""
    submission = cohorts.Submission(
        "helper_below",
        "",
        edits=(("out = 0.5 * (1.0 + np.tanh(0.5 * A))", "out = _sigmoid(A)"),),
    )
    judgement = _judged("logistic_forward", submission, logistic_backward=SIGMOID_BELOW)
    assert judgement.verdicts["test_logistic_forward"].passed, judgement.verdicts


def test_a_backward_given_the_named_cache_because_its_forward_raised_is_flagged_not_failed():
    forward = (
        "def affine_forward(X, W, b):\n"
        "    out = (W @ X.T + b).T\n"  # raises unless b broadcasts against (m, n)
        "    return out, {'X': X, 'W': W}\n"
    )
    backward = (
        "def affine_backward(dout, cache):\n"
        "    return dout @ cache['W'], dout.T @ cache['X'], dout.sum(axis=0)\n"
    )
    submission = cohorts.Submission("own_cache", "", whole_cell=backward)
    judgement = _judged("affine_backward", submission, affine_forward=forward)
    verdict = judgement.verdicts["test_affine_backward"]
    assert verdict.outcome is TestOutcome.NOT_GRADED, verdict
    assert any("affine_forward raised" in p for p in judgement.problems), judgement.problems


HELD_PARAMETERS = """\
class Network:
    def __init__(self, sizes, activation="relu", reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes, self.activation, self.reg = list(sizes), activation, reg
        self.params = {}
        for layer in range(1, len(sizes)):
            self.params[f"W{layer}"] = rng.normal(size=(sizes[layer], sizes[layer - 1]))
            self.params[f"b{layer}"] = np.zeros(sizes[layer])
        self.layers = [
            (self.params[f"W{layer}"], self.params[f"b{layer}"]) for layer in range(1, len(sizes))
        ]

    def loss(self, X, T):
        forward, backward = {
            "relu": (relu_forward, relu_backward),
            "logistic": (logistic_forward, logistic_backward),
        }[self.activation]
        out, caches = X, []
        for number, (W, b) in enumerate(self.layers, 1):
            out, affine_cache = affine_forward(out, W, b)
            activation_cache = None
            if number < len(self.layers):
                out, activation_cache = forward(out)
            caches.append((affine_cache, activation_cache))
        loss, dout = softmax_cross_entropy(out, T)
        loss = np.array([loss])  # a loss of shape (1,)
        grads = {}
        for number in range(len(caches), 0, -1):
            affine_cache, activation_cache = caches[number - 1]
            if activation_cache is not None:
                dout = backward(dout, activation_cache)
            dout, grads[f"W{number}"], grads[f"b{number}"] = affine_backward(dout, affine_cache)
        penalty, penalty_grads = l2_penalty(self.params, self.reg)
        return loss + penalty, {k: grads[k] + penalty_grads[k] for k in grads}
"""


def test_a_network_that_holds_its_parameters_elsewhere_and_a_loss_of_shape_1_earn_the_points():
    judgement = _judged("Network", cohorts.Submission("held", "", whole_cell=HELD_PARAMETERS))
    assert judgement.verdicts["test_network"].passed, judgement.verdicts["test_network"].message


def test_a_network_that_differentiates_numerically_is_not_credited_and_is_flagged():
    numerical = HELD_PARAMETERS.replace(
        "        return loss + penalty, {k: grads[k] + penalty_grads[k] for k in grads}\n",
        "        numerical = {}\n"
        "        for name, value in self.params.items():\n"
        "            numerical[name] = np.zeros_like(value)\n"
        "            for index in np.ndindex(value.shape):\n"
        "                kept = value[index]\n"
        "                value[index] = kept + 1e-5\n"
        "                up = self._plain(X, T)\n"
        "                value[index] = kept - 1e-5\n"
        "                down = self._plain(X, T)\n"
        "                value[index] = kept\n"
        "                numerical[name][index] = (up - down) / 2e-5\n"
        "        return loss + penalty, numerical\n\n"
        "    def _plain(self, X, T):\n"
        "        out = X\n"
        "        for number, (W, b) in enumerate(self.layers, 1):\n"
        "            out = affine_forward(out, W, b)[0]\n"
        "            if number < len(self.layers):\n"
        "                activation = {'relu': relu_forward, 'logistic': logistic_forward}\n"
        "                out = activation[self.activation](out)[0]\n"
        "        return softmax_cross_entropy(out, T)[0] + l2_penalty(self.params, self.reg)[0]\n",
    )
    judgement = _judged("Network", cohorts.Submission("numerical", "", whole_cell=numerical))
    verdict = judgement.verdicts["test_network"]
    assert not verdict.passed and "Not credited" in verdict.message, verdict
    assert any("differentiating numerically" in p for p in judgement.problems), judgement.problems


def test_a_train_that_reads_the_network_s_forward_earns_the_points():
    cell = cohorts.solution_code(
        next(
            c
            for c in notebooks("lab3")[0].cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == "train"
        ).source
    ).replace(
        "        losses.append(float(np.mean(batch_losses)))",
        "        scores, _ = network.forward(X)\n"
        "        losses.append(float(np.mean(batch_losses)))",
    )
    judgement = _judged("train", cohorts.Submission("forward", "", whole_cell=cell))
    assert judgement.verdicts["test_train"].passed, judgement.verdicts["test_train"].message


@pytest.mark.parametrize(
    ("function", "edits", "said"),
    [
        (
            "l2_penalty",
            (("grads[name] = reg * value", "value *= reg\n            grads[name] = value"),),
            "changed the parameters it was given",
        ),
        (
            "logistic_forward",
            (("out = 0.5 * (1.0 + np.tanh(0.5 * A))", "E = np.exp(A)\n    out = E / (1 + E)"),),
            "does exp overflow",
        ),
    ],
    ids=["l2_in_place", "logistic_overflow"],
)
def test_a_function_that_breaks_what_it_is_given_or_overflows_fails_saying_so(
    function, edits, said
):
    judgement = _judged(function, cohorts.Submission("x", "", edits=edits))
    verdict = judgement.verdicts[f"test_{function}"]
    assert not verdict.passed and said in verdict.message, verdict.message


def test_the_network_s_sandbox_gets_the_graders_layers_but_not_their_network():
    """What runs there as trusted code is reachable from the student's code (by its frames):
    the layers that stand in for theirs, and nothing that computes a network's answer."""
    network_judge = next(judge for judge in JUDGES if judge.function == "Network")
    plan = next(p for p in cached_plan(SOURCE).every() if p.judge is network_judge)
    label, code = network_judge.request(plan, "")["trusted"]
    namespace: dict = {}
    exec(compile(code, label, "exec"), namespace)
    assert set(network_judge.substitutes) <= set(namespace)
    assert not {"network_loss", "network_scores", "ReferenceNetwork"} & set(namespace)
