"""How a run of a student's ``backprop`` is judged against the truth, step by step: the verdicts
the visible tests and the grader's judge share.

Each step is judged on its own: the student's code for that step (the statements of
``backprop`` that assign its name, found by ``judge_runtime.steps`` whatever the comments) is run on
the *true* values of everything before it (``helpers.backprop_spec``) and compared with the true
value. So one mistake costs that step only, a step that raises or has the wrong shape fails
alone, and zeros earn nothing. Values are recorded right after each step's last assignment, so
later in-place changes do not alter them. A function written without the named variables passes
its steps when the gradients it returns are right.

The grader's judge (``course.judge``) runs the same code (``judge_runtime.runner``) in a sandbox
on hidden cases and decides the points with these same verdict functions. A failure raises
``AssertionError`` with a message naming the step, the shapes, the worst entry and a hint.
"""

from __future__ import annotations

import dis
import inspect
import os
import textwrap
import weakref
from collections.abc import Callable
from typing import cast

import numpy as np

from helpers.backprop_spec import LAB1, Backprop
from helpers.failures import CheckFailed
from helpers.gradcheck import RELATIVE_ERROR_FLOOR, quiet_numerics
from judge_runtime.runner import run_case
from judge_runtime.steps import STEPS_FILE, JudgedFunctions, compile_plan, split_steps

# Every step comparison (step_errors): a symmetric relative error whose floor is SCALE_FLOOR of
# the largest true magnitude, at most TOLERANCE. Measured by bench/tolerance.py (README): correct
# float64 and float32 forms stay well under it, every named misconception well over it.
TOLERANCE = 2e-4
SCALE_FLOOR = 1e-2


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
