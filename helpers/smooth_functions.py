"""Smooth scalar functions a student's ``numerical_gradient`` is checked on, and the one call of
it the check makes on each: the same in the notebook's visible test and in the judge's sandbox
(``judge_runtime.probe``), so the two cannot drift. Not withheld: the judge's sandbox calls it.

Each function is ``f(x) = logsumexp(W x̄) + c · sin(x̄) + ½ d · x̄²`` of an array ``x`` of any
shape (``x̄``: its entries in order), with random ``W``, ``c`` and ``d``. Its second derivatives are
of the order of its gradient, so a one-sided difference is off by about ``h`` of the gradient's
scale while a central one is off by about ``h²``. The true gradients are the graders' (in
``numerical_check``, withheld while grading): nothing here computes one.

A case's ``f`` reads either its argument or, as a loss over a network's parameters does, the
array ``x`` itself (``reads``): a numerical gradient must nudge ``x`` in place for the second.
In the judge's sandbox ``f`` asks the grader for its values: the coefficients, from which the
gradient follows, never reach the code judged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judge_runtime.probe import WRONG_POINT
from judge_runtime.runner import describe_error

SHAPES = ((4,), (3, 2), (1,), (2, 3))  # the shapes of x, one per case, in order
OUTPUTS = 3  # rows of W
# what each case's f reads: a vector and a matrix each way
READS = ("argument", "itself", "itself", "argument")


def smooth_cases(rng: np.random.Generator) -> list[dict]:
    """One case per shape of :data:`SHAPES`, drawn from ``rng``: each ``{"x", "W", "c", "d"}``
    (float64 arrays; ``W`` has a column per entry of ``x``) and ``"reads"``, what its ``f``
    reads (:data:`READS`)."""
    cases = []
    for number, shape in enumerate(SHAPES):
        size = int(np.prod(shape))
        cases.append(
            {
                "x": rng.uniform(-1.5, 1.5, size=shape),
                "W": rng.normal(size=(OUTPUTS, size)),
                "c": rng.uniform(0.5, 1.5, size=size) * rng.choice((-1.0, 1.0), size=size),
                "d": rng.uniform(0.5, 2.0, size=size),
                "reads": READS[number],
            }
        )
    return cases


def smooth_value(case: dict, x: np.ndarray) -> float:
    """``f(x)`` for the function of ``case``; ValueError unless ``x`` has as many entries as
    the case's (the message the judge's sandbox gives too: judge_runtime.probe)."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    if flat.size != case["W"].shape[1]:
        raise ValueError(WRONG_POINT)
    scores = case["W"] @ flat
    top = float(np.max(scores))
    return (
        top
        + float(np.log(np.sum(np.exp(scores - top))))
        + float(case["c"] @ np.sin(flat))
        + 0.5 * float(case["d"] @ flat**2)
    )


def call_numerical_gradient(numerical_gradient: Callable, case: dict) -> dict:
    """One call ``numerical_gradient(f, x)`` on ``case``, as plain data: ``value`` (what it
    returned, as nested lists of floats, or None when that is not an array of numbers),
    ``error`` (what it raised, or None; the exception itself under ``raised``, which is not
    data), ``calls`` (of ``f``) and ``changed`` (the largest change it left in ``x``).

    ``f`` is the case's function (:func:`smooth_value`), or, when the case holds only ``x``
    and ``reads`` and a ``value`` to ask (as in the judge's sandbox, which never holds the
    function's coefficients: ``judge_runtime.probe``), that."""
    x = np.array(case["x"], dtype=np.float64)
    given = x.copy()
    calls = [0]
    reads_itself = case["reads"] == "itself"
    value = case.get("value") or (lambda point: smooth_value(case, point))

    def f(argument):
        calls[0] += 1
        return value(x if reads_itself else argument)

    answer: dict = {"value": None, "error": None, "calls": 0, "changed": 0.0}
    try:
        with np.errstate(all="ignore"):
            returned = numerical_gradient(f, x)
        answer["value"] = _numbers(returned)
    except Exception as error:  # the student's code: any failure is data
        answer["error"] = describe_error(error)
        answer["raised"] = error  # for the caller (not sent: see judge_runtime.probe)
    answer["calls"] = calls[0]
    with np.errstate(all="ignore"):
        changed = np.abs(x - given)
    answer["changed"] = float(np.max(changed)) if np.all(np.isfinite(changed)) else float("inf")
    return answer


def _numbers(value):
    try:
        with np.errstate(all="ignore"):
            array = np.array(value, dtype=np.float64)
    except Exception:  # whatever the student returned
        return None
    return array.tolist() if array.size <= 10_000 else None
