"""The check behind the test of a student's mini-batch SGD, ``train(X, T, params, batch_size,
rate, n_epochs, rng)`` (Lab 2): what it asks of ``backprop`` and what it does with the answers.

While ``train`` runs, the name ``backprop`` in its module is the check's own: a backprop that
records which samples each call was given, and with which parameters, and returns the batch's
mean gradients by central differences (right, whatever the student's own backprop does: a
mistake there costs its own tests, not this one). From the record the check tells whether each
epoch visits every sample once, ``batch_size`` at a time, in a fresh order, and whether after
each batch every parameter moves by ``-rate`` times the gradient it was given, in the caller's
dictionary: a training run that, with right gradients, lowers the loss.

The visible test calls :func:`check_train` in the student's kernel on fresh draws; when grading,
the judge (``labs/train_judge.py``) has the same call made (:func:`call_train`) in its sandbox
on hidden draws and judges the record with :func:`answer_problem`, where no student code runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from helpers import network
from helpers.failures import CheckFailed
from helpers.gradcheck import numerical_gradient, quiet_numerics
from judge_runtime.runner import describe_error

# Each case: samples, batch size, epochs (a last batch smaller than the others; one batch
# larger than the data set).
SHAPES = ((23, 5, 3), (7, 10, 2))
INPUTS, HIDDEN, CLASSES = 2, 4, 3
# Small enough that right steps lower the loss on every draw (none of 3,000 failed to; at 0.5,
# one in 200 did): so a train whose steps are right is never failed for the loss.
RATE = 0.1
# How a fresh order is told from a fixed one, on a data set of at least SHUFFLE_SEEN samples
# (the larger case: a random order of 7 is the same in two epochs once in 5,040): a random
# order puts about one pair of neighbours one after the other (i, i + 1), rising or falling;
# ten or more in one epoch happen about once in ten million; the given order, a rotation or a
# reversal put nearly all of them.
SHUFFLE_SEEN = 10
ORDERED_NEIGHBOURS = 10
# A parameter moved right when it is within this of where the step takes it (relative to the
# largest entry): the same arithmetic in another order differs by rounding only.
MOVED_RIGHT = 1e-9


def sgd_cases(rng: np.random.Generator) -> list[dict]:
    """One case per shape of :data:`SHAPES`, drawn from ``rng``: data ``X`` (n, 2) and one-hot
    ``T`` (n, 3), starting parameters, and ``batch_size``, ``rate``, ``epochs`` and the seed
    of the generator ``train`` is given."""
    cases = []
    for samples, batch_size, epochs in SHAPES:
        cases.append(
            {
                "X": rng.normal(size=(samples, INPUTS)),
                "T": np.eye(CLASSES)[rng.integers(CLASSES, size=samples)],
                "W1": rng.normal(size=(HIDDEN, INPUTS)),
                "b1": rng.normal(scale=0.1, size=HIDDEN),
                "W2": rng.normal(size=(CLASSES, HIDDEN)),
                "b2": rng.normal(scale=0.1, size=CLASSES),
                "batch_size": batch_size,
                "rate": RATE,
                "epochs": epochs,
                "seed": int(rng.integers(2**31)),
            }
        )
    return cases


def batch_gradients(X, T, params: dict) -> dict[str, np.ndarray]:
    """The gradients of the mean loss on the batch ``X``, ``T`` at ``params`` (by name), by
    central differences."""
    at = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    with quiet_numerics():
        return {
            name: numerical_gradient(lambda _: network.mean_loss(X, T, **at), at[name])
            for name in network.PARAMETER_NAMES
        }


def call_train(train: Callable, case: dict) -> dict:
    """One call of ``train`` on ``case``, ``backprop`` replaced by the recording one (see the
    module), as plain data: ``calls`` (each ``{"rows": [index in X, or -1], "targets": whether
    the targets were those rows' own, "params": {name: nested lists}}``), ``params`` (the
    caller's dictionary once it returned), ``error`` (what it raised, or None; the exception
    itself under ``raised``, which is not data)."""
    inputs = np.asarray(case["X"], dtype=np.float64)
    targets = np.asarray(case["T"], dtype=np.float64)
    params = {name: np.array(case[name], dtype=np.float64) for name in network.PARAMETER_NAMES}
    where = {row.tobytes(): index for index, row in enumerate(inputs)}
    calls: list[dict] = []

    def backprop(X, T, W1, b1, W2, b2):  # the notebook's names: a call may use them
        X_batch = np.asarray(X, dtype=np.float64)
        T_batch = np.asarray(T, dtype=np.float64)
        rows = [where.get(row.tobytes(), -1) for row in X_batch.reshape(len(X_batch), -1)]
        given = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        calls.append(
            {
                "rows": rows,
                "targets": bool(
                    min(rows, default=0) >= 0
                    and T_batch.shape == (len(rows), targets.shape[1])
                    and np.array_equal(T_batch, targets[rows])
                ),
                "params": {name: _numbers(value) for name, value in given.items()},
            }
        )
        gradients = batch_gradients(X_batch, T_batch, given)
        return tuple(gradients[name] for name in network.PARAMETER_NAMES)

    namespace = getattr(train, "__globals__", None)
    answer: dict = {"calls": calls, "params": None, "error": None}
    if namespace is None:  # not a function of Python's: nothing to call backprop
        return answer
    missing = object()
    own = namespace.get("backprop", missing)
    namespace["backprop"] = backprop
    try:
        with np.errstate(all="ignore"):
            train(
                inputs.copy(),
                targets.copy(),
                params,
                case["batch_size"],
                case["rate"],
                case["epochs"],
                np.random.default_rng(case["seed"]),
            )
    except Exception as error:  # the student's code: any failure is data
        answer["error"] = describe_error(error)
        answer["raised"] = error
    finally:
        if own is missing:
            namespace.pop("backprop", None)
        else:
            namespace["backprop"] = own
    answer["params"] = (
        {name: _numbers(params.get(name)) for name in network.PARAMETER_NAMES}
        if isinstance(params, dict)
        else None
    )
    return answer


def _numbers(value):
    try:
        with np.errstate(all="ignore"):
            return np.array(value, dtype=np.float64).tolist()
    except Exception:  # whatever the student left there
        return None


def answer_problem(case: dict, answer: dict, which: str = "a") -> str | None:
    """Why ``answer`` (:func:`call_train`'s, on ``case``) shows a wrong mini-batch SGD, for the
    student; None when it is right. ``which`` data set it was (``a``, ``a hidden``). An error
    it raised is the caller's to describe."""
    n, size, epochs = len(case["X"]), case["batch_size"], case["epochs"]
    on = f"on {which} data set of {n} samples, batch size {size}, {epochs} epochs"
    calls = answer.get("calls") or []
    if not calls:
        return (
            f"train never called backprop {on}: compute each batch's gradients with "
            "backprop(X_batch, T_batch, ...), called by that name"
        )
    rows = [row for call in calls for row in call["rows"]]
    if min(rows) < 0:
        return (
            f"train gave backprop rows that are not samples of X as they are {on} (not copies "
            "of another type, nor changed values)"
        )
    if not all(call["targets"] for call in calls):
        return (
            f"train gave backprop targets that are not its samples' own {on}: take the rows "
            "of X and of T in the same order"
        )
    if len(rows) != n * epochs:
        return (
            f"train gave backprop {len(rows)} samples in all {on}, where {epochs} epochs of "
            f"{n} samples are {n * epochs}: each epoch visits every sample once"
        )
    orders = [rows[e * n : (e + 1) * n] for e in range(epochs)]
    for number, order in enumerate(orders, start=1):
        if sorted(order) != list(range(n)):
            return (
                f"in epoch {number}, train visited {len(set(order))} different samples of {n} "
                f"{on}: each epoch visits every sample exactly once"
            )
    sizes = [len(call["rows"]) for call in calls]
    per_epoch = [size] * (n // size) + ([n % size] if n % size else [])
    if sizes != per_epoch * epochs:
        return (
            f"train's batches had {sorted(set(sizes))} samples {on}: each batch takes "
            "batch_size samples, and only an epoch's last may have fewer"
        )
    if n >= SHUFFLE_SEEN:
        for number, order in enumerate(orders, start=1):
            if order == list(range(n)):
                return (
                    f"in epoch {number}, train visited the samples in their given order {on}: "
                    "draw a fresh random order at the start of each epoch (rng.permutation)"
                )
            rising = sum(b - a == 1 for a, b in itertools.pairwise(order))
            falling = sum(a - b == 1 for a, b in itertools.pairwise(order))
            if max(rising, falling) >= ORDERED_NEIGHBOURS:
                return (
                    f"in epoch {number}, train visited the samples mostly in a fixed order "
                    f"({max(rising, falling)} of {n - 1} neighbours one after the other) {on}: "
                    "draw a fresh random order at the start of each epoch (rng.permutation)"
                )
        if len({tuple(order) for order in orders}) < epochs:
            return (
                f"train visited the samples in the same order in two epochs {on}: draw a "
                "fresh order at the start of each epoch (rng.permutation)"
            )
    return _step_problem(case, answer, on) or _lowered_problem(case, answer, on)


def _step_problem(case: dict, answer: dict, on: str) -> str | None:
    """Whether every parameter moved by ``-rate`` times the gradient after each batch, in the
    caller's dictionary at the end."""
    X, T, rate = np.asarray(case["X"]), np.asarray(case["T"]), case["rate"]
    calls = answer["calls"]
    start = {name: np.asarray(case[name], dtype=np.float64) for name in network.PARAMETER_NAMES}
    if _distance(calls[0]["params"], start) > MOVED_RIGHT:
        return f"train changed the parameters before its first batch {on}"
    for number, call in enumerate(calls):
        given = {name: np.array(call["params"][name], dtype=np.float64) for name in start}
        gradients = batch_gradients(X[call["rows"]], T[call["rows"]], given)
        expected = {name: given[name] - rate * gradients[name] for name in start}
        last = number + 1 == len(calls)
        after = answer.get("params") if last else calls[number + 1]["params"]
        if _distance(after, expected) <= MOVED_RIGHT:
            continue
        if last and answer.get("params") is not None:
            moved = calls[number]["params"]
            if _distance(moved, given) <= MOVED_RIGHT and _distance(after, start) <= MOVED_RIGHT:
                return (
                    f"the dictionary train was given still holds the starting parameters {on}: "
                    "change params in place (params[name] -= ...)"
                )
        return (
            f"after batch {number + 1} {on}, the parameters did not move by -rate times the "
            f"gradient backprop returned: {_how_it_moved(after, given, gradients, rate)}"
        )
    return None


def _how_it_moved(after, given: dict, gradients: dict, rate: float) -> str:
    """What the step did instead, when it is a common slip: its direction or its scale."""
    if after is None or any(after.get(name) is None for name in given):
        return "the parameters are not arrays of numbers"
    with quiet_numerics():
        moved = np.concatenate(
            [(np.array(after[name], dtype=np.float64) - given[name]).ravel() for name in given]
        )
        step = np.concatenate([(-rate * gradients[name]).ravel() for name in given])
        if not np.all(np.isfinite(moved)):
            return "they are not finite"
        if np.allclose(moved, 0.0, atol=1e-15):
            return "they did not move"
        scale = float(moved @ step / (step @ step))
    if np.allclose(moved, scale * step, rtol=1e-6, atol=1e-12):
        if scale < 0:
            return "they moved with the gradient, not against it"
        return (
            f"they moved {scale:.3g} times as far (backprop's gradient is already the mean "
            "over the batch; rate is the step's size)"
        )
    return "each parameter moves by -rate times its own gradient, after every batch"


def _lowered_problem(case: dict, answer: dict, on: str) -> str | None:
    X, T = np.asarray(case["X"]), np.asarray(case["T"])
    names = network.PARAMETER_NAMES
    with quiet_numerics():
        before = network.mean_loss(X, T, **{n: np.asarray(case[n]) for n in names})
        after = network.mean_loss(X, T, **{n: np.asarray(answer["params"][n]) for n in names})
    if not after < before:
        return f"training did not lower the loss {on} ({before:.4f} -> {after:.4f})"
    return None


def _distance(values, expected: dict) -> float:
    """The largest difference of ``values`` (by name, nested lists) from ``expected``, relative
    to the largest expected entry; infinite when they are not arrays of the same shapes."""
    if not isinstance(values, dict):
        return float("inf")
    worst = 0.0
    for name, truth in expected.items():
        try:
            with quiet_numerics():
                value = np.array(values.get(name), dtype=np.float64)
        except (TypeError, ValueError):
            return float("inf")
        if value.shape != truth.shape:
            return float("inf")
        with quiet_numerics():
            difference = np.max(np.abs(value - truth), initial=0.0) / max(
                float(np.max(np.abs(truth), initial=0.0)), 1.0
            )
        worst = max(worst, float(difference) if np.isfinite(difference) else float("inf"))
    return worst


def check_train(train: Callable, seed: int) -> None:
    """Test ``train`` on small data sets, with a backprop of the check's own (see the module),
    and raise AssertionError saying what is wrong. In the notebook the data are fresh draws
    (``seed`` plays no part); when grading, the judge makes the same call on the hidden draws
    ``seed`` names (``labs/lab2/hidden.py``), and only its verdict counts."""
    for case in sgd_cases(np.random.default_rng()):
        answer = call_train(train, case)
        if answer["error"] is not None:
            raise CheckFailed(
                f"train raised {answer['error']} on a data set of {len(case['X'])} samples "
                f"(batch size {case['batch_size']})"
            )
        if problem := answer_problem(case, answer):
            raise CheckFailed(problem)
