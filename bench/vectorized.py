"""Lab 2's vectorized epoch against Lab 1's per-sample loop, measured in the same run.

Lab 1's epoch is its notebook's training loop as written (source/lab1: provided functions, the
solution backprop, one sample at a time, gradients summed, one update). Lab 2's are its
solution backprop (source/lab2) on the whole 1000-point set with one update (full batch), and
one epoch of mini-batch SGD (batches of 20, shuffled: the notebook's `train`). Rounds
alternate between them and the best of each is kept (the machine is shared). Prints each
epoch's time and the ratios (target: full batch >= 100x Lab 1's loop).

    python bench/vectorized.py [ROUNDS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from notebook_code import ROOT, cell_source

from helpers.datasets import Annuli

LAB1 = ROOT / "source" / "lab1" / "classification.ipynb"
LAB2 = ROOT / "source" / "lab2" / "vectorized.ipynb"
TARGET = 100.0


def _data():
    ds = Annuli(n=1000, noise=1.0, seed=0)
    rng = np.random.default_rng(1)
    return (
        ds.inputs(),
        ds.targets(),
        {
            "W1": rng.normal(size=(10, 2)),
            "b1": np.zeros(10),
            "W2": rng.normal(size=(3, 10)),
            "b2": np.zeros(3),
        },
    )


def lab1_epoch() -> float:
    """Seconds of one epoch of Lab 1's training cell, as written."""
    namespace: dict = {}
    for cell in ("imports", "provided_functions", "backprop"):
        exec(cell_source(LAB1, cell), namespace)
    X, T, params = _data()
    namespace.update(
        X=X, T=T, **params, tqdm=lambda iterable: iterable, plot_loss=lambda losses: None
    )
    train = cell_source(LAB1, "train")
    assert "n_epochs = 500\n" in train, "Lab 1's training cell no longer sets n_epochs = 500"
    train = train.replace("n_epochs = 500\n", "n_epochs = 1\n")
    start = time.perf_counter()
    exec(train, namespace)
    return time.perf_counter() - start


def lab2_epochs() -> tuple[float, float]:
    """Seconds of one full-batch epoch and of one mini-batch epoch with Lab 2's solution."""
    namespace: dict = {}
    for cell in ("imports", "provided_functions", "backprop", "train"):
        exec(cell_source(LAB2, cell), namespace)
    X, T, params = _data()
    backprop, train = namespace["backprop"], namespace["train"]
    start = time.perf_counter()
    gradients = backprop(X, T, *params.values())
    for name, gradient in zip(params, gradients, strict=True):
        params[name] -= gradient
    full = time.perf_counter() - start
    start = time.perf_counter()
    train(X, T, params, 20, 1.0, 1, np.random.default_rng(0))
    return full, time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per_sample, full, minibatch = [], [], []
    for _ in range(rounds):
        per_sample.append(lab1_epoch())
        f, m = lab2_epochs()
        full.append(f)
        minibatch.append(m)
    best = min(per_sample), min(full), min(minibatch)
    print(f"one epoch on 1000 points, best of {rounds} rounds:")
    print(f"  Lab 1, per-sample loop:          {best[0] * 1e3:8.2f} ms")
    print(
        f"  Lab 2, full batch:               {best[1] * 1e3:8.2f} ms   "
        f"{best[0] / best[1]:6.0f}x  (target >= {TARGET:.0f}x)"
    )
    print(f"  Lab 2, mini-batch SGD (20):      {best[2] * 1e3:8.2f} ms   {best[0] / best[2]:6.0f}x")


if __name__ == "__main__":
    main()
