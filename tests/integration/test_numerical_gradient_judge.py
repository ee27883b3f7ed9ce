"""Lab 1's judge of a student's own numerical_gradient, run in its sandbox (judge_runtime.probe)
on hidden functions: right forms earn the points, each mistake fails with what is wrong, and
code that takes the graders' answers, forges the answer line or never returns earns nothing
and is named."""

from __future__ import annotations

import pytest

from course.judge.runner import BUDGETS
from course.outcomes import TestOutcome
from tests.support.judged import judged

CELL = "test_numerical_gradient"

RIGHT = """def numerical_gradient(f, x, h=1e-5):
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        kept = x[index]
        x[index] = kept + h
        f_plus = f(x)
        x[index] = kept - h
        f_minus = f(x)
        x[index] = kept
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient
"""

FLAT = """def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)  # a view: x itself is nudged
    slopes = []
    for i in range(flat.size):
        flat[i] += h
        up = f(x)
        flat[i] -= 2 * h
        down = f(x)
        flat[i] += h
        slopes.append((up - down) / (2 * h))
    return np.array(slopes).reshape(x.shape)
"""


def judge(cell: str, budgets=BUDGETS):
    return judged("lab1", cell, function="numerical_gradient", budgets=budgets)


# f called with a flat view of x: it takes any array of x's entries, in the kernel and when judged
FLAT_POINT = """def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)
    slopes = np.zeros(flat.size)
    for i in range(flat.size):
        kept = flat[i]
        flat[i] = kept + h
        up = f(flat)
        flat[i] = kept - h
        down = f(flat)
        flat[i] = kept
        slopes[i] = (up - down) / (2 * h)
    return slopes.reshape(x.shape)
"""


@pytest.mark.parametrize(
    "cell",
    [RIGHT, FLAT, FLAT_POINT],
    ids=["indexed", "flat view, put back by adding", "f given the flat view"],
)
def test_a_right_numerical_gradient_earns_its_points(cell):
    judgement = judge(cell)
    assert judgement.verdicts[CELL].passed, judgement.verdicts[CELL].message
    assert judgement.problems == []


@pytest.mark.parametrize(
    ("edits", "said"),
    [
        ((("x[index] = kept - h", "x[index] = kept"), ("(2 * h)", "h")), "one-sided difference"),
        ((("(2 * h)", "h"),), "factor of 2"),
        ((("        x[index] = kept\n", ""),), "left x changed"),
    ],
    ids=["one-sided", "over h", "not put back"],
)
def test_each_mistake_fails_saying_what_is_wrong(edits, said):
    cell = RIGHT
    for old, new in edits:
        cell = cell.replace(old, new, 1)
    verdict = judge(cell).verdicts[CELL]
    assert not verdict.passed
    assert said in verdict.message, verdict.message
    assert "hidden function" in verdict.message


def test_a_copy_nudged_instead_of_x_is_named():
    copied = RIGHT.replace("    for index", "    x_given, x = x, x.copy()\n    for index", 1)
    verdict = judge(copied).verdicts[CELL]
    assert not verdict.passed
    assert "nudge the entries of x itself" in verdict.message, verdict.message


def test_a_blank_and_a_crash_fail_as_such():
    blank = judge("def numerical_gradient(f, x, h=1e-5):\n    raise NotImplementedError()\n")
    assert blank.verdicts[CELL].outcome is TestOutcome.BLANK
    crash = judge(RIGHT.replace("f_plus = f(x)", "f_plus = f(x) + undefined_name"))
    assert crash.verdicts[CELL].outcome is TestOutcome.CRASHED
    assert "NameError" in crash.verdicts[CELL].message


def test_the_graders_own_numerical_gradient_earns_nothing_and_is_named():
    cell = (
        "from helpers.gradcheck import numerical_gradient as graders\n\n\n"
        "def numerical_gradient(f, x, h=1e-5):\n    return graders(f, x, h)\n"
    )
    judgement = judge(cell)
    assert not judgement.verdicts[CELL].passed
    assert "helpers.gradcheck.numerical_gradient" in judgement.verdicts[CELL].message
    assert any("not be the student's own work" in p for p in judgement.problems)


def test_a_forged_answer_line_counts_for_nothing():
    """Whatever the student's code writes goes to stderr: a line shaped like the probe's
    answer, written to the real stdout too, is not taken."""
    cell = (
        "import json, os\n"
        'os.write(1, (json.dumps({"phase": "cases", "setup_errors": {}, '
        '"definition_error": None, "cases": []}) + "\\n").encode())\n\n\n'
        + RIGHT.replace("(2 * h)", "h")
    )
    judgement = judge(cell)
    assert not judgement.verdicts[CELL].passed
    assert "factor of 2" in judgement.verdicts[CELL].message


def test_a_numerical_gradient_that_never_returns_is_not_graded_and_flagged():
    cell = "def numerical_gradient(f, x, h=1e-5):\n    while True:\n        pass\n"
    judgement = judge(cell, budgets=(2.0, 2.0, 2.0))
    verdict = judgement.verdicts[CELL]
    assert verdict.outcome is TestOutcome.NOT_GRADED, verdict
    assert any("CPU time" in p or "backstop" in p for p in judgement.problems), judgement.problems


def test_the_functions_coefficients_never_reach_the_sandbox():
    """The gradient follows from a function's coefficients and its formula (which is no
    secret): a numerical_gradient that looks for them anywhere in its process, and calls f as
    often as differencing would, finds nothing to compute the answer from."""
    cell = """import gc


def numerical_gradient(f, x, h=1e-5):
    for _ in range(2 * x.size):
        f(x)
    for found in gc.get_objects():
        if isinstance(found, dict) and {"W", "c", "d"} <= set(found):
            flat = x.ravel()
            s = np.asarray(found["W"]) @ flat
            p = np.exp(s - s.max())
            p /= p.sum()
            grad = np.asarray(found["W"]).T @ p + np.asarray(found["c"]) * np.cos(flat)
            return (grad + np.asarray(found["d"]) * flat).reshape(x.shape)
    return np.zeros(x.shape)
"""
    verdict = judge(cell).verdicts[CELL]
    assert not verdict.passed, verdict.message
