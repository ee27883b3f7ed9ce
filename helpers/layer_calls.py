"""Lab 3's cases and the one call of a student's function the check makes on each: the same in
the notebook's visible tests and in the judge's sandbox (``judge_runtime.probe``), so the two
cannot drift. Not withheld: the judge's sandbox calls it. Nothing here computes an answer (the
graders' layers are the lab's own, instructor-only).

Every call returns plain data: what the function returned (nested lists of floats, None where
that is not an array of numbers), ``malformed`` (a key of :data:`MALFORMED` when it returned
something of the wrong kind, else absent) and ``error`` (what it raised, or None; the exception
itself under ``raised``, which is not data and is not sent).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from judge_runtime.runner import describe_error

# Each layer's graded functions, and the arguments its forward function takes.
LAYER_ARGUMENTS = {"affine": ("X", "W", "b"), "relu": ("A",), "logistic": ("A",)}
# Batches (samples n, inputs d, outputs m). n = m lets a sum over the wrong axis keep its shape;
# a batch of one; a batch larger than the others.
AFFINE_SHAPES = ((3, 4, 3), (1, 2, 5), (9, 3, 2))
ACTIVATION_SHAPES = ((3, 4), (1, 6), (9, 3))
CLASSES_SHAPES = ((3, 3), (1, 4), (9, 3))
# Scores this large (a row's offset is drawn from here to twice it) overflow exp, which does
# above 709.8, unless each row is shifted by its maximum first.
LARGE_SCORES = 800.0
ARRAY_LIMIT = 10_000  # entries: a larger answer is not one of these cases'
# What a function returned that is not of the kind its docstring names, and what it must be.
MALFORMED = {
    "pair": "must return a pair",
    "three": "must return three gradients, (dX, dW, db)",
    "grads": "must return its gradients as a dictionary, by parameter name",
}


class Malformed(Exception):
    """A function returned something other than its docstring names (a key of MALFORMED)."""


def layer_cases(layer: str, rng: np.random.Generator) -> list[dict]:
    """The cases of ``layer`` (``affine``, ``relu`` or ``logistic``), drawn from ``rng``: the
    forward function's arguments and an upstream gradient ``dout`` of its output's shape. A
    ReLU's inputs hold exact zeros (its kink) among values of both signs; the logistic's last
    case holds inputs large enough to overflow exp."""
    cases = []
    if layer == "affine":
        for n, d, m in AFFINE_SHAPES:
            cases.append(
                {
                    "layer": layer,
                    "X": rng.normal(size=(n, d)),
                    "W": rng.normal(size=(m, d)),
                    "b": rng.normal(size=m),
                    "dout": rng.normal(size=(n, m)),
                }
            )
        return cases
    for index, shape in enumerate(ACTIVATION_SHAPES):
        A = rng.normal(scale=3.0 if layer == "logistic" else 1.0, size=shape)
        if layer == "relu":
            A[rng.random(size=shape) < 0.25] = 0.0
            A.flat[0] = 0.0
        if layer == "logistic" and index == len(ACTIVATION_SHAPES) - 1:
            # large inputs of both signs: exp overflows unless the logistic is written for them
            A.flat[:2] = rng.uniform(LARGE_SCORES, 2 * LARGE_SCORES) * np.array([1.0, -1.0])
        cases.append({"layer": layer, "A": A, "dout": rng.normal(size=shape)})
    return cases


def loss_cases(rng: np.random.Generator) -> list[dict]:
    """Scores (n, k) and one-hot targets for ``softmax_cross_entropy``; the last case's scores
    are large, as an untrained network's can be."""
    cases = []
    for index, (n, k) in enumerate(CLASSES_SHAPES):
        scores = rng.normal(scale=2.0, size=(n, k))
        if index == len(CLASSES_SHAPES) - 1:
            scores += rng.uniform(LARGE_SCORES, 2 * LARGE_SCORES, size=(n, 1))
        cases.append({"scores": scores, "T": np.eye(k)[rng.integers(k, size=n)]})
    return cases


def random_parameters(sizes, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Parameters ``W1``, ``b1``, ... of a network of layer ``sizes``, every entry drawn (biases
    too, so that a gradient that should leave them alone shows)."""
    params = {}
    for layer, (inputs, outputs) in enumerate(itertools.pairwise(sizes), 1):
        params[f"W{layer}"] = rng.normal(scale=1.0 / np.sqrt(inputs), size=(outputs, inputs))
        params[f"b{layer}"] = rng.normal(scale=0.5, size=outputs)
    return params


def penalty_cases(rng: np.random.Generator) -> list[dict]:
    """Parameters of networks of two and three layers and a regularisation strength ``reg``,
    for ``l2_penalty``."""
    return [
        {**random_parameters(sizes, rng), "reg": reg}
        for sizes, reg in (((3, 4, 2), 0.1), ((2, 5, 3, 3), 0.03))
    ]


def network_cases(architectures, rng: np.random.Generator) -> list[dict]:
    """One case per architecture ``(sizes, activation, reg)``: the network's parameters and a
    batch ``X`` (n, sizes[0]) with one-hot targets ``T``."""
    cases = []
    for sizes, activation, reg in architectures:
        n = 5
        cases.append(
            {
                "sizes": [float(size) for size in sizes],
                "activation": activation,
                "reg": reg,
                **random_parameters(sizes, rng),
                "X": rng.normal(size=(n, sizes[0])),
                "T": np.eye(sizes[-1])[rng.integers(sizes[-1], size=n)],
            }
        )
    return cases


def parameters_of(case: dict) -> dict[str, np.ndarray]:
    """A case's network parameters (``W1``, ``b1``, ...), fresh copies, in order."""
    return {
        name: np.array(value, dtype=np.float64)
        for name, value in case.items()
        if name[:1] in ("W", "b") and name[1:].isdigit()
    }


def call_forward(forward: Callable, case: dict) -> dict:
    """``forward(*arguments)`` of a layer case: ``out``, the first of the pair it returns."""
    arguments = [np.array(case[name], dtype=np.float64) for name in LAYER_ARGUMENTS[case["layer"]]]
    return answer(lambda: {"out": numbers(pair(forward(*arguments))[0])})


def spec_cache(case: dict) -> object:
    """The cache the notebook's docstring names for a layer case: ``(X, W, b)``, the ReLU's
    input, the logistic's output."""
    if case["layer"] == "affine":
        return tuple(np.array(case[name], dtype=np.float64) for name in ("X", "W", "b"))
    A = np.array(case["A"], dtype=np.float64)
    return A if case["layer"] == "relu" else np.exp(-np.logaddexp(0.0, -A))


def call_backward(backward: Callable, case: dict, forward: Callable | None) -> dict:
    """``backward(dout, cache)`` of a layer case, with the cache the student's own ``forward``
    made (a pair's cache is theirs to lay out), or the one the notebook names when their
    forward raised or returned no pair: ``dX``, ``dW``, ``db`` (affine) or ``dA``, and
    ``own_cache``, whether the cache was their forward's."""
    cache, own = spec_cache(case), False
    if callable(forward):
        arguments = [
            np.array(case[name], dtype=np.float64) for name in LAYER_ARGUMENTS[case["layer"]]
        ]
        try:
            with np.errstate(all="ignore"):
                cache, own = pair(forward(*arguments))[1], True
        except Exception:  # their forward's own test says what is wrong with it
            pass
    dout = np.array(case["dout"], dtype=np.float64)

    def call() -> dict:
        returned = backward(dout, cache)
        if case["layer"] != "affine":
            return {"dA": numbers(returned)}
        if not isinstance(returned, tuple | list) or len(returned) != 3:
            raise Malformed("three")
        return dict(zip(("dX", "dW", "db"), map(numbers, returned), strict=True))

    return {**answer(call), "own_cache": own}


def probe_backward(backward: Callable, case: dict) -> dict:
    """:func:`call_backward` as the judge's probe makes it: with the student's forward function
    of the case's layer, which the probe was asked to pass under ``uses``."""
    forward = (case.get("uses") or {}).get(f"{case['layer']}_forward")
    return call_backward(backward, case, forward)


def call_loss(softmax_cross_entropy: Callable, case: dict) -> dict:
    """``softmax_cross_entropy(scores, T)``: ``loss`` and ``dscores``."""
    scores = np.array(case["scores"], dtype=np.float64)
    T = np.array(case["T"], dtype=np.float64)

    def call() -> dict:
        loss, dscores = pair(softmax_cross_entropy(scores, T))
        return {"loss": number(loss), "dscores": numbers(dscores)}

    return answer(call)


def call_penalty(l2_penalty: Callable, case: dict) -> dict:
    """``l2_penalty(params, reg)``: ``penalty`` and ``grads`` (by name)."""
    params = parameters_of(case)

    given = {name: value.copy() for name, value in params.items()}

    def call() -> dict:
        penalty, grads = pair(l2_penalty(params, float(case["reg"])))
        return {
            "penalty": number(penalty),
            "grads": named_numbers(grads, params),
            "changed": _changed(params, given),
        }

    return answer(call)


def call_network(Network: Callable, case: dict) -> dict:
    """``Network(sizes, activation=..., reg=...)`` with the case's parameters put in its
    ``params``, then ``loss(X, T)``: ``loss`` and ``grads`` (by name)."""
    sizes = [int(size) for size in case["sizes"]]
    params = parameters_of(case)
    X = np.array(case["X"], dtype=np.float64)
    T = np.array(case["T"], dtype=np.float64)

    def call() -> dict:
        network = Network(sizes, activation=case["activation"], reg=float(case["reg"]))
        for name, hidden in params.items():  # into its own arrays, which it may hold elsewhere
            held = network.params.get(name)
            if isinstance(held, np.ndarray) and held.shape == hidden.shape:
                held[...] = hidden
            else:
                network.params[name] = hidden.copy()
        before = _loss_calls(case)
        loss, grads = pair(network.loss(X, T))
        return {
            "loss": number(loss),
            "grads": named_numbers(grads, params),
            "changed": _changed(network.params, params),
            "loss_calls": _loss_calls(case) - before,
        }

    return answer(call)


def answer(call: Callable[[], dict]) -> dict:
    answer: dict = {"error": None}
    try:
        with np.errstate(all="ignore"):
            answer.update(call())
    except Malformed as malformed:
        answer["malformed"] = str(malformed)
    except Exception as error:  # the student's code: any failure is data
        answer["error"] = describe_error(error)
        answer["raised"] = error  # for the caller (not sent: see judge_runtime.probe)
    return answer


def pair(returned) -> tuple:
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        raise Malformed("pair")
    return tuple(returned)


def numbers(value):
    try:
        with np.errstate(all="ignore"):
            array = np.array(value, dtype=np.float64)
    except Exception:  # whatever the student returned
        return None
    return array.tolist() if array.size <= ARRAY_LIMIT else None


def number(value) -> float | None:
    """A number, or an array holding one (a loss of shape (1,) is that number)."""
    try:
        with np.errstate(all="ignore"):
            array = np.asarray(value, dtype=np.float64)
        return float(array.reshape(-1)[0]) if array.size == 1 else None
    except Exception:  # whatever the student returned
        return None


def _loss_calls(case: dict) -> int:
    """How often the graders' loss function (in the lab's trusted code the judge sent, which
    counts its calls) has been called in this process; 0 where there is none."""
    trusted = case.get("trusted")
    calls = trusted.get("CALLS") if isinstance(trusted, dict) else None
    return int(calls["softmax_cross_entropy"]) if isinstance(calls, dict) else 0


def _changed(held, given: dict) -> bool:
    """Whether the parameters ``held`` (by name) are no longer the ``given`` values."""
    try:
        return not all(
            np.array_equal(np.asarray(held[name]), value, equal_nan=True)
            for name, value in given.items()
        )
    except Exception:  # a parameter taken away, or not numbers
        return True


def named_numbers(grads, params: dict) -> dict:
    if not isinstance(grads, dict):
        raise Malformed("grads")
    return {name: numbers(grads[name]) for name in params if name in grads}


TRACKED = 3  # the first batches whose parameters and gradients are recorded


def recording(network_class: type, record: dict) -> type:
    """``network_class`` (the graders' network) recording in ``record`` (``batches``,
    ``batch_losses``, ``tracked``: lists) each call of ``loss`` on a batch of the training set
    ``X``: a call on the whole set in its own order (a loss reported, not a step) is not a
    batch. The record is not the network's to hand to the code it is given to (and what that
    code could still reach, the judge checks against its own replay: ``labs/lab3/truths.py``)."""

    class RecordingNetwork(network_class):
        def __init__(self, X, *args):
            super().__init__(*args)
            self._rows = {row.tobytes(): index for index, row in enumerate(np.asarray(X))}
            self._n = len(X)

        def loss(self, X, T):
            rows = [self._rows.get(np.asarray(row, dtype=np.float64).tobytes(), -1) for row in X]
            loss, grads = super().loss(X, T)
            if rows != list(range(self._n)):
                record["batches"].append(rows)
                record["batch_losses"].append(float(loss))
                if len(record["tracked"]) <= TRACKED:  # one more: the parameters after the last
                    record["tracked"].append(
                        {
                            "params": {k: numbers(v) for k, v in self.params.items()},
                            "grads": {k: numbers(v) for k, v in grads.items()},
                        }
                    )
            return loss, grads

    return RecordingNetwork


def call_train(train: Callable, case: dict, network_class: type | None = None) -> dict:
    """``train(network, X, T, batch_size, rate, n_epochs, rng)`` with the graders' network
    (``network_class``, else the lab's trusted code's ``ReferenceNetwork``: a mistake in the
    student's own costs its tests, not this one), recording what it is asked
    (:func:`recording`): the ``params`` it left the network with (by name), the record
    (``batches``, ``batch_losses``, ``tracked``) and ``losses``, what ``train`` returned."""
    sizes = [int(size) for size in case["sizes"]]
    X = np.array(case["X"], dtype=np.float64)
    T = np.array(case["T"], dtype=np.float64)
    base = network_class or case["trusted"]["ReferenceNetwork"]
    record: dict = {"batches": [], "batch_losses": [], "tracked": []}
    network = recording(base, record)(
        X, sizes, case["activation"], float(case["reg"]), int(case["seed"])
    )

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
            **record,
            "losses": numbers(returned),
        }

    return answer(call)
