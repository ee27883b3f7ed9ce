"""Submissions derived from the solution cells of the functions a lab's judge calls rather than
splits into steps (a judge with a probe, ``course.judge.api.LabJudge``): every such function's
solution cell rewritten (the same computation in another form) and mutated (one change to what
it computes), one cell at a time, and the lab's planted submissions
(:mod:`course.audit.functions` judges them).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from typing import Any

from course.audit.derived import DECLARED, MUTANT, REWRITE, Derived, apply_edits, unique
from course.audit.layouts import LAYOUTS, without_comments
from course.audit.subject import Subject
from course.audit.syntax import replaced
from course.judge.api import CheckPlan


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
