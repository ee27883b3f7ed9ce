"""The one call of a student's ``train`` that Lab 3's check makes on each of its cases, the
same in the notebook's visible test and in the judge's sandbox (``judge_runtime.probe``): with
the graders' own network (``helpers.network_reference``), so a mistake in the student's
``Network`` costs its tests, not training's. Withheld wherever anything but ``train`` is judged.

The network records what ``train`` asks of it: the rows of each batch its ``loss`` is given
(by their place in the training set), that loss, and, for the first few batches, the
parameters it was asked at and the gradients it returned; the check reads from the record
whether each epoch visits every sample once, ``batch_size`` at a time, in a fresh order, and
each step moves the parameters by ``-rate`` times the gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.layer_calls import answer, numbers
from helpers.network_reference import ReferenceNetwork

TRACKED = 3  # the first batches whose parameters and gradients are recorded


class RecordingNetwork(ReferenceNetwork):
    """The graders' network, recording each call of ``loss`` on a batch of the training set
    ``X``: a call on the whole set in its own order (a loss reported, not a step) is not a
    batch."""

    def __init__(self, X, *args):
        super().__init__(*args)
        self._rows = {row.tobytes(): index for index, row in enumerate(np.asarray(X))}
        self._n = len(X)
        self.batches: list[list[int]] = []
        self.batch_losses: list[float] = []
        self.tracked: list[dict] = []

    def loss(self, X, T):
        rows = [self._rows.get(np.asarray(row, dtype=np.float64).tobytes(), -1) for row in X]
        loss, grads = super().loss(X, T)
        if rows != list(range(self._n)):
            self.batches.append(rows)
            self.batch_losses.append(float(loss))
            if len(self.tracked) <= TRACKED:  # one more: the parameters after the last step
                self.tracked.append(
                    {
                        "params": {k: numbers(v) for k, v in self.params.items()},
                        "grads": {k: numbers(v) for k, v in grads.items()},
                    }
                )
        return loss, grads


def call_train(train: Callable, case: dict) -> dict:
    """``train(network, X, T, batch_size, rate, n_epochs, rng)`` with the graders' network
    (``helpers.network_reference``: a mistake in the student's own costs its tests, not this
    one, recording what it is asked: :class:`RecordingNetwork`): the ``params`` it left the
    network with (by name), the record (``batches``, ``batch_losses``, ``tracked``) and
    ``losses``, what ``train`` returned."""
    sizes = [int(size) for size in case["sizes"]]
    X = np.array(case["X"], dtype=np.float64)
    T = np.array(case["T"], dtype=np.float64)
    network = RecordingNetwork(X, sizes, case["activation"], float(case["reg"]), int(case["seed"]))

    def call() -> dict:
        returned = train(
            network,
            X,
            T,
            int(case["batch_size"]),
            float(case["rate"]),
            int(case["n_epochs"]),
            np.random.default_rng(int(case["train_seed"])),
        )
        params = network.params if isinstance(network.params, dict) else {}
        return {
            "params": {name: numbers(value) for name, value in params.items()},
            "batches": network.batches,
            "batch_losses": network.batch_losses,
            "tracked": network.tracked,
            "losses": numbers(returned),
        }

    return answer(call)
