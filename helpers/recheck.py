"""The clean room's runner: ``python -m helpers.recheck``, inside a fresh sandboxed process.

It knows nothing about the lab or the tests. It reads one JSON request line on stdin: code to
set up (the instructor's provided functions, then the student's own cells), the name of the
graded function, optionally an instrumented copy of it and one function per step (see
``helpers.steps``), and the inputs of each hidden case with the true values that are no step's
answer (the given forward pass). It runs them and writes back plain numbers and error
descriptions, one JSON line per phase:

    {"phase": "full", "setup_errors": {...}, "definition_error": ..., "full": [...]}
    {"phase": "step", "index": 1, "name": ..., "results": [...]}    (one per step, in order)
    {"phase": "training", "training": {"params": {...}} or {"error": ...}}
    {"phase": "lines", "lines": [count, ...] or "error": ...}   (Python lines run per batch)

A step is run on the true values of the steps before it, and nothing in this process ever
holds a step's true value before its answer has left: after each step's line, the grader
sends that step's true values (``{"truth": [{name: value}, ...]}``, one per case), which the
next step is given. Student code runs here and can read anything here; it can only read what
it has already been judged on.

No verdict is decided here and nothing is unpickled anywhere: the grading process judges the
numbers, where no student code runs.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

import numpy as np

from helpers.tracing import CountInterfered, lines_run
from helpers.training import gradient_descent, returned_gradients

RECORD = "__course_record__"
STEPS_FILE = "<your backprop, step by step>"  # what the step functions are compiled as
FINAL_STATE = 999  # the index under which a function's locals are kept as it returns


def as_numbers(value):
    """``value`` as nested lists of floats, or None when it is not an array of numbers."""
    try:
        with np.errstate(all="ignore"):
            array = np.array(value, dtype=np.float64)
    except Exception:  # whatever a student left in a variable
        return None
    return array.tolist() if array.size <= 100_000 else None


def describe_error(error: BaseException) -> str:
    """``NameError: name 'x' is not defined``, or just the type when there is no message."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def describe_crash(error: BaseException, filename: str, source: str) -> str:
    """:func:`describe_error`, with the line of ``source`` (compiled as ``filename``) where it
    happened and the shapes of the arrays that line uses, when it happened there."""
    text = describe_error(error)
    frames = [tb for tb in _walk(error.__traceback__) if tb.tb_frame.f_code.co_filename == filename]
    if not frames:
        return text
    frame = frames[-1]
    lines = source.splitlines()
    if not 0 < frame.tb_lineno <= len(lines):
        return text
    line = lines[frame.tb_lineno - 1].strip()
    shapes = [f"{name} has shape {np.shape(value)}"
              for name, value in frame.tb_frame.f_locals.items()
              if isinstance(value, np.ndarray) and _uses(line, name)]
    return f"{text}, at `{line}`" + (f" (where {', '.join(shapes)})" if shapes else "")


def _walk(traceback):
    while traceback is not None:
        yield traceback
        traceback = traceback.tb_next


def _uses(line: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", line) is not None


def _copies(variables: dict) -> dict:
    """Copies of ``variables`` (a frame's locals), by name, each of its own type: arrays and
    containers copied (so a later in-place change cannot alter what a step computed),
    numbers, functions and modules as they are (a count stays a whole number: ``np.ones(n)``
    needs one; a helper defined inside the function stays callable)."""
    kept = {}
    for name, value in variables.items():
        if name.startswith("__"):
            continue
        if isinstance(value, np.ndarray):
            kept[name] = value.copy()
        elif callable(value) or isinstance(value, ModuleType | int | float | complex | str
                                           | bytes | np.number | type(None)):
            kept[name] = value
        else:
            try:
                kept[name] = copy.deepcopy(value)
            except Exception:  # whatever a student keeps: by reference, then
                kept[name] = value
    return kept


def _arrays(values: dict) -> dict:
    return {name: np.array(value, dtype=np.float64) for name, value in values.items()}


@contextmanager
def _locals_on_return(code, states: dict):
    """Keep copies of the locals of the outermost call of ``code`` as it returns or raises
    (under FINAL_STATE in ``states``): what a function without step comments computed."""
    entered = []

    def on_line(frame, event, arg):
        if event == "return" and frame is entered[0]:
            states[FINAL_STATE] = _copies(frame.f_locals)
        return on_line

    def on_call(frame, event, arg):
        if event == "call" and frame.f_code is code and not entered:
            entered.append(frame)
            return on_line
        return None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)


FORWARD_COUNTED = ("logistic", "softmax", "categorical_ce")  # provided forward functions
# The graders' own forward pass, which a student's code could import to differentiate with.
NETWORK_COUNTED = ("forward", "loss", "outputs", "mean_loss", *FORWARD_COUNTED)


def count_calls(namespace: dict, names: tuple[str, ...] = FORWARD_COUNTED,
                counts: dict | None = None) -> dict:
    """Wrap the functions ``names`` of ``namespace`` (a module's too) so each call is counted
    in ``counts`` (made when None); return the counts (a backprop that differentiates
    numerically calls them many times)."""
    counts = {} if counts is None else counts
    for name in names:
        counts.setdefault(name, 0)
        function = namespace.get(name)
        if callable(function):
            def counted(*args, _name=name, _function=function, **kwargs):
                counts[_name] += 1
                return _function(*args, **kwargs)
            namespace[name] = counted
    return counts


def run_full(namespace: dict, request: dict, case: dict,
             counts: dict | None = None) -> tuple[dict, dict]:
    """The (instrumented) graded function once on a hidden case's inputs (``case["args"]``).

    Returns plain data ``{"returned", "error", "forward_calls", "changed_arguments",
    "states"}`` and the recorded locals by block (for the steps); exceptions from student
    code are recorded, never raised."""
    arguments = _arrays(case["args"])
    states: dict[int, dict] = {}
    namespace[RECORD] = lambda index, variables: states.__setitem__(index, _copies(variables))
    full: dict = {"error": None, "returned": None}
    function = namespace[request["function"]]
    given = _arrays(arguments)
    counts = {} if counts is None else counts  # calls of the forward functions, counted
    for name in counts:
        counts[name] = 0
    try:
        with np.errstate(all="ignore"), _locals_on_return(function.__code__, states):
            returned = function(**given)
        full["returned"] = [as_numbers(v) for v in returned]
    except BaseException as error:  # student code: any failure is data
        full["error"] = describe_error(error)
    full["forward_calls"] = int(max(counts.values(), default=0))
    full["changed_arguments"] = [name for name, value in given.items()
                                 if not np.array_equal(value, arguments[name])]
    reported = request.get("report")  # names worth sending back (all when not said)
    # The last block's record (each holds every local so far) and the one taken as the
    # function returned: what the function left in each name, wherever it stopped.
    last = [i for i in (max((i for i in states if i != FINAL_STATE), default=None),
                        FINAL_STATE) if i in states]
    full["states"] = {str(i): {n: as_numbers(v) for n, v in states[i].items()
                               if reported is None or n in reported}
                      for i in last}
    return full, states


def run_step(namespace: dict, index: int, name: str, case: dict, states: dict,
             truth: dict, replayed: dict | None = None) -> dict | None:
    """Step ``index`` (defining ``name``) alone, given what the student's own run had bound
    before it, overridden by what the earlier steps bound when they were run this way
    (``replayed``, updated here: a helper value computed beside an earlier step, from correct
    inputs), overridden by the case's inputs and the true values known so far (those of the
    given forward pass and of the steps before it). Plain data ``{"value", "defined",
    "error"}``; None when the function has no such step."""
    step_function = namespace.get(f"__course_step_{index}__")
    if step_function is None:
        return None
    bound = {}  # everything the student's own run had bound by the end of each earlier block
    for earlier in sorted(i for i in states if i < index):
        bound.update(states[earlier])
    bound.update(replayed or {})
    given = {**bound, **_arrays(case["args"]), **_arrays(truth)}
    parameters = step_function.__code__.co_varnames[:step_function.__code__.co_argcount]
    given = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in given.items()
             if k in parameters}
    try:
        with np.errstate(all="ignore"):
            produced = step_function(**given)
        if replayed is not None:
            replayed.update(_copies(produced))
        return {"value": as_numbers(produced.get(name)) if name in produced else None,
                "defined": name in produced, "error": None}
    except BaseException as error:
        return {"value": None, "defined": False,
                "error": describe_crash(error, STEPS_FILE,
                                        namespace.get("__course_step_source__", ""))}


def run_steps(namespace: dict, request: dict, cases: list[dict], runs: list[tuple],
              reveal: Callable[[str], list[dict]]) -> Iterator[tuple[int, str, list]]:
    """Each step in turn over every case: ``(index, name, results)``, one result per case
    (None where the function has no such step). A step is given the true values known so
    far: the cases' own (those of no step) and, from ``reveal(name)`` called once the
    previous step's results are out, that step's (``[{name: value}, ...]``, one per case).
    ``runs``: :func:`run_full`'s result for each case."""
    known = [dict(case.get("truth") or {}) for case in cases]
    replayed: list[dict] = [{} for _ in cases]
    names = list(request.get("steps") or [])
    for index, name in enumerate(names, start=1):
        if index > 1:
            for truth, revealed in zip(known, reveal(names[index - 2]), strict=True):
                truth.update(revealed)
        yield index, name, [run_step(namespace, index, name, case, states, truth, done)
                            for case, (_, states), truth, done
                            in zip(cases, runs, known, replayed, strict=True)]


def run_case(namespace: dict, request: dict, case: dict) -> dict:
    """One case as the judge runs it, all at once: the full run, then each step on the true
    values (``case["truth"]``) of everything before it. For a notebook's own visible checks,
    where the student's kernel holds the case anyway: ``{"full": ..., "steps": {name: ...}}``."""
    steps = set(request.get("steps") or [])
    given = dict(case, truth={k: v for k, v in (case.get("truth") or {}).items()
                              if k not in steps})
    run = run_full(namespace, request, given)
    results = {name: result for _, name, (result,) in run_steps(
        namespace, request, [given], [run], lambda name: [{name: case["truth"][name]}])
        if result is not None}
    return {"full": run[0], "steps": results}


def train(function, problem: dict) -> dict:
    """Train with the lab's loop on the problem given: gradient descent with a batched backprop
    when it says ``batched`` (helpers.training), else Lab 1's loop over samples."""
    if problem.get("batched"):
        return {name: as_numbers(p) for name, p in gradient_descent(
            function, problem["X"], problem["T"], _arrays(problem["params"]),
            problem["epochs"], problem["rate"]).items()}
    X, T = np.array(problem["X"]), np.array(problem["T"])
    params = _arrays(problem["params"])
    names = list(params)
    with np.errstate(all="ignore"):
        for _ in range(problem["epochs"]):
            totals = {name: np.zeros_like(p) for name, p in params.items()}
            for x, t in zip(X, T, strict=True):
                gradients = returned_gradients(
                    function(x.copy(), t.copy(), *(p.copy() for p in params.values())))
                for name, gradient in zip(names, gradients, strict=True):
                    totals[name] += np.asarray(gradient, dtype=np.float64)
            for name in names:
                params[name] = params[name] - problem["rate"] * totals[name] / len(X)
    return {name: as_numbers(p) for name, p in params.items()}


def _trusted_code() -> list[tuple[ModuleType, str, object]]:
    """Every name of this runner and of the line counter (helpers.tracing), and every function
    of the modules its answers go through, with what it is now: taken before any student code
    runs, so that :func:`_changed` can tell whether student code replaced one (say, the line
    count with a function that returns 20)."""
    import helpers.tracing

    runner = sys.modules[__name__]
    found = [(module, name, value) for module in (runner, helpers.tracing)
             for name, value in vars(module).items()]
    found += [(module, name, value) for module in (json, os)
              for name, value in vars(module).items() if callable(value)]
    return found


def _changed(trusted: list[tuple[ModuleType, str, object]]) -> str | None:
    """How student code changed the runner's trusted code, if it did."""
    for module, name, value in trusted:
        if vars(module).get(name, _MISSING) is not value:
            return f"it replaced the grader's {module.__name__}.{name}"
    return None


_MISSING = object()


def main() -> None:
    trusted = _trusted_code()
    # Both taken before any student code runs, which could replace sys.stdin and sys.stdout.
    channel = os.fdopen(os.dup(1), "w")
    grader = os.fdopen(os.dup(0), "r")
    os.dup2(2, 1)  # whatever the student prints goes to stderr, not into the answer
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    request = json.loads(grader.readline())
    namespace: dict = {"__name__": "__main__"}
    import helpers.network  # counted before any student code can import it

    counts = count_calls(vars(helpers.network), NETWORK_COUNTED)
    answer: dict = {"phase": "full", "setup_errors": {}, "definition_error": None, "full": []}
    for number, (label, code) in enumerate(request["setup"]):
        try:
            exec(compile(code, label, "exec"), namespace)
        except BaseException as error:  # SystemExit too: the rest must still be judged
            answer["setup_errors"][label] = describe_error(error)
        if number == 0:  # the provided functions: count the student's calls of them
            count_calls(namespace, counts=counts)
    function = namespace.get(request["function"])
    if not (callable(function) and hasattr(function, "__code__")):
        answer["definition_error"] = (answer["setup_errors"].get(request["graded_label"])
                                      or f"the cell does not define {request['function']}")
        send(answer)
        return
    for label, code in (("<instrumented>", request.get("instrumented")),
                        (STEPS_FILE, request.get("step_functions"))):
        if code:
            exec(compile(code, label, "exec"), namespace)
    namespace["__course_step_source__"] = request.get("step_functions") or ""
    cases = request["cases"]
    runs = [run_full(namespace, request, case, counts) for case in cases]
    answer["full"] = [full for full, _ in runs]
    send(answer)
    # each step's true values come from the grader once the step's answers have reached it
    for index, name, results in run_steps(namespace, request, cases, runs,
                                          lambda _: json.loads(grader.readline())["truth"]):
        send({"phase": "step", "index": index, "name": name, "results": results})
    if request.get("instrumented"):
        namespace[request["function"]] = function  # training uses the student's own
    if request.get("training"):
        try:
            result = {"params": train(function, request["training"])}
        except BaseException as error:
            result = {"error": describe_error(error)}
        send({"phase": "training", "training": result})
    if request.get("line_counts"):
        def interfered(why: str) -> None:  # the count is over: say so before the call runs
            send({"phase": "lines", "lines": None, "error": None, "interfered": why})
            os._exit(0)

        if why := _changed(trusted):  # a count by replaced code would count for nothing
            interfered(why)
        send({"phase": "lines", **count_lines(function, request["line_counts"], interfered)})


def count_lines(function, batches: list[dict],
                on_interference: Callable[[str], None] | None = None) -> dict:
    """The Python lines ``function`` runs on each batch of arguments (helpers.tracing):
    ``{"lines": [...], "own_lines": [...]}`` (all of them, and those of its own code), or
    ``{"error": ...}`` with what it raised."""
    counts = []
    for arguments in batches:
        try:
            with np.errstate(all="ignore"):
                counts.append(lines_run(function, **_arrays(arguments),
                                        on_interference=on_interference))
        except CountInterfered as why:
            return {"lines": None, "error": None, "interfered": str(why)}
        except BaseException as error:  # student code
            return {"lines": None, "error": describe_error(error)}
    return {"lines": [c.total for c in counts], "own_lines": [c.own for c in counts],
            "error": None}


if __name__ == "__main__":
    main()
