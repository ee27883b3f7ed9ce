"""The judge's runner: ``python -m judge_runtime.runner``, inside a fresh sandboxed process.

It knows nothing about the lab or the tests. It reads one JSON request line on stdin: code to
set up (the instructor's provided functions, then the student's own cells), the name of the
graded function, its declared steps and forward values (split from the graded cell's source by
``judge_runtime.steps``), and the inputs of each hidden case with the true values that are no step's
answer (the given forward pass). It runs them and writes back plain numbers and error
descriptions, one JSON line per phase:

    {"phase": "full", "setup_errors": {...}, "definition_error": ..., "full": [...]}
    {"phase": "step", "index": 1, "name": ..., "results": [...]}    (one per step, in order)
    {"phase": "gradients", "totals": {...}} or {"returned": [...]} or {"error": ...}
        (one per training message of the grader, which runs the training: serve_training)
    {"phase": "lines", "lines": [count, ...], "arrays": [...] or "error": ...}   (per batch)

A step is run on the true values of the steps before it, and nothing in this process ever
holds a step's true value before its answer has left: after each step's line, the grader
sends that step's true values (``{"truth": [{name: value}, ...]}``, one per case), which the
next step is given. Student code runs here and can read anything here; it can only read what
it has already been judged on.

No verdict is decided here and nothing is unpickled anywhere: the grading process judges the
numbers, where no student code runs.
"""

from __future__ import annotations

import _thread
import ast
import copy
import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, cast

import numpy as np

from judge_runtime.steps import (
    FAILED,
    RECORD,
    STEPS_FILE,
    TRUE_VALUE,
    JudgedFunctions,
    compile_plan,
    split_steps,
)
from judge_runtime.tracing import CountInterfered, LineCount, counted, lines_run
from judge_runtime.training import epoch_calls, same_returns, summed


def as_numbers(value):
    """``value`` as nested lists of floats, or None when it is not an array of numbers."""
    try:
        with np.errstate(all="ignore"):
            array = np.array(value, dtype=np.float64)
    except Exception:  # whatever a student left in a variable
        return None
    return array.tolist() if array.size <= 100_000 else None


def describe_error(error: BaseException) -> str:
    """``NameError: name 'x' is not defined``, or just the type when there is no message (or
    one that cannot be had: a student's exception may raise when asked for it)."""
    try:
        message = str(error)
    except BaseException:  # an exception's own __str__ is student code
        message = ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def describe_crash(error: BaseException, filename: str, source: str) -> str:
    """:func:`describe_error`, with the line of ``source`` (compiled as ``filename``) where it
    happened and the shapes of the arrays that line reads, when it happened there."""
    text = describe_error(error)
    frames = [tb for tb in _walk(error.__traceback__) if tb.tb_frame.f_code.co_filename == filename]
    if not frames:
        return text
    frame = frames[-1]
    lines = source.splitlines()
    if not 0 < frame.tb_lineno <= len(lines):
        return text
    line = lines[frame.tb_lineno - 1].strip()
    read = names_read(source, frame.tb_lineno)
    shapes = [
        f"{name} has shape {np.shape(value)}"
        for name, value in frame.tb_frame.f_locals.items()
        if isinstance(value, np.ndarray) and name in read
    ]
    return f"{text}, at `{line}`" + (f" (where {', '.join(shapes)})" if shapes else "")


def names_read(source: str, line: int) -> set[str]:
    """The variables the code on ``line`` of ``source`` reads, from its syntax tree: names,
    not attributes (``W2.T`` reads ``W2``, not a ``T``) nor keyword arguments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    }


def _walk(traceback):
    while traceback is not None:
        yield traceback
        traceback = traceback.tb_next


def _copy(value):
    """A copy of ``value`` that a later in-place change cannot alter, of its own type (a
    number stays a number: ``np.ones(n)`` needs one; a function or module as it is)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if callable(value) or isinstance(
        value, ModuleType | int | float | complex | str | bytes | np.number | type(None)
    ):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # whatever a student keeps: by reference, then
        return value


def _arrays(values: dict) -> dict:
    return {name: np.array(value, dtype=np.float64) for name, value in values.items()}


def count_calls(namespace: dict, names: tuple[str, ...], counts: dict | None = None) -> dict:
    """Wrap the functions ``names`` of ``namespace`` (a module's too) so each call is counted
    in ``counts`` (made when None); return the counts (a graded function that differentiates
    numerically calls the forward functions many times)."""
    counts = {} if counts is None else counts
    for name in names:
        counts.setdefault(name, 0)
        function = namespace.get(name)
        if callable(function):
            namespace[name] = _counting(function, name, counts)
    return counts


def _counting(function, name: str, counts: dict):
    """``function``, each call counted in ``counts[name]``. A closure, not keyword defaults:
    the function it wraps is not one attribute away (``__kwdefaults__``) from student code."""

    def counted(*args, **kwargs):
        counts[name] += 1
        return function(*args, **kwargs)

    return counted


def judged_functions(
    function, source: str, filename: str, steps: tuple[str, ...], forward: tuple[str, ...]
) -> JudgedFunctions | None:
    """The recording copy and the step functions (``judge_runtime.steps``) of ``function``, whose
    definition is the last in ``source`` (compiled as ``filename``); None when that
    definition is not the one ``function`` runs (a reassigned name) or cannot be split. A
    decorated function is judged as the function its decorator wraps."""
    function = inspect.unwrap(function)  # a decorator's wrapper: the function it wraps
    plan = split_steps(source, function.__name__, steps, forward)
    code = getattr(function, "__code__", None)
    if (
        plan is None
        or code is None
        or code.co_filename != filename
        or (
            code.co_firstlineno
            != min([plan.node.lineno, *(d.lineno for d in plan.node.decorator_list)])
        )
    ):
        return None
    return compile_plan(plan, STEPS_FILE, function.__globals__)


def withheld_call(error: BaseException, withheld: tuple[str, ...]) -> str | None:
    """``helpers.<file>.<function>`` when ``error`` was raised by a function of a helpers
    file withheld from the judged process (``course.sandbox.files.WITHHELD_MODULE``: every one of
    its functions raises): the graded code called the checks' own answers while judged."""
    frames = list(_walk(error.__traceback__))
    if not frames or not withheld:
        return None
    code = frames[-1].tb_frame.f_code
    for name in withheld:
        if code.co_name == "withheld" and code.co_filename.endswith(f"/helpers/{name}"):
            called = frames[-1].tb_frame.f_locals.get("name")
            return f"helpers.{name.removesuffix('.py')}.{called}"
    return None


def run_full(
    function,
    functions: JudgedFunctions | None,
    case: dict,
    counts: dict | None = None,
    withheld: tuple[str, ...] = (),
    own_files: frozenset[str] | None = None,
) -> dict:
    """The graded function once on a hidden case's inputs (``case["args"]``), through its
    recording copy when there is one.

    Returns plain data ``{"returned", "error", "most_called_count", "most_called",
    "changed_arguments", "values", "judged_at"}`` (and ``withheld_call`` when it raised in a
    ``withheld`` helpers file, :func:`withheld_call`): ``most_called_count`` is how often it called
    the counted function it called most (``most_called``); ``values`` holds, by name, each
    forward value and step as it was at its judge point (``judged_at``, by step:
    ``judge_runtime.steps.StepPlan.judge_points``). With ``own_files`` (the file names the
    student's code is compiled as), also ``own_calls`` and ``own_most_called``: how often it
    called the function of the student's own it called most, and that function's name (a
    loss evaluated once or twice per parameter entry is numerical differentiation).
    Exceptions from student code are recorded, never raised."""
    arguments = _arrays(case["args"])
    recorded: dict[str, list] = {}
    full: dict = {"error": None, "returned": None}
    given = _arrays(arguments)
    counts = {} if counts is None else counts  # calls of the forward functions, counted
    for name in counts:
        counts[name] = 0
    recording = functions.recording if functions is not None else None
    own_calls: dict = {}
    previous_trace = sys.gettrace()
    try:
        if own_files is not None:
            sys.settrace(_call_counter(own_files, own_calls))
        with np.errstate(all="ignore"):
            if recording is None:
                returned = function(**given)
            else:
                returned = recording(**given, **{RECORD: _recorder(recorded)})
        sys.settrace(previous_trace)
        full["returned"] = [as_numbers(v) for v in returned]
    except BaseException as error:  # student code: any failure is data
        sys.settrace(previous_trace)
        full["error"] = describe_error(error)
        if called := withheld_call(error, withheld):
            full["withheld_call"] = called
    if own_files is not None:
        full.update(_own_most_called(own_calls))
    full["most_called_count"] = int(max(counts.values(), default=0))
    full["most_called"] = max(
        counts,
        key=counts.get,  # type: ignore[arg-type]  # own keys
        default="",
    )
    full["changed_arguments"] = [
        name for name, value in given.items() if not np.array_equal(value, arguments[name])
    ]
    points = functions.plan.judge_points() if functions is not None else {}
    full["judged_at"] = points
    if functions is not None and (aliased := _aliased(functions.plan.steps, recorded)):
        full["also_judged_at"] = functions.plan.judge_points(aliased)
    full["values"] = {}
    for name, snapshots in recorded.items():
        at = [value for index, value, _ in snapshots if index <= points.get(name, index)]
        if at:
            full["values"][name] = as_numbers(at[-1])
    return full


def _own_most_called(calls: dict, per: int = 1) -> dict:
    """``{"own_calls", "own_most_called"}``: how often, per one of ``per`` calls, the function
    of the student's own called most (``calls``: counts by code object, :func:`_call_counter`)
    was called, and its name."""
    most = max(calls, key=calls.get, default=None)  # type: ignore[arg-type]  # own keys
    return {
        "own_calls": calls.get(most, 0) // per,
        "own_most_called": most.co_name if most is not None else "",
    }


def _call_counter(files: frozenset[str], calls: dict):
    """A trace function counting, in ``calls`` by code object, the calls of Python functions
    compiled as one of ``files``, lambdas included (not comprehensions and generator
    expressions, whose every resumption is a call event). It traces no line and sees no call of
    a C function (a profile function would: many times the cost for code that calls builtins
    in loops)."""

    def trace(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename in files and code.co_name not in COMPREHENSIONS:
            calls[code] = calls.get(code, 0) + 1

    return trace


COMPREHENSIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})


def _recorder(recorded: dict):
    """What the recording function calls after each statement ``index`` that writes declared
    ``names``: keeps ``(index, a copy, the object's id)`` of each, by name."""

    def record(index, names, variables):
        for name in names:
            if name in variables:
                value = variables[name]
                recorded.setdefault(name, []).append((index, _copy(value), id(value)))

    return record


def _aliased(steps: tuple[str, ...], recorded: dict) -> frozenset[str]:
    """The steps whose value, as last written, is what a later step ended with: the same
    array, or an equal one (see ``judge_runtime.steps``: with steps ``a`` then ``b``,
    ``a *= s; b = a`` or ``b = a.copy()``)."""
    final = {name: snapshots[-1] for name, snapshots in recorded.items() if snapshots}

    def same(one, other) -> bool:
        if one[2] == other[2]:
            return True
        try:
            return bool(
                np.shape(one[1]) == np.shape(other[1])
                and np.size(one[1]) > 1
                and np.array_equal(one[1], other[1])
            )
        except Exception:  # whatever a student keeps in a step's name
            return False

    return frozenset(
        name
        for position, name in enumerate(steps)
        if name in final
        and any(
            later in final and same(final[name], final[later]) for later in steps[position + 1 :]
        )
    )


def run_step(
    functions: JudgedFunctions | None,
    name: str,
    case: dict,
    truth: dict,
    points: dict[str, int],
    source: str = "",
) -> dict | None:
    """Step ``name`` alone (its step function, ``judge_runtime.steps``) on a case's inputs and the
    true values known so far (``truth``: the given forward pass and the steps before it),
    taken at its judge point (``points``, from the full run's ``judged_at``). Plain data
    ``{"value", "defined", "error"}`` (and ``"alternative"``, the same for the other reading
    of an aliased array: :func:`run_steps`); None when the function never writes it. ``source``:
    the graded function's source, for the line of a crash."""
    step_function = functions.step(name, points) if functions is not None else None
    if step_function is None:
        return None
    recorded: dict = {}
    failures: list[BaseException] = []

    def true_value(known: str):
        return np.array(truth[known], dtype=np.float64)

    def failed(error: BaseException, owns: bool) -> None:
        if owns:
            failures.append(error)

    try:
        with np.errstate(all="ignore"):
            step_function(
                **_arrays(case["args"]),
                **{TRUE_VALUE: true_value, RECORD: _recorder(recorded), FAILED: failed},
            )
    except BaseException as error:  # raised outside any statement: a return, say
        failures.append(error)
    if failures:
        return {
            "value": None,
            "defined": False,
            "error": describe_crash(failures[0], STEPS_FILE, source),
        }
    value = recorded[name][-1][1] if recorded.get(name) else None
    return {
        "value": as_numbers(value) if name in recorded else None,
        "defined": name in recorded,
        "error": None,
    }


def run_steps(
    functions: JudgedFunctions | None,
    request: dict,
    cases: list[dict],
    runs: list[dict],
    reveal: Callable[[str], list[dict]],
    source: str = "",
) -> Iterator[tuple[int, str, list]]:
    """Each step in turn over every case: ``(index, name, results)``, one result per case
    (None where the function never writes the step). A step is given the true values known so
    far: the cases' own (those of no step) and, from ``reveal(name)`` called once the previous
    step's results are out, that step's (``[{name: value}, ...]``, one per case). ``runs``:
    :func:`run_full`'s result for each case (its judge points)."""
    known = [dict(case.get("truth") or {}) for case in cases]
    names = list(request.get("steps") or [])
    for index, name in enumerate(names, start=1):
        if index > 1:
            for truth, revealed in zip(known, reveal(names[index - 2]), strict=True):
                truth.update(revealed)
        yield (
            index,
            name,
            [
                _step_readings(functions, name, case, truth, run, source)
                for case, truth, run in zip(cases, known, runs, strict=True)
            ],
        )


def _step_readings(
    functions: JudgedFunctions | None, name: str, case: dict, truth: dict, run: dict, source: str
) -> dict | None:
    """:func:`run_step` at the full run's judge points; with the other reading of an aliased
    array (``also_judged_at``) as ``"alternative"`` when it gives another result."""
    result = run_step(functions, name, case, truth, run.get("judged_at") or {}, source)
    if result is not None and run.get("also_judged_at"):
        other = run_step(functions, name, case, truth, run["also_judged_at"], source)
        if other is not None and other != result:
            result["alternative"] = other
    return result


def run_case(
    function, functions: JudgedFunctions | None, request: dict, case: dict, source: str = ""
) -> dict:
    """One case as the judge runs it, all at once: the full run, then each step on the true
    values (``case["truth"]``) of everything before it. For a notebook's own visible checks,
    where the student's kernel holds the case anyway: ``{"full": ..., "steps": {name: ...}}``."""
    steps = set(request.get("steps") or [])
    given = dict(case, truth={k: v for k, v in (case.get("truth") or {}).items() if k not in steps})
    full = run_full(function, functions, given)
    results = {
        name: result
        for _, name, (result,) in run_steps(
            functions, request, [given], [full], lambda name: [{name: case["truth"][name]}], source
        )
        if result is not None
    }
    return {"full": full, "steps": results}


def serve_training(
    function,
    problem: dict,
    receive: Callable[[], dict],
    send: Callable[[dict], None],
    counts: dict | None = None,
    own_files: frozenset[str] = frozenset(),
) -> None:
    """Answer the grader's training run (``judge_runtime.training.descent``, which the grader runs):
    each message ``{"params": ...}`` is answered with the sums of what ``function`` returned
    for one epoch at those parameters (``{"phase": "gradients", "totals": ...}``), a message
    ``{"probe": arguments}`` with what one call on those arguments returned (``"returned"``),
    either with ``"error"`` instead when it raised; until a message with neither.
    ``problem``: the training set (``X``, ``T``) and whether ``function`` is ``batched``. Each
    epoch's answer also says how often, per call, ``function`` called the counted forward
    function it called most (``most_called_count``, ``most_called``: ``counts``, see
    :func:`count_calls`); one whose message says ``count``, the function of the student's own
    too (``own_calls``, ``own_most_called``: code compiled as one of ``own_files``, traced at
    a cost), as :func:`run_full` does."""
    X, T = np.array(problem["X"], dtype=np.float64), np.array(problem["T"], dtype=np.float64)
    batched = bool(problem.get("batched"))
    counts = {} if counts is None else counts
    while "params" in (message := receive()) or "probe" in message:
        answer: dict = {"phase": "gradients"}
        try:
            if "probe" in message:
                with np.errstate(all="ignore"):  # called and read as run_full does
                    returned = function(**_arrays(message["probe"]))
                answer["returned"] = [as_numbers(value) for value in returned]
            else:
                params = _arrays(message["params"])
                for name in counts:
                    counts[name] = 0
                own: dict = {}
                previous_trace = sys.gettrace()
                if message.get("count"):  # the epochs the grader asks to see counted
                    sys.settrace(_call_counter(own_files, own))
                try:
                    calls = epoch_calls(function, X, T, params, batched)
                finally:
                    sys.settrace(previous_trace)
                answer["totals"] = {
                    name: as_numbers(total) for name, total in summed(calls, params).items()
                }
                # the forward functions' counts cost nothing to read: every epoch
                answer["most_called"] = max(counts, key=counts.get, default="")  # type: ignore[arg-type]  # own keys
                answer["most_called_count"] = counts.get(answer["most_called"], 0) // len(calls)
                if message.get("count"):
                    answer.update(_own_most_called(own, len(calls)))
        except BaseException as error:  # student code: any failure is data
            answer = {"phase": "gradients", "error": describe_error(error)}
        send(answer)


def _trusted_code() -> list[tuple[ModuleType, str, object]]:
    """Every name of this runner and of the line counter (judge_runtime.tracing), and every function
    of the modules its answers go through (numpy's and the builtins too), with what it is now:
    taken before any student code runs, so that :func:`_changed` can tell whether student code
    replaced one (say, the line count with a function that returns 20, or ``np.errstate``
    with one that writes a count of its own)."""
    import builtins

    import judge_runtime.tracing

    runner = sys.modules[__name__]
    found = [
        (module, name, value)
        for module in (runner, judge_runtime.tracing)
        for name, value in vars(module).items()
    ]
    found += [
        (module, name, value)
        for module in (json, os, np, builtins)
        for name, value in vars(module).items()
        if callable(value)
    ]
    return found


def _changed(trusted: list[tuple[ModuleType, str, object]]) -> str | None:
    """How student code changed the runner's trusted code, if it did, or left a thread of its
    own running (whose work no count of this thread sees, and which could answer for it)."""
    for module, name, value in trusted:
        if vars(module).get(name, _MISSING) is not value:
            return f"it replaced the grader's {module.__name__}.{name}"
    if _thread._count():  # the runner starts none
        return "it started a thread of its own"
    return None


_MISSING = object()


def main() -> None:
    # The loop check's object count (judge_runtime.tracing): without it a loop run in C over plain
    # arrays goes unseen, so the runner does not run without it (the canary stops the run).
    from judge_runtime import _allocations  # type: ignore[attr-defined]  # no stubs  # noqa: F401

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
    # The lab's forward functions, whose calls tell numerical differentiation: those of the
    # modules a student's code could import (imported and wrapped before any student code
    # runs), and those the instructor's provided cell defines.
    counting = request["counted"]  # the lab says what to count ({} for nothing): never assumed
    counts: dict = {}
    for module, names in (counting.get("modules") or {}).items():
        count_calls(vars(importlib.import_module(module)), tuple(names), counts)
    provided = tuple(counting.get("provided") or ())
    answer: dict = {"phase": "full", "setup_errors": {}, "definition_error": None, "full": []}
    for number, (label, code) in enumerate(request["setup"]):
        try:
            exec(compile(code, label, "exec"), namespace)
        except BaseException as error:  # SystemExit too: the rest must still be judged
            answer["setup_errors"][label] = describe_error(error)
        if number == 0:  # the provided functions: count the student's calls of them
            count_calls(namespace, provided, counts)
    function = namespace.get(request["function"])
    if not (callable(function) and hasattr(function, "__code__")):
        answer["definition_error"] = (
            answer["setup_errors"].get(request["graded_label"])
            or f"the cell does not define {request['function']}"
        )
        send(answer)
        return
    graded = dict(request["setup"]).get(request["graded_label"], "")
    functions = judged_functions(
        function,
        graded,
        request["graded_label"],
        tuple(request.get("steps") or ()),
        tuple(request.get("forward") or ()),
    )
    cases = request["cases"]
    withheld = tuple(request.get("withheld") or ())
    # the student's cells (the first is the instructor's provided functions) and the copies of
    # the graded function the judge runs
    own_files = frozenset([label for label, _ in request["setup"][1:]] + [STEPS_FILE])
    answer["full"] = [
        run_full(function, functions, case, counts, withheld, own_files) for case in cases
    ]
    send(answer)
    # each step's true values come from the grader once the step's answers have reached it
    for index, name, results in run_steps(
        functions,
        request,
        cases,
        answer["full"],
        lambda _: json.loads(grader.readline())["truth"],
        graded,
    ):
        send({"phase": "step", "index": index, "name": name, "results": results})
    if request.get("training"):
        if why := _changed(trusted):  # the training would be served by replaced code
            send({"phase": "gradients", "interfered": why})
            os._exit(0)
        serve_training(
            function,
            request["training"],
            lambda: json.loads(grader.readline()),
            send,
            counts,
            own_files,
        )
    if request.get("line_counts"):

        def interfered(why: str) -> None:  # the count is over: say so before the call runs
            send({"phase": "lines", "lines": None, "error": None, "interfered": why})
            os._exit(0)

        if why := _changed(trusted):  # a count by replaced code would count for nothing
            interfered(why)
        send(
            {
                "phase": "lines",
                **count_lines(
                    function,
                    request["line_counts"],
                    interfered,
                    functions,
                    request.get("line_count_truths"),
                ),
            }
        )


def count_lines(
    function,
    batches: list[dict],
    on_interference: Callable[[str], None] | None = None,
    functions: JudgedFunctions | None = None,
    truths: list[dict] | None = None,
) -> dict:
    """The Python lines ``function`` runs, and the arrays it makes, on each batch of arguments
    (``judge_runtime.tracing``, the arrays given as ``CountedArray``): ``{"lines": [...],
    "own_lines": [...], "arrays": [...], "allocations": [...]}`` (all lines, those of its own
    code, arrays made, Python objects allocated), or
    ``{"error": ...}`` with what it raised, or ``{"interfered": ...}`` with how it interfered
    with the count. Each call is made twice, counted and as it is: one that raises, fails or
    returns otherwise when counted interferes (code that tells the two apart).

    When ``function`` raises and its step functions (``functions``) and each batch's true
    values (``truths``) are given, the counts are those of every step run on the true values
    of the steps before it (``judge_runtime.steps``): a step that raises is that step's mistake, and
    the loops of all the others are still seen."""
    counts: list[LineCount] = []
    for number, arguments in enumerate(batches):
        try:
            count: LineCount | BaseException | None = _counted_then_plain(
                function, arguments, on_interference
            )
            if isinstance(count, BaseException):  # raised either way: a step's own mistake
                error = count
                count = (
                    None
                    if functions is None or truths is None
                    else _counted_steps(functions, arguments, truths[number], on_interference)
                )
                if count is None:
                    return {"lines": None, "error": describe_error(error)}
        except CountInterfered as why:
            return {"lines": None, "error": None, "interfered": str(why)}
        counts.append(cast(LineCount, count))  # an error gave way to the steps' count or returned
    return {
        "lines": [c.total for c in counts],
        "own_lines": [c.own for c in counts],
        "arrays": [c.arrays for c in counts],
        "allocations": [c.allocations for c in counts],
        "error": None,
    }


def _counted_then_plain(function, arguments: dict, on_interference) -> LineCount | BaseException:
    """``function`` counted on ``arguments``, then as it is (both guarded: see
    ``judge_runtime.tracing.lines_run``): the count, or what it raised both times. Counted first, so
    that nothing it computed uncounted can be kept and handed back while counted. Raises
    CountInterfered when the two runs differ: one raises and the other does not, or they
    return other values."""
    outcomes: list[tuple[LineCount | None, Any, BaseException | None]] = []
    count: LineCount | None
    for count_lines in (True, False):
        returned: list = []
        try:
            with np.errstate(all="ignore"):
                count = lines_run(
                    function,
                    on_interference=on_interference,
                    returned=returned,
                    count_lines=count_lines,
                    **{
                        name: counted(value) if count_lines else value
                        for name, value in _arrays(arguments).items()
                    },
                )
            outcomes.append((count, returned[0], None))
        except CountInterfered:
            raise
        except BaseException as raised:  # student code
            outcomes.append((None, None, raised))
    (count, value, error), (_, plain, plain_error) = outcomes
    if (error is None) != (plain_error is None):
        _interfered(
            "it raises only while its lines are counted"
            if error
            else "it raises only while its lines are not counted",
            on_interference,
        )
    if error is not None:
        return error
    if not same_returns(plain, value):
        _interfered("it returns other values while its lines are counted", on_interference)
    return cast(LineCount, count)  # counted: the counted run raised nothing


def _interfered(why: str, on_interference) -> None:
    if on_interference is not None:
        on_interference(why)
    raise CountInterfered(why)


def _counted_steps(
    functions: JudgedFunctions,
    arguments: dict,
    truth: dict,
    on_interference: Callable[[str], None] | None,
) -> LineCount | None:
    """The counts of every step function of ``functions`` on ``arguments`` and the true values
    ``truth`` (a step's own error is passed over: the step is judged on its own): lines and
    arrays added up, as a loop grows them; own lines those of the longest step function (each
    runs the function's code up to its step, at most the lines of one whole call). None when
    some step is written nowhere (its code, which is not there, cannot be counted). Each step
    runs as it is and counted, and must fail the same way and leave the same value both
    times."""
    points = functions.plan.judge_points()
    if any(name not in points for name in functions.plan.steps):
        return None
    truth = _arrays(truth)  # converted before counting: a conversion from lists is per entry
    total = LineCount(0, 0, 0, 0)
    for name in functions.plan.steps:
        step_function = functions.step(name, points)
        if step_function is None:
            return None
        runs = []
        for wrap in (counted, np.asarray):  # counted first: see _counted_then_plain
            failures: list[str] = []
            recorded: dict = {}
            count = LineCount(0, 0, 0, 0)
            try:
                with np.errstate(all="ignore"):
                    count = lines_run(
                        step_function,
                        on_interference=on_interference,
                        count_lines=wrap is counted,
                        **cast(
                            "dict[str, Any]",
                            {n: wrap(value) for n, value in _arrays(arguments).items()},
                        ),
                        **{
                            TRUE_VALUE: lambda known, wrap=wrap: wrap(truth[known].copy()),
                            RECORD: _recorder(recorded),
                            FAILED: lambda error, owns, failures=failures: failures.append(
                                type(error).__name__
                            ),
                        },
                    )
            except CountInterfered:
                raise
            except BaseException as error:  # raised outside any statement: no value
                failures.append(type(error).__name__)
            value = recorded[name][-1][1] if recorded.get(name) else None
            runs.append((failures, as_numbers(value), count))
        (failures, value, count), (plain_failures, plain_value, _) = runs
        if failures != plain_failures or not same_returns([plain_value], [value]):
            _interfered(
                "its steps compute otherwise while their lines are counted", on_interference
            )
        total = LineCount(
            total.total + count.total,
            max(total.own, count.own),
            total.arrays + count.arrays,
            total.allocations + count.allocations,
        )
    return total


if __name__ == "__main__":
    main()
