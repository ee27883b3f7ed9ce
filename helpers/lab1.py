"""The checks behind Lab 1's test cells: one per backprop step, end to end, and training.

Steps are judged by ``helpers.step_verdicts`` on the one-sample backprop of
``helpers.backprop_spec`` (``LAB1``); the visible test cells call these functions in the student's
kernel, and the grader's judge reaches the same verdicts on hidden cases. The training test
trains the student's ``backprop`` on a small Annuli set and fails a network whose hidden layer
does not learn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import datasets, network
from helpers.backprop_spec import HIDDEN_CASES, LAB1, random_cases
from helpers.failures import CheckFailed
from helpers.gradcheck import (
    quiet_numerics,
)
from helpers.step_verdicts import judged_run, verify_returned, verify_step
from judge_runtime.flag import JUDGED_OUTSIDE, JUDGED_VARIABLE
from judge_runtime.runner import describe_error
from judge_runtime.training import WrongReturn, returned_gradients, train


def backprop_intermediates(backprop: Callable, x, t, W1, b1, W2, b2) -> dict:
    """Every forward value and step of your ``backprop`` for one sample, by name (as each
    was right after its last assignment; for printing).

    Raises an error naming what ``backprop`` raised, so an unfilled blank shows where it is.
    """
    run, _ = judged_run(backprop, x, t, W1, b1, W2, b2)
    if run["full"]["error"]:
        raise RuntimeError(f"backprop raised {run['full']['error']}")
    return {
        name: np.array(value) for name, value in run["full"]["values"].items() if value is not None
    }


def check_step(name: str, backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test one backprop step on one sample; raise AssertionError with advice if it is wrong."""
    verify_step(LAB1, "for this sample", name, backprop, (x, t, W1, b1, W2, b2))


def check_backprop_gradients(backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test the four gradients backprop returns for one sample; raise AssertionError if wrong."""
    verify_returned(LAB1, "for this sample", backprop, (x, t, W1, b1, W2, b2))


def check_step_on_hidden_cases(
    name: str, backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """Test one step on several random samples, targets and parameters. In the notebook they
    are fresh draws; when grading, the judge runs the same check on the hidden cases ``seed``
    names (``course.judge``), and only its verdict counts."""
    for case in random_cases(n_cases):
        check_step(name, backprop, *case)


def check_backprop_gradients_on_hidden_cases(
    backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """:func:`check_backprop_gradients` on several random cases (see
    :func:`check_step_on_hidden_cases`)."""
    for case in random_cases(n_cases):
        check_backprop_gradients(backprop, *case)


def _returned_gradients(result) -> list:
    """What backprop returned, as a list of one gradient per parameter; raise AssertionError if
    it is not."""
    try:
        return returned_gradients(result, network.PARAMETER_NAMES)
    except ValueError as error:
        raise CheckFailed(f"backprop {error}") from None


@dataclass(frozen=True)
class TrainingResult:
    """Loss and accuracy before and after a short training run."""

    loss_before: float
    loss_after: float
    accuracy_before: float
    accuracy_after: float
    n_classes: int


# The training test: full-batch gradient descent on a small Annuli set. The output layer alone
# reaches the class prior (loss ln 3 = 1.10); only a working hidden layer takes the loss below
# TRAINING_LOSS in this many epochs. Measured by bench/training_margin.py (docs/benchmarks.md):
# over 100 seeds, every correct run ends well below it and every named misconception of the
# hidden layer well above it.
TRAINING_POINTS = 80
TRAINING_EPOCHS = 300
TRAINING_RATE = 4.0
TRAINING_SEED = 7
TRAINING_LOSS = 0.34


def training_problem(n_points: int = TRAINING_POINTS, seed: int = TRAINING_SEED):
    """The training test's data and starting point: ``(X, T, params)`` for a fresh 10-unit
    network on a small Annuli set."""
    ds = datasets.Annuli(n=n_points, noise=1.0, seed=seed)
    params = network.init_parameters(ds.input_dim, 10, ds.n_classes, np.random.default_rng(seed))
    return ds.inputs(), ds.targets(), params


def training_request() -> dict:
    """The judge's training run, as the runner (judge_runtime.runner) is asked for it."""
    X, T, params = training_problem()
    return {
        "X": X.tolist(),
        "T": T.tolist(),
        "epochs": TRAINING_EPOCHS,
        "rate": TRAINING_RATE,
        "batched": False,
        "params": {k: v.tolist() for k, v in params.items()},
    }


def training_reached(X, T) -> Callable[[dict], bool]:
    """Whether parameters (by name) take the mean loss on ``X (n, d)``, ``T (n, k)`` below
    TRAINING_LOSS: what the training test asks, so its training may stop there."""

    def reached(params: dict) -> bool:
        with quiet_numerics():
            return bool(network.mean_loss(X, T, **params) < TRAINING_LOSS)

    return reached


def train_parameters(
    backprop: Callable,
    X,
    T,
    params: dict,
    n_epochs: int = TRAINING_EPOCHS,
    kappa: float = TRAINING_RATE,
) -> dict:
    """Full-batch gradient descent with the lab's loop (``judge_runtime.training``): per epoch,
    ``backprop`` for every sample, then each parameter moves against the averaged gradient,
    scaled by ``kappa``, until the loss is below TRAINING_LOSS (:func:`training_reached`) or
    ``n_epochs`` have run. Returns the trained parameters (``params`` itself is not changed;
    ``backprop`` gets copies, so changing its arguments in place changes nothing here)."""
    with quiet_numerics():
        try:
            return train(
                backprop,
                X,
                T,
                params,
                n_epochs,
                kappa,
                batched=False,
                reached=training_reached(X, T),
            )
        except WrongReturn as error:
            raise CheckFailed(f"backprop {error}") from None


def training_result(X, T, before: dict, after: dict) -> TrainingResult:
    """Loss and accuracy of the network before and after training, computed here."""
    with quiet_numerics():
        return TrainingResult(
            network.mean_loss(X, T, **before),
            network.mean_loss(X, T, **after),
            network.accuracy(X, T, **before),
            network.accuracy(X, T, **after),
            T.shape[1],
        )


def judge_training(result: TrainingResult) -> None:
    """Raise AssertionError unless training took the loss below TRAINING_LOSS (where only a
    working hidden layer takes it) and raised the accuracy."""
    progress = (
        f"loss {result.loss_before:.3f} -> {result.loss_after:.3f}, accuracy "
        f"{result.accuracy_before:.0%} -> {result.accuracy_after:.0%}"
    )
    if not np.isfinite(result.loss_after) or result.loss_after >= TRAINING_LOSS:
        raise CheckFailed(
            f"Training with your backprop did not lower the loss enough ({progress}); with "
            f"right gradients it ends below {TRAINING_LOSS:g}. A loss that stays near "
            f"{np.log(result.n_classes):.2f} (ln {result.n_classes}, a guess of each class's "
            "share) means the hidden layer is not learning: check the gradients that pass "
            "through the logistic (its slope, the bias b1), then the signs and shapes of the "
            "rest."
        )
    if result.accuracy_after < result.accuracy_before + 0.1:
        raise CheckFailed(
            f"Training with your backprop did not improve the accuracy enough ({progress})."
        )


def check_training(backprop: Callable) -> None:
    """Train briefly with ``backprop``; raise unless the loss fell and the accuracy rose.
    Not in a kernel the judge grades (see judge_runtime.flag): the judge trains outside it."""
    if os.environ.get(JUDGED_VARIABLE):
        print(JUDGED_OUTSIDE)
        return
    X, T, params = training_problem()
    try:
        trained = train_parameters(backprop, X, T, params)
    except AssertionError:
        raise
    except Exception as error:  # student code
        raise CheckFailed(
            f"Training with your backprop failed: it raised {describe_error(error)}"
        ) from None
    judge_training(training_result(X, T, params, trained))
