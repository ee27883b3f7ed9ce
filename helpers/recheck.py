"""The clean-room side of the tamper-proof re-check: ``python -m helpers.recheck``.

Runs inside a fresh sandboxed process. Reads a JSON request on stdin: the trusted provided code
(from the instructor's notebook), the student's solution cell, and the hidden test seeds. Runs
the student's ``backprop`` on the hidden cases and the training problem, and writes back plain
numbers (JSON lists of floats) and error descriptions: no verdict is decided here, and nothing
is unpickled anywhere. The grading process judges the numbers with the same functions the test
cells use, where no student code runs.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from helpers.lab1 import (
    FORWARD_NAMES,
    STEPS,
    _describe_error,
    hidden_cases,
    run_backprop,
    train_parameters,
    training_problem,
)

REPORTED_NAMES = (*FORWARD_NAMES, *(step.name for step in STEPS))


def as_numbers(value):
    """``value`` as nested lists of floats, or None when it is not an array of numbers."""
    try:
        return np.array(value, dtype=np.float64).tolist()
    except Exception:  # whatever a student returned
        return None


def describe_run(run) -> dict:
    """One backprop run as plain data: its variables, what it returned, what it raised."""
    try:
        returned = [as_numbers(v) for v in run.result] if run.error is None else None
    except TypeError:
        returned = None
    return {
        "variables": {name: as_numbers(run.variables[name])
                      for name in REPORTED_NAMES if name in run.variables},
        "returned": returned,
        "error": _describe_error(run.error) if run.error is not None else None,
    }


def main() -> None:
    channel = os.fdopen(os.dup(1), "w")  # taken before any student code runs
    os.dup2(2, 1)  # whatever the student prints goes to stderr, not into the answer
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    namespace: dict = {"__name__": "__main__"}
    response: dict = {"cases": {}, "training": None, "definition_error": None}
    try:
        exec(compile(request["trusted"], "<provided functions>", "exec"), namespace)
        exec(compile(request["student"], "<your backprop cell>", "exec"), namespace)
    except BaseException as error:  # SystemExit too: the cell must still be judged
        response["definition_error"] = _describe_error(error)
    backprop = namespace.get("backprop")
    if callable(backprop) and hasattr(backprop, "__code__"):
        for seed in request["seeds"]:
            response["cases"][str(seed)] = [describe_run(run_backprop(backprop, *case))
                                            for case in hidden_cases(seed)]
        X, T, params = training_problem()
        try:
            trained = train_parameters(backprop, X, T, params)
            response["training"] = {"params": {k: as_numbers(v) for k, v in trained.items()}}
        except BaseException as error:
            response["training"] = {"error": _describe_error(error)}
    elif response["definition_error"] is None:
        response["definition_error"] = "the cell does not define a function called backprop"
    channel.write(json.dumps(response))
    channel.flush()


if __name__ == "__main__":
    main()
