"""The one call of a student's ``train`` that Lab 3's check makes on each of its cases, the
same in the notebook's visible test and in the judge's sandbox (``judge_runtime.probe``): with
the graders' own network (``helpers.network_reference``), so a mistake in the student's
``Network`` costs its tests, not training's. Withheld wherever anything but ``train`` is judged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.layer_calls import answer, numbers
from helpers.network_reference import ReferenceNetwork


def call_train(train: Callable, case: dict) -> dict:
    """``train(network, X, T, batch_size, rate, n_epochs, rng)`` with the graders' network
    (``helpers.network_reference``: a mistake in the student's own costs its tests, not this
    one): the ``params`` it left the network with (by name)."""
    sizes = [int(size) for size in case["sizes"]]
    network = ReferenceNetwork(sizes, case["activation"], float(case["reg"]), int(case["seed"]))
    X = np.array(case["X"], dtype=np.float64)
    T = np.array(case["T"], dtype=np.float64)

    def call() -> dict:
        train(
            network,
            X,
            T,
            int(case["batch_size"]),
            float(case["rate"]),
            int(case["n_epochs"]),
            np.random.default_rng(int(case["train_seed"])),
        )
        params = network.params if isinstance(network.params, dict) else {}
        return {"params": {name: numbers(value) for name, value in params.items()}}

    return answer(call)
