"""The checks behind Lab 2's test cells ("Vectorized mini-batch training"), and the true value
of each step of a batched backprop.

The network is Lab 1's, run on a batch: rows are samples, ``X (n, d)``, ``T (n, k)``. The loss
is the mean cross-entropy over the batch. ``backprop(X, T, W1, b1, W2, b2)`` first computes the
forward pass (steps ``A``, ``H``, ``B``, ``Y``, one row per sample), then each gradient of the
mean loss: ``dloss_dY``, ``dloss_dB``, ``dloss_dH``, ``dloss_dA`` have one row per sample (each
1/n of Lab 1's per-sample gradient) and the parameter gradients are the means of Lab 1's.

Steps are judged as in Lab 1 (``helpers.step_verdicts``, same verdicts, same judge): each on the
true values of everything before it. The true gradients are built from Lab 1's, which come from
finite differences through the chain: importing this module gives no formula away. One more
check needs no clock: :func:`check_no_loop_over_samples` counts the Python lines ``backprop``
runs and the arrays it makes on two batch sizes far apart (``judge_runtime.tracing``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from helpers import backprop_spec, lab1, network, step_verdicts
from helpers.backprop_spec import Backprop, Step
from helpers.failures import CheckFailed
from judge_runtime import runner
from judge_runtime.flag import JUDGED_OUTSIDE, JUDGED_VARIABLE
from judge_runtime.runner import describe_error
from judge_runtime.tracing import LineCount, loops_per_sample
from judge_runtime.training import gradient_descent

FORWARD_STEPS = (
    Step(
        "A",
        "A",
        None,
        "A = X W1^T + b1: one row per sample, and b1 is added to every row.",
        label="hidden pre-activations A of the whole batch",
    ),
    Step(
        "H",
        "H",
        None,
        "the logistic acts element by element.",
        label="hidden activations H of the whole batch",
    ),
    Step(
        "B",
        "B",
        None,
        "B = H W2^T + b2, as A was computed from X.",
        label="output pre-activations B of the whole batch",
    ),
    Step(
        "Y",
        "Y",
        None,
        "the provided softmax works on each row of its argument.",
        label="class probabilities Y of the whole batch",
    ),
)
GRADIENT_STEPS = (
    Step(
        "dloss_dY",
        "Y",
        None,
        "the loss is the mean over the batch: row i is the gradient of sample i's "
        "cross-entropy, divided by how many samples the mean is over.",
    ),
    Step(
        "dloss_dB",
        "B",
        "dloss_dY",
        "each row of Y is the softmax of the same row of B: apply that row's softmax "
        "Jacobian to the row of dloss_dY, for all rows at once (keep the axis you sum over).",
    ),
    Step(
        "dloss_dW2",
        "W2",
        "dloss_dB",
        "every sample adds its own contribution to the gradient of W2 (k, m); one matrix "
        "product sums them over the batch. The 1/n is already in dloss_dB.",
    ),
    Step(
        "dloss_db2",
        "b2",
        "dloss_dB",
        "b2 is added to every row of B: its gradient sums over the samples (which axis "
        "holds them?); shape (k,).",
    ),
    Step(
        "dloss_dH",
        "H",
        "dloss_dB",
        "each row of H feeds the same row of B through W2; one matrix product for all rows.",
    ),
    Step(
        "dloss_dA",
        "A",
        "dloss_dH",
        "the logistic acts element by element, as in Lab 1: so does its derivative.",
    ),
    Step(
        "dloss_dW1",
        "W1",
        "dloss_dA",
        "every sample adds its own contribution to the gradient of W1 (m, d); one matrix "
        "product sums them over the batch. The 1/n is already in dloss_dA.",
    ),
    Step(
        "dloss_db1",
        "b1",
        "dloss_dA",
        "b1 is added to every row of A: its gradient sums over the samples (which axis "
        "holds them?); shape (m,).",
    ),
)
STEPS = (*FORWARD_STEPS, *GRADIENT_STEPS)
STEP_NAMES = tuple(step.name for step in STEPS)
ARGUMENTS = ("X", "T", "W1", "b1", "W2", "b2")
PROVIDED_CONSTANTS = ("PROBABILITY_FLOOR",)  # the notebook's own: backprop may read them
HIDDEN_CASES = 4
# Batch sizes of the visible checks' random cases, in turn: n = k (3) lets a sum over the wrong
# axis keep its shape, n = 1 is a batch of one, which a correct backprop handles like any other.
CASE_SIZES = (3, 7, 1, 12)

# Each batched gradient and the Lab 1 step it gathers: rows (one per sample, over n) or the mean.
ROWS = {
    "dloss_dY": "dloss_dy",
    "dloss_dB": "dloss_dbeta",
    "dloss_dH": "dloss_dh",
    "dloss_dA": "dloss_dalpha",
}
MEANS = {
    "dloss_dW2": "dloss_dW2",
    "dloss_db2": "dloss_db2",
    "dloss_dW1": "dloss_dW1",
    "dloss_db1": "dloss_db1",
}


def forward_batch(X, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    """The forward pass over a batch: ``{"A": (n, m), "H": (n, m), "B": (n, k), "Y": (n, k)}``,
    each row Lab 1's forward pass of that sample (``helpers.network``): the batched formulas
    are the students' to write, and this module is installed for them."""
    rows = [network.forward(x, W1, b1, W2, b2) for x in np.asarray(X, dtype=np.float64)]
    return {
        batched: np.stack([row[single] for row in rows]).reshape(len(rows), -1)
        for batched, single in (("A", "alpha"), ("H", "h"), ("B", "beta"), ("Y", "y"))
    }


def true_batch_steps(X, T, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    """The true value of every gradient step over the batch ``X (n, d)``, ``T (n, k)``, by
    name (see the module's docstring for what each is), as float64 arrays."""
    X, T = np.asarray(X, dtype=np.float64), np.asarray(T, dtype=np.float64)
    per_sample = [
        backprop_spec.true_gradients(x, t, W1, b1, W2, b2, network.forward(x, W1, b1, W2, b2))
        for x, t in zip(X, T, strict=True)
    ]
    n = len(X)
    truth = {
        name: np.stack([values[single] for values in per_sample]) / n
        for name, single in ROWS.items()
    }
    truth |= {
        name: np.mean([values[single] for values in per_sample], axis=0)
        for name, single in MEANS.items()
    }
    return {step.name: truth[step.name] for step in GRADIENT_STEPS}


def _batch_truth(arguments: dict) -> dict:
    forward = forward_batch(*(arguments[n] for n in ("X", "W1", "b1", "W2", "b2")))
    return {**forward, **true_batch_steps(*(arguments[n] for n in ARGUMENTS))}


LAB2 = Backprop(ARGUMENTS, STEPS, (), backprop_spec.RETURNED, _batch_truth)


def random_batch(
    rng: np.random.Generator, n: int, hidden_dim: int = 5, n_classes: int = 3, input_dim: int = 2
) -> tuple:
    """A random batch and parameters ``(X, T, W1, b1, W2, b2)`` drawn from ``rng``: ``n``
    points of the plane, one-hot targets, non-zero biases."""
    params = network.init_parameters(input_dim, hidden_dim, n_classes, rng)
    params["b1"] = 0.5 * rng.normal(size=hidden_dim)
    params["b2"] = 0.5 * rng.normal(size=n_classes)
    X = rng.uniform(-1.0, 1.0, size=(n, input_dim))
    T = np.eye(n_classes)[rng.integers(n_classes, size=n)]
    return (X, T, params["W1"], params["b1"], params["W2"], params["b2"])


def random_batches(
    n_cases: int = HIDDEN_CASES,
    rng: np.random.Generator | None = None,
    sizes: tuple[int, ...] = CASE_SIZES,
) -> list:
    """``n_cases`` random batches of ``sizes``, in turn (fresh draws unless ``rng`` is given;
    the grader's hidden cases are drawn from seeds and sizes only it knows)."""
    rng = np.random.default_rng() if rng is None else rng
    return [random_batch(rng, sizes[i % len(sizes)]) for i in range(n_cases)]


# ---- the visible checks (the judge runs the same verdicts on hidden cases) ----------------------


# Besides the notebook's batch, the visible checks try batches of the kinds the hidden ones are:
# a single sample, an odd size, and more samples than any dimension (fixed draws, so a failure
# repeats when the cell is run again).
VISIBLE_SIZES = (1, 7, 12)
VISIBLE_SEED = 2024


def _visible_batches() -> list[tuple[str, tuple]]:
    batches = random_batches(len(VISIBLE_SIZES), np.random.default_rng(VISIBLE_SEED), VISIBLE_SIZES)
    return [
        (f"for a test batch of {len(batch[0])} sample{'s' if len(batch[0]) > 1 else ''}", batch)
        for batch in batches
    ]


def check_step(name: str, backprop: Callable, X, T, W1, b1, W2, b2) -> None:
    """Test one step of ``backprop`` on one batch, then on test batches of other sizes
    (VISIBLE_SIZES); raise AssertionError with advice at the first where it is wrong."""
    step_verdicts.verify_step(
        LAB2, "for this batch", name, backprop, (X, T, W1, b1, W2, b2), PROVIDED_CONSTANTS
    )
    for where, batch in _visible_batches():
        step_verdicts.verify_step(LAB2, where, name, backprop, batch, PROVIDED_CONSTANTS)


def check_backprop_gradients(backprop: Callable, X, T, W1, b1, W2, b2) -> None:
    """Test the four mean gradients ``backprop`` returns for one batch, then for test batches
    of other sizes (VISIBLE_SIZES)."""
    step_verdicts.verify_returned(LAB2, "for this batch", backprop, (X, T, W1, b1, W2, b2))
    for where, batch in _visible_batches():
        step_verdicts.verify_returned(LAB2, where, backprop, batch)


def check_step_on_hidden_cases(
    name: str, backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """Test one step on several random batches (sizes CASE_SIZES). When grading, the judge
    runs the same check on the hidden batches ``seed`` names, and only its verdict counts."""
    for case in random_batches(n_cases):
        step_verdicts.verify_step(LAB2, "for this batch", name, backprop, case, PROVIDED_CONSTANTS)


def check_backprop_gradients_on_hidden_cases(
    backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """:func:`check_backprop_gradients` on several random batches (see
    :func:`check_step_on_hidden_cases`)."""
    for case in random_batches(n_cases):
        step_verdicts.verify_returned(LAB2, "for this batch", backprop, case)


# ---- no loop over samples ----------------------------------------------------------------------

# The visible check's; the judge's are its own (labs/lab2/hidden.py). Both at most 256: Python
# keeps one object for each whole number up to 256, so an index built from range(n) allocates
# nothing per sample, as vectorized code should not be charged for.
LINE_COUNT_SIZES = (16, 240)
LINE_COUNT_SEED = 2
# A backprop of matrix operations runs 10 to 30 lines of its own Python (what numpy runs inside
# a call is not counted here: np.einsum(..., optimize=True) alone runs hundreds); one that loops
# over its hidden units, about 100. More is a loop of its own, or numerical differentiation
# (hundreds of forward passes).
MAX_LINES = 150


def line_count_batches(
    sizes: tuple[int, int] = LINE_COUNT_SIZES, seed: int = LINE_COUNT_SEED
) -> list[dict]:
    """The two batches the loop check runs ``backprop`` on, by argument name."""
    rng = np.random.default_rng(seed)
    return [dict(zip(ARGUMENTS, random_batch(rng, n), strict=True)) for n in sizes]


def line_count_truths(batches: list[dict]) -> list[dict]:
    """The true values of every step on the loop check's batches (a backprop that raises is
    counted step by step on them), as lists by name."""
    return [
        {
            name: value.tolist()
            for name, value in LAB2.truth(
                {name: np.asarray(value, dtype=np.float64) for name, value in batch.items()}
            ).items()
        }
        for batch in batches
    ]


def _counts(values) -> bool:
    return (
        isinstance(values, list)
        and len(values) == 2
        and all(isinstance(c, int) and not isinstance(c, bool) for c in values)
    )


def counts_came_back(counts, own, arrays, allocations) -> bool:
    """Whether the runner's four counts (:func:`loop_verdict`'s) are all there, as numbers."""
    return all(_counts(found) for found in (counts, own, arrays, allocations))


def loop_verdict(
    counts: list | None,
    error: str | None,
    sizes: tuple[int, int],
    interfered: str | None = None,
    own: list | None = None,
    arrays: list | None = None,
    allocations: list | None = None,
) -> tuple[bool, str]:
    """Whether ``backprop``'s counts on batches of ``sizes`` show no loop over the samples
    (``judge_runtime.tracing.loops_per_sample``): ``(passed, message)``. ``counts``: all the
    lines it ran (numpy's included: a loop numpy runs for it grows them); ``own``: the lines of its
    own code (too many is a fixed loop); ``arrays``: the arrays it made (a loop run in C makes one a
    row); ``allocations``: the Python objects it allocated (a loop in C over plain arrays or
    lists allocates one a row)."""
    if interfered:
        return False, (
            f"Not credited: {interfered}, which could stop or fake the check. "
            "The instructor will review it."
        )
    if error:
        return False, (
            f"backprop raised {error} on a batch of {sizes[0]}, so whether it loops "
            "over samples could not be checked."
        )
    if not counts_came_back(counts, own, arrays, allocations):
        return False, "Not graded: the line counts did not come back."
    small, large = (LineCount(*c) for c in zip(counts, own, arrays, allocations, strict=True))  # type: ignore[arg-type]  # came back
    if loops_per_sample(small, large, sizes):
        return False, (
            f"backprop runs {small.total} lines of Python, makes {small.arrays} "
            f"arrays and allocates {small.allocations} objects on a batch of "
            f"{sizes[0]} samples, and {large.total} lines, {large.arrays} arrays "
            f"and {large.allocations} objects on a batch of {sizes[1]}: it loops "
            "over the samples (a for loop, a comprehension, map, sum or reduce "
            "over rows, tolist, np.vectorize or apply_along_axis). Use matrix "
            "operations on the whole batch."
        )
    if own[0] > MAX_LINES:  # type: ignore[index]  # came back: a list
        return False, (
            f"backprop runs {own[0]} lines "  # type: ignore[index]  # came back
            "of its own Python on a batch of "
            f"{sizes[0]} samples, more than matrix operations need (at most "
            f"{MAX_LINES}): does it loop a fixed number of times?"
        )
    return True, (
        f"backprop runs as many lines of Python and makes as many arrays on a batch "
        f"of {sizes[1]} samples as on a batch of {sizes[0]}: no loop over samples."
    )


def count_lines(backprop: Callable, sizes: tuple[int, int] = LINE_COUNT_SIZES) -> dict:
    """``backprop``'s counts on the two loop-check batches, as the judge's runner takes them
    (``judge_runtime.runner.count_lines``: ``lines``, ``own_lines``, ``arrays``, or the ``error``
    it raised, or how it ``interfered`` with the count). A backprop that raises is counted
    step by step on the true values, as the judge counts it."""
    batches = [
        {name: value.tolist() for name, value in batch.items()}
        for batch in line_count_batches(sizes)
    ]
    counted = runner.count_lines(backprop, batches)
    if not counted.get("error"):
        return counted
    functions = step_verdicts.kernel_functions(
        backprop, step_verdicts.function_source(backprop), LAB2
    )
    if functions is None:
        return counted
    return runner.count_lines(
        backprop, batches, functions=functions, truths=line_count_truths(batches)
    )


def check_no_loop_over_samples(backprop: Callable) -> None:
    """Raise AssertionError if ``backprop`` loops over the samples (it runs more Python lines
    or makes more arrays on a larger batch), or runs more of its own lines than matrix
    operations need."""
    counted = count_lines(backprop)
    passed, message = loop_verdict(
        counted["lines"],
        counted["error"],
        LINE_COUNT_SIZES,
        counted.get("interfered"),
        counted.get("own_lines"),
        counted.get("arrays"),
        counted.get("allocations"),
    )
    if not passed:
        raise CheckFailed(message)


# ---- training ----------------------------------------------------------------------------------

# Lab 1's training test, batched: the same problem and schedule, so the same threshold tells a
# working hidden layer from a broken one (bench/training_margin.py).
TRAINING_POINTS = lab1.TRAINING_POINTS
TRAINING_EPOCHS = lab1.TRAINING_EPOCHS
TRAINING_RATE = lab1.TRAINING_RATE
TRAINING_SEED = lab1.TRAINING_SEED


def training_request() -> dict:
    """The judge's training run, as the runner (judge_runtime.runner) is asked for it."""
    X, T, params = training_problem()
    return {
        "X": X.tolist(),
        "T": T.tolist(),
        "epochs": TRAINING_EPOCHS,
        "batched": True,
        "rate": TRAINING_RATE,
        "params": {k: v.tolist() for k, v in params.items()},
    }


def training_problem(n_points: int = TRAINING_POINTS, seed: int = TRAINING_SEED):
    """Lab 1's training problem (a fresh 10-unit network on a small Annuli set):
    ``(X, T, params)``."""
    return lab1.training_problem(n_points, seed)


def check_training(backprop: Callable) -> None:
    """Train a fresh network briefly (full-batch gradient descent) with ``backprop``; raise
    unless the loss fell and the accuracy rose. Not in a kernel the judge grades: the judge
    trains outside it."""
    if os.environ.get(JUDGED_VARIABLE):
        print(JUDGED_OUTSIDE)
        return
    X, T, params = training_problem()
    try:
        trained = gradient_descent(
            backprop, X, T, params, TRAINING_EPOCHS, TRAINING_RATE, lab1.training_reached(X, T)
        )
    except AssertionError:
        raise
    except Exception as error:  # student code
        raise CheckFailed(
            f"Training with your backprop failed: it raised {describe_error(error)}"
        ) from None
    lab1.judge_training(lab1.training_result(X, T, params, trained))
