"""Each derived submission judged, and its verdicts held against what its derivation implies.

The judging is the grader's own (``course.judge.verdicts.judge_function``: the sandboxed runner,
the lab's judge, the own-work checks), called directly rather than through nbgrader: the
student's kernel, the comparison of its visible tests with the judge and the gradebook are
left to the full pipeline, run on a sample (:mod:`course.audit.pipeline`).

Whether a mutant really changes its step is decided here, independently of the judge: the
mutant is run (trusted: it is the instructor's solution, changed) on every hidden case of its
step, and the step's value, right after its statement, is compared with the true value. A
mutant that computes the true value is *equivalent*, and must then earn full marks.
"""

from __future__ import annotations

import ast
import concurrent.futures
import copy
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course.audit.derived import DECLARED, MUTANT, Derived
from course.audit.subject import Subject, load_subject
from course.audit.syntax import function_node
from course.judge.verdicts import judge_function
from judge_runtime.steps import written_names

AS_IMPLIED, EQUIVALENT = "as implied", "equivalent"
OVER_PENALISED, MISSED, MISNAMED, FLAGGED, CRASHED = (
    "over-penalised",
    "missed",
    "misnamed",
    "flagged",
    "crashed",
)
FAULTS = (OVER_PENALISED, MISSED, MISNAMED, FLAGGED, CRASHED)
# A step's value equals the truth when every entry is within this fraction of the largest true
# entry: float64 code that computes the same in another order differs by about 1e-15.
EQUAL_TO_SCALE = 1e-9
RECORDED = "_course_audit_recorded_"


@dataclass(frozen=True)
class Finding:
    """One derived submission's judging, and whether it is what its derivation implies."""

    derived: Derived
    outcome: str  # AS_IMPLIED, EQUIVALENT or one of FAULTS
    failed: tuple[str, ...] = ()  # the grade ids the judge failed
    problems: tuple[str, ...] = ()  # what would flag the student
    misconceptions: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)  # of the failed cells
    why: str = ""  # what is wrong, for a fault

    @property
    def fault(self) -> bool:
        return self.outcome in FAULTS


def _recording(code: str, function: str, step: str):
    """``code`` compiled with a copy of ``step``'s value recorded after each top-level
    statement of ``function`` that writes it."""
    tree = ast.parse(code)
    node = function_node(tree, function)
    body = []
    for statement in node.body:
        body.append(statement)
        if step in written_names(statement):
            body.append(ast.parse(f"{RECORDED}.append(np.array({step}, copy=True))").body[0])
    node.body = body
    return compile(ast.fix_missing_locations(tree), "<derived>", "exec")


def step_values(subject: Subject, code: str, own_cell: str, step: str) -> list:
    """``step``'s value right after its last statement, on every hidden case the judge's plan
    uses, when ``code`` (and ``own_cell`` above it) is run; None for a case it raised on or
    never wrote the step."""
    function = subject.steps.function
    compiled = _recording(code, function, step)
    values = []
    for seed in subject.plan.seeds:
        for arguments, _ in subject.plan.judge.cases(seed):
            namespace = dict(subject.steps.globals_)
            recorded: list = []
            namespace[RECORDED] = recorded
            try:
                if own_cell:
                    exec(compile(own_cell, "<own cell>", "exec"), namespace)
                exec(compiled, namespace)
                with np.errstate(all="ignore"):
                    namespace[function](**copy.deepcopy(arguments))
            except Exception:
                recorded = []
            values.append(np.asarray(recorded[-1], dtype=np.float64) if recorded else None)
    return values


_SOLUTION_VALUES: dict[tuple[Path, str, str], list] = {}


def step_differs(subject: Subject, derived: Derived, step: str) -> bool:
    """Whether ``derived`` gives ``step`` another value than the solution does on any hidden
    case (raising, a different shape or a value not finite counts as other). Compared with
    the solution run the same way, not with the judge's truth: the question is what the code
    computes, apart from the judge."""
    key = (subject.root, subject.lab, step)
    if key not in _SOLUTION_VALUES:
        _SOLUTION_VALUES[key] = step_values(subject, subject.steps.code, "", step)
    mine = step_values(subject, derived.code, derived.own_cell, step)
    for value, true in zip(mine, _SOLUTION_VALUES[key], strict=True):
        if value is None or value.shape != true.shape or not np.all(np.isfinite(value)):
            return True
        scale = float(np.max(np.abs(true), initial=0.0)) or 1.0
        if np.max(np.abs(value - true), initial=0.0) > EQUAL_TO_SCALE * scale:
            return True
    return False


def changed_steps(subject: Subject, derived: Derived) -> list[str]:
    """The steps of ``derived``'s mutated statement whose value it changes."""
    return [step for step in derived.steps if step_differs(subject, derived, step)]


def planted_outcome(
    derived: Derived, failed: set[str], problems: list[str], misconceptions: dict[str, str]
) -> tuple[str, str] | None:
    """``(outcome, why)`` when a flag or the lab's own planting decides it (a flag is always a
    fault; a declared submission must fail what it plants and name its misconception); None
    for a rewrite or mutant that is not flagged."""
    if problems:
        return FLAGGED, "flagged: " + "; ".join(problems)
    if derived.kind != DECLARED:
        return None
    if failed != set(derived.expected_failures):
        return OVER_PENALISED if failed - derived.expected_failures else MISSED, (
            f"failed {sorted(failed)}, planted {sorted(derived.expected_failures)}"
        )
    if derived.misconception and derived.misconception not in misconceptions.values():
        return MISNAMED, (
            f"named {sorted(set(misconceptions.values())) or 'none'}, "
            f"planted {derived.misconception}"
        )
    return AS_IMPLIED, ""


def implied(
    subject: Subject,
    derived: Derived,
    failed: set[str],
    problems: list[str],
    misconceptions: dict[str, str],
) -> tuple[str, str]:
    """``(outcome, why)``: the judging of ``derived`` held against its derivation."""
    if outcome := planted_outcome(derived, failed, problems, misconceptions):
        return outcome
    changed = changed_steps(subject, derived) if derived.kind == MUTANT else []
    if changed:
        own = set().union(*(subject.cells_of("step", step=step) for step in changed))
        allowed = own | subject.cells_of("whole", "training")
        if missed := [s for s in changed if not subject.cells_of("step", step=s) <= failed]:
            return MISSED, f"{' and '.join(missed)} changed, and its check passed"
        if failed - allowed:
            return OVER_PENALISED, (
                f"one mistake in {' and '.join(changed)} also failed {sorted(failed - allowed)}"
            )
        return AS_IMPLIED, ""
    if failed:
        return OVER_PENALISED, f"computes the solution's values, and failed {sorted(failed)}"
    return (EQUIVALENT if derived.kind == MUTANT else AS_IMPLIED), ""


def judge_derived(subject: Subject, derived: Derived) -> Finding:
    """``derived`` judged by the grader's judge, and held against its derivation."""
    if derived.cell:  # a function judged by calling it (imported here: it builds on this module)
        from course.audit.functions import judge_derived_function

        return judge_derived_function(subject, derived)
    try:
        judgement = judge_function(subject.plan, subject.source, subject.notebook(derived))
        failed = {g for g, v in judgement.verdicts.items() if not v.passed}
        outcome, why = implied(
            subject, derived, failed, judgement.problems, judgement.misconceptions
        )
    except Exception as error:  # the audit reports it with the submission that caused it
        return Finding(derived, CRASHED, why=f"{type(error).__name__}: {error}")
    return Finding(
        derived,
        outcome,
        tuple(sorted(failed)),
        tuple(judgement.problems),
        dict(judgement.misconceptions),
        {g: judgement.verdicts[g].message for g in sorted(failed)},
        why,
    )


_SUBJECTS: dict[tuple[Path, str], Subject] = {}


def _judge_in_worker(root: Path, lab: str, derived: Derived) -> Finding:
    key = (root, lab)
    if key not in _SUBJECTS:
        _SUBJECTS[key] = load_subject(root, lab)
    return judge_derived(_SUBJECTS[key], derived)


def _runner_stderr_to_log() -> None:
    """In an audit's worker process: what the judge's runner wrote to its stderr goes to the
    worker's, so that a re-check that ended early says why (the code is the instructor's)."""
    from course.judge import runner

    runner.RUNNER_STDERR_TO_LOG = True


def judge_all(subject: Subject, derived: list[Derived], workers: int) -> Iterator[Finding]:
    """Each of ``derived`` judged, ``workers`` at a time (processes of their own: each holds
    a sandbox user of its own, as grading processes do), in order."""
    if workers <= 1:
        for item in derived:
            yield judge_derived(subject, item)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_runner_stderr_to_log
    ) as pool:
        yield from pool.map(
            _judge_in_worker, [subject.root] * len(derived), [subject.lab] * len(derived), derived
        )
