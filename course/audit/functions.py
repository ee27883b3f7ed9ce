"""The audit of the functions a lab's judge calls rather than splits into steps (a judge with a
probe, ``course.judge.api.LabJudge``): every such function's solution cell rewritten and mutated,
one cell at a time, and the lab's planted submissions.

What a derived submission's grade should be is decided here, apart from the sandbox: its cells
are set up and its function called by the same probe code (``judge_runtime.probe.answer_request``)
in this process (trusted: the code is the instructor's solution, changed), and the lab's judge
reads those answers. The sandboxed judging must agree with it. A rewrite must earn full marks
unflagged, however the judge reads it; a mutant whose answers are the solution's must earn them
too; and for a judge whose answers are exact (each a value the truth fixes: a layer's output),
a mutant whose answers differ from the solution's must lose its function's tests.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from course.audit.derived import DECLARED, MUTANT, REWRITE, Derived, apply_edits, unique
from course.audit.findings import (
    AS_IMPLIED,
    CRASHED,
    EQUIVALENT,
    MISSED,
    OVER_PENALISED,
    Finding,
    planted_outcome,
)
from course.audit.layouts import LAYOUTS, without_comments
from course.audit.subject import Subject
from course.audit.syntax import replaced
from course.judge.api import CheckPlan, Judgement, Verdict
from course.judge.submission import build_request, student_setup
from course.judge.verdicts import judge_function
from judge_runtime.probe import answer_request

# An exact function's answer differs from the solution's when an entry is off by more than this
# share of the largest entry of its array: arithmetic in another order is off by about 1e-15, a
# judge's tolerance (Lab 3's: 1e-7) lies between.
DIFFERS = 1e-6


def probed_plans(subject: Subject) -> list[CheckPlan]:
    """The plans of the lab's functions judged by calling them."""
    return [plan for plan in subject.plan.every() if getattr(plan.judge, "probe", None)]


def plan_of(subject: Subject, cell: str) -> CheckPlan:
    """The plan of the function whose solution cell is ``cell``."""
    return next(plan for plan in subject.plan.every() if plan.judge.graded_cell == cell)


# Rewrites: each keeps what every function of the cell computes.


def _parsed(code: str) -> ast.Module:
    return ast.parse(code)


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield node


def renamed_locals(code: str) -> str:
    """Every local variable of every function renamed (``x`` as ``x_mine``)."""
    tree = _parsed(code)
    for function in _functions(tree):
        parameters = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        declared = {
            name
            for node in ast.walk(function)
            if isinstance(node, ast.Global | ast.Nonlocal)
            for name in node.names
        }
        local = (
            {
                node.id
                for node in ast.walk(function)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
            }
            - parameters
            - declared
        )
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in local:
                node.id = f"{node.id}_mine"
    return ast.unparse(tree) + "\n"


def returns_as_lists(code: str) -> str:
    """Every ``return a, b`` as ``return [a, b]``."""
    tree = _parsed(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            node.value = ast.List(node.value.elts, ast.Load())
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def numpy_aliased(code: str) -> str:
    """numpy under another name, imported in the cell."""
    tree = _parsed(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "np":
            node.id = "numpy_mine"
    return "import numpy as numpy_mine\n\n\n" + ast.unparse(tree) + "\n"


def docstrings_dropped(code: str) -> str:
    """Every docstring left out (a ``pass`` where nothing else is left)."""
    tree = _parsed(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and ast.get_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree) + "\n"


def annotated(code: str) -> str:
    """Every parameter and return of every function annotated (``object``)."""
    tree = _parsed(code)
    for function in _functions(tree):
        for argument in ast.walk(function.args):
            if isinstance(argument, ast.arg) and argument.arg != "self":
                argument.annotation = ast.Name("object", ast.Load())
        function.returns = ast.Name("object", ast.Load())
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _top_functions(code: str) -> list[str]:
    return [node.name for node in _parsed(code).body if isinstance(node, ast.FunctionDef)]


def forwarding(code: str) -> str:
    """Each top-level function as a wrapper of a helper, in the same cell, that does the work."""
    tree = _parsed(code)
    wrappers = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            name = node.name
            node.name = f"_{name}_helper"
            wrappers.append(
                f"def {name}(*args, **kwargs):\n    return _{name}_helper(*args, **kwargs)"
            )
    return ast.unparse(tree) + "\n\n\n" + "\n\n\n".join(wrappers) + "\n"


def _comments_and_blank_lines(code: str) -> str:
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped and not stripped.startswith(("#", ")", "]", "}", '"')):
            indent = line[: len(line) - len(stripped)]
            lines += ["", f"{indent}# a note of mine"]
        lines.append(line)
    return "\n".join(lines) + "\n"


REWRITES: dict[str, Callable[[str], str]] = {
    "renamed_locals": renamed_locals,
    "returns_as_lists": returns_as_lists,
    "numpy_aliased": numpy_aliased,
    "docstrings_dropped": docstrings_dropped,
    "annotated": annotated,
    "forwarding": forwarding,
    "commented": _comments_and_blank_lines,
}


def rewrites(code: str, function: str) -> Iterator[tuple[str, str, str]]:
    """``(operator, code, own cell)`` of each rewrite of ``code`` that parses."""
    made = [(name, rewrite(code), "") for name, rewrite in REWRITES.items()]
    for name, layout in LAYOUTS.items():
        try:
            made.append((f"layout_{name}", layout(code, function), ""))
        except (StopIteration, ValueError):  # a layout of a function's body, for a class cell
            continue
    if (names := _top_functions(code)) and function in names:
        # the work in a cell of the student's own above: its definitions are set up too
        helper = code.replace(f"def {function}(", f"def _{function}_above(", 1)
        made.append(
            (
                "helper_in_own_cell",
                f"def {function}(*args, **kwargs):\n"
                f"    return _{function}_above(*args, **kwargs)\n",
                helper,
            )
        )
    for operator, rewritten, own in made:
        try:
            ast.parse(rewritten)
        except SyntaxError:
            continue
        yield operator, rewritten, own


# Mutants: one node of the cell changed.

SWAPPED_OPERATORS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.Pow: ast.Mult,
}
SWAPPED_COMPARISONS: dict[type, type] = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}


def _mutations(node: ast.AST) -> Iterator[tuple[str, Callable[[Any], ast.AST | None]]]:
    """``(operator, change)`` of each way to mutate ``node``: ``change`` edits a copy of it in
    place, or returns the node to put in its place."""
    if isinstance(node, ast.BinOp) and type(node.op) in SWAPPED_OPERATORS:

        def swap(n):
            n.op = SWAPPED_OPERATORS[type(n.op)]()

        yield "operator_replaced", swap
        if not isinstance(node.op, ast.Add | ast.Mult):

            def flip(n):
                n.left, n.right = n.right, n.left

            yield "swapped_operands", flip
    if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPPED_COMPARISONS:

        def compare(n):
            n.ops = [SWAPPED_COMPARISONS[type(n.ops[0])](), *n.ops[1:]]

        yield "comparison_changed", compare
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):

        def constant(n):
            n.value = n.value + 1 if isinstance(n.value, int) or n.value == 0 else n.value * 2

        yield "constant_changed", constant
    if isinstance(node, ast.Attribute) and node.attr == "T":

        def untransposed(n):
            return n.value

        yield "transpose_dropped", untransposed
    if isinstance(node, ast.Call) and any(k.arg == "axis" for k in node.keywords):

        def dropped_axis(n):
            n.keywords = [k for k in n.keywords if k.arg != "axis"]

        yield "axis_dropped", dropped_axis
    if isinstance(node, ast.Call) and len(node.args) >= 2:

        def swapped(n):
            n.args[0], n.args[1] = n.args[1], n.args[0]

        yield "swapped_arguments", swapped
    if isinstance(node, ast.Assign | ast.AugAssign) and isinstance(node.value, ast.expr):

        def negated(n):
            n.value = ast.UnaryOp(ast.USub(), n.value)

        yield "sign_flipped", negated
    if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple | ast.List):
        if len(node.value.elts) >= 2:

            def swapped_returned(n):
                n.value.elts[0], n.value.elts[1] = n.value.elts[1], n.value.elts[0]

            yield "returned_swapped", swapped_returned


def mutants(code: str) -> Iterator[tuple[str, str, str]]:
    """``(operator, where, code)`` of each single-node mutant of ``code``, for every node of
    every function in it (a class's methods too)."""
    tree = _parsed(code)
    sites = [node for function in _functions(tree) for node in ast.walk(function)]
    seen = set()
    for number, node in enumerate(sites):
        if id(node) in seen:
            continue
        seen.add(id(node))
        for operator, change in _mutations(node):
            changed = copy.deepcopy(tree)
            target = [n for f in _functions(changed) for n in ast.walk(f)][number]
            if (replacement := change(target)) is not None:
                replaced(changed, target, replacement)
            text = ast.unparse(ast.fix_missing_locations(changed))
            where = f"line {getattr(node, 'lineno', '?')}: {ast.unparse(node)[:60]}"
            yield operator, where, text + "\n"


def declared(subject: Subject) -> Iterator[Derived]:
    """The lab's planted submissions (its demo cohort) that change solution cells of functions
    judged by calling them: each edit planted in the one cell that has its fragment."""
    demo = getattr(subject.declaration, "demo", None)
    solutions = subject.all_solutions
    cells = {plan.judge.graded_cell for plan in probed_plans(subject)}
    for student in demo.cohort if demo is not None else ():
        if (
            student.blank
            or student.corrupt
            or student.expected_status != "graded"
            or not student.edits
            or student.whole_cell
            or student.own_cell
        ):
            continue
        edits: dict[str, list] = {}
        for old, new in student.edits:
            having = [g for g, code in solutions.items() if old in code]
            if len(having) != 1:
                break
            edits.setdefault(having[0], []).append((old, new))
        else:
            if not set(edits) <= cells:
                continue
            changed = {g: apply_edits(solutions[g], tuple(e)) for g, e in edits.items()}
            first, *rest = sorted(changed)
            yield Derived(
                DECLARED,
                "declared_misconception" if student.misconception else "declared_by_the_lab",
                student.student,
                changed[first],
                steps=(plan_of(subject, first).judge.function,),
                misconception=student.misconception,
                expected_failures=frozenset(student.expected_failures),
                cell=first,
                original=solutions[first],
                other_cells=tuple((g, changed[g]) for g in rest),
            )


def derive(subject: Subject) -> list[Derived]:
    """Every rewrite and mutant of each solution cell of a function judged by calling it, and
    the lab's planted submissions, without repeats."""
    found: list[Derived] = []
    for plan in probed_plans(subject):
        cell, function = plan.judge.graded_cell, plan.judge.function
        original = subject.all_solutions[cell]
        plain = without_comments(original)
        for operator, code, own in rewrites(plain, function):
            found.append(
                Derived(
                    REWRITE,
                    operator,
                    "the whole cell",
                    code,
                    (function,),
                    own,
                    cell=cell,
                    original=original,
                )
            )
        for operator, where, code in mutants(plain):
            found.append(
                Derived(MUTANT, operator, where, code, (function,), cell=cell, original=original)
            )
    found += declared(subject)
    return unique(found, "")


# Judging.


def judged_cells(subject: Subject, derived: Derived) -> list[CheckPlan]:
    """The plans of the functions whose cells ``derived`` changes, of those that use one of
    them (a backward function called with its forward's cache), and of the tests it plants
    failures of."""
    cells = {derived.cell, *(g for g, _ in derived.other_cells)}
    changed = {plan_of(subject, cell).judge.function for cell in cells}
    return [
        plan
        for plan in probed_plans(subject)
        if plan.judge.graded_cell in cells
        or changed & set(getattr(plan.judge, "uses", ()))
        or derived.expected_failures & set(plan.cells)
    ]


def in_process(
    subject: Subject, plan: CheckPlan, notebook: nbformat.NotebookNode
) -> tuple[Judgement, list[dict]]:
    """``plan``'s function of ``notebook`` set up and called here by the probe's own code, and
    judged by the lab's judge: its verdicts, and the answers (as they would arrive: through
    JSON)."""
    setup, graded = student_setup(subject.source, notebook, plan.judge.graded_cell, plan.cells)
    request = build_request(plan, setup, graded or "")
    asked = plan.judge.asked(plan) if hasattr(plan.judge, "asked") else None

    def asking(number: int) -> Callable:
        assert asked is not None
        return lambda point: asked(number, np.asarray(point, dtype=np.float64).tolist())

    with np.errstate(all="ignore"):
        answer = json.loads(json.dumps(answer_request(request, asking if asked else None)))
    if answer["definition_error"]:
        cause = str(answer["definition_error"])
        return Judgement({g: Verdict(False, cause) for g in plan.cells}, cause=cause), []
    return plan.judge.verdicts(plan, request, answer["cases"], {}, None), answer["cases"]


def solved(subject: Subject) -> nbformat.NotebookNode:
    """The notebook of a student who solved every cell as the solution does."""
    cell = probed_plans(subject)[0].judge.graded_cell
    return subject.notebook(
        Derived(REWRITE, "solution", "", subject.all_solutions[cell], cell=cell)
    )


_SOLUTION_ANSWERS: dict[tuple[Path, str, str], list[dict]] = {}


def solution_answers(subject: Subject, plan: CheckPlan) -> list[dict]:
    """The solution's answers to ``plan``'s cases (set up and called here), once per process."""
    key = (subject.root, subject.lab, plan.judge.graded_cell)
    if key not in _SOLUTION_ANSWERS:
        _SOLUTION_ANSWERS[key] = in_process(subject, plan, solved(subject))[1]
    return _SOLUTION_ANSWERS[key]


def _leaves(value, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}")
    elif (
        isinstance(value, list)
        and value
        and isinstance(value[0], dict | list)
        and not _numeric(value)
    ):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _numeric(value) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def answers_differ(mine: list[dict], theirs: list[dict]) -> bool:
    """Whether two runs' answers differ: a call raised in one only, or a number is off by more
    than :data:`DIFFERS` of its array's scale (another shape, or not finite where the other
    is, counts as off)."""
    if len(mine) != len(theirs):
        return True
    for one, other in zip(mine, theirs, strict=True):
        if bool(one.get("error")) != bool(other.get("error")):
            return True
        a, b = (
            dict(_leaves({k: v for k, v in one.items() if k != "error"})),
            dict(_leaves({k: v for k, v in other.items() if k != "error"})),
        )
        if set(a) != set(b):
            return True
        for key, value in a.items():
            if not (_numeric(value) and _numeric(b[key])):
                if value != b[key]:
                    return True
                continue
            x, y = np.asarray(value, dtype=np.float64), np.asarray(b[key], dtype=np.float64)
            if x.shape != y.shape or not np.array_equal(np.isfinite(x), np.isfinite(y)):
                return True
            finite = np.isfinite(y)
            scale = float(np.max(np.abs(y[finite]), initial=0.0)) or 1.0
            if np.max(np.abs(x[finite] - y[finite]), initial=0.0) > DIFFERS * scale:
                return True
    return False


def judge_derived_function(subject: Subject, derived: Derived) -> Finding:
    """``derived`` judged by the grader's judge (sandboxed: every function whose cell it
    changes), and held against what the same judge makes of it run here."""
    try:
        notebook = subject.notebook(derived)
        verdicts, problems, named = {}, [], {}
        expected, differs = set(), False
        for plan in judged_cells(subject, derived):
            judgement = judge_function(plan, subject.source, notebook)
            verdicts.update(judgement.verdicts)
            problems += judgement.problems
            named.update(judgement.misconceptions)
            here, answers = in_process(subject, plan, notebook)
            expected |= {g for g, v in here.verdicts.items() if not v.passed}
            if getattr(plan.judge, "answers_exact", False):
                differs = differs or answers_differ(answers, solution_answers(subject, plan))
        failed = {g for g, v in verdicts.items() if not v.passed}
        outcome, why = implied(derived, failed, expected, differs, problems, named)
    except Exception as error:  # the audit reports it with the submission that caused it
        return Finding(derived, CRASHED, why=f"{type(error).__name__}: {error}")
    return Finding(
        derived,
        outcome,
        tuple(sorted(failed)),
        tuple(problems),
        named,
        {g: verdicts[g].message for g in sorted(failed)},
        why,
    )


def implied(
    derived: Derived,
    failed: set[str],
    expected: set[str],
    differs: bool,
    problems: list[str],
    misconceptions: dict[str, str],
) -> tuple[str, str]:
    """``(outcome, why)``: the sandboxed judging of ``derived`` (``failed``) held against its
    derivation and against the judging here (``expected``; ``differs``: an exact function's
    answers are not the solution's)."""
    if outcome := planted_outcome(derived, failed, problems, misconceptions):
        return outcome
    if derived.kind == REWRITE:
        if failed or expected:
            return OVER_PENALISED, f"a rewrite, and failed {sorted(failed | expected)}"
        return AS_IMPLIED, ""
    if failed != expected:
        return (MISSED if expected - failed else OVER_PENALISED), (
            f"the sandboxed judging failed {sorted(failed)}; run here, {sorted(expected)}"
        )
    if differs and not failed:
        return MISSED, "its answers are not the solution's, and its checks passed"
    return (AS_IMPLIED if failed else EQUIVALENT), ""
