"""Backprops with one named misconception of the hidden layer, for measuring the training test:
its margin between a correct backprop and a broken one (``bench/training_margin.py``) and that
it tells them apart on every seed (``tests/unit/test_training_margin.py``).

Each is batched (rows are samples) and returns the gradients of the mean loss, as Lab 2's
does, so that one call per epoch trains as Lab 1's loop of one call per sample does, only
faster; the misconception's formula is
the lab's own (``labs.lab1.misconceptions``), applied to the batch's rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers import network
from labs.lab1.misconceptions import MISCONCEPTIONS

# The steps of the hidden layer whose misconceptions a training run must catch: the output
# layer alone reaches the class prior, so only these can leave the loss near ln 3 unseen.
HIDDEN_LAYER_STEPS = ("dloss_dalpha", "dloss_db1")
BROKEN = {m.key: m for m in MISCONCEPTIONS if m.step in HIDDEN_LAYER_STEPS}


def batched_backprop(misconception: str | None = None) -> Callable:
    """A batched ``backprop(X, T, W1, b1, W2, b2)`` returning the mean gradients, with the
    named misconception's formula for its step (every other step right), or none."""
    wrong = BROKEN[misconception] if misconception else None

    def backprop(X, T, W1, b1, W2, b2):
        alpha = X @ W1.T + b1
        h = network.logistic(alpha)
        y = network.softmax(h @ W2.T + b2)
        dloss_dbeta = y - T
        dloss_dh = dloss_dbeta @ W2
        values = {"alpha": alpha, "h": h, "y": y, "dloss_dh": dloss_dh, "x": X, "W2": W2}
        dloss_dalpha = dloss_dh * h * (1 - h)
        if wrong is not None and wrong.step == "dloss_dalpha":
            dloss_dalpha = wrong.formula(values)
        values["dloss_dalpha"] = dloss_dalpha
        dloss_db1 = dloss_dalpha
        if wrong is not None and wrong.step == "dloss_db1":
            dloss_db1 = wrong.formula(values)
        gradients = (
            dloss_dalpha.T @ X,
            np.sum(dloss_db1, axis=0),
            dloss_dbeta.T @ h,
            np.sum(dloss_dbeta, axis=0),
        )
        return tuple(gradient / len(X) for gradient in gradients)

    return backprop
