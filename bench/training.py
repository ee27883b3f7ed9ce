"""Training speed of Lab 1's per-sample loop against the original lab's, in the same run.

Runs the seed lab's loop (../shared/bench/seed_baseline.py, in a subprocess) and the loop of
source/lab1/classification.ipynb (its provided functions, the solution backprop and the
training cell, executed as written) for the same number of epochs on 1000 points, alternating,
best of several rounds each. Prints epochs per second of both and their ratio (target >= 1.4).

    python bench/training.py [EPOCHS] [ROUNDS]
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import numpy as np
from notebook_code import ROOT, cell_source

from helpers.datasets import Annuli

NOTEBOOK = ROOT / "source" / "lab1" / "classification.ipynb"
SEED_BASELINE = ROOT.parent / "shared" / "bench" / "seed_baseline.py"
TARGET = 1.4


def seed_epochs_per_second(epochs: int) -> float:
    output = subprocess.run(
        [sys.executable, str(SEED_BASELINE), str(epochs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"\(([\d.]+) it/s\)", output).group(1))


def lab_epochs_per_second(epochs: int) -> float:
    namespace: dict = {}
    exec(cell_source(NOTEBOOK, "imports"), namespace)
    exec(cell_source(NOTEBOOK, "provided_functions"), namespace)
    exec(cell_source(NOTEBOOK, "backprop"), namespace)
    ds = Annuli(n=1000, noise=1.0, seed=0)
    rng = np.random.default_rng(1)
    namespace.update(
        X=ds.inputs(),
        T=ds.targets(),
        W1=rng.normal(size=(10, 2)),
        b1=np.zeros(10),
        W2=rng.normal(size=(3, 10)),
        b2=np.zeros(3),
        tqdm=lambda iterable: iterable,
        plot_loss=lambda losses: None,
    )
    train = cell_source(NOTEBOOK, "train")
    assert "n_epochs = 500\n" in train, "the training cell no longer sets n_epochs = 500"
    train = train.replace("n_epochs = 500\n", f"n_epochs = {epochs}\n")
    start = time.perf_counter()
    exec(train, namespace)
    return epochs / (time.perf_counter() - start)


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seed, lab = [], []
    for _ in range(rounds):
        seed.append(seed_epochs_per_second(epochs))
        lab.append(lab_epochs_per_second(epochs))
    best_seed, best_lab = max(seed), max(lab)
    print(f"seed lab loop:  {best_seed:6.1f} epochs/s (best of {rounds}, {epochs} epochs)")
    print(f"Lab 1 loop:     {best_lab:6.1f} epochs/s")
    print(f"speed-up:       {best_lab / best_seed:.2f}x (target >= {TARGET}x)")


if __name__ == "__main__":
    main()
