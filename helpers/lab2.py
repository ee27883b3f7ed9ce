"""Lab 2 ("Vectorized mini-batch training"), the grader's side: the batched forward pass and
the true value of each backprop step over a mini-batch.

The network is Lab 1's, run on a batch: rows are samples, ``X (n, d)``, ``T (n, k)``. The loss
is the mean cross-entropy over the batch, and each step is the gradient of that mean loss
with respect to its variable: ``dloss_dY``, ``dloss_dB``, ``dloss_dH``, ``dloss_dA`` have one
row per sample (each 1/n of Lab 1's per-sample gradient), and the parameter gradients are the
means of Lab 1's. The true values are built from Lab 1's, which come from finite differences
through the chain: importing this module gives no formula away.
"""

from __future__ import annotations

import numpy as np

from helpers import lab1, network

STEP_NAMES = ("dloss_dY", "dloss_dB", "dloss_dW2", "dloss_db2",
              "dloss_dH", "dloss_dA", "dloss_dW1", "dloss_db1")
# Each batched step and the Lab 1 step it gathers: rows (one per sample, over n) or the mean.
ROWS = {"dloss_dY": "dloss_dy", "dloss_dB": "dloss_dbeta", "dloss_dH": "dloss_dh",
        "dloss_dA": "dloss_dalpha"}
MEANS = {"dloss_dW2": "dloss_dW2", "dloss_db2": "dloss_db2", "dloss_dW1": "dloss_dW1",
         "dloss_db1": "dloss_db1"}


def forward_batch(X, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    """The forward pass over a batch: ``{"A": (n, m), "H": (n, m), "B": (n, k), "Y": (n, k)}``."""
    A = X @ W1.T + b1
    H = network.logistic(A)
    B = H @ W2.T + b2
    return {"A": A, "H": H, "B": B, "Y": network.softmax(B)}


def true_batch_steps(X, T, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    """The true value of every step over the batch ``X (n, d)``, ``T (n, k)``, by name (see
    the module's docstring for what each is), as float64 arrays."""
    X, T = np.asarray(X, dtype=np.float64), np.asarray(T, dtype=np.float64)
    per_sample = [lab1.true_gradients(x, t, W1, b1, W2, b2, network.forward(x, W1, b1, W2, b2))
                  for x, t in zip(X, T, strict=True)]
    n = len(X)
    truth = {name: np.stack([values[single] for values in per_sample]) / n
             for name, single in ROWS.items()}
    truth |= {name: np.mean([values[single] for values in per_sample], axis=0)
              for name, single in MEANS.items()}
    return {name: truth[name] for name in STEP_NAMES}
