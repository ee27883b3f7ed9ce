"""Lab 3's judging in the grading process: the true value of each function's outputs on a hidden
case (the graders' analytic layers and network, ``labs/lab3/reference.py``), the known wrong
answers the judge names (each with the question that points at it, never the formula), and
the verdict on training. Instructor-only: never installed for students, never in a sandbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course.misconceptions import Misconception
from helpers import layers_check
from helpers.gradcheck import quiet_numerics
from helpers.layer_calls import parameters_of
from labs.lab3 import reference


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer of one function (``wrong(case)``: its outputs by name, computed
    from the case's true inputs) and the question that points at it, never the formula."""

    key: str
    function: str
    wrong: Callable[[dict], dict]
    question: str


def _logistic(A):
    return np.exp(-np.logaddexp(0.0, -np.asarray(A, dtype=np.float64)))


def _arrays(case: dict, *names: str) -> list[np.ndarray]:
    return [np.asarray(case[name], dtype=np.float64) for name in names]


def _affine_truth(case):
    X, W, b, dout = _arrays(case, "X", "W", "b", "dout")
    dX, dW, db = reference.affine_backward(dout, (X, W, b))
    return {"out": reference.affine_forward(X, W, b)[0], "dX": dX, "dW": dW, "db": db}


def _activation_truth(case):
    A, dout = _arrays(case, "A", "dout")
    if case["layer"] == "relu":
        out, cache = reference.relu_forward(A)
        return {"out": out, "dA": reference.relu_backward(dout, cache)}
    out, cache = reference.logistic_forward(A)
    return {"out": out, "dA": reference.logistic_backward(dout, cache)}


def _loss_truth(case):
    scores, T = _arrays(case, "scores", "T")
    loss, dscores = reference.softmax_cross_entropy(scores, T)
    return {"loss": loss, "dscores": dscores}


def _penalty_truth(case):
    penalty, grads = reference.l2_penalty(parameters_of(case), float(case["reg"]))
    return {"penalty": penalty, "grads": grads}


def _network_truth(case, reg: float | None = None):
    params = parameters_of(case)
    X, T = _arrays(case, "X", "T")
    loss, grads = reference.network_loss(
        params, case["activation"], float(case["reg"]) if reg is None else reg, X, T
    )
    return {"loss": loss, "grads": grads}


def _l2_factor(case):
    _, grads = reference.l2_penalty(parameters_of(case), float(case["reg"]))
    return {"grads": {name: 2 * value for name, value in grads.items()}}


def _l2_biases(case):
    params = parameters_of(case)
    reg = float(case["reg"])
    return {
        "penalty": 0.5 * reg * sum(float(np.sum(v**2)) for v in params.values()),
        "grads": {name: reg * value for name, value in params.items()},
    }


MISTAKES = (
    Mistake(
        "db_not_summed",
        "affine_backward",
        lambda case: {"db": np.asarray(case["dout"], dtype=np.float64)},
        "db has b's shape: each sample's row of dout contributes to it. How do they combine?",
    ),
    Mistake(
        "db_mean",
        "affine_backward",
        lambda case: {"db": np.asarray(case["dout"], dtype=np.float64).mean(axis=0)},
        "dout already holds each sample's share of the loss: is db their mean, or something else?",
    ),
    Mistake(
        "dW_transposed",
        "affine_backward",
        lambda case: {"dW": _affine_truth(case)["dW"].T},
        "dW has W's shape, (outputs, inputs): which of dout and X gives its rows?",
    ),
    Mistake(
        "relu_slope_at_kink",
        "relu_backward",
        lambda case: {"dA": np.asarray(case["dout"]) * (np.asarray(case["A"]) >= 0)},
        layers_check.AT_THE_KINK,
    ),
    Mistake(
        "relu_mask_of_output",
        "relu_backward",
        lambda case: {"dA": np.asarray(case["dout"], dtype=np.float64)},
        "Your gradient passes dout through where the input was negative too: a mask of the "
        "output, out >= 0, holds everywhere. Which values tell where ReLU was flat?",
    ),
    Mistake(
        "logistic_slope_of_input",
        "logistic_backward",
        lambda case: {"dA": np.asarray(case["dout"]) * case["A"] * (1 - np.asarray(case["A"]))},
        "H * (1 - H) is the logistic's slope in terms of its output H: what does your cache "
        "hold, its input or its output?",
    ),
    Mistake(
        "logistic_of_output",
        "logistic_backward",
        lambda case: {
            "dA": np.asarray(case["dout"])
            * _logistic(_logistic(case["A"]))
            * (1 - _logistic(_logistic(case["A"])))
        },
        "Your cache holds the output H already: is the logistic applied to it again?",
    ),
    Mistake(
        "dscores_not_mean",
        "softmax_cross_entropy",
        lambda case: {"dscores": _loss_truth(case)["dscores"] * len(case["scores"])},
        "The loss is the mean over the batch: what factor does each row's gradient carry?",
    ),
    Mistake(
        "softmax_overflow",
        "softmax_cross_entropy",
        lambda case: {},  # told by what it returned on large scores (_overflowed), not a value
        "These scores are large, as an untrained network's can be: does exp overflow? The "
        "softmax of a row does not change when a constant is taken off every score.",
    ),
    Mistake(
        "logistic_overflow",
        "logistic_forward",
        lambda case: {},  # told by what it returned on large inputs (_overflowed), not a value
        "These inputs are large: does exp overflow, or give inf / inf? Write the logistic so "
        "that exp is only ever taken of a number that is not large and positive.",
    ),
    Mistake(
        "l2_factor",
        "l2_penalty",
        _l2_factor,
        "Is the penalty ½·reg·Σ‖W‖², as the notebook writes it, and is the gradient of its "
        "½·W² terms W?",
    ),
    Mistake(
        "l2_biases",
        "l2_penalty",
        _l2_biases,
        "Which parameters does the notebook regularise: the weights only, or the biases too?",
    ),
    Mistake(
        "penalty_missing",
        "Network",
        lambda case: _network_truth(case, reg=0.0),
        "Is the L2 penalty added to the loss, and its gradient to the weights' gradients?",
    ),
)


# How each graded function's true outputs are computed from a case.
TRUTHS: dict[str, Callable[[dict], dict]] = {
    "affine_forward": _affine_truth,
    "affine_backward": _affine_truth,
    "relu_forward": _activation_truth,
    "relu_backward": _activation_truth,
    "logistic_forward": _activation_truth,
    "logistic_backward": _activation_truth,
    "softmax_cross_entropy": _loss_truth,
    "l2_penalty": _penalty_truth,
    "Network": _network_truth,
}


def true_outputs(function: str, case: dict) -> dict:
    """What ``function`` must return on ``case``, by name (analytic)."""
    with quiet_numerics():
        return TRUTHS[function](case)


def mistake_of(function: str, case: dict, answer: dict) -> Mistake | None:
    """The known mistake of :data:`MISTAKES` that ``function``'s wrong ``answer`` on ``case``
    matches, or None."""
    for mistake in MISTAKES:
        if mistake.function == function:
            with quiet_numerics():
                if layers_check.matches(mistake.wrong(case), answer):
                    return mistake
    if function in ("softmax_cross_entropy", "logistic_forward") and layers_check.overflowed(
        case, answer
    ):
        key = "softmax_overflow" if function == "softmax_cross_entropy" else "logistic_overflow"
        return next(mistake for mistake in MISTAKES if mistake.key == key)
    return None


def problem(function: str) -> Callable[[dict, dict, str], str | None]:
    """Why ``function``'s answer on a hidden case is wrong (``helpers.layers_check.problem_of``
    against the true outputs), with the question of the known mistake it matches; None when it
    is right."""

    def judged(case: dict, answer: dict, which: str) -> str | None:
        said = layers_check.problem_of(function, case, answer, true_outputs(function, case), which)
        if (
            said
            and (mistake := mistake_of(function, case, answer))
            and mistake.question not in said
        ):
            return f"{said} {mistake.question}"
        return said

    return judged


def misconceptions(function: str) -> tuple[Misconception, ...]:
    """The misconceptions the judge of ``function`` names, as the course's report counts them."""
    return tuple(
        Misconception(mistake.key, function, lambda inputs: None, mistake.question)
        for mistake in MISTAKES
        if mistake.function == function
    )


def training_problem(case: dict, answer: dict, which: str = "a") -> str | None:
    """Why ``train`` is wrong (``helpers.layer_calls.call_train``'s answer on ``case``): what
    its record shows it did otherwise than the notebook says (``helpers.layers_check``), or the
    validation accuracy of the network it left, against the threshold; None when it is right."""
    if said := layers_check.sgd_problem(case, answer, which):
        return said
    on = f"on {which} data set, {case['data']}"
    params = answer.get("params")
    start = reference.initial_parameters([int(s) for s in case["sizes"]], case["seed"])
    if not isinstance(params, dict) or set(params) != set(start):
        return f"train left the network without its parameters ({on})"
    threshold = layers_check.VALIDATION_THRESHOLD
    with quiet_numerics():
        try:
            trained = {name: np.asarray(params[name], dtype=np.float64) for name in start}
            accuracy = reference.accuracy(trained, case["activation"], case["X_val"], case["T_val"])
        except (TypeError, ValueError):
            return f"train left parameters of the wrong shapes or kinds ({on})"
    if not _replayed(case, answer, trained):
        return (
            "train left parameters that SGD over the batches it asked the network for does not "
            f"give ({on}): each batch in turn, a step of -rate times that batch's gradient."
        )
    if accuracy >= threshold:
        return None
    return (
        f"after train, the network classifies {accuracy:.0%} of a validation set right ({on}); "
        f"a right train reaches at least {threshold:.0%}."
    )


# The replay's parameters and the ones train left agree within this share of their scale: the
# same steps in another arithmetic order differ by rounding, far below it.
REPLAYED = 1e-6


def _replayed(case: dict, answer: dict, trained: dict) -> bool:
    """Whether SGD over the batches in ``train``'s record (rows of the training set, in order),
    from the network's starting parameters, at the case's rate, ends at ``trained``: so the
    record, made where the student's code runs, is what train did."""
    X, T = np.asarray(case["X"], dtype=np.float64), np.asarray(case["T"], dtype=np.float64)
    params = reference.initial_parameters([int(s) for s in case["sizes"]], case["seed"])
    rate = float(case["rate"])
    with quiet_numerics():
        try:
            for rows in answer["batches"]:
                batch = np.asarray(rows, dtype=int)
                _, grads = reference.network_loss(
                    params, case["activation"], float(case["reg"]), X[batch], T[batch]
                )
                params = {name: params[name] - rate * grads[name] for name in params}
        except (TypeError, ValueError, IndexError):
            return False
        return all(
            np.allclose(
                trained[name],
                params[name],
                rtol=0.0,
                atol=REPLAYED * float(np.max(np.abs(params[name]), initial=1.0)),
            )
            for name in params
        )
