"""Lab 2's hidden cases: batches drawn like helpers.lab2.random_batches, from seeds and sizes
nobody else has. Instructor-only (never installed for students, never inside a sandbox). A
hidden test's ``seed=N`` names the batches it is judged on; changing DRAW changes every hidden
case."""

from __future__ import annotations

import numpy as np

from helpers.lab2 import HIDDEN_CASES, random_batches
from helpers.sgd_check import sgd_cases

DRAW = 0x5EED_1AB2  # part of every hidden case's seed
# A seed's batch sizes, in turn: n = k (3) lets a sum over the wrong axis keep its shape (so the
# mistake is named); an odd size; a batch of one; a batch larger than any the notebook shows (a
# loop of a fixed length falls short). The odd and the large size are drawn with the seed's
# cases, so that each student's differ.
ODD_SIZES = (5, 7, 9, 11, 13)
LARGE_SIZES = range(24, 65)
POSSIBLE_SIZES = (3, *ODD_SIZES, 1, LARGE_SIZES[0], LARGE_SIZES[-1])  # bench/tolerance.py
# The loop check's two batches: not the notebook's (16, 240), so that no code can tell them;
# far apart, so that a loop's one line, array or object per sample outgrows numpy's planning;
# at most 256 (helpers.lab2.LINE_COUNT_SIZES says why).
LINE_COUNT_SIZES = (20, 250)
LINE_COUNT_SEED = 0x11E5


def hidden_cases(seed: int, n_cases: int = HIDDEN_CASES) -> list[tuple]:
    """The ``n_cases`` batches ``(X, T, W1, b1, W2, b2)`` of a hidden test's seed."""
    rng = np.random.default_rng((DRAW, seed))
    sizes = (3, int(rng.choice(ODD_SIZES)), 1, int(rng.choice(LARGE_SIZES)))
    return random_batches(n_cases, rng, sizes)


def hidden_sgd_cases(seed: int) -> list[dict]:
    """The data sets (``helpers.sgd_check``) a hidden test of ``train`` with ``seed=N`` is
    judged on."""
    return sgd_cases(np.random.default_rng((DRAW, seed, 0x5CD)))
