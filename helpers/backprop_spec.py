"""The backprop both labs grade, as data: its steps in chain order, their true values, and the
cases they are judged on.

A step (:class:`Step`) is one assignment of ``backprop``: the gradient it names, what it is a
gradient with respect to, and the hint a wrong value gets. Its true value is found by finite
differences through the chain (:func:`true_gradients`): each step's local operation applied to
the true value of the step before it, so every step has a truth of its own. :class:`Backprop`
bundles a lab's arguments, steps and truth; ``LAB1`` is the one-sample backprop of Lab 1, and
``helpers.lab2`` builds the batched one from the same steps. How a run is judged against this
truth is ``helpers.step_verdicts``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import network
from helpers.gradcheck import numerical_gradient, numerical_vjp

STEP = 1e-5
HIDDEN_CASES = 4
FORWARD_NAMES = ("alpha", "h", "beta", "y")


@dataclass(frozen=True)
class Step:
    """One backprop step: the variable it defines, the one it differentiates, its upstream."""

    name: str
    wrt: str
    upstream: str | None
    hint: str
    label: str = ""  # how a message names it (default: the gradient with respect to wrt)

    @property
    def title(self) -> str:
        what = self.label or f"gradient of the loss with respect to {self.wrt}"
        return f"Step {self.name} ({what})"


STEPS = (
    Step(
        "dloss_dy",
        "y",
        None,
        "differentiate categorical_ce(y, t) = -sum(t * log(y)) with respect to each y[k]; "
        "one of the provided functions does exactly this.",
    ),
    Step(
        "dloss_dbeta",
        "beta",
        "dloss_dy",
        "y = softmax(beta): apply the softmax's Jacobian to dloss_dy (see softmax_grad).",
    ),
    Step(
        "dloss_dW2",
        "W2",
        "dloss_dbeta",
        "beta = W2 @ h + b2, so W2[k, j] reaches the loss through beta[k], scaled by h[j]; "
        "the result has W2's shape.",
    ),
    Step(
        "dloss_db2",
        "b2",
        "dloss_dbeta",
        "beta = W2 @ h + b2: how much does beta[k] change when b2[k] does?",
    ),
    Step(
        "dloss_dh",
        "h",
        "dloss_dbeta",
        "each h[j] feeds every beta[k] through W2[k, j]; sum those contributions.",
    ),
    Step(
        "dloss_dalpha",
        "alpha",
        "dloss_dh",
        "h = logistic(alpha) acts element by element (see logistic_grad).",
    ),
    Step(
        "dloss_dW1",
        "W1",
        "dloss_dalpha",
        "alpha = W1 @ x + b1, so W1[j, i] reaches the loss through alpha[j], scaled by x[i]; "
        "the result has W1's shape.",
    ),
    Step(
        "dloss_db1",
        "b1",
        "dloss_dalpha",
        "alpha = W1 @ x + b1: how much does alpha[j] change when b1[j] does?",
    ),
)


STEP_NAMES = tuple(step.name for step in STEPS)
RETURNED = tuple(f"dloss_d{name}" for name in network.PARAMETER_NAMES)


@dataclass(frozen=True)
class Backprop:
    """What a lab's ``backprop`` is judged on: its arguments, its steps in chain order, the
    forward values it computes before them, the gradients it returns, and the true values of
    all of these (``truth(arguments by name)``, float64 arrays by name)."""

    arguments: tuple[str, ...]
    steps: tuple[Step, ...]
    forward: tuple[str, ...]
    returned: tuple[str, ...]
    truth: Callable[[dict], dict]

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)


def _sample_truth(arguments: dict) -> dict:
    forward = network.forward(*(arguments[n] for n in ("x", "W1", "b1", "W2", "b2")))
    return {
        **forward,
        **true_gradients(  # type: ignore[call-arg]  # six, then forward
            *(arguments[n] for n in ("x", "t", "W1", "b1", "W2", "b2")), forward
        ),
    }


LAB1 = Backprop(("x", "t", "W1", "b1", "W2", "b2"), STEPS, FORWARD_NAMES, RETURNED, _sample_truth)


# ---- the chain rule through each operation, for one sample ------------------------------------


def _local_operation(step: Step, x, W1, b1, W2, b2, forward: dict):
    """The function of ``step.wrt`` whose Jacobian this step applies, and the point."""
    operations = {
        "beta": (network.softmax, forward["beta"]),
        "W2": (lambda W: W @ forward["h"] + b2, W2),
        "b2": (lambda b: W2 @ forward["h"] + b, b2),
        "h": (lambda h: W2 @ h + b2, forward["h"]),
        "alpha": (network.logistic, forward["alpha"]),
        "W1": (lambda W: W @ x + b1, W1),
        "b1": (lambda b: W1 @ x + b, b1),
    }
    return operations[step.wrt]


def _chain_step(step: Step, upstream, t, x, W1, b1, W2, b2, forward) -> np.ndarray:
    """Finite-difference value of one step, given the gradient arriving from above."""
    if step.upstream is None:
        # -t/y grows fast as y -> 0: the step must be small next to the smallest probability.
        h = min(STEP, 1e-4 * float(np.min(forward["y"])))
        return numerical_gradient(lambda y: network.categorical_ce(y, t), forward["y"], h=h)
    operation, point = _local_operation(step, x, W1, b1, W2, b2, forward)
    return numerical_vjp(operation, point, upstream, h=STEP)


# True step values by sample: a grading process judges the same hidden cases for every student.
_TRUTH_BY_CASE: dict[bytes, dict[str, np.ndarray]] = {}
TRUTH_CASES_KEPT = 256


def true_gradients(
    x, t, W1, b1, W2, b2, forward: dict, through: str | None = None
) -> dict[str, np.ndarray]:
    """The true values of the steps, in chain order up to ``through`` (default: every step),
    for one sample of float64 arrays, by finite differences through the chain. ``forward`` must
    be ``network.forward`` of the same sample.

    Values already computed for the same sample are reused (so the arrays are read-only);
    the dict returned is the caller's own.
    """
    key = b"".join(str(a.shape).encode() + a.tobytes() for a in (x, t, W1, b1, W2, b2))
    values = _TRUTH_BY_CASE.pop(key, {})
    for step in STEPS:
        if step.name not in values:
            upstream = values.get(step.upstream) if step.upstream else None
            value = _chain_step(step, upstream, t, x, W1, b1, W2, b2, forward)
            value.flags.writeable = False
            values[step.name] = value
        if step.name == through:
            break
    _TRUTH_BY_CASE[key] = values  # now the most recently used
    while len(_TRUTH_BY_CASE) > TRUTH_CASES_KEPT:
        del _TRUTH_BY_CASE[next(iter(_TRUTH_BY_CASE))]
    return dict(values)


def random_case(
    rng: np.random.Generator, hidden_dim: int = 10, n_classes: int = 3, input_dim: int = 2
):
    """A random sample, target and parameters ``(x, t, W1, b1, W2, b2)`` drawn from ``rng``.

    Targets are one-hot, as the notebook promises; biases are non-zero.
    """
    params = network.init_parameters(input_dim, hidden_dim, n_classes, rng)
    params["b1"] = 0.5 * rng.normal(size=hidden_dim)
    params["b2"] = 0.5 * rng.normal(size=n_classes)
    x = rng.uniform(-1.0, 1.0, size=input_dim)
    t = np.eye(n_classes)[rng.integers(n_classes)]
    return (x, t, params["W1"], params["b1"], params["W2"], params["b2"])


def random_cases(n_cases: int = HIDDEN_CASES) -> list[tuple]:
    """``n_cases`` fresh :func:`random_case` draws (unseeded); while nbgrader runs the notebook,
    the same draws for every test cell (so their runs are shared:
    ``helpers.step_verdicts.judged_run``). The grader's hidden cases are drawn the same way
    from seeds only the instructor's material knows (labs/<lab>/)."""
    global _SESSION_CASES
    if not os.environ.get("NBGRADER_EXECUTION"):
        rng = np.random.default_rng()
        return [random_case(rng) for _ in range(n_cases)]
    if len(_SESSION_CASES) < n_cases:
        rng = np.random.default_rng()
        _SESSION_CASES = [
            *_SESSION_CASES,
            *(random_case(rng) for _ in range(n_cases - len(_SESSION_CASES))),
        ]
    return _SESSION_CASES[:n_cases]


_SESSION_CASES: list[tuple] = []
