"""What a lab's judge declares and returns: the plug-in API ``labs/<lab>/judge.py`` imports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from course.outcomes import TestOutcome


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one grade cell: whether it passed, what the student reads, and
    how it went (``kind``; None: correct when it passed, a wrong value when not)."""

    passed: bool
    message: str = ""
    kind: TestOutcome | None = None

    @property
    def outcome(self) -> TestOutcome:
        """How the test went, as the report counts it."""
        if self.passed:
            return TestOutcome.CORRECT
        return self.kind or TestOutcome.WRONG


@dataclass
class Judgement:
    """Every judged grade cell's verdict, and what made the judging unsure (for a flag)."""

    verdicts: dict[str, Verdict]
    problems: list[str] = field(default_factory=list)
    misconceptions: dict[str, str] = field(default_factory=dict)  # grade_id: misconception key
    cause: str = ""  # one reason every verdict failed (the graded cell cannot run), if any
    caused: set[str] = field(default_factory=set)  # the grade cells that cause failed
    # grade_id: answer_digest of its first wrong value (course.similarity: identical mistakes)
    wrong_answers: dict[str, str] = field(default_factory=dict)
    cases_digest: str = ""  # of the hidden cases judged (course.judge.plan.cases_digest)


class LabJudge(Protocol):
    """A lab's part of the judge, declared by the lab (``labs/<lab>/judge.py``)."""

    graded_cell: str  # the solution cell the judge re-runs
    function: str  # the function that cell defines, which the checks test
    trusted_cells: tuple[str, ...]  # the instructor's cells run before the student's
    # every name of a hidden case's truth that a check judges (never sent before it is due)
    answer_names: tuple[str, ...]
    # helpers files that compute answers (true gradients, numerical ones): withheld from the
    # process that runs the student's code for the judge (course.sandbox.files.WITHHELD_MODULE)
    withheld_helpers: tuple[str, ...]
    # check function name: (the function, for its signature; what a call judges, from its
    # bound arguments, as a tuple whose last item is the hidden cases' seed, or a kind
    # alone; raises PlanError for arguments it cannot judge)
    checks: dict[str, tuple[Callable[..., Any], Callable[[dict[str, Any]], tuple[Any, ...]]]]
    # the kinds of what a check judges (the first item of its tuple) that earn nothing when the
    # graded function looks like it is not the student's own work
    own_work_kinds: tuple[str, ...]

    def cases(self, seed: int) -> tuple[tuple[dict[str, Any], dict[str, Any]], ...]:
        """The hidden cases of ``seed``: (arguments, true values) by name."""

    def request(self, plan: CheckPlan, graded: str) -> dict[str, Any]:
        """The lab's part of the runner's request (see judge_runtime.runner)."""

    def verdicts(
        self,
        plan: CheckPlan,
        request: dict[str, Any],
        cases: list[dict[str, Any]],
        later: dict[str, dict[str, Any]],
        problem: str | None,
    ) -> Judgement:
        """Every planned cell's verdict from the runner's results: one per hidden case, and
        the later phases' answers that came, by phase (``training``, ``lines``)."""

    def suspicions(self, answers: list[dict[str, Any]], request: dict[str, Any]) -> list[str]:
        """Why the answers (to ``request``) suggest the graded function is not the student's
        own work."""

    # A judge that calls its function once per case (judge_runtime.probe) names the trusted
    # function that calls it, as (module, function), and may answer the values its cases'
    # functions ask for (asked(plan): (case number, point) -> value, or None); a judge without
    # a probe judges step by step (judge_runtime.runner). See labs/probe_judge.py.

    def training_reached(self) -> Callable[[dict[str, Any]], bool] | None:
        """When the judge's training run may stop before its last epoch: true of the
        parameters (by name) once what the training is judged on is reached; None to run
        every epoch."""


@dataclass(frozen=True)
class CheckPlan:
    """What to judge: the lab's judge, trusted code, and what each grade cell judges (a tuple
    from the lab's checks: ``("step", name, seed)``, ``("whole", seed)``, ``("training",)``).

    A lab that grades more than one function has a judge for each (``LabDeclaration.judges``):
    the plan is its first judge's, and ``others`` the plans of the rest, each judged in a
    process of its own."""

    judge: LabJudge
    trusted_code: str
    cells: dict[str, tuple[Any, ...]]
    others: tuple[CheckPlan, ...] = ()
    # In a student's own plan (for_student): a seed whose cases are the same for everyone, on
    # which a wrong answer's fingerprint is taken (course.similarity compares students by it).
    common_seed: int | None = None

    @property
    def seeds(self) -> list[int]:
        return sorted({args[-1] for _, *args in self.cells.values() if args})

    def for_student(self, seed_of: Callable[[int], int]) -> CheckPlan:
        """This plan with every hidden test's seed replaced by ``seed_of(seed)`` (a student's
        own: course.case_keys.student_seed), for this plan and the others."""

        def moved(check: tuple[Any, ...]) -> tuple[Any, ...]:
            kind, *args = check
            return (kind, *args[:-1], seed_of(args[-1])) if args else check

        return CheckPlan(
            self.judge,
            self.trusted_code,
            {grade_id: moved(check) for grade_id, check in self.cells.items()},
            tuple(plan.for_student(seed_of) for plan in self.others),
            common_seed=min(self.seeds, default=None),
        )

    def every(self) -> tuple[CheckPlan, ...]:
        """This plan and the others: one per graded function."""
        return (self, *self.others)

    def all_cells(self) -> dict[str, tuple[Any, ...]]:
        """What each grade cell of every graded function judges."""
        return {grade_id: check for plan in self.every() for grade_id, check in plan.cells.items()}


class PlanError(ValueError):
    """A grade cell of the instructor's notebook that the judge could not plan: grading it
    would silently leave its points to the student's own kernel."""


def function_name(said: object) -> str:
    """``said``, a function's name in a runner's answer, if it is one; else empty (the
    runner's text is the student's to forge, and must not reach a message)."""
    return said if isinstance(said, str) and said.isidentifier() and len(said) <= 40 else ""
