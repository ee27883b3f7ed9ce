"""The trusted judge: every grade cell's verdict and message, decided outside the student's kernel.

Anything in a student's kernel can be patched (numpy, the helpers, assert handling, IPython's
error display), so the kernel's own test results count for nothing but tamper detection. Here
the submission's graded cell, with the student's own helper cells above it, is run in a fresh
sandboxed process (``helpers.recheck``) on hidden cases; plain JSON numbers come back, and the
verdicts are computed in this process, where no student code runs:

* each step on its own: the statements that assign the step's name (``helpers.steps``, whatever
  the comments) are run on the true values of everything upstream and compared with the true
  value, so one mistake costs that step only and a step that raises or has the wrong shape
  fails alone; a function without the step's variable is judged on what it returns;
* the returned gradients against the true ones, and a short training run, which this process
  runs (``course.judged_training``): the runner only sums the gradients of each epoch's calls.

The judge fails closed: no answer, a timeout, an oversized or malformed answer fails every
affected cell and says why in :attr:`Judgement.problems`, which the grader turns into a flag.
"""

from __future__ import annotations

import ast
import functools
import inspect
import io
import json
import os
import queue
import re
import selectors
import subprocess
import sys
import threading
import time
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from traitlets import Float
from traitlets.config import Configurable

from course.cputime import WALL_CLOCK_FACTOR, CpuClock
from course.diagnosis import describe_definition_error
from course.judged_training import JudgedTraining, function_name, well_formed
from course.kernels import SINGLE_THREADED
from course.labs import load_lab
from course.notebooks import cells_by_grade_id
from course.runner_text import vouched_error, vouched_interference, vouched_syntax_error
from course.sandbox import DEFAULT_LIMITS, Limits, sandbox_command

# What runs before the student's cells: the instructor's provided functions, with the modules
# they and backprop use. Not the whole imports cell: plotting is never needed here, and
# loading matplotlib would cost more than the judging itself.
TRUSTED_PRELUDE = "import os\n\nimport numpy as np\n" + '''

class _NotIPython:
    """Outside IPython, a student's cell that talks to IPython (hooks, magics) still runs:
    its calls reach this object, which does nothing, except that a cell under a magic that
    only measures or captures it (%%time, %%capture...) is run as it would be there."""

    RUNS_ITS_CELL = ("time", "timeit", "capture", "prun")

    def run_cell_magic(self, magic, line, cell):
        if magic in self.RUNS_ITS_CELL:
            exec(cell, globals())

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


def get_ipython():
    return _NotIPython()

'''
MAX_RESPONSE_BYTES = 4 * 1024**2
# CPU seconds from the start (course.cputime): the hidden cases' answer must arrive by the
# first, training by the second, the line counts by the third. A correct function of up to
# 10 ms per call fits all.
BUDGETS = (30.0, 90.0, 120.0)  # the defaults of JudgeBudgets
CHECK_SECONDS = 0.25  # how often the runner's CPU time is read while its answer is awaited
# Whether the end of the runner's stderr (what the student's code and the runner wrote there,
# read as it comes, at the student's own cost) goes to this process's stderr once the runner
# is done: a grading process (course.worker) keeps it for the student's log.
RUNNER_STDERR_TO_LOG = False
RUNNER_LOG_BYTES = 16 * 1024  # the last of the runner's stderr kept
# The runner's phases after the steps, in the order they come (each when the request asks).
LATER_PHASES = (("training", "training"), ("lines", "line_counts"))
STUDENT_STATEMENTS = (  # what the judge takes from a student's own cells: definitions only
    "Import", "ImportFrom", "FunctionDef", "ClassDef", "Assign", "AnnAssign", "AugAssign")
# What the graded function's code, and the code of the student's it calls, may do that a
# reviewer should see: flagged for review, never points withheld on its own (points are
# withheld only for what the function was seen to do while judged: LabJudge.suspicions).
REVIEW_PATTERNS = (
    (re.compile(r"\bhelpers\.(recheck|steps|{withheld})\b|"
                r"from\s+helpers\s+import\s+[^\n]*\b(recheck|steps|{withheld})\b"),
     "it imports the course's checking code"),
    (re.compile(r"_getframe|\b(f_back|tb_frame|gi_frame|cr_frame|ag_frame)\b|\binspect\.(currentframe|stack|getouterframes)|"
                r"\bgc\.get_(objects|referrers)|settrace|gettrace|setprofile|\bf_trace\b|sys\.monitoring|\bsys\.modules\b|"
                r"__closure__|cell_contents|__kwdefaults__|__wrapped__|\bctypes\b|\btracemalloc\b|"
                r"_allocations\b|\bmemoryview\b"),
     "it inspects its callers or the interpreter"),
    # code compiled under a library's file name passes for the library's, not the student's
    # own (helpers.tracing's own-line limit), and code rewritten at run time is not what ran
    (re.compile(r"\b(exec|eval|compile)\s*\(|\bco_filename\b|\b__code__\b|\bCodeType\b"),
     "it compiles or rewrites code at run time"),
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
    # grade_id: answer_digest of its first wrong value (course.similarity: identical mistakes)
    wrong_answers: dict[str, str] = field(default_factory=dict)


class LabJudge(Protocol):
    """A lab's part of the judge, declared by the lab (``labs/<lab>/judge.py``)."""

    graded_cell: str  # the solution cell the judge re-runs
    function: str  # the function that cell defines, which the checks test
    trusted_cells: tuple[str, ...]  # the instructor's cells run before the student's
    # every name of a hidden case's truth that a check judges (never sent before it is due)
    answer_names: tuple[str, ...]
    # helpers files that compute answers (true gradients, numerical ones): withheld from the
    # process that runs the student's code for the judge (course.sandbox.WITHHELD_MODULE)
    withheld_helpers: tuple[str, ...]
    # check function name: (the function, for its signature; what a call judges, from its
    # bound arguments, as a tuple whose last item is the hidden cases' seed, or a kind
    # alone; raises PlanError for arguments it cannot judge)
    checks: dict[str, tuple[Callable, Callable[[dict], tuple]]]
    # the kinds of what a check judges (the first item of its tuple) that earn nothing when the
    # graded function looks like it is not the student's own work
    own_work_kinds: tuple[str, ...]

    def cases(self, seed: int) -> tuple[tuple[dict, dict], ...]:
        """The hidden cases of ``seed``: (arguments, true values) by name."""

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """The lab's part of the runner's request (see helpers.recheck)."""

    def verdicts(self, plan: CheckPlan, request: dict, cases: list[dict],
                 later: dict[str, dict], problem: str | None) -> Judgement:
        """Every planned cell's verdict from the runner's results: one per hidden case, and
        the later phases' answers that came, by phase (``training``, ``lines``)."""

    def suspicions(self, answers: list[dict]) -> list[str]:
        """Why the answers suggest the graded function is not the student's own work."""


@dataclass(frozen=True)
class CheckPlan:
    """What to judge: the lab's judge, trusted code, and what each grade cell judges (a tuple
    from the lab's checks: ``("step", name, seed)``, ``("whole", seed)``, ``("training",)``)."""

    judge: LabJudge
    trusted_code: str
    cells: dict[str, tuple]

    @property
    def seeds(self) -> list[int]:
        return sorted({args[-1] for _, *args in self.cells.values() if args})


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


def judged_calls(source: str, judge: LabJudge) -> list[tuple]:
    """What each call of one of the ``judge``'s checks in ``source`` judges, in order, however
    the call is written (positional or keyword arguments, either quotes, over several lines).
    Raises PlanError when such a call is not of the graded function, or its arguments that
    say what to judge are not literals or not what the check can judge."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise PlanError(f"it does not parse ({error.msg}, line {error.lineno})") from None
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in judge.checks):
            continue
        check, what_it_judges = judge.checks[node.func.id]
        signature = inspect.signature(check)
        try:
            bound = signature.bind(*map(_argument, node.args),
                                   **{k.arg: _argument(k.value) for k in node.keywords})
        except TypeError as error:
            raise PlanError(f"{ast.unparse(node)}: {error}") from None
        bound.apply_defaults()
        if judge.function not in bound.arguments.values():
            raise PlanError(f"{ast.unparse(node)} does not check {judge.function}")
        literals = {name: value for name, value in bound.arguments.items()
                    if not isinstance(value, _Expression)}
        try:
            found.append(what_it_judges(literals))
        except KeyError as missing:
            raise PlanError(f"{ast.unparse(node)}: the judge needs a literal {missing}") from None
        except PlanError as error:
            raise PlanError(f"{ast.unparse(node)}: {error}") from None
    return found


def plan_from_source(source_notebook: Path) -> CheckPlan:
    """Read the instructor's notebook (``source/<lab>/<name>.ipynb`` of a course) with its
    lab's judge: trusted code, and what each grade cell's check judges. Raises PlanError
    naming every grade cell that calls none of the lab's checks, or more than one (each
    cell's points are one verdict)."""
    source_notebook = source_notebook.resolve()
    judge = load_lab(source_notebook.parents[2], source_notebook.parent.name).judge
    cells = cells_by_grade_id(nbformat.read(source_notebook, as_version=4))
    trusted = TRUSTED_PRELUDE + "\n\n".join(cells[name].source for name in judge.trusted_cells)
    plan, problems = {}, []
    for grade_id, cell in cells.items():
        meta = cell.metadata["nbgrader"]
        if not meta.get("grade") or meta.get("solution") or cell.cell_type != "code":
            continue
        try:
            calls = judged_calls(cell.source, judge)
        except PlanError as error:
            problems.append(f"{grade_id}: {error}")
            continue
        if len(calls) != 1:
            problems.append(f"{grade_id}: calls {len(calls)} of the checks the judge knows "
                            f"({', '.join(judge.checks)}); it needs exactly one")
        else:
            plan[grade_id] = calls[0]
    if problems:
        raise PlanError(f"the judge cannot grade {source_notebook.name}: " + "; ".join(problems))
    return CheckPlan(judge, trusted, plan)


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


def student_setup(source_nb: nbformat.NotebookNode, submitted: nbformat.NotebookNode,
                  graded_cell: str) -> tuple[list[list[str]], str | None]:
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
        if meta.get("grade_id") == graded_cell:
            graded = as_python(cell.source)
            setup.append([f"<your {graded_cell} cell>", graded])
            break
        if meta.get("grade") or meta.get("locked"):
            continue
        if meta.get("solution") or cell.source.strip() not in given:
            code = _definitions_only(as_python(cell.source))
            if code:
                setup.append([f"<your cell {number}>", code])
    return setup, graded


def review_reasons(code: str, withheld: tuple[str, ...] = ()) -> list[str]:
    """Why ``code`` (the graded function and what it calls, :func:`code_reached`) should be
    read by a reviewer, if it should: its code, comments left out, names the judge's own
    modules or the lab's ``withheld`` ones (file names of helpers), inspects the interpreter,
    or compiles code at run time."""
    names = "|".join(re.escape(Path(name).stem) for name in withheld) or "recheck"
    code = _without_comments(code)
    return [why for pattern, why in REVIEW_PATTERNS
            if re.search(pattern.pattern.replace("{withheld}", names), code)]


def code_reached(setup: list[list[str]], function: str) -> str:
    """The code of the student's that the graded ``function`` can reach: its own definition
    and the graded cell's other top-level statements that are not definitions, then every
    definition of the student's cells (``setup``'s, the graded cell last) whose name the code
    so far mentions, until no new name is mentioned. A gradient checker or anything else the
    student wrote but the function never names is not part of it."""
    definitions: dict[str, list[str]] = {}
    roots: list[str] = []
    for number, (_, code) in enumerate(setup):
        graded = number == len(setup) - 1
        try:
            tree = ast.parse(code)
        except SyntaxError:
            if graded:
                roots.append(code)
            continue
        for node in tree.body:
            segment = ast.get_source_segment(code, node) or ""
            bound = _defined_names(node)
            if graded and (function in bound or not bound
                           or isinstance(node, ast.Import | ast.ImportFrom)):
                roots.append(segment)
            for name in bound:
                definitions.setdefault(name, []).append(segment)
    reached, pending, seen = list(roots), list(roots), set()
    while pending:
        for name in _mentioned(pending.pop()) - seen:
            seen.add(name)
            for segment in definitions.get(name, []):
                reached.append(segment)
                pending.append(segment)
    return "\n".join(reached)


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _mentioned(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", code))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _without_comments(code: str) -> str:
    """``code`` without its comments (a comment naming a module is not an import of it)."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type != tokenize.COMMENT]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code


# ---- what the runner is asked ------------------------------------------------------------------


def build_request(plan: CheckPlan, setup: list[list[str]], graded: str) -> dict:
    """The runner's request: the trusted code and the student's cells to set up, the graded
    function, and the lab's part (its cases, step plan, training: LabJudge.request)."""
    return {
        "setup": [["<provided functions>", plan.trusted_code], *setup],
        "graded_label": f"<your {plan.judge.graded_cell} cell>",
        "function": plan.judge.function,
        "withheld": list(plan.judge.withheld_helpers),
        **plan.judge.request(plan, graded),
    }


# ---- running it ---------------------------------------------------------------------------------


class ConversationOver(Exception):
    """The runner said something it may not: nothing more it says is taken."""


class Conversation:
    """The grader's side of a re-check (see helpers.recheck): what is sent, what came back.

    Sends the request without any step's true value; takes the runner's lines in the one
    order they may come (the full runs, each step in turn, training) and answers each step's
    line with that step's true values, so that the runner never holds a value before its
    answer is in. A line out of order ends the conversation.
    """

    def __init__(self, request: dict, answer_names: tuple[str, ...]):
        """``answer_names``: every name of a case's truth that is some check's answer (all
        withheld from the first message, whatever steps the request runs)."""
        self.steps = list(request.get("steps") or [])
        hidden = set(self.steps) | set(answer_names)
        self.cases = len(request["cases"])
        self.first = dict(request, cases=[
            {"args": case["args"], "truth": {k: v for k, v in case["truth"].items()
                                             if k not in hidden}}
            for case in request["cases"]])
        self.truths = [case["truth"] for case in request["cases"]]
        self.request = request
        # the student's own code, for the lines and names a report of theirs may quote
        self.own_code = "\n".join(code for _, code in (request.get("setup") or [])[1:])
        # the runner's later phases (training is the grader's: self.training)
        self.later_due = [phase for phase, key in LATER_PHASES
                          if request.get(key) and phase != "training"]
        self.training_problem = request.get("training")
        self.training: JudgedTraining | None = None
        self.full: dict | None = None
        self.step_results: list[list] = []
        self.later: dict[str, dict] = {}

    def expected(self) -> str | None:
        """The phase of the next line the runner may send; None once it has said it all."""
        if self.full is None:
            return "full"
        if self.full.get("definition_error"):
            return None
        if len(self.step_results) < len(self.steps):
            return "step"
        if self.training_problem and (self.training is None or self.training.result is None):
            return "gradients"
        return next((phase for phase in self.later_due if phase not in self.later), None)

    def hear(self, line: bytes) -> bytes | None:
        """Take one line from the runner; what to send back (a step's true values), if any."""
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser
            message = None
        phase = self.expected()
        if not isinstance(message, dict) or phase is None or message.get("phase") != phase or (
                phase == "step" and message.get("index") != len(self.step_results) + 1) or (
                not self._well_formed(phase, message)):
            raise ConversationOver("the re-check's answers were unreadable or out of order")
        self._vouch(phase, message)
        if phase == "full":
            self.full = message
        elif phase == "gradients":
            return _line(self._training().take(message))
        elif phase != "step":
            self.later[phase] = message
        else:
            self.step_results.append(message.get("results") or [])
            done = len(self.step_results)
            if done < len(self.steps):  # the next step needs this one's true value
                name = self.steps[done - 1]
                return _line({"truth": [{name: truth[name]} for truth in self.truths]})
        if self.expected() == "gradients":  # the steps are in: the grader's training begins
            return _line(self._training().first())
        return None

    def _vouch(self, phase: str, message: dict) -> None:
        """Rewrite, in place, every text of ``message`` that may reach a message or a flag
        with what the grader can vouch for (``course.runner_text``); an error a step raised
        is also kept as said, under ``said``, for matching misconceptions only."""
        own = self.own_code
        if phase == "full":
            codes = dict(self.request.get("setup") or [])
            errors = {label: vouched_syntax_error(said, codes[label], label)
                      for label, said in (message.get("setup_errors") or {}).items()
                      if label in codes and said}
            message["setup_errors"] = errors
            if said := message.get("definition_error"):
                undefined = f"the cell does not define {self.request.get('function')}"
                message["definition_error"] = (
                    undefined if said == undefined else
                    errors.get(self.request.get("graded_label"), vouched_error(said, own)))
            withheld = {f"helpers.{name.removesuffix('.py')}." for name in
                        self.request.get("withheld") or ()}
            for run in message.get("full") or []:
                run["error"] = vouched_error(run.get("error"), own) or None
                called = run.get("withheld_call")
                if called is not None and not (
                        isinstance(called, str) and any(called.startswith(prefix) and
                                                        function_name(called[len(prefix):])
                                                        for prefix in withheld)):
                    run["withheld_call"] = "a withheld function of the graders'"
        elif phase == "step":
            step = self.steps[len(self.step_results)]
            unknown = set(self.steps[self.steps.index(step):])
            for index, result in enumerate(message.get("results") or []):
                known = {**self.first["cases"][index]["args"],
                         **{k: v for k, v in self.truths[index].items() if k not in unknown}}
                for reading in (result, (result or {}).get("alternative")):
                    if isinstance(reading, dict) and reading.get("error"):
                        reading["said"] = str(reading["error"])
                        reading["error"] = vouched_error(reading["error"], own, known)
        elif phase in ("gradients", "lines"):
            if message.get("error"):
                message["error"] = vouched_error(message["error"], own)
            if phase == "lines" and message.get("interfered"):
                message["interfered"] = vouched_interference(message["interfered"])

    def _training(self) -> JudgedTraining:
        if self.training is None:
            assert self.full is not None and self.training_problem
            judged = (self.full.get("full") or [None])[0]
            self.training = JudgedTraining(
                self.training_problem, self.first["cases"][0]["args"] if judged else None,
                judged)
        return self.training

    def training_answer(self) -> dict | None:
        """The training phase as the judge reads it (made here, from the grader's own
        training), or None while it is not over."""
        if self.training is None or self.training.result is None:
            return None
        return {"phase": "training", "training": self.training.result,
                "answers_otherwise": self.training.answers_otherwise,
                "interfered": self.training.interfered, **self.training.calls_seen}

    def _well_formed(self, phase: str, message: dict) -> bool:
        """Whether ``message`` has the shape of its phase (the judge reads nothing else)."""
        if phase == "full":
            full = message.get("full")
            return (isinstance(message.get("setup_errors", {}), dict)
                    and isinstance(message.get("definition_error") or "", str)
                    and isinstance(full, list) and all(isinstance(f, dict) for f in full)
                    and (bool(message.get("definition_error")) or len(full) == self.cases)
                    and all(isinstance(f.get("forward_calls", 0), int)
                            and isinstance(f.get("most_called", ""), str)
                            and isinstance(f.get("withheld_call", ""), str) for f in full))
        if phase == "step":
            results = message.get("results")
            return isinstance(results, list) and len(results) == self.cases and all(
                result is None or isinstance(result, dict) for result in results)
        if phase == "gradients":
            return well_formed(message, self._training().probing)
        if phase == "lines":
            lines = message.get("lines")
            return (lines is None or isinstance(lines, list)) and all(
                isinstance(message.get(key) or "", str) for key in ("error", "interfered"))
        return isinstance(message.get("training"), dict)

    def answers(self) -> list[dict]:
        """What arrived, as the judge reads it: the cases (once every step is in) and training."""
        if self.full is None or self.expected() == "step":
            return []
        if self.full.get("definition_error"):
            return [{"phase": "cases", **{k: self.full.get(k) for k in (
                "setup_errors", "definition_error")}, "cases": []}]
        cases = [{"full": full, "steps": {}} for full in self.full.get("full") or []]
        for name, results in zip(self.steps, self.step_results, strict=True):
            for case, result in zip(cases, results, strict=False):
                if isinstance(result, dict):
                    case["steps"][name] = result
        answers = [{"phase": "cases", "setup_errors": self.full.get("setup_errors") or {},
                    "definition_error": None, "cases": cases}]
        if (training := self.training_answer()) is not None:
            answers.append(training)
        return answers + [self.later[phase] for phase in self.later_due if phase in self.later]


def _line(message: dict) -> bytes:
    return json.dumps(message).encode() + b"\n"


class JudgeBudgets(Configurable):
    """The CPU seconds the judge's re-check of one student may have used, counted from its
    start, when each of its answers arrives (``c.JudgeBudgets.<name>``): past one, the
    re-check is stopped and the cells it had not answered are not graded. A correct function
    of up to 10 ms a call needs a fraction of each."""

    cases_cpu_seconds = Float(BUDGETS[0], help="by the answers on the hidden cases"
                              ).tag(config=True)
    training_cpu_seconds = Float(
        BUDGETS[1], help="by the end of training with the student's function").tag(config=True)
    lines_cpu_seconds = Float(
        BUDGETS[2], help="by the counts of the lines it ran (its last answer)").tag(config=True)

    def budgets(self) -> tuple[float, float, float]:
        """(cases, training, lines), as :func:`run_in_clean_room` takes them."""
        return self.cases_cpu_seconds, self.training_cpu_seconds, self.lines_cpu_seconds


def run_in_clean_room(request: dict, answer_names: tuple[str, ...] = (),
                      budgets: tuple[float, float, float] = BUDGETS,
                      limits: Limits = DEFAULT_LIMITS) -> tuple[list[dict], str | None]:
    """Run ``helpers.recheck`` on ``request`` (a :class:`Conversation`) in a sandbox with
    ``limits``, within the CPU ``budgets`` (see JudgeBudgets); the answers that arrived, and
    why the rest did not (None when all did)."""
    conversation = Conversation(request, answer_names)
    cgroup = limits.cgroup()
    argv = cgroup.wrap(sandbox_command([sys.executable, "-m", "helpers.recheck"],
                                       limits=limits, env={**os.environ, **SINGLE_THREADED},
                                       withheld=tuple(request.get("withheld") or ())))
    cases_budget, training_budget, lines_budget = budgets
    training = request.get("training")
    training_lines = (2 + int(training["epochs"])) if training else 0  # the probe, each epoch
    budgets = ((cases_budget,) * (1 + len(conversation.steps))
               + (training_budget,) * training_lines + (lines_budget,))
    try:
        problem, status = run_bounded(argv, json.dumps(conversation.first).encode() + b"\n",
                                      conversation.hear, MAX_RESPONSE_BYTES, budgets)
    finally:
        cgroup.close()
    if problem is None and conversation.expected() is not None:
        problem = f"the re-check ended early (exit status {status})"
    return conversation.answers(), problem


def run_bounded(argv: list[str], first: bytes, hear, max_bytes: int,
                budgets: tuple[float, ...]) -> tuple[str | None, int | None]:
    """Run ``argv`` with ``first`` on its stdin, then hand each line of its stdout to
    ``hear`` and write what that returns (if anything) to its stdin; read at most
    ``max_bytes`` in all. ``hear`` raises ConversationOver to end it.

    The i-th line of output must arrive before the process (and what it started) has used
    ``budgets[i]`` CPU seconds, and before WALL_CLOCK_FACTOR times that has passed on the
    wall clock (the last budget bounds the whole run): a busy machine slows the run, not
    its verdict. Returns ``(problem, exit status)``; ``problem`` says why the process was
    killed (too large, too slow). Memory stays bounded by ``max_bytes`` whatever the
    process writes.
    """
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    errors = bytearray()  # the last RUNNER_LOG_BYTES of its stderr
    outgoing: queue.Queue = queue.Queue()
    outgoing.put(first)
    writer = threading.Thread(target=_feed, args=(process.stdin, outgoing), daemon=True)
    writer.start()
    clock = CpuClock(process.pid)
    pending, size, lines, problem = b"", 0, 0, None
    next_reading = 0.0  # reading a process tree's CPU time scans /proc: at most every check
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while True:
            budget = budgets[min(lines, len(budgets) - 1)]
            now = time.monotonic()
            if now >= next_reading and (passed := clock.over(budget)):
                problem = (f"the re-check used more than its {budget:g} s of CPU time"
                           if passed == "cpu" else
                           f"the re-check waited past its {WALL_CLOCK_FACTOR * budget:g} s "
                           f"backstop, using {clock.cpu():.1f} s of CPU time")
                break
            if now >= next_reading:
                next_reading = now + CHECK_SECONDS
            ready = {key.fileobj for key, _ in selector.select(timeout=CHECK_SECONDS)}
            if process.stderr in ready:
                if data := os.read(process.stderr.fileno(), 1 << 16):
                    errors += data
                    del errors[:-RUNNER_LOG_BYTES]
                else:
                    selector.unregister(process.stderr)
            if process.stdout not in ready:
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                problem = f"the re-check's answer was larger than {max_bytes // 1024**2} MB"
                break
            *complete, pending = (pending + chunk).split(b"\n")
            try:
                for line in complete:
                    lines += 1
                    if line.strip() and (reply := hear(line)) is not None:
                        outgoing.put(reply)
            except ConversationOver as over:
                problem = str(over)
                break
    outgoing.put(None)  # nothing more to say: close its stdin
    if problem:
        process.kill()
    process.stdout.close()
    process.stderr.close()
    if RUNNER_STDERR_TO_LOG and errors:
        sys.stderr.write("the judge's runner wrote (its last "
                         f"{RUNNER_LOG_BYTES // 1024} KB at most):\n"
                         + bytes(errors).decode("utf-8", errors="replace") + "\n")
        sys.stderr.flush()
    try:
        status = process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
    writer.join(timeout=5)
    return problem, status


def _feed(pipe, outgoing: queue.Queue) -> None:
    """Write each message of ``outgoing`` to ``pipe`` until None, then close it."""
    try:
        while (data := outgoing.get()) is not None:
            pipe.write(data)
            pipe.flush()
    except OSError:  # the process ended or was killed before reading it all
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


# ---- judging the numbers -------------------------------------------------------------------------


def judge_answers(plan: CheckPlan, request: dict, answers: list[dict],
                  problem: str | None) -> Judgement:
    """Each planned grade cell's verdict from the runner's answer lines: the lab's verdicts
    once the graded cell ran on every case, else one shared cause for every cell."""
    cases_answer = next((a for a in answers if a.get("phase") == "cases"), None)
    later = {a["phase"]: a for a in answers if a.get("phase") in dict(LATER_PHASES)}
    problems = [problem] if problem else []
    if cases_answer is None:
        why = problem or "the re-check gave no answer"
        return Judgement({g: Verdict(False, f"Not graded: {why}.") for g in plan.cells},
                         problems or [why], cause=f"not graded: {why}")
    definition_error = cases_answer.get("definition_error")
    cases = cases_answer.get("cases") or []
    if definition_error or len(cases) != len(request["cases"]):
        why = definition_error or "the re-check returned the wrong number of cases"
        cell = plan.judge.graded_cell
        message = f"Your {cell} cell could not be run: {why}"
        return Judgement({g: Verdict(False, message) for g in plan.cells}, problems,
                         cause=describe_definition_error(why, cell))
    try:
        return plan.judge.verdicts(plan, request, cases, later, problem)
    except Exception as error:  # numbers of a shape the lab did not expect: fail closed
        why = f"the re-check's answer was malformed ({type(error).__name__})"
        return Judgement({g: Verdict(False, f"Not graded: {why}.") for g in plan.cells},
                         [*problems, why], cause=f"not graded: {why}")


def judge_submission(source_notebook: Path, submitted: nbformat.NotebookNode,
                     oracle_costs_points: bool = True,
                     budgets: tuple[float, float, float] = BUDGETS,
                     limits: Limits = DEFAULT_LIMITS) -> Judgement:
    """The judge's verdict on every planned grade cell of one submitted notebook (its
    re-check run within ``budgets`` and ``limits``: see :func:`run_in_clean_room`)."""
    plan = cached_plan(source_notebook)
    cell = plan.judge.graded_cell
    source_nb = nbformat.read(source_notebook, as_version=4)
    setup, graded = student_setup(source_nb, submitted, cell)
    if graded is None:
        message = f"Not graded: the submission has no {cell} cell."
        return Judgement({g: Verdict(False, message) for g in plan.cells}, [message],
                         cause=f"the submission has no {cell} cell")
    request = build_request(plan, setup, graded)
    answers, problem = run_in_clean_room(request, plan.judge.answer_names, budgets, limits)
    judgement = judge_answers(plan, request, answers, problem)
    try:
        suspicions = plan.judge.suspicions(answers)
    except Exception as error:  # a malformed answer is itself suspicious
        suspicions = [f"its re-check answered in a shape the judge does not expect "
                      f"({type(error).__name__})"]
    # Seen while judged (LabJudge.suspicions): points withheld, and a flag naming it.
    if suspicions:
        reason = f"{cell} may not be the student's own work: " + "; ".join(suspicions)
        judgement.problems.append(reason)
        if oracle_costs_points and not judgement.cause:  # a cause already explains every zero
            for grade_id, (kind, *_) in plan.cells.items():
                if kind in plan.judge.own_work_kinds:
                    judgement.verdicts[grade_id] = Verdict(
                        False, f"Not credited: {reason}. The instructor will review it.")
    # Read in its code (and the code of the student's it calls): a flag for review only.
    if reasons := review_reasons(code_reached(setup, plan.judge.function),
                                 plan.judge.withheld_helpers):
        judgement.problems.append(f"for review, {cell}'s code: " + "; ".join(reasons))
    return judgement
