"""Lab 2's part of the trusted judge: a batched backprop, judged step by step as Lab 1's
(``labs.backprop_judge``) on the hidden batches of ``labs/lab2/hidden.py``, and one more check:
that it runs no loop over the samples (``helpers.lab2.check_no_loop_over_samples``: lines and
arrays counted by the runner on two batch sizes of the judge's own); and the student's
mini-batch SGD, ``train``, on hidden data sets (``labs.train_judge``)."""

from __future__ import annotations

import functools

from course.judge.api import CheckPlan, Verdict
from course.outcomes import TestOutcome, error_outcome
from helpers import lab2
from labs.backprop_judge import BackpropJudge
from labs.lab2.hidden import LINE_COUNT_SEED, LINE_COUNT_SIZES, hidden_cases, hidden_sgd_cases
from labs.lab2.misconceptions import MISCONCEPTIONS
from labs.train_judge import train_judge


class Lab2Judge(BackpropJudge):
    """Lab 1's judging for a batch, and the loop check."""

    # Copying another's loop-free code, or switching the line count off, is not one's own work.
    own_work_kinds = ("step", "vectorized")

    def __init__(self):
        super().__init__(
            lab2,
            lab2.LAB2,
            hidden_cases,
            MISCONCEPTIONS,
        )
        self.checks["check_no_loop_over_samples"] = (
            lab2.check_no_loop_over_samples,
            lambda a: ("vectorized",),
        )

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """Lab 1's request, and the two batches whose lines the runner counts."""
        request = super().request(plan, graded)
        if any(kind == "vectorized" for kind, *_ in plan.cells.values()):
            request["line_counts"], request["line_count_truths"] = _line_count_batches()
        return request

    def later_verdict(self, kind: str, later: dict[str, dict], problem: str | None) -> Verdict:
        if kind != "vectorized":
            return super().later_verdict(kind, later, problem)
        if "lines" not in later:
            return Verdict(
                False,
                f"Not graded: {problem or 'the line count never came'}.",
                TestOutcome.NOT_GRADED,
            )
        answer = later["lines"]
        counts = (
            answer.get("lines"),
            answer.get("own_lines"),
            answer.get("arrays"),
            answer.get("allocations"),
        )
        passed, message = lab2.loop_verdict(
            counts[0], answer.get("error"), LINE_COUNT_SIZES, answer.get("interfered"), *counts[1:]
        )
        if answer.get("interfered"):
            outcome = None  # not credited: counted as a wrong value
        elif answer.get("error"):
            outcome = error_outcome(str(answer["error"]))
        elif not lab2.counts_came_back(*counts):
            outcome = TestOutcome.NOT_GRADED
        else:
            outcome = None
        return Verdict(passed, message, outcome)

    def suspicions(self, answers: list[dict], request: dict) -> list[str]:
        """Lab 1's, and a line count interfered with, or too long for matrix operations."""
        found = super().suspicions(answers, request)
        for answer in answers:
            if answer.get("phase") != "lines":
                continue
            if answer.get("interfered"):
                found.append(f"{answer['interfered']} (the loop check's line count)")
            own = answer.get("own_lines")
            # as many lines of its own for the larger batch, and too many: a loop of a fixed
            # length, or numerical differentiation (a loop over the samples only fails the loop
            # check; what numpy runs inside a call is no one's suspicion)
            if (
                isinstance(own, list)
                and len(own) == 2
                and all(isinstance(c, int) for c in own)
                and lab2.MAX_LINES < own[0] >= own[1]
            ):
                found.append(
                    f"it runs {own[0]} lines of its own Python per call, more than "
                    "matrix operations need (a loop of its own, or numerical "
                    "differentiation?)"
                )
        return found


@functools.cache
def _line_count_batches() -> tuple[list[dict], list[dict]]:
    """The loop check's batches and their true values (the same for every student: made once
    per grading process)."""
    batches = lab2.line_count_batches(LINE_COUNT_SIZES, LINE_COUNT_SEED)
    return (
        [{k: v.tolist() for k, v in batch.items()} for batch in batches],
        lab2.line_count_truths(batches),
    )


JUDGE = Lab2Judge()
TRAIN_JUDGE = train_judge(hidden_sgd_cases)
