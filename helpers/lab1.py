"""The checks behind Lab 1's test cells: one per backprop step, end to end, and training.

Each step is judged on its own: the student's code for that step (the statements of
``backprop`` that assign its name, found by ``judge_runtime.steps`` whatever the comments) is run on
the *true* values of everything before it and compared with the true value, found by finite
differences through the chain. So one mistake costs that step only, a step that raises or has
the wrong shape fails alone, and zeros earn nothing. Values are recorded right after each
step's last assignment, so later in-place changes do not alter them. A function written
without the named variables passes its steps when the gradients it returns are right.

The visible test cells call these functions in the student's kernel; the grader's judge
(``course.judge``) runs the same code (``judge_runtime.runner``) in a sandbox on hidden cases
and decides the points with the same verdict functions. A failure raises ``AssertionError``
with a message naming the step, the shapes, the worst entry and a hint.
"""

from __future__ import annotations

import dis
import inspect
import os
import textwrap
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np

from helpers import datasets, network
from helpers.failures import CheckFailed
from helpers.gradcheck import (
    RELATIVE_ERROR_FLOOR,
    numerical_gradient,
    numerical_vjp,
    quiet_numerics,
)
from judge_runtime.flag import JUDGED_OUTSIDE, JUDGED_VARIABLE
from judge_runtime.runner import describe_error, run_case
from judge_runtime.steps import STEPS_FILE, JudgedFunctions, compile_plan, split_steps
from judge_runtime.training import WrongReturn, returned_gradients, train

# Every step comparison (step_errors): a symmetric relative error whose floor is SCALE_FLOOR of
# the largest true magnitude, at most TOLERANCE. Measured by bench/tolerance.py (README): correct
# float64 and float32 forms stay well under it, every named misconception well over it.
TOLERANCE = 2e-4
SCALE_FLOOR = 1e-2
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


def judged_run(backprop: Callable, *arguments, spec: Backprop = LAB1) -> tuple[dict, dict]:
    """Run ``backprop`` on one case (``arguments`` in the order of ``spec.arguments``: for
    Lab 1 one sample ``x, t, W1, b1, W2, b2``) as the judge does
    (``judge_runtime.runner.run_case``).

    Returns ``(run, truth)``: the runner's record of the whole function and of each step it
    writes, run on the true values of everything before it; and the true forward and step
    values. Exceptions from student code are recorded, never raised.
    """
    if not (callable(backprop) and hasattr(backprop, "__code__")):
        raise TypeError("backprop must be the Python function defined in the notebook")
    key = b"".join(
        str(np.shape(a)).encode() + np.asarray(a, dtype=np.float64).tobytes() for a in arguments
    )
    if os.environ.get("NBGRADER_EXECUTION") and key in _RUNS.get(backprop, {}):
        return _RUNS[backprop][key]
    result = _judged_run(backprop, arguments, spec)
    if os.environ.get("NBGRADER_EXECUTION"):
        _RUNS.setdefault(backprop, {})[key] = result
    return result


# While nbgrader runs the notebook (nothing changes between its cells), each test cell reuses
# the runs of the cells before it on the same samples; students' own runs are always fresh.
_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _judged_run(backprop: Callable, values: tuple, spec: Backprop) -> tuple[dict, dict]:
    arguments = {
        name: np.array(value, dtype=np.float64, copy=True)
        for name, value in zip(spec.arguments, values, strict=True)
    }
    truth = spec.truth(arguments)
    source = function_source(backprop)
    functions = kernel_functions(backprop, source, spec)
    request = {"function": backprop.__name__, "steps": list(spec.step_names)}
    run = run_case(backprop, functions, request, {"args": arguments, "truth": truth}, source)
    return chosen_reading(run, truth, spec), truth


def function_source(function: Callable) -> str:
    """The source of ``function``'s definition, dedented; empty when there is none."""
    try:
        return textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return ""


def kernel_functions(backprop: Callable, source: str, spec: Backprop) -> JudgedFunctions | None:
    """The recording copy and step functions of the kernel's ``backprop`` (as the judge's
    runner makes them, from the function's own source), in a copy of its namespace."""
    plan = split_steps(source, backprop.__name__, spec.step_names, spec.forward)
    if plan is None:
        return None
    namespace = dict(inspect.unwrap(backprop).__globals__)  # a decorator's wrapper's are not
    namespace[backprop.__name__] = backprop
    return compile_plan(plan, STEPS_FILE, namespace)


def backprop_intermediates(backprop: Callable, x, t, W1, b1, W2, b2) -> dict:
    """Every forward value and step of your ``backprop`` for one sample, by name (as each
    was right after its last assignment; for printing).

    Raises an error naming what ``backprop`` raised, so an unfilled blank shows where it is.
    """
    run, _ = judged_run(backprop, x, t, W1, b1, W2, b2)
    if run["full"]["error"]:
        raise RuntimeError(f"backprop raised {run['full']['error']}")
    return {
        name: np.array(value) for name, value in run["full"]["values"].items() if value is not None
    }


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
    the same draws for every test cell (so their runs are shared, see :func:`judged_run`). The
    grader's hidden cases are drawn the same way from seeds only the instructor's material
    knows (labs/<lab>/)."""
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


# ---- verdicts, shared by the visible tests and the grader's judge ------------------------------


def compare_values(name: str, truth: np.ndarray, value, where: str) -> str | None:
    """Why ``value`` is not ``truth`` (shape, non-numbers, too far), or None when it is.
    ``where`` says which sample (``on a hidden case``, ``for this sample``). The message names
    the worst entry and its error, never the value expected there."""
    try:
        with quiet_numerics():
            array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} is not an array of numbers"
    if array.shape != truth.shape:
        return f"{name} has shape {array.shape}; expected {truth.shape}"
    errors = step_errors(truth, array)
    worst = float(np.max(errors, initial=0.0))
    if worst <= TOLERANCE:
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(errors)), errors.shape))
    at = f" at index {index}" if array.ndim else ""
    return (
        f"{name} is wrong {where}: largest relative error {worst:.1e}{at} "
        f"(tolerance {TOLERANCE:.0e})"
    )


def step_errors(truth: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Entry-wise error of ``value`` against ``truth`` (same shapes), judged against the
    array's scale: ``|v - t| / max(|v| + |t| + SCALE_FLOOR * max|t|, 1e-8)``. Entries near zero
    (where float32 arithmetic leaves an absolute, not a relative, error) are judged against a
    hundredth of the largest true magnitude; a non-finite entry is an infinite error."""
    truth = np.asarray(truth, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    with quiet_numerics():
        scale = SCALE_FLOOR * float(np.max(np.abs(truth), initial=0.0))
        errors = np.abs(value - truth) / np.maximum(
            np.abs(value) + np.abs(truth) + scale, RELATIVE_ERROR_FLOOR
        )
    return np.where(np.isfinite(value) & np.isfinite(truth), errors, np.inf)


def final_value(run: dict, name: str):
    """The value the whole function left in ``name`` right after its last assignment (None
    when it never assigns it)."""
    values = run.get("full", {}).get("values")
    return values.get(name) if isinstance(values, dict) else None


def step_verdict(
    name: str,
    runs: list[dict],
    truths: list[dict],
    returns_right: bool,
    where: str,
    spec: Backprop = LAB1,
) -> tuple[bool, str]:
    """One step over several cases (``runs``, each read as :func:`chosen_reading` reads
    it): ``(passed, message)``. Each case's step is judged as run on the true values of
    everything before it; only where the function never assigns the step's name, by the
    gradients it returns (``returns_right``). A value wrong on some of several cases says on
    how many (``on 3 of 4 hidden cases``), its first wrong one's error."""
    step = spec.step(name)
    label = step.title
    problems = []
    for run, truth in zip(runs, truths, strict=True):
        ran = run.get("steps", {}).get(name)
        if ran is not None:
            problem = _reading_problem(name, ran, truth, where)
            if problem is not None and problem.startswith("raised "):
                return False, (
                    f"{label}: your code for this step {problem} when run on "
                    f"correct values of everything before it. Hint: {step.hint}"
                )
            if problem is not None:
                problems.append(problem)
            continue
        value = final_value(run, name)
        if value is None:
            if returns_right:
                continue  # written without the named variable, and right in the end
            if run["full"].get("error"):
                return False, (
                    f"{label}: backprop raised {run['full']['error']} before "
                    f"computing {name}. Fill in the blank for {name} in backprop."
                )
            return False, (
                f"{label}: backprop never assigns a variable called {name}. "
                f"Fill in the blank for {name} in backprop."
            )
        if problem := compare_values(name, np.asarray(truth[name]), value, where):
            problems.append(problem)
    if not problems:
        return True, f"{label}: correct {where}."
    first = problems[0]
    if len(runs) > 1:
        cases = (
            f"on every one of {len(runs)} hidden cases"
            if len(problems) == len(runs)
            else f"on {len(problems)} of {len(runs)} hidden cases"
        )
        first = first.replace(where, cases, 1)
    return False, f"{label}: {first}. Hint: {step.hint}"


def chosen_reading(run: dict, truth: dict, spec: Backprop = LAB1) -> dict:
    """``run`` (one case) with each step's result of one reading of the code: where a step's
    array became a later step's, the runner ran the steps both ways (``"alternative"``,
    ``judge_runtime.steps``); of the two, the one under which more steps are right, the first on
    a tie. One reading for every step of the case: no change is left uncharged by judging
    one step one way and the next the other."""
    steps = run.get("steps") or {}
    if not any(
        isinstance(ran, dict) and isinstance(ran.get("alternative"), dict) for ran in steps.values()
    ):
        return run
    readings = [
        {name: ran for name, ran in steps.items()},
        {
            name: ran.get("alternative") if isinstance(ran.get("alternative"), dict) else ran
            for name, ran in steps.items()
        },
    ]
    right = [
        sum(
            _reading_problem(name, ran, truth, "") is None
            for name, ran in reading.items()
            if name in truth and name in spec.step_names
        )
        for reading in readings
    ]
    chosen = readings[1] if right[1] > right[0] else readings[0]
    return {
        **run,
        "steps": {
            name: {k: v for k, v in ran.items() if k != "alternative"}
            for name, ran in chosen.items()
        },
    }


def _reading_problem(name: str, ran: dict, truth: dict, where: str) -> str | None:
    """What is wrong with one run of a step on true inputs (``raised ...`` when it raised),
    or None when it is right."""
    if ran.get("error"):
        return f"raised {ran['error']}"
    value = ran.get("value") if ran.get("defined") else None
    if value is None:
        return f"{name} is not an array of numbers {where}"
    return compare_values(name, np.asarray(truth[name]), value, where)


def step_value(run: dict, name: str):
    """The value a step was judged on in one case: its run on true inputs, else the value
    the whole function left in its name (None when there is neither)."""
    ran = run.get("steps", {}).get(name)
    if ran is not None:
        return ran.get("value") if ran.get("defined") else None
    return final_value(run, name)


def scale_of(name: str, truth: np.ndarray, value) -> float | None:
    """The number ``c`` (not 1) for which ``value`` is ``c`` times ``truth`` within the
    tolerance; None when it is not a multiple of it."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    truth = np.asarray(truth, dtype=np.float64)
    if array.shape != truth.shape or not np.all(np.isfinite(array)):
        return None
    norm = float(np.sum(truth * truth))
    if norm == 0.0:
        return None
    scale = float(np.sum(array * truth)) / norm
    if abs(scale - 1.0) <= TOLERANCE or compare_values(name, scale * truth, array, "") is not None:
        return None
    return scale


def moved_scale(
    failing: dict[str, tuple[list[dict], list[dict]]], returns_right: bool
) -> dict[str, float] | None:
    """Whether the failing steps are one deviation, a scale moved from one step to later
    ones (Lab 2's 1/n applied at the end instead of in ``dloss_dY``): the returned gradients
    are right and each failing step's value, on each of its cases (``failing``: step name ->
    its runs and truths), is its true value times a number. Returns each step's number (its
    first case's), or None."""
    if not returns_right or len(failing) < 2:
        return None
    scales: dict[str, float] = {}
    for name, (runs, truths) in failing.items():
        found = [
            scale_of(name, truth[name], step_value(run, name))
            for run, truth in zip(runs, truths, strict=True)
            if compare_values(name, np.asarray(truth[name]), step_value(run, name), "") is not None
        ]
        if not found or any(scale is None for scale in found):
            return None
        scales[name] = cast(float, found[0])  # none is None
    return scales


def moved_scale_messages(scales: dict[str, float], spec: Backprop) -> dict[str, tuple[bool, str]]:
    """The verdicts of the steps a moved scale (:func:`moved_scale`) touches: the first in
    the chain keeps its failure, with the reason; the later ones pass, saying why."""
    order = [name for name in spec.step_names if name in scales]
    first, later = order[0], order[1:]
    verdicts = {
        first: (
            False,
            (
                f"{spec.step(first).title}: {first} is {scales[first]:.3g} times its true value, "
                f"and {', '.join(later)} make up for it (each a constant times its own), so the "
                f"gradients backprop returns are right. The notebook puts this factor in {first}: "
                f"moving it to later steps costs this step only. Hint: {spec.step(first).hint}"
            ),
        )
    }
    for name in later:
        verdicts[name] = (
            True,
            (
                f"{spec.step(name).title}: {scales[name]:.3g} times its true value, making up for "
                f"the factor {first} leaves out; counted once, at {first}."
            ),
        )
    return verdicts


def returns_verdict(
    runs: list[dict],
    truths: list[dict],
    failing_steps: list[str],
    where: str,
    spec: Backprop = LAB1,
) -> tuple[bool, str]:
    """The four gradients backprop returns, over several cases: ``(passed, message)``."""
    RETURNED, FORWARD_NAMES = spec.returned, spec.forward  # the lab's names
    for run, truth in zip(runs, truths, strict=True):
        full = run.get("full", {})
        if full.get("error"):
            return False, f"backprop raised {full['error']}"
        returned = full.get("returned")
        if not isinstance(returned, list) or len(returned) != len(RETURNED):
            return False, (
                "backprop must return four gradients, (dloss_dW1, dloss_db1, dloss_dW2, dloss_db2)"
            )
        for name, value in zip(RETURNED, returned, strict=True):
            problem = compare_values(name, np.asarray(truth[name]), value, where)
            if problem is None:
                continue
            if failing_steps:
                why = f" The earliest failing step is {failing_steps[0]}."
            elif any(
                compare_values(other, np.asarray(truth[other]), value, where) is None
                for other in RETURNED
            ):
                why = (
                    " It is right for another parameter: return (dloss_dW1, dloss_db1, "
                    "dloss_dW2, dloss_db2) in that order."
                )
            else:
                why = " Every step is right: check what you return."
            return False, f"The gradient backprop returns for {name}: {problem}.{why}"
    changed = sorted({n for run in runs for n in run.get("full", {}).get("changed_arguments", [])})
    note = (
        f" Note: it changes its argument{'s' if len(changed) > 1 else ''} "
        f"{', '.join(changed)} in place; the training loop passes the network's own "
        "arrays, so copy before changing them."
        if changed
        else ""
    )
    forward = sorted(
        {
            name
            for run, truth in zip(runs, truths, strict=True)
            for name in FORWARD_NAMES
            if (value := final_value(run, name)) is not None
            and compare_values(name, np.asarray(truth[name]), value, "") is not None
        }
    )
    if forward:
        note += (
            f" Note: it changes {', '.join(forward)} after the forward pass computed "
            "it; the right gradients came out, but a later step reading it would not."
        )
    return True, f"backprop returns the right four gradients {where}.{note}"


def notebook_variables_read(backprop: Callable) -> list[str]:
    """Data that ``backprop`` reads from the notebook rather than from its arguments (arrays
    and numbers among its global names): right for X[0], wrong for the hidden cases."""
    codes, names = [backprop.__code__], set()
    while codes:  # the function, and the comprehensions and functions nested in it
        code = codes.pop()
        codes += [c for c in code.co_consts if hasattr(c, "co_code")]
        names |= {
            i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
        }
    found = []
    for name in sorted(names):
        value = backprop.__globals__.get(name)
        if isinstance(value, np.ndarray | int | float | list) and not isinstance(value, bool):
            found.append(name)
    return found


def warn_about_notebook_variables(backprop: Callable, provided: tuple[str, ...] = ()) -> None:
    """Print a note naming the data ``backprop`` reads from the notebook (not the constants
    the notebook's provided cells define, ``provided``)."""
    read = [name for name in notebook_variables_read(backprop) if name not in provided]
    if read:  # printed, not warned: nbgrader gives zero to a test cell that writes to stderr
        print(
            f"Note: backprop reads {', '.join(read)} from the notebook instead of from its "
            "arguments; the grader runs it on other samples and weights, where those would "
            "be wrong. (A constant of your own is fine: then ignore this note.)"
        )


def verify_step(
    spec: Backprop,
    where: str,
    name: str,
    backprop: Callable,
    arguments: tuple,
    provided: tuple[str, ...] = (),
) -> None:
    """Test one step of ``backprop`` on one case (``arguments`` in ``spec``'s order) as the
    judge does; raise AssertionError with advice if it is wrong. ``where`` names the case in
    the message (``for this sample``); ``provided``: the notebook's own constants."""
    warn_about_notebook_variables(backprop, provided)
    run, truth = judged_run(backprop, *arguments, spec=spec)
    returns_right = returns_verdict([run], [truth], [], "", spec=spec)[0]
    passed, message = step_verdict(name, [run], [truth], returns_right, where, spec=spec)
    if not passed:
        failing = {
            n: ([run], [truth])
            for n in spec.step_names
            if not step_verdict(n, [run], [truth], returns_right, where, spec=spec)[0]
        }
        if scales := moved_scale(failing, returns_right):
            passed, message = moved_scale_messages(scales, spec)[name]
    if not passed:
        raise CheckFailed(message)


def verify_returned(spec: Backprop, where: str, backprop: Callable, arguments: tuple) -> None:
    """Test the gradients ``backprop`` returns for one case; raise AssertionError if wrong."""
    run, truth = judged_run(backprop, *arguments, spec=spec)
    failing = [
        n for n in spec.step_names if not step_verdict(n, [run], [truth], False, "", spec=spec)[0]
    ]
    passed, message = returns_verdict([run], [truth], failing, where, spec=spec)
    if not passed:
        raise CheckFailed(message)


def check_step(name: str, backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test one backprop step on one sample; raise AssertionError with advice if it is wrong."""
    verify_step(LAB1, "for this sample", name, backprop, (x, t, W1, b1, W2, b2))


def check_backprop_gradients(backprop: Callable, x, t, W1, b1, W2, b2) -> None:
    """Test the four gradients backprop returns for one sample; raise AssertionError if wrong."""
    verify_returned(LAB1, "for this sample", backprop, (x, t, W1, b1, W2, b2))


def check_step_on_hidden_cases(
    name: str, backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """Test one step on several random samples, targets and parameters. In the notebook they
    are fresh draws; when grading, the judge runs the same check on the hidden cases ``seed``
    names (``course.judge``), and only its verdict counts."""
    for case in random_cases(n_cases):
        check_step(name, backprop, *case)


def check_backprop_gradients_on_hidden_cases(
    backprop: Callable, seed: int, n_cases: int = HIDDEN_CASES
) -> None:
    """:func:`check_backprop_gradients` on several random cases (see
    :func:`check_step_on_hidden_cases`)."""
    for case in random_cases(n_cases):
        check_backprop_gradients(backprop, *case)


def _returned_gradients(result) -> list:
    """What backprop returned, as a list of four; raise AssertionError if it is not four."""
    try:
        return returned_gradients(result)
    except ValueError as error:
        raise CheckFailed(str(error)) from None


@dataclass(frozen=True)
class TrainingResult:
    """Loss and accuracy before and after a short training run."""

    loss_before: float
    loss_after: float
    accuracy_before: float
    accuracy_after: float
    n_classes: int


# The training test: full-batch gradient descent on a small Annuli set. The output layer alone
# reaches the class prior (loss ln 3 = 1.10); only a working hidden layer takes the loss below
# TRAINING_LOSS in this many epochs. Measured by bench/training_margin.py (docs/benchmarks.md):
# over 100 seeds, every correct run ends well below it and every named misconception of the
# hidden layer well above it.
TRAINING_POINTS = 80
TRAINING_EPOCHS = 300
TRAINING_RATE = 4.0
TRAINING_SEED = 7
TRAINING_LOSS = 0.34


def training_problem(n_points: int = TRAINING_POINTS, seed: int = TRAINING_SEED):
    """The training test's data and starting point: ``(X, T, params)`` for a fresh 10-unit
    network on a small Annuli set."""
    ds = datasets.Annuli(n=n_points, noise=1.0, seed=seed)
    params = network.init_parameters(ds.input_dim, 10, ds.n_classes, np.random.default_rng(seed))
    return ds.inputs(), ds.targets(), params


def training_request() -> dict:
    """The judge's training run, as the runner (judge_runtime.runner) is asked for it."""
    X, T, params = training_problem()
    return {
        "X": X.tolist(),
        "T": T.tolist(),
        "epochs": TRAINING_EPOCHS,
        "rate": TRAINING_RATE,
        "batched": False,
        "params": {k: v.tolist() for k, v in params.items()},
    }


def training_reached(X, T) -> Callable[[dict], bool]:
    """Whether parameters (by name) take the mean loss on ``X (n, d)``, ``T (n, k)`` below
    TRAINING_LOSS: what the training test asks, so its training may stop there."""

    def reached(params: dict) -> bool:
        with quiet_numerics():
            return bool(network.mean_loss(X, T, **params) < TRAINING_LOSS)

    return reached


def train_parameters(
    backprop: Callable,
    X,
    T,
    params: dict,
    n_epochs: int = TRAINING_EPOCHS,
    kappa: float = TRAINING_RATE,
) -> dict:
    """Full-batch gradient descent with the lab's loop (``judge_runtime.training``): per epoch,
    ``backprop`` for every sample, then each parameter moves against the averaged gradient,
    scaled by ``kappa``, until the loss is below TRAINING_LOSS (:func:`training_reached`) or
    ``n_epochs`` have run. Returns the trained parameters (``params`` itself is not changed;
    ``backprop`` gets copies, so changing its arguments in place changes nothing here)."""
    with quiet_numerics():
        try:
            return train(
                backprop,
                X,
                T,
                params,
                n_epochs,
                kappa,
                batched=False,
                reached=training_reached(X, T),
            )
        except WrongReturn as error:
            raise CheckFailed(str(error)) from None


def training_result(X, T, before: dict, after: dict) -> TrainingResult:
    """Loss and accuracy of the network before and after training, computed here."""
    with quiet_numerics():
        return TrainingResult(
            network.mean_loss(X, T, **before),
            network.mean_loss(X, T, **after),
            network.accuracy(X, T, **before),
            network.accuracy(X, T, **after),
            T.shape[1],
        )


def judge_training(result: TrainingResult) -> None:
    """Raise AssertionError unless training took the loss below TRAINING_LOSS (where only a
    working hidden layer takes it) and raised the accuracy."""
    progress = (
        f"loss {result.loss_before:.3f} -> {result.loss_after:.3f}, accuracy "
        f"{result.accuracy_before:.0%} -> {result.accuracy_after:.0%}"
    )
    if not np.isfinite(result.loss_after) or result.loss_after >= TRAINING_LOSS:
        raise CheckFailed(
            f"Training with your backprop did not lower the loss enough ({progress}); with "
            f"right gradients it ends below {TRAINING_LOSS:g}. A loss that stays near "
            f"{np.log(result.n_classes):.2f} (ln {result.n_classes}, a guess of each class's "
            "share) means the hidden layer is not learning: check the gradients that pass "
            "through the logistic (its slope, the bias b1), then the signs and shapes of the "
            "rest."
        )
    if result.accuracy_after < result.accuracy_before + 0.1:
        raise CheckFailed(
            f"Training with your backprop did not improve the accuracy enough ({progress})."
        )


def check_training(backprop: Callable) -> None:
    """Train briefly with ``backprop``; raise unless the loss fell and the accuracy rose.
    Not in a kernel the judge grades (see judge_runtime.flag): the judge trains outside it."""
    if os.environ.get(JUDGED_VARIABLE):
        print(JUDGED_OUTSIDE)
        return
    X, T, params = training_problem()
    try:
        trained = train_parameters(backprop, X, T, params)
    except AssertionError:
        raise
    except Exception as error:  # student code
        raise CheckFailed(
            f"Training with your backprop failed: it raised {describe_error(error)}"
        ) from None
    judge_training(training_result(X, T, params, trained))
