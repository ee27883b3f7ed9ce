"""The checks behind Lab 3's tests: each layer function, the loss, the L2 penalty, the network
and its training, called on the cases of ``helpers.layer_calls`` and held to true values.

A visible test calls a ``check_...`` function in the student's kernel on fresh draws, against
true values by central differences (``helpers.layers_numerical``: the package students install
holds no backward layer and no network). When grading, the judge (``labs/lab3/judge.py``) has
the same calls made in its sandbox on hidden draws and reaches its verdict with
:func:`problem_of` and :func:`sgd_problem` against its own analytic truths, where no student code
runs, and names the known mistakes (``labs/lab3/misconceptions.py``). A wrong answer is told
what is wrong and where, never the value expected.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from helpers import layer_calls, layers_numerical
from helpers.datasets import Annuli, UClasses
from helpers.failures import CheckFailed
from helpers.gradcheck import quiet_numerics
from helpers.step_verdicts import step_errors

# A value counts as right when each entry's error (helpers.step_verdicts.step_errors) is at most
# this: the same arithmetic in another order differs by rounding only, far below it.
TOLERANCE = 1e-7
# The networks of the visible test (the notebook's own are (2, 32, 32, 3) and (2, 5, 4, 3)):
# (sizes, activation, reg). The hidden tests' are the judge's own (labs/lab3/hidden.py).
# The visible test of a network holds it to differences through a whole network, which rounding
# leaves up to about 3e-7 off for its small gradients (1.4 % of draws passed 1e-7): it allows
# this; the judge's truths are exact, and hold every network to TOLERANCE.
VISIBLE_NETWORK_TOLERANCE = 1e-6
VISIBLE_ARCHITECTURES = (((2, 6, 3), "relu", 0.0), ((2, 4, 4, 3), "logistic", 0.1))


# What each graded function returns, by name (as the calls of helpers.layer_calls report it).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "affine_forward": ("out",),
    "affine_backward": ("dX", "dW", "db"),
    "relu_forward": ("out",),
    "relu_backward": ("dA",),
    "logistic_forward": ("out",),
    "logistic_backward": ("dA",),
    "softmax_cross_entropy": ("loss", "dscores"),
    "l2_penalty": ("penalty", "grads"),
    "Network": ("loss", "grads"),
}


def _compared(truth, value) -> tuple[float, tuple[int, ...] | None, str | None]:
    """The largest error of ``value`` against ``truth`` (an array or a number), where it is,
    and why it cannot be compared (None when it can)."""
    if value is None:
        return np.inf, None, "is missing, or not an array of numbers"
    with quiet_numerics():
        array = np.asarray(value, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if array.shape != truth.shape:
        return np.inf, None, f"has shape {array.shape}; it should be {truth.shape}"
    errors = step_errors(truth, array)
    if errors.size == 0:
        return 0.0, None, None
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(errors)), errors.shape))
    if not np.all(np.isfinite(array)):
        return np.inf, None, f"holds inf or nan (at index {where})" if where else "is inf or nan"
    return float(np.max(errors)), where, None


def flat_outputs(outputs: dict) -> dict[str, object]:
    """Named outputs with a dictionary of gradients spread out (``grads['W1']``)."""
    flat: dict[str, object] = {}
    for name, value in outputs.items():
        if name == "grads" and isinstance(value, dict):
            flat.update({f"grads['{key}']": item for key, item in value.items()})
        else:
            flat[name] = value
    return flat


def matches(wrong: dict, answer: dict) -> bool:
    """Whether ``answer`` holds every output of ``wrong`` (a known wrong answer, by name)."""
    flat_answer = flat_outputs(answer)
    compared = [
        _compared(truth, flat_answer.get(name)) for name, truth in flat_outputs(wrong).items()
    ]
    return bool(compared) and all(why is None and error <= TOLERANCE for error, _, why in compared)


def problem_of(
    function: str,
    case: dict,
    answer: dict,
    truth: dict,
    which: str = "a",
    tolerance: float = TOLERANCE,
) -> str | None:
    """Why ``answer`` (the call of ``function`` on ``case``, from ``helpers.layer_calls``) is
    wrong against ``truth`` (the true outputs, by name), for the student: which output, how far
    off and where; None when it is right. ``which`` case it was (``a``, ``a hidden``). An error
    it raised is the caller's to describe."""
    on = f"on {which} case ({describe_case(function, case)})"
    malformed = answer.get("malformed")
    if isinstance(malformed, str) and malformed in layer_calls.MALFORMED:
        return f"{function} {layer_calls.MALFORMED[malformed]} {on}."
    if answer.get("changed") is True:
        return (
            f"{function} changed the parameters it was given {on}: it must leave them as they "
            "were (they are the network's own)."
        )
    names = OUTPUTS[function]
    expected = flat_outputs({name: truth[name] for name in names})
    given = flat_outputs({name: answer.get(name) for name in names})
    for name, true_value in expected.items():
        worst, where, why = _compared(true_value, given.get(name))
        if why is None and worst <= tolerance:
            continue
        if why is None:
            at = f" at index {where}" if where else ""
            why = f"is off by a relative error of {worst:.1e}{at} (tolerance {tolerance:.0e})"
            if _wrong_only_at_zero(case, true_value, given.get(name), tolerance):
                return f"{function}'s {name} {why} {on}. {AT_THE_KINK}"
        return f"{function}'s {name} {why} {on}."
    return None


AT_THE_KINK = (
    "At inputs exactly 0 your gradient passes dout through: what slope does the notebook take "
    "for ReLU at its kink?"
)


def _wrong_only_at_zero(case: dict, truth, value, tolerance: float) -> bool:
    """Whether a ReLU case's gradient is wrong at inputs exactly 0 and nowhere else."""
    if case.get("layer") != "relu":
        return False
    with quiet_numerics():
        wrong = step_errors(truth, np.asarray(value, dtype=np.float64)) > tolerance
    at_zero = np.asarray(case["A"]) == 0
    return bool(np.any(wrong)) and not np.any(wrong & ~at_zero)


def overflowed(case: dict, answer: dict) -> bool:
    """Whether ``answer`` holds a value that is not finite, on a case of large inputs."""
    inputs = np.asarray(case["scores"] if "scores" in case else case["A"], dtype=np.float64)
    large = float(np.max(np.abs(inputs))) > layer_calls.LARGE_SCORES / 2
    given = [answer.get(name) for name in ("loss", "dscores", "out", "dA")]
    with quiet_numerics():
        try:
            values = [np.asarray(v, dtype=np.float64) for v in given if v is not None]
        except (TypeError, ValueError):
            return False
    return large and any(not np.all(np.isfinite(v)) for v in values)


def describe_case(function: str, case: dict) -> str:
    """What a case is, without its values: the shapes of its inputs, a network's layers."""
    if function == "Network":
        sizes = [int(size) for size in case["sizes"]]
        return f"layers {sizes}, {case['activation']}, reg {case['reg']}"
    if function == "train":
        return f"{case['data']} data, {len(case['X'])} samples"
    if function == "l2_penalty":
        return f"{len(layer_calls.parameters_of(case)) // 2} layers, reg {case['reg']}"
    if function == "softmax_cross_entropy":
        return f"scores of shape {np.shape(case['scores'])}"
    names = layer_calls.LAYER_ARGUMENTS[case["layer"]]
    return ", ".join(f"{name} of shape {np.shape(case[name])}" for name in names)


# A right Network.loss calls softmax_cross_entropy once; differentiating numerically calls it
# twice per parameter entry (at least 30 times for the smallest hidden network).
MAX_LOSS_CALLS = 10


def differentiated_numerically(case: dict, answer: dict) -> str | None:
    """Why a network's right answer is not its own backpropagation: its ``loss`` called the
    graders' loss function many times in one call; None when it did not."""
    calls = answer.get("loss_calls")
    if isinstance(calls, int) and calls > MAX_LOSS_CALLS:
        return (
            f"its loss called softmax_cross_entropy {calls} times in one call "
            "(differentiating numerically?)"
        )
    return None


# Training: the data sets, the network and the run a student's train is judged on.
TRAINING_SAMPLES, VALIDATION_SAMPLES = 600, 400
TRAINING_NETWORK = ((2, 16, 16), "relu", 1e-4)  # hidden layers; the output has a unit per class
TRAINING_RUN = {"batch_size": 32, "rate": 0.1, "n_epochs": 40}
# The validation accuracy a right train reaches on every draw of training_cases
# (tests/unit/test_layers_check.py measures the margin); a train that never updates the
# network stays near a third.
VALIDATION_THRESHOLD = 0.93


def training_cases(rng: np.random.Generator) -> list[dict]:
    """One data set of each kind (``Annuli``, ``UClasses``), split into training data ``X``,
    ``T`` and a validation set ``X_val``, ``T_val`` (never sent to the code judged), with the
    network and the run ``train`` is given."""
    cases = []
    sizes, activation, reg = TRAINING_NETWORK
    for kind in (Annuli, UClasses):
        data = kind(n=TRAINING_SAMPLES + VALIDATION_SAMPLES, seed=int(rng.integers(2**31)))
        X, T = data.inputs(), data.targets()
        cases.append(
            {
                "data": kind.__name__,
                "sizes": [float(size) for size in (*sizes, data.n_classes)],
                "activation": activation,
                "reg": reg,
                "seed": int(rng.integers(2**31)),
                "train_seed": int(rng.integers(2**31)),
                **TRAINING_RUN,
                "X": X[:TRAINING_SAMPLES],
                "T": T[:TRAINING_SAMPLES],
                "X_val": X[TRAINING_SAMPLES:],
                "T_val": T[TRAINING_SAMPLES:],
            }
        )
    return cases


def sent_training_case(case: dict) -> dict:
    """What of a training case the code judged may hold: everything but the validation set."""
    return {name: value for name, value in case.items() if name not in ("X_val", "T_val")}


# A random split into batches of s puts a sample and the next one in the set in the same batch
# s - 1 times an epoch on average (each pair with chance (s - 1) / (n - 1)), whatever order the
# rows have inside a batch; the set's own order, a rotation or a reversal puts nearly every pair
# together. More than this many times s - 1 is an ordered split (a random one goes past 3 times
# with a chance below 1e-9 for the judge's batches of 32, below 1e-6 for the visible ones of 16).
ORDERED_NEIGHBOURS = 3
MOVED_RIGHT = 1e-9  # of a parameter's largest entry: the same step in another order, rounded


def sgd_problem(case: dict, answer: dict, which: str = "a") -> str | None:
    """Why ``train`` is wrong, from the record in ``answer`` (``helpers.layer_calls.call_train``'s
    on ``case``): what it did otherwise than the notebook's mini-batch SGD (the epochs, the
    batches, the order, the step, the losses it returns); None when it did what it says."""
    if said := _what_train_did_otherwise(case, answer):
        return f"train {said} (on {which} data set, {case['data']})"
    return None


def _what_train_did_otherwise(case: dict, answer: dict) -> str | None:
    n, size, epochs = len(case["X"]), int(case["batch_size"]), int(case["n_epochs"])
    batches = answer.get("batches")
    if not isinstance(batches, list) or not all(isinstance(b, list) for b in batches):
        return "left no record of its batches"
    sizes = [len(batch) for batch in batches]
    if sum(sizes) != n * epochs:
        return (
            f"gave the network's loss {sum(sizes)} samples in {epochs} epochs, "
            f"{sum(sizes) / epochs:g} an epoch: each epoch visits each of the {n} training "
            "samples once"
        )
    expected = [size] * (n // size) + ([n % size] if n % size else [])
    if sizes != expected * epochs:
        return (
            f"gave the network batches of {sorted(set(sizes))} samples: each epoch takes "
            f"batch_size ({size}) at a time, the last batch holding what is left"
        )
    previous: list[frozenset] = []
    per_epoch = len(expected)
    for epoch in range(epochs):
        split = batches[epoch * per_epoch : (epoch + 1) * per_epoch]
        if sorted(row for batch in split for row in batch) != list(range(n)):
            return f"did not visit every sample exactly once in epoch {epoch + 1}"
        together = sum(len(set(batch) & {row + 1 for row in batch}) for batch in split)
        kept = [frozenset(batch) for batch in split]
        if kept == previous or together > ORDERED_NEIGHBOURS * (size - 1):
            return (
                f"split the samples into the same or ordered batches in epoch {epoch + 1}: "
                "each epoch takes a fresh random order (rng.permutation)"
            )
        previous = kept
    if why := _step_problem(answer.get("tracked"), float(case["rate"])):
        return why
    return _losses_problem(answer, per_epoch, epochs)


def _step_problem(tracked, rate: float) -> str | None:
    """Whether each of the first steps moved every parameter by ``-rate`` times its gradient."""
    if not isinstance(tracked, list) or len(tracked) < 2:
        return None  # fewer than two batches: nothing to compare (the record said how many)
    with quiet_numerics():
        for before, after in itertools.pairwise(tracked):
            try:
                for name, gradient in before["grads"].items():
                    start = np.asarray(before["params"][name], dtype=np.float64)
                    moved = np.asarray(after["params"][name], dtype=np.float64) - start
                    step = -rate * np.asarray(gradient, dtype=np.float64)
                    scale = float(np.max(np.abs(start), initial=1.0))
                    if not np.allclose(moved, step, rtol=0.0, atol=MOVED_RIGHT * scale):
                        return _wrong_step(moved, step, name)
            except (KeyError, TypeError, ValueError):
                return "left the network's parameters under other names or shapes"
    return None


def _wrong_step(moved: np.ndarray, step: np.ndarray, name: str) -> str:
    said = f"moved {name} otherwise than -rate times its gradient after a batch"
    big = np.abs(step) > 1e-3 * float(np.max(np.abs(step), initial=0.0))
    if not np.any(moved):
        return f"{said}: it did not move at all. Does it change network.params itself?"
    ratio = moved[big] / step[big]
    if np.allclose(ratio, ratio.flat[0], rtol=1e-6) and ratio.size:
        factor = float(ratio.flat[0])
        if factor < 0:
            return f"{said}: it moved up the gradient, not down it"
        return f"{said}: it moved {factor:.3g} times as far. Where does rate come in?"
    return said


def _losses_problem(answer: dict, per_epoch: int, epochs: int) -> str | None:
    """Whether ``train`` returned the mean of each epoch's batch losses (or the mean over its
    samples, the batches weighted by their sizes), one per epoch."""
    returned, losses = answer.get("losses"), answer.get("batch_losses")
    if not isinstance(returned, list) or len(returned) != epochs:
        got = len(returned) if isinstance(returned, list) else "no list of"
        return f"returned {got} losses: one per epoch, the mean of that epoch's batch losses"
    sizes = [len(batch) for batch in answer["batches"][:per_epoch]]
    with quiet_numerics():
        try:
            batch = np.asarray(losses, dtype=np.float64).reshape(epochs, per_epoch)
            given = np.asarray(returned, dtype=np.float64)
        except (TypeError, ValueError):
            return "returned losses that are not numbers, one per epoch"
        for mean in (batch.mean(axis=1), batch @ np.asarray(sizes) / sum(sizes)):
            if np.allclose(given, mean, rtol=1e-9, atol=0.0):
                return None
    return "returned other losses than the mean of each epoch's batch losses"


@contextmanager
def true_layers(Network) -> Iterator[None]:
    """While the block runs, the layer functions the student's ``Network`` calls (the names in
    the namespace its methods were defined in) are true ones (``helpers.layers_numerical``), as
    when it is judged: a mistake in a layer costs that layer's tests, not the network's. Put
    back afterwards."""
    namespace = getattr(getattr(Network, "loss", None), "__globals__", None)
    if not isinstance(namespace, dict):
        yield
        return
    missing = object()
    kept = {name: namespace.get(name, missing) for name in layers_numerical.STAND_INS}
    namespace.update(layers_numerical.STAND_INS)
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _checked(function: str, cases: list[dict], call: Callable[[dict], dict]) -> None:
    for case in cases:
        answer = call(case)
        if answer["error"] is not None:
            raise CheckFailed(
                f"{function} raised {answer['error']} on a case ({describe_case(function, case)})"
            )
        truth = layers_numerical.true_outputs(function, case)
        tolerance = VISIBLE_NETWORK_TOLERANCE if function == "Network" else TOLERANCE
        if problem := problem_of(function, case, answer, truth, tolerance=tolerance):
            raise CheckFailed(problem)


def _fresh() -> np.random.Generator:
    return np.random.default_rng()


def check_affine_forward(affine_forward: Callable, seed: int) -> None:
    """Test ``affine_forward`` on fresh random batches and raise AssertionError saying what is
    wrong. When grading, the judge makes the same calls on the hidden cases ``seed`` names
    (``labs/lab3/hidden.py``), and only its verdict counts."""
    _checked(
        "affine_forward",
        layer_calls.layer_cases("affine", _fresh()),
        lambda case: layer_calls.call_forward(affine_forward, case),
    )


def check_affine_backward(affine_backward: Callable, affine_forward: Callable, seed: int) -> None:
    """Test ``affine_backward`` with the caches your ``affine_forward`` makes (see
    :func:`check_affine_forward`)."""
    _checked(
        "affine_backward",
        layer_calls.layer_cases("affine", _fresh()),
        lambda case: layer_calls.call_backward(affine_backward, case, affine_forward),
    )


def check_relu_forward(relu_forward: Callable, seed: int) -> None:
    """Test ``relu_forward`` (see :func:`check_affine_forward`)."""
    _checked(
        "relu_forward",
        layer_calls.layer_cases("relu", _fresh()),
        lambda case: layer_calls.call_forward(relu_forward, case),
    )


def check_relu_backward(relu_backward: Callable, relu_forward: Callable, seed: int) -> None:
    """Test ``relu_backward`` with the caches your ``relu_forward`` makes."""
    _checked(
        "relu_backward",
        layer_calls.layer_cases("relu", _fresh()),
        lambda case: layer_calls.call_backward(relu_backward, case, relu_forward),
    )


def check_logistic_forward(logistic_forward: Callable, seed: int) -> None:
    """Test ``logistic_forward`` (see :func:`check_affine_forward`)."""
    _checked(
        "logistic_forward",
        layer_calls.layer_cases("logistic", _fresh()),
        lambda case: layer_calls.call_forward(logistic_forward, case),
    )


def check_logistic_backward(
    logistic_backward: Callable, logistic_forward: Callable, seed: int
) -> None:
    """Test ``logistic_backward`` with the caches your ``logistic_forward`` makes."""
    _checked(
        "logistic_backward",
        layer_calls.layer_cases("logistic", _fresh()),
        lambda case: layer_calls.call_backward(logistic_backward, case, logistic_forward),
    )


def check_softmax_cross_entropy(softmax_cross_entropy: Callable, seed: int) -> None:
    """Test ``softmax_cross_entropy`` on fresh scores, large ones among them."""
    _checked(
        "softmax_cross_entropy",
        layer_calls.loss_cases(_fresh()),
        lambda case: layer_calls.call_loss(softmax_cross_entropy, case),
    )


def check_l2_penalty(l2_penalty: Callable, seed: int) -> None:
    """Test ``l2_penalty`` on fresh parameters of small networks."""
    _checked(
        "l2_penalty",
        layer_calls.penalty_cases(_fresh()),
        lambda case: layer_calls.call_penalty(l2_penalty, case),
    )


def check_network(Network: Callable, seed: int) -> None:
    """Test ``Network``'s ``loss`` and its gradients on fresh parameters of small networks,
    with the graders' layers in place of yours (:func:`true_layers`)."""
    with true_layers(Network):
        _checked(
            "Network",
            layer_calls.network_cases(VISIBLE_ARCHITECTURES, _fresh()),
            lambda case: layer_calls.call_network(Network, case),
        )


# The visible test's training: a small network, whose gradients central differences give fast
# enough, on a small data set; it checks what train does (the judge also checks where it ends).
VISIBLE_SAMPLES, VISIBLE_HIDDEN = 96, (4,)
VISIBLE_RUN = {"batch_size": 16, "rate": 0.1, "n_epochs": 3}


def visible_training_case(rng: np.random.Generator) -> dict:
    """A small data set and run for the visible test of ``train``."""
    data = Annuli(n=VISIBLE_SAMPLES, seed=int(rng.integers(2**31)))
    return {
        "data": "Annuli",
        "sizes": [float(size) for size in (2, *VISIBLE_HIDDEN, data.n_classes)],
        "activation": "relu",
        "reg": 1e-4,
        "seed": int(rng.integers(2**31)),
        "train_seed": int(rng.integers(2**31)),
        **VISIBLE_RUN,
        "X": data.inputs(),
        "T": data.targets(),
    }


def check_train(train: Callable, seed: int) -> None:
    """Train a small network of the graders' with your ``train`` on a fresh data set and test
    that it does what the notebook says: every sample once an epoch, ``batch_size`` at a time,
    in a fresh order, each step ``-rate`` times the gradient, the mean batch losses returned.
    When grading, the judge also trains a larger network on hidden data sets and tests its
    accuracy on a validation set."""
    case = visible_training_case(_fresh())
    answer = layer_calls.call_train(train, case, layers_numerical.NumericalNetwork)
    if answer["error"] is not None:
        raise CheckFailed(f"train raised {answer['error']} on a data set of {len(case['X'])}")
    if problem := sgd_problem(case, answer):
        raise CheckFailed(problem)
