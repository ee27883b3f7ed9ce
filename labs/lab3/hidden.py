"""Lab 3's hidden cases: drawn like the visible tests' (``helpers.layer_calls``,
``helpers.layers_check``), from seeds nobody else has, and the networks the composition is
judged on, none of them the notebook's. Instructor-only (never installed for students, never
inside a sandbox). A hidden test's ``seed=N`` names the cases it is judged on; changing DRAW
changes every hidden case."""

from __future__ import annotations

import numpy as np

from helpers import layer_calls, layers_check

DRAW = 0x5EED_1AB3  # part of every hidden case's seed
# (sizes, activation, reg): other depths (no hidden layer; five), widths and inputs than the
# notebook's [2, 32, 32, 3] and [2, 5, 4, 3] and the visible test's. Each seed's hidden widths
# are drawn from HIDDEN_WIDTHS (hidden_architectures), so that each student's differ.
HIDDEN_WIDTHS = range(2, 9)
HIDDEN_ARCHITECTURES = (
    ((4, 3), "relu", 0.2),
    ((3, 5, 2), "logistic", 0.0),
    ((2, 7, 6, 5, 3), "relu", 0.05),
    ((5, 3, 4, 3, 4, 3, 4), "logistic", 0.01),
)


def _rng(seed: int, kind: int) -> np.random.Generator:
    return np.random.default_rng((DRAW, seed, kind))


def hidden_layer_cases(layer: str):
    """The hidden cases of ``layer``'s forward and backward tests, by seed."""
    kind = tuple(layer_calls.LAYER_ARGUMENTS).index(layer)
    return lambda seed: layer_calls.layer_cases(layer, _rng(seed, kind))


def hidden_loss_cases(seed: int) -> list[dict]:
    """The hidden cases of ``softmax_cross_entropy``'s test of ``seed``."""
    return layer_calls.loss_cases(_rng(seed, 10))


def hidden_penalty_cases(seed: int) -> list[dict]:
    """The hidden cases of ``l2_penalty``'s test of ``seed``."""
    return layer_calls.penalty_cases(_rng(seed, 11))


def hidden_architectures(rng: np.random.Generator) -> list[tuple]:
    """:data:`HIDDEN_ARCHITECTURES` with hidden widths drawn from ``rng``."""
    return [
        ((sizes[0], *(int(rng.choice(HIDDEN_WIDTHS)) for _ in sizes[1:-1]), sizes[-1]), *rest)
        for sizes, *rest in HIDDEN_ARCHITECTURES
    ]


def hidden_network_cases(seed: int) -> list[dict]:
    """The hidden networks of ``Network``'s test of ``seed`` (:func:`hidden_architectures`)."""
    rng = _rng(seed, 12)
    return layer_calls.network_cases(hidden_architectures(rng), rng)


def hidden_training_cases(seed: int) -> list[dict]:
    """The hidden data sets (with their validation sets) of ``train``'s test of ``seed``."""
    return layers_check.training_cases(_rng(seed, 13))
