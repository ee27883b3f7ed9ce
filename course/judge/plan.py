"""The judge's plan of a lab: which check decides each grade cell, read from the hidden
tests of the instructor's notebook."""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

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
    lab's judges: for each, trusted code and what each of its grade cells' checks judges (the
    first judge's plan, with the others': CheckPlan.others). Raises PlanError naming every
    grade cell that calls none of the judges' checks, or more than one (each cell's points are
    one verdict)."""
    source_notebook = source_notebook.resolve()
    judges = load_lab(source_notebook.parents[2], source_notebook.parent.name).judges
    cells = cells_by_grade_id(nbformat.read(source_notebook, as_version=4))
    plans: list[dict] = [{} for _ in judges]
    problems = []
    for grade_id, cell in cells.items():
        meta = cell.metadata["nbgrader"]
        if not meta.get("grade") or meta.get("solution") or cell.cell_type != "code":
            continue
        try:
            calls = [
                (number, call)
                for number, judge in enumerate(judges)
                for call in judged_calls(cell.source, judge)
            ]
        except PlanError as error:
            problems.append(f"{grade_id}: {error}")
            continue
        if len(calls) != 1:
            known = ", ".join(check for judge in judges for check in judge.checks)
            problems.append(
                f"{grade_id}: calls {len(calls)} of the checks the judge knows "
                f"({known}); it needs exactly one"
            )
        else:
            number, call = calls[0]
            plans[number][grade_id] = call
    if problems:
        raise PlanError(f"the judge cannot grade {source_notebook.name}: " + "; ".join(problems))
    first, *others = [
        CheckPlan(
            judge,
            TRUSTED_PRELUDE + "\n\n".join(cells[name].source for name in judge.trusted_cells),
            plan,
        )
        for judge, plan in zip(judges, plans, strict=True)
    ]
    return CheckPlan(
        first.judge, first.trusted_code, first.cells, tuple(p for p in others if p.cells)
    )


@functools.lru_cache(maxsize=8)
def _cached_plan(source_notebook: Path, version: tuple[int, int, int]) -> CheckPlan:
    return plan_from_source(source_notebook)


def cached_plan(source_notebook: Path) -> CheckPlan:
    """:func:`plan_from_source`, read once per edit of the notebook (its ctime, which copying
    tools cannot set back, changes with every edit)."""
    stat = source_notebook.stat()
    return _cached_plan(source_notebook, (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size))


def case_arguments(plan: CheckPlan, seed: int) -> list[dict[str, Any]]:
    """The arguments, by name, of each hidden case ``plan``'s judge draws from ``seed`` (a
    judge's case is its arguments, or a pair of them and their true values)."""
    return [case[0] if isinstance(case, tuple) else case for case in plan.judge.cases(seed)]


def plain(value: Any) -> Any:
    """``value`` (cases: arrays, numbers, text, in dicts and lists) as JSON can hold it, every
    number exact."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def cases_digest(plan: CheckPlan) -> str:
    """A digest of every hidden case ``plan`` (and its others) is judged on: the same for the
    same cases, wherever they were drawn (``course cases`` shows it beside the cases)."""
    digest = hashlib.sha256()
    for function_plan in plan.every():
        for seed in function_plan.seeds:
            text = json.dumps(plain(case_arguments(function_plan, seed)), sort_keys=True)
            digest.update(text.encode() + b"\n")
    return digest.hexdigest()[:16]
