"""The judge's verdict on one submitted notebook: its plan, its runner's answers, the lab's
verdicts, and what it saw while judging."""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat

from course.case_keys import student_seed
from course.diagnosis import describe_definition_error
from course.judge.api import CheckPlan, Judgement, Verdict
from course.judge.conversation import LATER_PHASES
from course.judge.plan import cached_plan, cases_digest
from course.judge.review import code_reached, review_reasons
from course.judge.runner import BUDGETS, run_in_clean_room, run_probe_in_clean_room
from course.judge.submission import build_request, student_setup
from course.outcomes import TestOutcome, error_outcome
from course.sandbox.limits import DEFAULT_LIMITS, Limits

NOT_GRADED = TestOutcome.NOT_GRADED


def judge_answers(
    plan: CheckPlan, request: dict, answers: list[dict], problem: str | None
) -> Judgement:
    """Each planned grade cell's verdict from the runner's answer lines: the lab's verdicts
    once the graded cell ran on every case, else one shared cause for every cell."""
    cases_answer = next((a for a in answers if a.get("phase") == "cases"), None)
    later = {a["phase"]: a for a in answers if a.get("phase") in dict(LATER_PHASES)}
    problems = [problem] if problem else []
    if cases_answer is None:
        why = problem or "the re-check gave no answer"
        return Judgement(
            {g: Verdict(False, f"Not graded: {why}.", NOT_GRADED) for g in plan.cells},
            problems or [why],
            cause=f"not graded: {why}",
            caused=set(plan.cells),
        )
    definition_error = cases_answer.get("definition_error")
    cases = cases_answer.get("cases") or []
    if definition_error or len(cases) != len(request["cases"]):
        why = definition_error or "the re-check returned the wrong number of cases"
        cell = plan.judge.graded_cell
        message = f"Your {cell} cell could not be run: {why}"
        kind = error_outcome(why) if definition_error else NOT_GRADED
        return Judgement(
            {g: Verdict(False, message, kind) for g in plan.cells},
            problems,
            cause=describe_definition_error(why, cell),
            caused=set(plan.cells),
        )
    try:
        return plan.judge.verdicts(plan, request, cases, later, problem)
    except Exception as error:  # numbers of a shape the lab did not expect: fail closed
        why = f"the re-check's answer was malformed ({type(error).__name__})"
        return Judgement(
            {g: Verdict(False, f"Not graded: {why}.", NOT_GRADED) for g in plan.cells},
            [*problems, why],
            cause=f"not graded: {why}",
            caused=set(plan.cells),
        )


def judge_submission(
    source_notebook: Path,
    submitted: nbformat.NotebookNode,
    oracle_costs_points: bool = True,
    budgets: tuple[float, float, float] = BUDGETS,
    limits: Limits = DEFAULT_LIMITS,
    case_key: str | None = None,
) -> Judgement:
    """The judge's verdict on every planned grade cell of one submitted notebook: each graded
    function's re-check run within ``budgets`` and ``limits`` (see :func:`run_in_clean_room`),
    one after the other, their judgements merged. With ``case_key`` (the student's:
    course.case_keys), on the student's own hidden cases; without, on the notebook's seeds."""
    source_nb = nbformat.read(source_notebook, as_version=4)
    plan = cached_plan(source_notebook)
    if case_key is not None:
        plan = plan.for_student(functools.partial(student_seed, case_key))
    judgements = [
        judge_function(function_plan, source_nb, submitted, oracle_costs_points, budgets, limits)
        for function_plan in plan.every()
    ]
    merged = judgements[0]
    merged.cases_digest = cases_digest(plan)
    for judgement in judgements[1:]:
        merged.verdicts.update(judgement.verdicts)
        merged.problems += judgement.problems
        merged.misconceptions.update(judgement.misconceptions)
        merged.wrong_answers.update(judgement.wrong_answers)
        merged.cause = merged.cause or judgement.cause
        merged.caused |= judgement.caused
    return merged


def judge_function(
    plan: CheckPlan,
    source_nb: nbformat.NotebookNode,
    submitted: nbformat.NotebookNode,
    oracle_costs_points: bool = True,
    budgets: tuple[float, float, float] = BUDGETS,
    limits: Limits = DEFAULT_LIMITS,
) -> Judgement:
    """The verdict on the grade cells of ``plan`` (one graded function) of one submission."""
    cell = plan.judge.graded_cell
    setup, graded = student_setup(source_nb, submitted, cell, plan.cells)
    if graded is None:
        message = f"Not graded: the submission has no {cell} cell."
        return Judgement(
            {g: Verdict(False, message, NOT_GRADED) for g in plan.cells},
            [message],
            cause=f"the submission has no {cell} cell",
            caused=set(plan.cells),
        )
    request = build_request(plan, setup, graded)
    if getattr(plan.judge, "probe", None):  # a function called once a case (LabJudge.probe)
        asked = getattr(plan.judge, "asked", None)
        answers, problem = run_probe_in_clean_room(
            request, budgets[0], limits, asked(plan) if asked else None
        )
    else:
        answers, problem = run_in_clean_room(
            request, plan.judge.answer_names, budgets, limits, plan.judge.training_reached()
        )
    judgement = judge_answers(plan, request, answers, problem)
    try:
        suspicions = plan.judge.suspicions(answers, request)
    except Exception as error:  # a malformed answer is itself suspicious
        suspicions = [
            f"its re-check answered in a shape the judge does not expect ({type(error).__name__})"
        ]
    # Seen while judged (LabJudge.suspicions): points withheld, and a flag naming it.
    if suspicions:
        reason = f"{cell} may not be the student's own work: " + "; ".join(suspicions)
        judgement.problems.append(reason)
        if oracle_costs_points and not judgement.cause:  # a cause already explains every zero
            for grade_id, (kind, *_) in plan.cells.items():
                if kind in plan.judge.own_work_kinds:
                    judgement.verdicts[grade_id] = Verdict(
                        False, f"Not credited: {reason}. The instructor will review it."
                    )
    # Read in its code (and the code of the student's it calls): a flag for review only.
    if reasons := review_reasons(
        code_reached(setup, plan.judge.function, request["graded_label"]),
        (*plan.judge.withheld_helpers, *_probe_files(plan.judge)),
    ):
        judgement.problems.append(f"for review, {cell}'s code: " + "; ".join(reasons))
    return judgement


def _probe_files(judge) -> tuple[str, ...]:
    """The helpers file of a judge's probe (``LabJudge.probe``): the code that calls the graded
    function while judged, which a student's code has no reason to touch."""
    module = (getattr(judge, "probe", None) or ("",))[0]
    return (f"{module.split('.', 1)[1]}.py",) if module.startswith("helpers.") else ()


def solution_draw_problems(source_notebook: Path, case_key: str) -> list[str]:
    """What keeps the instructor's solution (``source_notebook`` itself) from full marks on the
    hidden cases of the student whose case key is ``case_key``: each failed grade cell with
    its message, and what made the judge unsure; empty when nothing does."""
    solution = nbformat.read(source_notebook, as_version=4)
    judgement = judge_submission(source_notebook, solution, case_key=case_key)
    failed = [
        f"{grade_id}: {verdict.message}"
        for grade_id, verdict in judgement.verdicts.items()
        if not verdict.passed
    ]
    return failed + judgement.problems
