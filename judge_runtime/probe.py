"""The judge's probe: ``python -m judge_runtime.probe``, inside a fresh sandboxed process.

For a graded function the judge checks by calling it (a student's gradient check, say)
rather than step by step (``judge_runtime.runner``). It reads one JSON request line on stdin:
code to set up (the instructor's provided functions, then the student's own cells), the name of
the graded function, the trusted function that calls it once per case (``probe``: a module and
a function name, ``probe(function, case) -> dict``) and the cases. It writes back one line:

    {"phase": "cases", "setup_errors": {...}, "definition_error": ..., "cases": [...]}

one answer per case, as the probe returned it, with ``error`` (what the call raised) and
``withheld_call`` (when it raised in a helpers file withheld from this process). No verdict is
decided here: the grading process judges the numbers against truths it never sends.

A request may name functions of the student's the probe also needs (``"uses"``: each case gets
them under ``uses``, by name, None for one not defined), and carry trusted code of the lab's
(``"trusted"``: a label and the code, run in a namespace of its own before any student code;
each case gets that namespace under ``trusted``), some of whose names stand in for functions of
the student's while the graded one is judged (``"substitutes"``: put in place after every cell
set up: a later check of a function that calls earlier ones judges it with the true ones, so
that one mistake does not cost twice).

When the request says ``"asks": true``, each case also holds ``value``, a function whose every
call asks the grader (``{"phase": "ask", "case": i, "x": [...]}``, answered ``{"value": v}``,
or ``{"value": null}`` for a point the function does not take): for a function whose
definition must not reach the code judged (its gradient would follow).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable

import numpy as np

from judge_runtime.runner import describe_error, withheld_call

# what a function asked at a point of another shape than its case's raises, here and in a
# kernel (helpers.smooth_functions)
WRONG_POINT = "the function takes an array of x's shape"


def as_arrays(case: dict) -> dict:
    """``case`` with each list of numbers as a float64 array (JSON has only lists)."""
    return {
        name: np.array(value, dtype=np.float64) if isinstance(value, list) else value
        for name, value in case.items()
    }


def main() -> None:
    # Taken before any student code runs, which could replace sys.stdin and sys.stdout.
    channel = os.fdopen(os.dup(1), "w")
    grader = os.fdopen(os.dup(0), "r")
    os.dup2(2, 1)  # whatever the student prints goes to stderr, not into the answer
    sys.stdout = sys.stderr
    request = json.loads(grader.readline())
    answer = answer_request(request, lambda number: _asking(number, channel, grader))
    channel.write(json.dumps(answer) + "\n")
    channel.flush()
    os._exit(0)  # whatever the student's code left running, the answer is given


def answer_request(request: dict, asking: Callable[[int], Callable] | None = None) -> dict:
    """The probe's answer to ``request``: its cells set up, then its graded function called by
    the trusted probe once per case (``asking(case number)``: the function of a point a case
    that asks gets as its ``value``). Also called by the grader itself on code it trusts (the
    audit's derived submissions), so that both run the same code."""
    module, name = request["probe"]
    probe = getattr(importlib.import_module(module), name)  # before the student's code runs
    trusted: dict = {"__name__": "trusted"}
    if request.get("trusted"):  # before the student's code runs
        label, code = request["trusted"]
        exec(compile(code, label, "exec"), trusted)
    substitutes = {name: trusted[name] for name in request.get("substitutes") or ()}
    namespace: dict = {"__name__": "__main__"}
    answer: dict = {"phase": "cases", "setup_errors": {}, "definition_error": None, "cases": []}
    for label, code in request["setup"]:
        try:
            exec(compile(code, label, "exec"), namespace)
        except BaseException as error:  # SystemExit too: the rest must still be judged
            answer["setup_errors"][label] = describe_error(error)
        namespace.update(substitutes)
    function = namespace.get(request["function"])
    if not callable(function):
        answer["definition_error"] = (
            answer["setup_errors"].get(request["graded_label"])
            or f"the cell does not define {request['function']}"
        )
        return answer
    withheld = tuple(request.get("withheld") or ())
    for number, case in enumerate(request["cases"]):
        given = as_arrays(case)
        if uses := request.get("uses"):
            given["uses"] = {name: namespace.get(name) for name in uses}
        if request.get("trusted"):
            given["trusted"] = trusted
        if request.get("asks") and asking is not None:
            given["value"] = asking(number)
        try:
            result = probe(function, given)
        except BaseException as error:  # the probe guards its call; this is a last resort
            result = {"error": describe_error(error), "raised": error}
        raised = result.pop("raised", None)
        if isinstance(raised, BaseException):
            result["error"] = describe_error(raised)
            if called := withheld_call(raised, withheld):
                result["withheld_call"] = called
        answer["cases"].append(result)
    return answer


def _asking(number: int, channel, grader):
    """A function of a point that asks the grader for case ``number``'s value there."""

    def value(point) -> float:
        with np.errstate(all="ignore"):
            sent = np.array(point, dtype=np.float64).tolist()
        channel.write(json.dumps({"phase": "ask", "case": number, "x": sent}) + "\n")
        channel.flush()
        value = json.loads(grader.readline())["value"]
        if value is None:  # not a point of the case's function
            raise ValueError(WRONG_POINT)
        return float(value)

    return value


if __name__ == "__main__":
    main()
