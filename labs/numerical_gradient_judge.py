"""The trusted judge's part (``course.judge.api.LabJudge``) for a student's own
``numerical_gradient(f, x)``: called on hidden smooth functions (``helpers.smooth_functions``)
in the judge's probe (``judge_runtime.probe``), its answers judged here against the true
gradients (``helpers.numerical_check``), which never reach the sandbox."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.judge.api import CheckPlan, Judgement, Verdict
from course.outcomes import error_outcome
from helpers import numerical_check
from judge_runtime.probe import as_arrays
from labs.backprop_judge import WITHHELD_HELPERS, seed_of


class NumericalGradientJudge:
    """A lab's judging of ``numerical_gradient`` on the hidden cases ``hidden_cases(seed)``
    (``helpers.smooth_functions.smooth_cases`` drawn from seeds of the lab's own)."""

    graded_cell = "numerical_gradient"
    function = "numerical_gradient"
    trusted_cells = ("provided_functions",)
    probe = ("helpers.smooth_functions", "call_numerical_gradient")
    answer_names: tuple[str, ...] = ()  # the truth never leaves this process
    own_work_kinds = ("numerical",)
    withheld_helpers = WITHHELD_HELPERS

    def __init__(self, hidden_cases: Callable[[int], list[dict]]):
        self.hidden_cases = hidden_cases
        self.checks: dict = {
            "check_numerical_gradient": (
                numerical_check.check_numerical_gradient,
                lambda a: ("numerical", seed_of(a)),
            )
        }

    def cases(self, seed: int) -> list[dict]:
        """The hidden cases of ``seed`` (``helpers.smooth_functions.smooth_cases``)."""
        return self.hidden_cases(seed)

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """The probe's part of the request: the trusted caller and every case of every seed."""
        return {
            "probe": list(self.probe),
            "cases": [_as_lists(case) for seed in plan.seeds for case in self.cases(seed)],
        }

    def verdicts(
        self,
        plan: CheckPlan,
        request: dict,
        cases: list[dict],
        later: dict[str, dict],
        problem: str | None,
    ) -> Judgement:
        """Each planned cell's verdict: right on every case of its seed, or what went wrong
        on the first it got wrong."""
        by_seed: dict[int, list[tuple[dict, dict]]] = {}
        answers = iter(cases)
        for seed in plan.seeds:
            by_seed[seed] = [(case, next(answers)) for case in self.cases(seed)]
        verdicts = {}
        for grade_id, (_, seed) in plan.cells.items():
            verdicts[grade_id] = Verdict(True, "numerical_gradient is right on every hidden case.")
            for case, answer in by_seed[seed]:
                if error := answer.get("error"):
                    verdicts[grade_id] = Verdict(
                        False,
                        f"numerical_gradient raised {error} on a hidden function of x with "
                        f"shape {np.shape(case['x'])}.",
                        error_outcome(str(error)),
                    )
                    break
                if why := numerical_check.answer_problem(case, answer, "a hidden"):
                    verdicts[grade_id] = Verdict(False, why)
                    break
        return Judgement(verdicts, [problem] if problem else [])

    def suspicions(self, answers: list[dict], request: dict) -> list[str]:
        """What it was seen to do that makes it not the student's own work: call the graders'
        own numerical gradient (withheld), or return the right gradient of a function it
        called fewer times than the function has entries (so it did not difference it)."""
        found = set()
        for answer in answers:
            for case, given in zip(answer.get("cases") or [], request["cases"], strict=False):
                if isinstance(called := case.get("withheld_call"), str):
                    found.add(f"it called {called} (the graders' own answers) while judged")
                calls, entries = case.get("calls"), int(np.size(given["x"]))
                if (
                    isinstance(calls, int)
                    and calls < entries
                    and numerical_check.answer_problem(as_arrays(given), case) is None
                ):
                    found.add(
                        f"it returned the right gradient of a function of {entries} entries "
                        f"after calling it {calls} times, too few to difference it"
                    )
        return sorted(found)

    def training_reached(self) -> None:
        """No training: nothing to stop early."""
        return None


def _as_lists(case: dict) -> dict:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in case.items()}
