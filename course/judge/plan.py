"""The judge's plan of a lab: which check decides each grade cell, read from the hidden
tests of the instructor's notebook."""

from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path

import nbformat

from course.judge.api import CheckPlan, LabJudge, PlanError
from course.judge.submission import TRUSTED_PRELUDE
from course.labs import load_lab
from course.notebooks import cells_by_grade_id


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
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in judge.checks
        ):
            continue
        check, what_it_judges = judge.checks[node.func.id]
        signature = inspect.signature(check)
        try:
            bound = signature.bind(
                *map(_argument, node.args),
                **{
                    k.arg: _argument(k.value)  # type: ignore[arg-type]  # arg None: a TypeError
                    for k in node.keywords
                },
            )
        except TypeError as error:
            raise PlanError(f"{ast.unparse(node)}: {error}") from None
        bound.apply_defaults()
        if judge.function not in bound.arguments.values():
            raise PlanError(f"{ast.unparse(node)} does not check {judge.function}")
        literals = {
            name: value
            for name, value in bound.arguments.items()
            if not isinstance(value, _Expression)
        }
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
            problems.append(
                f"{grade_id}: calls {len(calls)} of the checks the judge knows "
                f"({', '.join(judge.checks)}); it needs exactly one"
            )
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
