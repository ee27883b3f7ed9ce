"""How long a full numerical gradient over Lab 1's four parameter arrays takes.

W1 (10, 2), b1 (10,), W2 (3, 10), b2 (3,): 53 entries, two loss evaluations each. Timed for the
loss of one sample (what the hidden tests check) and of the whole 1000-point data set, best of
several runs, next to CS231n's eval_numerical_gradient loop (np.nditer, one entry at a time)
measured in the same run. Target: under 50 ms for the four arrays.

    python bench/gradcheck.py [REPEATS]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from helpers import network
from helpers.datasets import Annuli
from helpers.gradcheck import numerical_gradient

TARGET_MS = 50.0


def cs231n_numerical_gradient(f, x, h=1e-5):
    """CS231n's eval_numerical_gradient, without its printing: the reference loop."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def best_ms(gradient_fn, loss, params, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for p in params.values():
            gradient_fn(lambda _: loss(), p)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    ds = Annuli(n=1000, seed=0)
    X, T = ds.inputs(), ds.targets()
    params = network.init_parameters(2, 10, 3, np.random.default_rng(1))
    losses = {
        "one sample": lambda: network.loss(X[0], T[0], **params),
        "1000 samples": lambda: network.mean_loss(X, T, **params),
    }
    for name, loss in losses.items():
        ours = best_ms(numerical_gradient, loss, params, repeats)
        reference = best_ms(cs231n_numerical_gradient, loss, params, repeats)
        verdict = "ok" if ours < TARGET_MS else "OVER TARGET"
        print(
            f"{name:>12}: helpers {ours:7.2f} ms, CS231n loop {reference:7.2f} ms "
            f"(ratio {ours / reference:.2f}); target < {TARGET_MS:.0f} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
