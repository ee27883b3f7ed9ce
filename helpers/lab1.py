"""The checks behind Lab 1's test cells: one per backprop step, end to end, and training.

Each step is judged on its own (error carried forward): the student's value must equal the
chain rule through that one operation applied to the student's *own* upstream gradient, found
by finite differences. A step that matches the true gradient also passes, so ``y - t`` for
``dloss_dbeta`` earns its points even after a wrong ``dloss_dy``. The intermediate values are
read from the student's ``backprop`` as it returns (or raises), so every step can be graded even
when a later blank is still unfilled.

Test cells call these functions; a failure raises ``AssertionError`` with a message naming the
step, the shapes, the worst entry and a hint, so neither traceback nor feedback shows the checks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import datasets, network
from helpers.gradcheck import (
    GradCheck,
    check_gradients,
    compare,
    numerical_gradient,
    numerical_vjp,
    quiet_numerics,
)

TOLERANCE = 1e-6
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


STEPS = (
    Step("dloss_dy", "y", None,
         "differentiate categorical_ce(y, t) = -sum(t * log(y)) with respect to each y[k]; "
         "one of the provided functions does exactly this."),
    Step("dloss_dbeta", "beta", "dloss_dy",
         "y = softmax(beta): apply the softmax's Jacobian to dloss_dy (see softmax_grad)."),
    Step("dloss_dW2", "W2", "dloss_dbeta",
         "beta = W2 @ h + b2, so W2[k, j] reaches the loss through beta[k], scaled by h[j]; "
         "the result has W2's shape."),
    Step("dloss_db2", "b2", "dloss_dbeta",
         "beta = W2 @ h + b2: how much does beta[k] change when b2[k] does?"),
    Step("dloss_dh", "h", "dloss_dbeta",
         "each h[j] feeds every beta[k] through W2[k, j]; sum those contributions."),
    Step("dloss_dalpha", "alpha", "dloss_dh",
         "h = logistic(alpha) acts element by element (see logistic_grad)."),
    Step("dloss_dW1", "W1", "dloss_dalpha",
         "alpha = W1 @ x + b1, so W1[j, i] reaches the loss through alpha[j], scaled by x[i]; "
         "the result has W1's shape."),
    Step("dloss_db1", "b1", "dloss_dalpha",
         "alpha = W1 @ x + b1: how much does alpha[j] change when b1[j] does?"),
)
STEP_BY_NAME = {step.name: step for step in STEPS}


@dataclass
class BackpropRun:
    """What one call of a student's backprop left behind.

    ``variables`` holds its local variables as they were when it returned or raised;
    ``result`` what it returned (None if it raised) and ``error`` the exception, if any.
    """

    variables: dict
    result: object = None
    error: BaseException | None = None


def run_backprop(backprop: Callable, x, t, W1, b1, W2, b2) -> BackpropRun:
    """Call ``backprop`` on copies of the arguments and capture its local variables.

    Exceptions from student code are caught and recorded, never raised.
    """
    code = getattr(backprop, "__code__", None)
    if code is None or not callable(backprop):
        raise TypeError("backprop must be the Python function defined in the notebook")
    captured: dict = {}
    outer_frame = []

    def trace_lines(frame, event, arg):
        if event == "return" and frame is outer_frame[0]:
            captured.update(frame.f_locals)
        return trace_lines

    def trace_calls(frame, event, arg):
        if event == "call" and frame.f_code is code and not outer_frame:
            outer_frame.append(frame)
            return trace_lines
        return None

    args = [np.array(a, dtype=np.float64, copy=True) for a in (x, t, W1, b1, W2, b2)]
    previous = sys.gettrace()
    sys.settrace(trace_calls)
    try:
        with quiet_numerics():
            result = backprop(*args)
        run = BackpropRun(dict(captured), result=result)
    except Exception as error:  # student code: any failure is a verdict, not a crash
        run = BackpropRun(dict(captured), error=error)
    finally:
        sys.settrace(previous)
    return run


def backprop_intermediates(backprop: Callable, x, t, W1, b1, W2, b2) -> dict:
    """Every variable inside your ``backprop`` for one sample, by name (for printing).

    Raises what ``backprop`` raised, so an unfilled blank shows where it is.
    """
    run = run_backprop(backprop, x, t, W1, b1, W2, b2)
    if run.error is not None:
        raise run.error
    return {k: v for k, v in run.variables.items() if isinstance(v, np.ndarray)}


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


def _usable(value, shape) -> np.ndarray | None:
    """``value`` as a finite float64 array of ``shape``, or None if it is not one."""
    try:
        with quiet_numerics():
            array = np.array(value, dtype=np.float64)
    except Exception:  # anything a student left in a variable
        return None
    if array.shape != shape or not np.all(np.isfinite(array)):
        return None
    return array


# True step values by sample: a grading process judges the same hidden cases for every student.
_TRUTH_BY_CASE: dict[bytes, dict[str, np.ndarray]] = {}
TRUTH_CASES_KEPT = 256


def true_gradients(x, t, W1, b1, W2, b2, forward: dict,
                   through: str | None = None) -> dict[str, np.ndarray]:
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


def judge_step(name: str, run: BackpropRun, x, t, W1, b1, W2, b2) -> GradCheck:
    """Verdict on one step of one backprop run, with error carried forward.

    Passes when the student's value matches the chain rule applied to their own upstream
    gradient (or, when that is unusable, to the true one), or matches the true gradient.
    """
    step = STEP_BY_NAME[name]
    x, t, W1, b1, W2, b2 = (np.asarray(a, dtype=np.float64) for a in (x, t, W1, b1, W2, b2))
    forward = network.forward(x, W1, b1, W2, b2)
    truth = true_gradients(x, t, W1, b1, W2, b2, forward, through=name)
    label = f"Step {name} (gradient of the loss with respect to {step.wrt})"

    if name not in run.variables:
        if run.error is not None:
            reason = f"backprop raised {_describe_error(run.error)} before computing {name}"
        else:
            reason = f"backprop never defined a variable called {name}"
        raise AssertionError(f"{label}: {reason}. Fill in the blank for {name} in backprop.")

    student = run.variables[name]
    upstream = None
    if step.upstream is not None:
        upstream = _usable(run.variables.get(step.upstream), truth[step.upstream].shape)
        if upstream is None:
            upstream = truth[step.upstream]
    expected = (truth[name] if step.upstream is None
                else _chain_step(step, upstream, t, x, W1, b1, W2, b2, forward))
    local = compare(expected, student, label, TOLERANCE, hint=step.hint)
    if local.passed or local.expected_shape != local.actual_shape:
        return local
    absolute = compare(truth[name], student, label, TOLERANCE, hint=step.hint)
    return absolute if absolute.passed else local


def check_forward_unchanged(run: BackpropRun, x, W1, b1, W2, b2) -> None:
    """Raise if the given forward pass inside backprop no longer computes the network."""
    forward = network.forward(*(np.asarray(a, dtype=np.float64) for a in (x, W1, b1, W2, b2)))
    for name in FORWARD_NAMES:
        if name not in run.variables:
            continue  # reported by the step that needs it
        verdict = compare(forward[name], run.variables[name], name, TOLERANCE)
        if not verdict.passed:
            raise AssertionError(
                f"The forward pass inside backprop computes a different {name} than the "
                f"network does ({verdict.message}). Restore the given forward pass and the "
                "provided functions (re-run the cell that defines them)."
            )


def check_step(name: str, backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test one backprop step on one sample; raise AssertionError with advice if it is wrong."""
    run = run_backprop(backprop, x, t, W1, b1, W2, b2)
    judge_step_run(name, run, x, t, W1, b1, W2, b2).raise_if_failed()


def hidden_case(seed: int, hidden_dim: int = 10, n_classes: int = 3, input_dim: int = 2):
    """A seeded random sample, target and parameters ``(x, t, W1, b1, W2, b2)``.

    Odd seeds give one-hot targets, even seeds probability rows; biases are non-zero.
    """
    rng = np.random.default_rng(seed)
    params = network.init_parameters(input_dim, hidden_dim, n_classes, rng)
    params["b1"] = 0.5 * rng.normal(size=hidden_dim)
    params["b2"] = 0.5 * rng.normal(size=n_classes)
    x = rng.uniform(-1.0, 1.0, size=input_dim)
    if seed % 2:
        t = np.eye(n_classes)[rng.integers(n_classes)]
    else:
        t = rng.dirichlet(np.ones(n_classes))
    return (x, t, params["W1"], params["b1"], params["W2"], params["b2"])


def hidden_cases(seed: int, n_cases: int = HIDDEN_CASES) -> list[tuple]:
    """The hidden test's cases for a test seed: ``n_cases`` of :func:`hidden_case`."""
    return [hidden_case(seed * 1000 + case) for case in range(n_cases)]


def check_step_on_hidden_cases(name: str, backprop: Callable, seed: int,
                               n_cases: int = HIDDEN_CASES) -> None:
    """Test one step on several seeded random samples, targets and parameters."""
    for case in hidden_cases(seed, n_cases):
        check_step(name, backprop, *case)


def judge_step_run(name: str, run: BackpropRun, x, t, W1, b1, W2, b2) -> GradCheck:
    """:func:`judge_step` after checking that the given forward pass was left alone."""
    check_forward_unchanged(run, x, W1, b1, W2, b2)
    return judge_step(name, run, x, t, W1, b1, W2, b2)


def judge_backprop_gradients(backprop: Callable, x, t, W1, b1, W2, b2) -> dict[str, GradCheck]:
    """Judge what backprop returns: ``(dloss_dW1, dloss_db1, dloss_dW2, dloss_db2)`` against the
    numerical gradient of the loss with respect to each parameter, for one sample."""
    return judge_returned_gradients(run_backprop(backprop, x, t, W1, b1, W2, b2),
                                    x, t, W1, b1, W2, b2)


def judge_returned_gradients(run: BackpropRun, x, t, W1, b1, W2, b2) -> dict[str, GradCheck]:
    """Judge the gradients one backprop run returned (raises AssertionError if it raised or
    returned other than four values)."""
    if run.error is not None:
        raise AssertionError(f"backprop raised {_describe_error(run.error)}")
    returned = _returned_gradients(run.result)
    params = dict(zip(network.PARAMETER_NAMES,
                      (np.array(p, dtype=np.float64) for p in (W1, b1, W2, b2)), strict=True))
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    analytic = {name: returned[i] for i, name in enumerate(network.PARAMETER_NAMES)}
    return check_gradients(
        lambda: network.loss(x, t, **params), params, analytic, tolerance=TOLERANCE, h=STEP,
        hint="backprop returns (dloss_dW1, dloss_db1, dloss_dW2, dloss_db2) in that order.",
    )


def check_backprop_gradients(backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test the four gradients backprop returns for one sample; raise AssertionError if wrong."""
    verdicts = judge_backprop_gradients(backprop, x, t, W1, b1, W2, b2)
    for name, verdict in verdicts.items():
        if not verdict.passed:
            raise AssertionError(f"The gradient backprop returns for {name}: {verdict.message}")


def check_backprop_gradients_on_hidden_cases(backprop: Callable, seed: int,
                                             n_cases: int = HIDDEN_CASES) -> None:
    """:func:`check_backprop_gradients` on several seeded random cases."""
    for case in hidden_cases(seed, n_cases):
        check_backprop_gradients(backprop, *case)


def _describe_error(error: BaseException) -> str:
    """``NameError: name 'x' is not defined``, or just the type when there is no message."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _returned_gradients(result) -> list:
    """What backprop returned, as a list of four; raise AssertionError if it is not four."""
    try:
        returned = list(result)
    except TypeError:
        returned = []
    if len(returned) != 4:
        raise AssertionError(
            "backprop must return four gradients, (dloss_dW1, dloss_db1, dloss_dW2, dloss_db2); "
            f"it returned {type(result).__name__}"
            + (f" of length {len(returned)}" if returned else "")
        )
    return returned


@dataclass(frozen=True)
class TrainingResult:
    """Loss and accuracy before and after a short training run."""

    loss_before: float
    loss_after: float
    accuracy_before: float
    accuracy_after: float


TRAINING_POINTS = 150
TRAINING_EPOCHS = 40
TRAINING_SEED = 7


def training_problem(n_points: int = TRAINING_POINTS, seed: int = TRAINING_SEED):
    """The training test's data and starting point: ``(X, T, params)`` for a fresh 10-unit
    network on a small Annuli set."""
    ds = datasets.Annuli(n=n_points, noise=1.0, seed=seed)
    params = network.init_parameters(ds.input_dim, 10, ds.n_classes, np.random.default_rng(seed))
    return ds.inputs(), ds.targets(), params


def train_parameters(backprop: Callable, X, T, params: dict, n_epochs: int = TRAINING_EPOCHS,
                     kappa: float = 1.0) -> dict:
    """Full-batch gradient descent with the lab's loop: per epoch, ``backprop`` for every
    sample, then each parameter moves against the averaged gradient, scaled by ``kappa``.
    Returns the trained parameters (``params`` itself is not changed; ``backprop`` gets copies,
    so changing its arguments in place changes nothing here)."""
    params = {name: np.array(p, dtype=np.float64) for name, p in params.items()}
    X, T = np.array(X, dtype=np.float64), np.array(T, dtype=np.float64)
    with quiet_numerics():
        for _ in range(n_epochs):
            totals = {name: np.zeros_like(p) for name, p in params.items()}
            for x, t in zip(X, T, strict=True):
                arguments = (p.copy() for p in params.values())
                gradients = _returned_gradients(backprop(x.copy(), t.copy(), *arguments))
                for name, gradient in zip(params, gradients, strict=True):
                    totals[name] += np.asarray(gradient, dtype=np.float64)
            for name in params:
                params[name] = params[name] - kappa * totals[name] / len(X)
    return params


def training_result(X, T, before: dict, after: dict) -> TrainingResult:
    """Loss and accuracy of the network before and after training, computed here."""
    with quiet_numerics():
        return TrainingResult(network.mean_loss(X, T, **before), network.mean_loss(X, T, **after),
                              network.accuracy(X, T, **before), network.accuracy(X, T, **after))


def judge_training(result: TrainingResult) -> None:
    """Raise AssertionError unless training lowered the loss and raised the accuracy."""
    progress = (f"loss {result.loss_before:.3f} -> {result.loss_after:.3f}, accuracy "
                f"{result.accuracy_before:.0%} -> {result.accuracy_after:.0%}")
    if not np.isfinite(result.loss_after) or result.loss_after > 0.9 * result.loss_before:
        raise AssertionError(
            f"Training with your backprop did not lower the loss enough ({progress}). "
            "Check the signs of your gradients and that each has its parameter's shape."
        )
    if result.accuracy_after < result.accuracy_before + 0.1:
        raise AssertionError(
            f"Training with your backprop did not improve the accuracy enough ({progress})."
        )


def check_training(backprop: Callable) -> None:
    """Train briefly with ``backprop``; raise unless the loss fell and the accuracy rose."""
    X, T, params = training_problem()
    try:
        trained = train_parameters(backprop, X, T, params)
    except AssertionError:
        raise
    except Exception as error:  # student code
        raise AssertionError(
            f"Training with your backprop failed: it raised {_describe_error(error)}"
        ) from None
    judge_training(training_result(X, T, params, trained))
