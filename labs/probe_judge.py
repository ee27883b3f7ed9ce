"""The trusted judge's part (``course.judge.api.LabJudge``) for a graded function the judge calls
rather than splits into steps: a trusted probe (``judge_runtime.probe``) calls it once per hidden
case in a sandbox and sends back plain data; the lab's check decides here, against truths that
never reach the sandbox, whether each answer is right. Lab 1's ``numerical_gradient`` and Lab 2's
``train`` are judged this way (``labs/numerical_gradient_judge.py``, ``labs/train_judge.py``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.judge.api import CheckPlan, Judgement, Verdict
from course.outcomes import TestOutcome, error_outcome
from labs.backprop_judge import seed_of


class ProbeJudge:
    """The judging of ``function`` (defined by the solution cell of that name): the check a
    test cell calls (``check(function, seed=N)``), the probe that calls it (module, name), the
    hidden cases of a seed, why an answer is wrong (``problem(case, answer, "a hidden")``:
    None when right), what a case is (``described(case)``: for the message of a call that
    raised), and what in an answer shows it is not the student's own work (``suspicious(case,
    answer)``: None when nothing does). A case whose function must not reach the sandbox is
    sent as ``private(case)`` (what the probe may hold of it) and the probe asks for its values
    at points (``value(case, point)``), answered here.

    The probe may also be given other functions of the student's (``uses``, by name: a
    backward function's own forward, which made its cache), and trusted code of the lab's
    (``trusted``: a label and the code, which never reaches the students' package), some of
    whose names stand in for theirs (``substitutes``, so that a function that calls earlier
    ones is judged with the true ones). A wrong answer that is a
    known mistake is named by ``mistake(case, answer)`` (a key of ``misconceptions``, whose
    questions ``problem`` asks), for the cohort's report. A wrong answer the function may not
    be to blame for (``unsure(case, answer)``: why) is not graded, and flagged for review."""

    trusted_cells = ("provided_functions",)
    answer_names: tuple[str, ...] = ()  # the truths never leave this process

    def __init__(
        self,
        function: str,
        check: Callable,
        probe: tuple[str, str],
        hidden_cases: Callable[[int], list[dict]],
        problem: Callable[[dict, dict, str], str | None],
        described: Callable[[dict], str],
        withheld_helpers: tuple[str, ...],
        suspicious: Callable[[dict, dict], str | None] = lambda case, answer: None,
        private: Callable[[dict], dict] | None = None,
        value: Callable[[dict, np.ndarray], float] | None = None,
        uses: tuple[str, ...] = (),
        trusted: tuple[str, str] | None = None,
        substitutes: tuple[str, ...] = (),
        mistake: Callable[[dict, dict], str | None] = lambda case, answer: None,
        misconceptions: tuple = (),
        answers_exact: bool = False,
        unsure: Callable[[dict, dict], str | None] = lambda case, answer: None,
    ):
        self.graded_cell = self.function = function
        self.probe = probe
        self.hidden_cases = hidden_cases
        self.problem = problem
        self.described = described
        self.withheld_helpers = withheld_helpers
        self.suspicious = suspicious
        self.private = private
        self.value = value
        self.uses = uses
        self.trusted = trusted
        self.substitutes = substitutes
        self.mistake = mistake
        self.misconceptions = misconceptions
        # each answer a value the truth fixes (a layer's output), not one of many right ones (a
        # trained network's weights): the audit then holds any other answer to be wrong
        self.answers_exact = answers_exact
        # why a wrong answer may not be the function's own fault (then not graded, and flagged)
        self.unsure = unsure
        self.own_work_kinds = (function,)
        self.checks: dict = {check.__name__: (check, lambda a: (function, seed_of(a)))}

    def cases(self, seed: int) -> list[dict]:
        """The hidden cases of ``seed``."""
        return self.hidden_cases(seed)

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """The probe's part of the request: the trusted caller and every case of every seed."""
        sent = self.private or (lambda case: case)
        return {
            "probe": list(self.probe),
            "cases": [_as_lists(sent(case)) for seed in plan.seeds for case in self.cases(seed)],
            "asks": self.value is not None,
            "uses": list(self.uses),
            "trusted": list(self.trusted) if self.trusted else None,
            "substitutes": list(self.substitutes),
            "seeds": plan.seeds,  # the cases' (for suspicions: the cases sent may be private)
        }

    def asked(self, plan: CheckPlan) -> Callable[[int, list], float] | None:
        """What answers the probe's questions: ``value`` of the request's case ``number`` at a
        point, which raises ValueError for a point it does not take, as it does in a kernel."""
        if self.value is None:
            return None
        value = self.value
        cases = [case for seed in plan.seeds for case in self.cases(seed)]
        return lambda number, point: value(cases[number], np.array(point, dtype=np.float64))

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
        answers = iter(cases)
        by_seed = {
            seed: [(case, next(answers)) for case in self.cases(seed)] for seed in plan.seeds
        }
        verdicts, named, problems = {}, {}, [problem] if problem else []
        for grade_id, (_, seed) in plan.cells.items():
            verdicts[grade_id] = Verdict(True, f"{self.function} is right on every hidden case.")
            for case, answer in by_seed[seed]:
                error = answer.get("error")
                blank = bool(error) and error_outcome(str(error)) is TestOutcome.BLANK
                wrong = error or self.problem(case, answer, "a hidden")
                if wrong and not blank and (why_unsure := self.unsure(case, answer)):
                    verdicts[grade_id] = Verdict(
                        False,
                        f"Not graded: {why_unsure}. The instructor will review it.",
                        TestOutcome.NOT_GRADED,
                    )
                    problems.append(f"{self.function} could not be judged: {why_unsure}")
                    break
                if error := answer.get("error"):
                    verdicts[grade_id] = Verdict(
                        False,
                        f"{self.function} raised {error} {self.described(case)}.",
                        error_outcome(str(error)),
                    )
                    break
                if why := self.problem(case, answer, "a hidden"):
                    verdicts[grade_id] = Verdict(False, _sentence(why))
                    if key := self.mistake(case, answer):
                        named[grade_id] = key
                    break
        return Judgement(verdicts, problems, misconceptions=named)

    def suspicions(self, answers: list[dict], request: dict) -> list[str]:
        """What it was seen to do that makes it not the student's own work: call the graders'
        withheld functions, or what the lab's check finds suspicious in an answer."""
        found = set()
        cases = [case for seed in request["seeds"] for case in self.cases(seed)]
        for answer in answers:
            for case, full in zip(answer.get("cases") or [], cases, strict=False):
                if isinstance(called := case.get("withheld_call"), str):
                    found.add(f"it called {called} (the graders' own answers) while judged")
                if why := self.suspicious(full, case):
                    found.add(why)
        return sorted(found)

    def training_reached(self) -> None:
        """No training of the judge's own: nothing to stop early."""
        return None


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?")) else text + "."


def _as_lists(case: dict) -> dict:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in case.items()}
