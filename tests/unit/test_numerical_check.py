"""helpers.numerical_check: a student's numerical_gradient judged on smooth functions. Right ones
pass in any correct form, over many draws; each single mistake fails with its own hint; the
true gradients are those of the functions the probe calls."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.failures import CheckFailed
from helpers.gradcheck import numerical_gradient as graders_numerical_gradient
from helpers.numerical_check import (
    TOLERANCE,
    answer_problem,
    check_numerical_gradient,
    smooth_gradient,
)
from helpers.smooth_functions import call_numerical_gradient, smooth_cases, smooth_value


def central(h=1e-5, restore="assign", reads="x", divide=2.0, one_sided=False, dtype=None):
    """A numerical gradient, right by default, with one thing changed on request."""

    def numerical_gradient(f, x, step=h):
        gradient = np.zeros(x.shape, dtype=dtype)
        for index in np.ndindex(x.shape):
            kept = x[index]
            point = x.copy() if reads == "copy" else x
            point[index] = kept + step
            plus = f(point)
            point[index] = kept if one_sided else kept - step
            minus = f(point)
            if restore == "assign":
                point[index] = kept
            elif restore == "add":
                point[index] += step
            gradient[index] = (plus - minus) / (divide * step / (2.0 if one_sided else 1.0))
        return gradient

    return numerical_gradient


def iterating_flat(f, x):
    """Another right form: a flat view, a list of differences, reshaped at the end."""
    flat, parts = x.reshape(-1), []
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + 1e-6
        up = f(x)
        flat[i] = old - 1e-6
        down = f(x)
        flat[i] = old
        parts.append((up - down) / 2e-6)
    return np.array(parts).reshape(x.shape)


def problems(numerical_gradient, seeds=range(40)) -> list[str]:
    found = []
    for seed in seeds:
        for case in smooth_cases(np.random.default_rng(seed)):
            answer = call_numerical_gradient(numerical_gradient, case)
            assert answer["error"] is None, answer["error"]
            if problem := answer_problem(case, answer):
                found.append(problem)
    return found


def test_the_true_gradients_are_the_functions_own():
    for case in smooth_cases(np.random.default_rng(5)):
        x = case["x"].copy()
        numerical = graders_numerical_gradient(lambda y, case=case: smooth_value(case, y), x)
        assert np.allclose(smooth_gradient(case), numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "numerical_gradient",
    [
        central(),
        central(h=1e-6),
        central(restore="add"),
        central(dtype=np.float64),
        iterating_flat,
        graders_numerical_gradient,
    ],
    ids=["central", "h=1e-6", "restored by adding h back", "float64", "flat view", "graders'"],
)
def test_every_right_form_passes_on_every_draw(numerical_gradient):
    assert problems(numerical_gradient) == []


@pytest.mark.parametrize(
    ("numerical_gradient", "hint"),
    [
        (central(one_sided=True), "one-sided difference"),
        (central(divide=1.0), "factor of 2"),
        (central(reads="copy"), "nudge the entries of x itself"),
        (central(restore="none"), "left x changed"),
    ],
    ids=["one-sided", "over h", "a copy nudged", "not put back"],
)
def test_each_mistake_fails_with_its_hint(numerical_gradient, hint):
    found = problems(numerical_gradient, seeds=range(10))
    assert found and all(hint in problem for problem in found), found[:3]
    assert "expected" not in " ".join(found)  # no value the answer should have had


def test_the_visible_check_raises_what_it_found():
    check_numerical_gradient(central(), seed=0)
    with pytest.raises(CheckFailed, match="factor of 2"):
        check_numerical_gradient(central(divide=1.0), seed=0)
    with pytest.raises(CheckFailed, match="raised NotImplementedError"):
        check_numerical_gradient(lambda f, x: (_ for _ in ()).throw(NotImplementedError()), 0)


def test_the_tolerance_sits_between_rounding_and_a_one_sided_difference():
    """The margins docs/benchmarks.md states, over 100 draws: the right form stays 20 times
    below the tolerance, a one-sided difference with the given h 10 times above it."""
    worst_right, best_one_sided = 0.0, np.inf
    for seed in range(100):
        cases = smooth_cases(np.random.default_rng(1000 + seed))
        errors = {}
        for name, numerical_gradient in (("right", central()), ("one", central(one_sided=True))):
            worst = 0.0
            for case in cases:
                value = np.array(call_numerical_gradient(numerical_gradient, case)["value"])
                truth = smooth_gradient(case)
                scale = 1e-2 * np.abs(truth).max()
                error = np.abs(value - truth) / (np.abs(value) + np.abs(truth) + scale)
                worst = max(worst, float(error.max()))
            errors[name] = worst
        worst_right = max(worst_right, errors["right"])
        best_one_sided = min(best_one_sided, errors["one"])
    assert worst_right * 20 < TOLERANCE < best_one_sided / 10
