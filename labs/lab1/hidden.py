"""Lab 1's hidden cases: drawn like helpers.backprop_spec.random_case, from seeds nobody else has.

Instructor-only (never installed for students, never inside a sandbox): the judge
(``course.judge``) imports it from the course folder. A hidden test's ``seed=N`` names the
cases it is judged on; changing DRAW below changes every hidden case of the lab.
"""

from __future__ import annotations

import numpy as np

from helpers.backprop_spec import HIDDEN_CASES, random_case
from helpers.smooth_functions import smooth_cases

DRAW = 0x5EED_1AB1  # part of every hidden case's seed


def hidden_cases(seed: int, n_cases: int = HIDDEN_CASES) -> list[tuple]:
    """The ``n_cases`` cases ``(x, t, W1, b1, W2, b2)`` of a hidden test's seed."""
    return [random_case(np.random.default_rng((DRAW, seed, case))) for case in range(n_cases)]


def hidden_smooth_cases(seed: int) -> list[dict]:
    """The smooth functions (``helpers.smooth_functions``) a hidden test of
    ``numerical_gradient`` with ``seed=N`` is judged on."""
    return smooth_cases(np.random.default_rng((DRAW, seed, 0xD1FF)))
