"""The judge of a student's own ``numerical_gradient(f, x)`` (``labs.probe_judge``): called on
hidden smooth functions (``helpers.smooth_functions``) in the judge's probe, its answers judged
against the true gradients (``helpers.numerical_check``). The sandbox holds each case's ``x``
only: ``f`` asks this process for its values, so neither the functions' coefficients nor their
gradients reach the code judged, and the calls of ``f`` are counted here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers import numerical_check
from helpers.smooth_functions import smooth_value
from labs.backprop_judge import WITHHELD_HELPERS
from labs.probe_judge import ProbeJudge


def numerical_gradient_judge(hidden_cases: Callable[[int], list[dict]]) -> ProbeJudge:
    """The judge of ``numerical_gradient`` on the hidden cases ``hidden_cases(seed)``
    (``helpers.smooth_functions.smooth_cases`` drawn from seeds of the lab's own)."""
    return ProbeJudge(
        "numerical_gradient",
        numerical_check.check_numerical_gradient,
        ("helpers.smooth_functions", "call_numerical_gradient"),
        hidden_cases,
        numerical_check.answer_problem,
        lambda case: f"on a hidden function of x with shape {np.shape(case['x'])}",
        WITHHELD_HELPERS,
        _too_few_calls,
        private=lambda case: {"x": case["x"], "reads": case["reads"]},
        value=smooth_value,
    )


def _too_few_calls(case: dict, answer: dict) -> str | None:
    """The right gradient of a function called fewer times than it has entries: not
    differenced (a numerical gradient calls it twice per entry)."""
    calls, entries = answer.get("calls"), int(np.size(case["x"]))
    if (
        isinstance(calls, int)
        and calls < entries
        and numerical_check.answer_problem(case, answer) is None
    ):
        return (
            f"it returned the right gradient of a function of {entries} entries after calling "
            f"it {calls} times, too few to difference it"
        )
    return None
