"""The trusted judge: every grade cell's verdict and message, decided outside the student's kernel.

Anything in a student's kernel can be patched (numpy, the helpers, assert handling, IPython's
error display), so the kernel's own test results count for nothing but tamper detection. Here
the submission's graded cell, with the student's own helper cells above it, is run in a fresh
sandboxed process (``helpers.recheck``) on hidden cases; plain JSON numbers come back, and the
verdicts are computed in this process, where no student code runs:

* each step on its own: the student's block for that step (``helpers.steps``) is run on the true
  values of everything upstream and compared with the true value, so one mistake costs that
  step only and a step that raises or has the wrong shape fails alone; where the step comments
  are gone, the value the whole function leaves in the step's variable is judged instead;
* the returned gradients against the true ones, and a short training run.

The judge fails closed: no answer, a timeout, an oversized or malformed answer fails every
affected cell and says why in :attr:`Judgement.problems`, which the grader turns into a flag.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import re
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from IPython.core.inputtransformer2 import TransformerManager

from course.diagnosis import describe_definition_error
from course.kernels import SINGLE_THREADED
from course.labs import import_lab_module
from course.misconceptions import Misconception, identify
from course.notebooks import cells_by_grade_id
from course.sandbox import DEFAULT_LIMITS, sandbox_command
from helpers import lab1, network
from helpers.steps import split_steps

# What runs before the student's cells: the instructor's provided functions, with the modules
# they and backprop use. Not the whole imports cell: plotting is never needed here, and
# loading matplotlib would cost more than the judging itself.
TRUSTED_PRELUDE = "import os\n\nimport numpy as np\n" + '''

class _NotIPython:
    """Outside IPython, a student's cell that talks to IPython (hooks, magics) still runs:
    its calls reach this object, which does nothing."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


def get_ipython():
    return _NotIPython()

'''
TRUSTED_CELLS = ("provided_functions",)
SOLUTION_CELL = "backprop"
FUNCTION = "backprop"
# The checks the judge re-runs, by the name a test cell calls them with: what each one judges
# (see CheckPlan), read from its arguments (bound to the function's own signature).
JUDGED_CHECKS = {
    "check_step_on_hidden_cases": lambda a: ("step", a["name"], a["seed"]),
    "check_backprop_gradients_on_hidden_cases": lambda a: ("whole", a["seed"]),
    "check_training": lambda a: ("training",),
}
MAX_RESPONSE_BYTES = 4 * 1024**2
# Seconds from the start: the hidden cases' answer must arrive by the first, training by the
# second. A correct function of up to 10 ms per call fits both.
BUDGETS = (30.0, 90.0)
STUDENT_STATEMENTS = (  # what the judge takes from a student's own cells: definitions only
    "Import", "ImportFrom", "FunctionDef", "ClassDef", "Assign", "AnnAssign", "AugAssign")
# A backprop calls each provided forward function once or twice; numerical differentiation
# calls them twice per parameter entry (over 100 times).
MAX_FORWARD_CALLS = 10
# Reaching into the grader from a graded function: flagged for review, and no step points.
ORACLE_PATTERNS = (
    (re.compile(r"\bhelpers\.(lab1|gradcheck|recheck|network)\b|from\s+helpers(\.\w+)?\s+import"),
     "it imports the course's checking code"),
    (re.compile(r"_getframe|\bf_back\b|\binspect\.(currentframe|stack|getouterframes)|"
                r"\bgc\.get_(objects|referrers)|settrace|setprofile|\bsys\.modules\b"),
     "it inspects its callers or the interpreter"),
    (re.compile(r"numerical_(gradient|vjp)|true_gradients|hidden_case"),
     "it calls the graders' numerical gradients"),
)


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one grade cell."""

    passed: bool
    message: str = ""


@dataclass
class Judgement:
    """Every judged grade cell's verdict, and what made the judging unsure (for a flag)."""

    verdicts: dict[str, Verdict]
    problems: list[str] = field(default_factory=list)
    misconceptions: dict[str, str] = field(default_factory=dict)  # grade_id: misconception key
    cause: str = ""  # one reason every verdict failed (the graded cell cannot run), if any


@dataclass(frozen=True)
class CheckPlan:
    """What to judge: trusted code, and each grade cell's kind and arguments
    (``("step", name, seed)``, ``("whole", seed)`` or ``("training",)``)."""

    trusted_code: str
    cells: dict[str, tuple]
    root: Path  # the course folder, whose labs/<lab>/ holds the hidden cases
    lab: str

    def cases(self, seed: int) -> tuple[tuple[dict, dict], ...]:
        """The hidden cases of ``seed`` (see :func:`hidden_case_data`)."""
        return hidden_case_data(self.root, self.lab, seed)

    @property
    def seeds(self) -> list[int]:
        return sorted({args[-1] for kind, *args in self.cells.values() if kind != "training"})


class PlanError(ValueError):
    """A grade cell of the instructor's notebook that the judge could not plan: grading it
    would silently leave its points to the student's own kernel."""


class _Expression(str):
    """An argument that is not a literal, kept as its source text."""


def _argument(node: ast.expr):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return _Expression(ast.unparse(node))


def judged_calls(source: str) -> list[tuple]:
    """What each call of a JUDGED_CHECKS function in ``source`` judges, in order, however the
    call is written (positional or keyword arguments, either quotes, over several lines).
    Raises PlanError when such a call is not of the graded function, or its arguments that
    say what to judge are not literals."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise PlanError(f"it does not parse ({error.msg}, line {error.lineno})") from None
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in JUDGED_CHECKS):
            continue
        signature = inspect.signature(getattr(lab1, node.func.id))
        try:
            bound = signature.bind(*map(_argument, node.args),
                                   **{k.arg: _argument(k.value) for k in node.keywords})
        except TypeError as error:
            raise PlanError(f"{ast.unparse(node)}: {error}") from None
        bound.apply_defaults()
        if bound.arguments.get("backprop") != FUNCTION:
            raise PlanError(f"{ast.unparse(node)} does not check {FUNCTION}")
        judged = JUDGED_CHECKS[node.func.id](bound.arguments)
        if any(isinstance(value, _Expression) for value in judged[1:]):
            raise PlanError(f"{ast.unparse(node)}: the judge needs literal arguments")
        if judged[0] == "step" and judged[1] not in lab1.STEP_NAMES:
            raise PlanError(f"{ast.unparse(node)}: {judged[1]!r} is not a step "
                            f"({', '.join(lab1.STEP_NAMES)})")
        if judged[0] != "training" and not isinstance(judged[-1], int):
            raise PlanError(f"{ast.unparse(node)}: the seed must be a whole number")
        found.append(judged)
    return found


def plan_from_source(source_notebook: Path) -> CheckPlan:
    """Read the instructor's notebook: trusted code, and what each grade cell's check judges.
    Raises PlanError naming every grade cell that calls no judged check, or more than one
    (each cell's points are one verdict)."""
    cells = cells_by_grade_id(nbformat.read(source_notebook, as_version=4))
    trusted = TRUSTED_PRELUDE + "\n\n".join(cells[name].source for name in TRUSTED_CELLS)
    plan, problems = {}, []
    for grade_id, cell in cells.items():
        meta = cell.metadata["nbgrader"]
        if not meta.get("grade") or meta.get("solution") or cell.cell_type != "code":
            continue
        try:
            calls = judged_calls(cell.source)
        except PlanError as error:
            problems.append(f"{grade_id}: {error}")
            continue
        if len(calls) != 1:
            problems.append(f"{grade_id}: calls {len(calls)} of the checks the judge knows "
                            f"({', '.join(JUDGED_CHECKS)}); it needs exactly one")
        else:
            plan[grade_id] = calls[0]
    if problems:
        raise PlanError(f"the judge cannot grade {source_notebook.name}: " + "; ".join(problems))
    return CheckPlan(trusted, plan, source_notebook.resolve().parents[2],
                     source_notebook.resolve().parent.name)


@functools.lru_cache(maxsize=8)
def _cached_plan(source_notebook: Path, version: tuple[int, int, int]) -> CheckPlan:
    return plan_from_source(source_notebook)


def cached_plan(source_notebook: Path) -> CheckPlan:
    """:func:`plan_from_source`, read once per edit of the notebook (its ctime, which copying
    tools cannot set back, changes with every edit)."""
    stat = source_notebook.stat()
    return _cached_plan(source_notebook, (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size))


# ---- what of the submission is run ------------------------------------------------------------


def _definitions_only(source: str) -> str | None:
    """The top-level definitions of a student's cell (imports, functions, classes,
    assignments), without calls, loops or plots; None when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    kept = [node for node in tree.body if type(node).__name__ in STUDENT_STATEMENTS]
    return "\n".join(ast.get_source_segment(source, node) or "" for node in kept)


def as_python(source: str) -> str:
    """A cell's source with IPython's syntax (magics, ``!`` commands) turned into the calls
    IPython itself makes of it."""
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # whatever IPython cannot read, Python will report
        return source


def student_setup(source_nb: nbformat.NotebookNode,
                  submitted: nbformat.NotebookNode) -> tuple[list[list[str]], str | None]:
    """The student's own code cells up to the graded one, as ``[label, code]`` pairs, and the
    graded cell's source (None when there is none). A cell counts as the student's own when it
    is a solution cell or a code cell the instructor's notebook does not have; of those above
    the graded cell only definitions are kept."""
    given = {cell.source.strip() for cell in source_nb.cells if cell.cell_type == "code"}
    setup, graded = [], None
    for number, cell in enumerate(submitted.cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == SOLUTION_CELL:
            graded = as_python(cell.source)
            setup.append([f"<your {SOLUTION_CELL} cell>", graded])
            break
        if meta.get("grade") or meta.get("locked"):
            continue
        if meta.get("solution") or cell.source.strip() not in given:
            code = _definitions_only(as_python(cell.source))
            if code:
                setup.append([f"<your cell {number}>", code])
    return setup, graded


def oracle_use(code: str) -> list[str]:
    """Why the graded cell's code looks like it reaches into the grader, if it does."""
    return [why for pattern, why in ORACLE_PATTERNS if pattern.search(code)]


# ---- the hidden cases and their truth ---------------------------------------------------------


@functools.lru_cache(maxsize=64)
def hidden_case_data(root: Path, lab: str, seed: int) -> tuple[tuple[dict, dict], ...]:
    """Each hidden case of a test seed as ``(arguments, truth)``: the inputs by parameter name,
    and the true forward values and step values by name (float64 arrays). The cases come from
    the lab's instructor-only material (``labs/<lab>/hidden.py``)."""
    cases = []
    for x, t, W1, b1, W2, b2 in import_lab_module(root, lab, "hidden").hidden_cases(seed):
        forward = network.forward(x, W1, b1, W2, b2)
        truth = {**forward, **lab1.true_gradients(x, t, W1, b1, W2, b2, forward)}
        cases.append(({"x": x, "t": t, "W1": W1, "b1": b1, "W2": W2, "b2": b2}, truth))
    return tuple(cases)


def build_request(plan: CheckPlan, setup: list[list[str]], graded: str) -> dict:
    """The runner's request: setup code, the step plan, every case of every seed, training."""
    steps = lab1.STEP_NAMES
    step_plan = split_steps(graded, FUNCTION, steps)
    cases = []
    for seed in plan.seeds:
        for arguments, truth in plan.cases(seed):
            cases.append({"args": {k: v.tolist() for k, v in arguments.items()},
                          "truth": {k: v.tolist() for k, v in truth.items()}})
    X, T, params = lab1.training_problem()
    training = {"X": X.tolist(), "T": T.tolist(), "epochs": lab1.TRAINING_EPOCHS, "rate": 1.0,
                "params": {k: v.tolist() for k, v in params.items()}}
    return {
        "setup": [["<provided functions>", plan.trusted_code], *setup],
        "graded_label": f"<your {SOLUTION_CELL} cell>",
        "function": FUNCTION,
        "instrumented": step_plan.instrumented if step_plan else None,
        "step_functions": step_plan.step_functions if step_plan else None,
        "steps": list(steps) if step_plan else [],
        "report": [*lab1.FORWARD_NAMES, *steps],
        "cases": cases,
        "training": training if any(k == "training" for k, *_ in plan.cells.values()) else None,
    }


# ---- running it ---------------------------------------------------------------------------------


def run_in_clean_room(request: dict) -> tuple[list[dict], str | None]:
    """Run ``helpers.recheck`` on ``request``; the answer lines that arrived, and why the
    rest did not (None when all did)."""
    cgroup = DEFAULT_LIMITS.cgroup()
    argv = cgroup.wrap(sandbox_command([sys.executable, "-m", "helpers.recheck"],
                                       env={**os.environ, **SINGLE_THREADED}))
    try:
        output, problem, status = run_bounded(argv, json.dumps(request).encode(),
                                              MAX_RESPONSE_BYTES, BUDGETS)
    finally:
        cgroup.close()
    answers = []
    for line in output.split(b"\n"):
        if not line.strip():
            continue
        try:
            answer = json.loads(line)
        except ValueError:
            return answers, f"the re-check's answer was unreadable (exit status {status})"
        if not isinstance(answer, dict):
            return answers, "the re-check's answer was malformed"
        answers.append(answer)
    cases = next((a for a in answers if a.get("phase") == "cases"), None)
    training_due = bool(request.get("training")) and not (cases or {}).get("definition_error")
    if problem is None and (cases is None or (training_due and len(answers) < 2)):
        problem = f"the re-check ended early (exit status {status})"
    return answers, problem


def run_bounded(argv: list[str], request: bytes, max_bytes: int,
                budgets: tuple[float, ...]) -> tuple[bytes, str | None, int | None]:
    """Run ``argv`` with ``request`` on stdin; read at most ``max_bytes`` of its stdout.

    The i-th line of output must arrive within ``budgets[i]`` seconds of the start (the last
    budget bounds the whole run). Returns ``(output, problem, exit status)``; ``problem`` says
    why the process was killed (too large, too slow). Memory stays bounded by ``max_bytes``
    whatever the process writes.
    """
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    writer = threading.Thread(target=_feed, args=(process.stdin, request), daemon=True)
    writer.start()
    start = time.monotonic()
    chunks, size, lines, problem = [], 0, 0, None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            budget = budgets[min(lines, len(budgets) - 1)]
            left = start + budget - time.monotonic()
            if left <= 0:
                problem = f"the re-check ran past its {budget:.0f} s budget"
                break
            if not selector.select(timeout=left):
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                problem = f"the re-check's answer was larger than {max_bytes // 1024**2} MB"
                break
            chunks.append(chunk)
            lines += chunk.count(b"\n")
    if problem:
        process.kill()
    process.stdout.close()
    try:
        status = process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
    writer.join()
    output = b"".join(chunks)
    if problem and b"\n" in output:  # keep the complete lines that did arrive
        output = output[: output.rindex(b"\n") + 1]
    elif problem:
        output = b""
    return output, problem, status


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except OSError:  # the process ended or was killed before reading it all
        pass


# ---- judging the numbers -------------------------------------------------------------------------

HIDDEN = "on every hidden case"


def _verdict(result: tuple[bool, str]) -> Verdict:
    passed, message = result
    return Verdict(passed, message.replace(f"wrong {HIDDEN}", "wrong on a hidden case"))


def _training_verdict(training: dict | None) -> Verdict:
    if not training or "params" not in training:
        error = (training or {}).get("error", "no result")
        return Verdict(False, f"Training with your backprop failed: it raised {error}")
    X, T, before = lab1.training_problem()
    try:
        after = {name: np.array(training["params"][name], dtype=np.float64) for name in before}
        lab1.judge_training(lab1.training_result(X, T, before, after))
    except AssertionError as failure:
        return Verdict(False, str(failure))
    except (KeyError, TypeError, ValueError):
        return Verdict(False, "Training with your backprop gave no usable parameters")
    return Verdict(True, "Training with your backprop lowered the loss and raised the accuracy.")


def judge_answers(plan: CheckPlan, request: dict, answers: list[dict],
                  problem: str | None) -> Judgement:
    """Each planned grade cell's verdict from the runner's answer lines."""
    cases_answer = next((a for a in answers if a.get("phase") == "cases"), None)
    training_answer = next((a for a in answers if a.get("phase") == "training"), None)
    problems = [problem] if problem else []
    verdicts: dict[str, Verdict] = {}
    if cases_answer is None:
        why = problem or "the re-check gave no answer"
        return Judgement({g: Verdict(False, f"Not graded: {why}.") for g in plan.cells},
                         problems or [why], cause=f"not graded: {why}")
    definition_error = cases_answer.get("definition_error")
    cases = cases_answer.get("cases") or []
    truths = [{k: np.array(v, dtype=np.float64) for k, v in case["truth"].items()}
              for case in request["cases"]]
    if definition_error or len(cases) != len(truths):
        why = definition_error or "the re-check returned the wrong number of cases"
        message = f"Your {SOLUTION_CELL} cell could not be run: {why}"
        return Judgement({g: Verdict(False, message) for g in plan.cells}, problems,
                         cause=describe_definition_error(why, SOLUTION_CELL))
    by_seed = _cases_by_seed(plan, cases, truths)
    isolated = bool(request.get("steps"))
    returns_right = all(lab1.returns_verdict(c, t, [], HIDDEN)[0] for c, t in by_seed.values())
    step_verdicts, misconceptions = {}, {}
    for grade_id, (kind, *args) in plan.cells.items():
        if kind == "step":
            name, seed = args
            c, t = by_seed[seed]
            verdict = _verdict(lab1.step_verdict(name, c, t, isolated, returns_right, HIDDEN))
            if not verdict.passed and (found := _misconception(name, c, t, by_seed_args(
                    request, plan, seed), isolated)):
                misconceptions[grade_id] = found.key
                verdict = Verdict(False, f"{verdict.message} {found.question}")
            step_verdicts[name] = verdicts[grade_id] = verdict
    failing = [name for name in lab1.STEP_NAMES
               if name in step_verdicts and not step_verdicts[name].passed]
    for grade_id, (kind, *args) in plan.cells.items():
        if kind == "whole":
            c, t = by_seed[args[0]]
            verdicts[grade_id] = _verdict(lab1.returns_verdict(c, t, failing, HIDDEN))
        elif kind == "training":
            if training_answer is None:
                why = problem or "the re-check ended before training"
                verdicts[grade_id] = Verdict(False, f"Not graded: {why}.")
            else:
                verdicts[grade_id] = _training_verdict(training_answer.get("training"))
    return Judgement(verdicts, problems, misconceptions)


def by_seed_args(request: dict, plan: CheckPlan, seed: int) -> list[dict]:
    """The arguments of each case of ``seed``, as arrays, in the request's order."""
    position = 0
    for other in plan.seeds:
        count = len(plan.cases(other))
        if other == seed:
            return [{k: np.array(v, dtype=np.float64) for k, v in case["args"].items()}
                    for case in request["cases"][position:position + count]]
        position += count
    return []


def _misconception(name: str, runs: list[dict], truths: list[dict], arguments: list[dict],
                   isolated: bool) -> Misconception | None:
    """The named misconception the step's first wrong value matches, if any."""
    for run, truth, args in zip(runs, truths, arguments, strict=True):
        ran = run.get("steps", {}).get(name) if isolated else None
        value = ran.get("value") if ran and ran.get("defined") else lab1.final_value(run, name)
        if value is None:
            return None
        if lab1.compare_values(name, truth[name], value, "") is not None:
            return identify(name, value, {**args, **truth}, lab1.TOLERANCE)
    return None


def _cases_by_seed(plan: CheckPlan, cases: list[dict], truths: list[dict]) -> dict:
    grouped, position = {}, 0
    for seed in plan.seeds:
        count = len(plan.cases(seed))
        grouped[seed] = (cases[position:position + count], truths[position:position + count])
        position += count
    return grouped


def judge_submission(source_notebook: Path, submitted: nbformat.NotebookNode,
                     oracle_costs_points: bool = True) -> Judgement:
    """The judge's verdict on every planned grade cell of one submitted notebook."""
    plan = cached_plan(source_notebook)
    source_nb = nbformat.read(source_notebook, as_version=4)
    setup, graded = student_setup(source_nb, submitted)
    if graded is None:
        message = f"Not graded: the submission has no {SOLUTION_CELL} cell."
        return Judgement({g: Verdict(False, message) for g in plan.cells}, [message],
                         cause=f"the submission has no {SOLUTION_CELL} cell")
    request = build_request(plan, setup, graded)
    answers, problem = run_in_clean_room(request)
    judgement = judge_answers(plan, request, answers, problem)
    oracle = oracle_use(graded)
    calls = max((case.get("full", {}).get("forward_calls", 0) for answer in answers
                 for case in answer.get("cases", [])), default=0)
    if calls > MAX_FORWARD_CALLS:
        oracle.append(f"it runs the network's forward functions {calls} times per call "
                      "(differentiating numerically?)")
    if oracle:
        reason = f"{SOLUTION_CELL} may not be the student's own work: " + "; ".join(oracle)
        judgement.problems.append(reason)
        if oracle_costs_points:
            for grade_id, (kind, *_) in plan.cells.items():
                if kind == "step":
                    judgement.verdicts[grade_id] = Verdict(
                        False, f"Not credited: {reason}. The instructor will review it.")
    return judgement
