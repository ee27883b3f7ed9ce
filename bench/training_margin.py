"""How well the training test tells a working backprop from a broken hidden layer.

The test (``helpers.lab1.judge_training``) trains a fresh network on a small Annuli set
(``helpers.lab1.training_problem``) by full-batch gradient descent and asks the loss to fall
below ``helpers.lab1.TRAINING_LOSS`` within ``TRAINING_EPOCHS`` (it stops as soon as it does).
The output layer alone reaches the class prior (loss ln 3 = 1.10), so a hidden layer whose
gradient is wrong leaves the loss well above a working one's. For each seed of the problem,
this trains for every epoch with a correct backprop and with each named misconception of the
hidden layer (``labs.lab1.broken_training``), and prints: the highest final loss of a correct
run and the latest epoch at which one reached the threshold; the lowest loss a broken run ever
had, at any epoch; and where the threshold stands between them. The graded problem is one of
these seeds (``helpers.lab1.TRAINING_SEED``).

    python bench/training_margin.py [SEEDS]   (default 100)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import lab1, network
from judge_runtime.training import descent
from labs.lab1.broken_training import BROKEN, batched_backprop


def losses(misconception: str | None, seed: int) -> list[float]:
    """The mean loss after each epoch of the training test's full schedule on the problem of
    ``seed`` (nan counts as infinite: it fails the test)."""
    X, T, params = lab1.training_problem(seed=seed)
    backprop = batched_backprop(misconception)
    conversation, found = descent(params, lab1.TRAINING_EPOCHS, lab1.TRAINING_RATE), []
    with np.errstate(all="ignore"):
        current = next(conversation)
        for _ in range(lab1.TRAINING_EPOCHS):
            gradients = backprop(X, T, *current.values())
            try:
                current = conversation.send((dict(zip(current, gradients, strict=True)), 1))
            except StopIteration as done:
                current = done.value
            found.append(float(np.nan_to_num(network.mean_loss(X, T, **current), nan=np.inf)))
    return found


def main(seeds: int = 100) -> None:
    correct = [losses(None, seed) for seed in range(seeds)]
    final = max(run[-1] for run in correct)
    latest = max(
        next(epoch for epoch, loss in enumerate(run, 1) if loss < lab1.TRAINING_LOSS)
        for run in correct
    )
    print(
        f"{seeds} seeds, {lab1.TRAINING_POINTS} points, at most {lab1.TRAINING_EPOCHS} epochs "
        f"at rate {lab1.TRAINING_RATE:g}; the test asks for a loss below {lab1.TRAINING_LOSS:g}"
    )
    print(
        f"  {'correct':<34} final loss at most {final:.3f}; threshold reached by epoch "
        f"{latest} at the latest"
    )
    lowest = {}
    for key in BROKEN:
        lowest[key] = min(min(losses(key, seed)) for seed in range(seeds))
        print(f"  {key:<34} lowest loss at any epoch {lowest[key]:.3f}")
    worst = min(lowest.values())
    print(
        f"margin: threshold {lab1.TRAINING_LOSS:g} is {lab1.TRAINING_LOSS - final:.3f} above "
        f"the worst correct run's final loss and {worst - lab1.TRAINING_LOSS:.3f} below the "
        "lowest loss of any broken run"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
