"""The audit of the functions a lab's judge calls rather than splits into steps (a judge with a
probe, ``course.judge.api.LabJudge``): what each submission derived from their solution cells
(:mod:`course.audit.function_derivations`) should be graded, and the finding of how it was.

What a derived submission's grade should be is decided here, apart from the sandbox: its cells
are set up and its function called by the same probe code (``judge_runtime.probe.answer_request``)
in this process (trusted: the code is the instructor's solution, changed), and the lab's judge
reads those answers. The sandboxed judging must agree with it. A rewrite must earn full marks
unflagged, however the judge reads it; a mutant whose answers are the solution's must earn them
too; and for a judge whose answers are exact (each a value the truth fixes: a layer's output),
a mutant whose answers differ from the solution's must lose its function's tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import numpy as np

from course.audit.derived import REWRITE, Derived
from course.audit.findings import (
    AS_IMPLIED,
    CRASHED,
    EQUIVALENT,
    MISSED,
    OVER_PENALISED,
    Finding,
    planted_outcome,
)
from course.audit.function_derivations import plan_of, probed_plans
from course.audit.subject import Subject
from course.judge.api import CheckPlan, Judgement, Verdict
from course.judge.submission import build_request, student_setup
from course.judge.verdicts import judge_function
from judge_runtime.probe import answer_request

# An exact function's answer differs from the solution's when an entry is off by more than this
# share of the largest entry of its array: arithmetic in another order is off by about 1e-15, a
# judge's tolerance (Lab 3's: 1e-7) lies between.
DIFFERS = 1e-6


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
