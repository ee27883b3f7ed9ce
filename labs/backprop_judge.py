"""Lab 1's part of the trusted judge (``course.cleanroom``): what its checks judge, the hidden
cases with their true values, what the runner is asked, and the verdicts on its answers.

The checks a test cell may call and what each judges (a step, the returned gradients, a
training run) come from ``helpers.lab1``, the same functions the notebook's visible tests run,
so the notebook and the judge cannot drift apart.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from course.cleanroom import CheckPlan, Judgement, PlanError, Verdict
from course.misconceptions import Misconception, identify
from helpers import lab1, network
from helpers.steps import split_steps
from labs.lab1.hidden import hidden_cases
from labs.lab1.misconceptions import MISCONCEPTIONS

HIDDEN = "on every hidden case"
# A backprop calls each provided forward function once or twice; numerical differentiation
# calls them twice per parameter entry (over 100 times).
MAX_FORWARD_CALLS = 10


def _step(arguments: dict) -> tuple:
    if arguments["name"] not in lab1.STEP_NAMES:
        raise PlanError(f"{arguments['name']!r} is not a step ({', '.join(lab1.STEP_NAMES)})")
    return ("step", arguments["name"], _seed(arguments))


def _seed(arguments: dict) -> int:
    if not isinstance(arguments["seed"], int):
        raise PlanError("the seed must be a whole number")
    return arguments["seed"]


class Lab1Judge:
    """Lab 1's judging: each backprop step on its own, the returned gradients, training."""

    graded_cell = "backprop"  # the solution cell the judge re-runs
    function = "backprop"  # the function it defines, which every check tests
    trusted_cells = ("provided_functions",)  # instructor cells run before the student's
    answer_names = lab1.STEP_NAMES  # the truth a check judges: never sent before it is due
    # The checks (true gradients) and numerical gradients: not importable by the code judged.
    withheld_helpers = ("lab1.py", "gradcheck.py")
    # Each check a test cell may call: the function (for its signature) and what a call judges.
    checks: ClassVar[dict] = {
        "check_step_on_hidden_cases": (lab1.check_step_on_hidden_cases, _step),
        "check_backprop_gradients_on_hidden_cases": (
            lab1.check_backprop_gradients_on_hidden_cases, lambda a: ("whole", _seed(a))),
        "check_training": (lab1.check_training, lambda a: ("training",)),
    }
    misconceptions: tuple[Misconception, ...] = MISCONCEPTIONS

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def cases(seed: int) -> tuple[tuple[dict, dict], ...]:
        """Each hidden case of a test seed as ``(arguments, truth)``: the inputs by parameter
        name, and the true forward values and step values by name (float64 arrays)."""
        cases = []
        for x, t, W1, b1, W2, b2 in hidden_cases(seed):
            forward = network.forward(x, W1, b1, W2, b2)
            truth = {**forward, **lab1.true_gradients(x, t, W1, b1, W2, b2, forward)}
            cases.append(({"x": x, "t": t, "W1": W1, "b1": b1, "W2": W2, "b2": b2}, truth))
        return tuple(cases)

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """The lab's part of the runner's request: the step plan, every case of every seed,
        and the training problem when a cell checks training."""
        steps = lab1.STEP_NAMES
        step_plan = split_steps(graded, self.function, steps)
        cases = [{"args": {k: v.tolist() for k, v in arguments.items()},
                  "truth": {k: v.tolist() for k, v in truth.items()}}
                 for seed in plan.seeds for arguments, truth in self.cases(seed)]
        X, T, params = lab1.training_problem()
        training = {"X": X.tolist(), "T": T.tolist(), "epochs": lab1.TRAINING_EPOCHS,
                    "rate": 1.0, "params": {k: v.tolist() for k, v in params.items()}}
        return {
            "instrumented": step_plan.instrumented if step_plan else None,
            "step_functions": step_plan.step_functions if step_plan else None,
            "steps": list(steps) if step_plan else [],
            "report": [*lab1.FORWARD_NAMES, *steps],
            "cases": cases,
            "training": training if any(k == "training" for k, *_ in plan.cells.values())
            else None,
        }

    def verdicts(self, plan: CheckPlan, request: dict, cases: list[dict],
                 training_answer: dict | None, problem: str | None) -> Judgement:
        """Each planned grade cell's verdict from the runner's results on the hidden cases
        (one per case of the request) and its training answer (None if it never came)."""
        truths = [{k: np.array(v, dtype=np.float64) for k, v in case["truth"].items()}
                  for case in request["cases"]]
        by_seed = _by_seed(plan, cases, truths, self.cases)
        arguments = _by_seed(plan, [{k: np.array(v, dtype=np.float64)
                                     for k, v in case["args"].items()}
                                    for case in request["cases"]], truths, self.cases)
        isolated = bool(request.get("steps"))
        returns_right = all(lab1.returns_verdict(c, t, [], HIDDEN)[0]
                            for c, t in by_seed.values())
        verdicts, step_verdicts, misconceptions = {}, {}, {}
        for grade_id, (kind, *args) in plan.cells.items():
            if kind != "step":
                continue
            name, seed = args
            c, t = by_seed[seed]
            verdict = _verdict(lab1.step_verdict(name, c, t, isolated, returns_right, HIDDEN))
            if not verdict.passed and (found := self._misconception(
                    name, c, t, arguments[seed][0], isolated)):
                misconceptions[grade_id] = found.key
                verdict = Verdict(False, f"{verdict.message} {found.question}")
            step_verdicts[name] = verdicts[grade_id] = verdict
        failing = [name for name in lab1.STEP_NAMES
                   if name in step_verdicts and not step_verdicts[name].passed]
        for grade_id, (kind, *args) in plan.cells.items():
            if kind == "whole":
                c, t = by_seed[args[0]]
                verdicts[grade_id] = _verdict(lab1.returns_verdict(c, t, failing, HIDDEN))
            elif kind == "training":
                if training_answer is None:
                    why = problem or "the re-check ended before training"
                    verdicts[grade_id] = Verdict(False, f"Not graded: {why}.")
                else:
                    verdicts[grade_id] = _training_verdict(training_answer.get("training"))
        return Judgement(verdicts, [problem] if problem else [], misconceptions)

    def suspicions(self, answers: list[dict]) -> list[str]:
        """Why the graded function looks like it differentiates numerically, if it does."""
        calls = max((case.get("full", {}).get("forward_calls", 0) for answer in answers
                     for case in answer.get("cases", [])), default=0)
        if calls > MAX_FORWARD_CALLS:
            return [f"it runs the network's forward functions {calls} times per call "
                    "(differentiating numerically?)"]
        return []

    def _misconception(self, name: str, runs: list[dict], truths: list[dict],
                       arguments: list[dict], isolated: bool) -> Misconception | None:
        """The named misconception the step's first wrong value matches, if any."""
        for run, truth, args in zip(runs, truths, arguments, strict=True):
            ran = run.get("steps", {}).get(name) if isolated else None
            value = (ran.get("value") if ran and ran.get("defined")
                     else lab1.final_value(run, name))
            if value is None:
                return None
            if lab1.compare_values(name, truth[name], value, "") is not None:
                return identify(name, value, {**args, **truth}, lab1.TOLERANCE,
                                self.misconceptions)
        return None


def _verdict(result: tuple[bool, str]) -> Verdict:
    passed, message = result
    return Verdict(passed, message.replace(f"wrong {HIDDEN}", "wrong on a hidden case"))


def _training_verdict(training: dict | None) -> Verdict:
    if not training or "params" not in training:
        error = (training or {}).get("error", "no result")
        return Verdict(False, f"Training with your backprop failed: it raised {error}")
    X, T, before = lab1.training_problem()
    try:
        after = {name: np.array(training["params"][name], dtype=np.float64) for name in before}
        lab1.judge_training(lab1.training_result(X, T, before, after))
    except AssertionError as failure:
        return Verdict(False, str(failure))
    except (KeyError, TypeError, ValueError):
        return Verdict(False, "Training with your backprop gave no usable parameters")
    return Verdict(True, "Training with your backprop lowered the loss and raised the accuracy.")


def _by_seed(plan: CheckPlan, values: list, truths: list[dict], cases) -> dict:
    """``values`` and ``truths`` (one per case, in the request's order) grouped by seed."""
    grouped, position = {}, 0
    for seed in plan.seeds:
        count = len(cases(seed))
        grouped[seed] = (values[position:position + count], truths[position:position + count])
        position += count
    return grouped


JUDGE = Lab1Judge()
