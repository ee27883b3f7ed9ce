"""The check behind the test of a student's ``numerical_gradient(f, x)``: its answers on the
smooth functions of ``helpers.smooth_functions`` against their true gradients.

The visible test calls :func:`check_numerical_gradient` in the student's kernel on fresh draws;
when grading, the judge (``labs/lab1/judge.py``) has the same calls made in its sandbox on hidden
draws and reaches its verdict with :func:`answer_problem`, here, where no student code runs.
The true gradients are computed only here (a withheld module while grading).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.failures import CheckFailed
from helpers.gradcheck import quiet_numerics
from helpers.smooth_functions import call_numerical_gradient, smooth_cases
from helpers.step_verdicts import step_errors

# A value counts as right when each entry's error (helpers.step_verdicts.step_errors) is at most
# this. Measured over 400 draws (tests/unit/test_numerical_check.py keeps the margins): central
# differences with h = 1e-5 stay below 4e-9, with h from 1e-6 to 1e-5 below 1.3e-8, with h
# from 1e-7 to 1e-4 below 1e-7; a one-sided difference with the given h = 1e-5 leaves at least
# 4e-6, a float32 difference at least 3e-5.
TOLERANCE = 1e-7
# Putting each entry back by adding and subtracting h leaves it off by an ulp or so: restored.
RESTORED = 1e-12


def smooth_gradient(case: dict) -> np.ndarray:
    """The true gradient of ``case``'s function (``helpers.smooth_functions``) at its ``x``,
    shaped like ``x``."""
    x = np.asarray(case["x"], dtype=np.float64)
    flat = x.ravel()
    scores = case["W"] @ flat
    weights = np.exp(scores - np.max(scores))
    weights /= weights.sum()
    return (case["W"].T @ weights + case["c"] * np.cos(flat) + case["d"] * flat).reshape(x.shape)


def answer_problem(case: dict, answer: dict, which: str = "a") -> str | None:
    """Why ``answer`` (``call_numerical_gradient``'s, on ``case``) is wrong, for the student:
    what went wrong and where, never the value expected; None when it is right. ``which``
    function it was (``a``, ``a hidden``). An error it raised is the caller's to describe."""
    x = np.asarray(case["x"])
    on = f"on {which} function of x with shape {x.shape}"
    if answer.get("value") is None:
        return f"numerical_gradient returned no array of numbers {on}"
    with quiet_numerics():
        value = np.array(answer["value"], dtype=np.float64)
    truth = smooth_gradient(case)
    if value.shape != truth.shape:
        return f"numerical_gradient returned shape {value.shape} {on}; the gradient has x's shape"
    errors = step_errors(truth, value)
    worst = float(np.max(errors, initial=0.0))
    changed = answer.get("changed")
    scale = float(np.max(np.abs(x), initial=1.0))
    if not isinstance(changed, int | float) or not changed <= RESTORED * max(scale, 1.0):
        return (
            f"numerical_gradient left x changed after it returned {on}: put each nudged "
            "entry back before nudging the next, and before returning."
        )
    if worst <= TOLERANCE:
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(errors)), errors.shape))
    wrong = f"numerical_gradient is wrong {on}: largest relative error {worst:.1e} at index {index}"
    with quiet_numerics():
        ratio = value / np.where(truth == 0, np.nan, truth)
    if case["reads"] == "itself" and np.all(np.abs(value) <= 1e-12 * np.abs(truth).max()):
        hint = (
            "it returned zeros for an f that reads x itself rather than its argument (as a "
            "loss over a network's parameters does): nudge the entries of x itself, in place"
        )
    elif np.all(np.isfinite(ratio[np.abs(truth) > 1e-3])) and (
        np.allclose(ratio[np.abs(truth) > 1e-3], 2.0, rtol=1e-3)
        or np.allclose(ratio[np.abs(truth) > 1e-3], 0.5, rtol=1e-3)
    ):
        hint = "it is off by a factor of 2 everywhere: f(x + h) and f(x - h) are 2h apart"
    elif worst < 1e-3:
        hint = (
            "an error this small but far above rounding is what a one-sided difference, or a "
            "step far from the given h, leaves: (f(x + h) - f(x - h)) / 2h with h = 1e-5 is "
            "accurate to about 1e-10"
        )
    else:
        hint = "each entry is (f(x + h e_i) - f(x - h e_i)) / 2h, with only entry i nudged"
    return f"{wrong} (tolerance {TOLERANCE:.0e}); {hint}."


def check_numerical_gradient(numerical_gradient: Callable, seed: int) -> None:
    """Test ``numerical_gradient(f, x)`` on smooth functions with known gradients, and raise
    AssertionError saying what is wrong. In the notebook they are fresh draws (``seed`` plays
    no part); when grading, the judge makes the same calls on the hidden draws ``seed`` names
    (``labs/lab1/hidden.py``), and only its verdict counts."""
    for case in smooth_cases(np.random.default_rng()):
        answer = call_numerical_gradient(numerical_gradient, case)
        if answer["error"] is not None:
            shape = np.shape(case["x"])
            raise CheckFailed(
                f"numerical_gradient raised {answer['error']} on a function of x with shape {shape}"
            )
        if problem := answer_problem(case, answer):
            raise CheckFailed(problem)
