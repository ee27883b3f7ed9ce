"""The visible checks students run: same runner and verdicts as the judge, on one sample."""

from __future__ import annotations

import numpy as np

from helpers import lab1

X = np.ones((5, 2))


def reads_notebook_data(x, t, W1, b1, W2, b2):
    alpha = W1 @ X[0] + b1  # the notebook's X, not the argument
    return alpha, [v * 2 for v in X.T[0]]


def uses_only_its_arguments(x, t, W1, b1, W2, b2):
    return W2.T @ (W1 @ x + b1), np.outer(t, x)


def test_backprop_reading_notebook_variables_is_named():
    assert lab1.notebook_variables_read(reads_notebook_data) == ["X"]


def test_attributes_and_functions_are_not_taken_for_notebook_variables():
    assert lab1.notebook_variables_read(uses_only_its_arguments) == []
