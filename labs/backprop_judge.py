"""The trusted judge's part (``course.judge.api.LabJudge``) for a lab whose students write
``backprop`` step by step: what its checks judge, the hidden cases with their true values, what
the runner is asked, and the verdicts on its answers. Lab 1 (one sample) and Lab 2 (a batch)
are both such labs; each declares its own in ``labs/<lab>/judge.py``.

The checks a test cell may call and what each judges (a step, the returned gradients, a
training run) come from the lab's helpers module (``helpers.lab1``, ``helpers.lab2``): the
same functions the notebook's visible tests run, so the notebook and the judge cannot drift.
"""

from __future__ import annotations

import functools
from typing import cast

import numpy as np

from course.judge.api import CheckPlan, Judgement, PlanError, Verdict, function_name
from course.misconceptions import Misconception, answer_digest, identify, identify_crash
from course.outcomes import TestOutcome, error_outcome
from helpers import lab1, network, step_verdicts
from helpers.backprop_spec import Backprop

HIDDEN = "on every hidden case"
# The helpers files a student's code could get answers from (true or numerical gradients, or the
# checks that compute them): replaced while grading by a module whose every function raises, so
# the code judged cannot import them (tests/unit/test_withheld.py keeps this complete).
WITHHELD_HELPERS = (
    "backprop_spec.py",
    "step_verdicts.py",
    "gradcheck.py",
    "lab1.py",
    "lab2.py",
    "numerical_check.py",
    "sgd_check.py",
    "layers_numerical.py",
    "layers_check.py",
)
# A backprop calls each provided forward function once or twice, or, written with loops, up to
# LOOP_CALLS times per sample and hidden unit; numerical differentiation calls them twice per
# parameter entry, however many samples there are. The most calls of one forward function in
# one call that still count as the student's own (forward_calls_allowed) is the larger of
# MAX_FORWARD_CALLS and the loops' count: so a loop over the samples costs the loop check,
# never an accusation, and a case of one sample still shows numerical differentiation.
MAX_FORWARD_CALLS = 10
LOOP_CALLS = 4


def forward_calls_allowed(arguments: dict, batched: bool) -> int:
    """The most calls of one forward function a backprop of its own may make in one call on
    ``arguments`` (by name, ``W1`` among them): one sample, or for ``batched`` calls each row
    of ``X``."""
    samples = np.shape(arguments["X"])[0] if batched else 1
    units = np.shape(arguments["W1"])[0]
    return max(MAX_FORWARD_CALLS, LOOP_CALLS * samples * units)


def step_check(spec: Backprop):
    """What a call of a step check judges: ``("step", name, seed)``."""

    def judged(arguments: dict) -> tuple:
        if arguments["name"] not in spec.step_names:
            raise PlanError(f"{arguments['name']!r} is not a step ({', '.join(spec.step_names)})")
        return ("step", arguments["name"], seed_of(arguments))

    return judged


def seed_of(arguments: dict) -> int:
    if not isinstance(arguments["seed"], int):
        raise PlanError("the seed must be a whole number")
    return arguments["seed"]


class BackpropJudge:
    """A backprop lab's judging: each step on its own, the returned gradients, training.

    A lab makes one with its helpers module (``checks``: the check functions its test cells
    call, ``training_problem`` and ``training_request``), what its backprop computes
    (``spec``), its hidden cases (``hidden_cases(seed)``: argument tuples in ``spec``'s order)
    and its misconceptions."""

    graded_cell = "backprop"  # the solution cell the judge re-runs
    function = "backprop"  # the function it defines, which every check tests
    trusted_cells = ("provided_functions",)  # instructor cells run before the student's
    own_work_kinds: tuple[str, ...] = ("step",)  # uncredited when not the student's own work

    def __init__(
        self,
        checks,
        spec: Backprop,
        hidden_cases,
        misconceptions: tuple[Misconception, ...],
        withheld_helpers: tuple[str, ...] = WITHHELD_HELPERS,
    ):
        self.helpers = checks
        self.spec = spec
        self.hidden_cases = hidden_cases
        self.misconceptions = misconceptions
        self.answer_names = spec.step_names  # the truth a check judges: never sent early
        self.withheld_helpers = withheld_helpers
        # Each check a test cell may call: the function (for its signature) and what a
        # call judges.
        self.checks: dict = {
            "check_step_on_hidden_cases": (checks.check_step_on_hidden_cases, step_check(spec)),
            "check_backprop_gradients_on_hidden_cases": (
                checks.check_backprop_gradients_on_hidden_cases,
                lambda a: ("whole", seed_of(a)),
            ),
            "check_training": (checks.check_training, lambda a: ("training",)),
        }
        self.cases = functools.lru_cache(maxsize=64)(self._cases)

    def _cases(self, seed: int) -> tuple[tuple[dict, dict], ...]:
        """Each hidden case of a test seed as ``(arguments, truth)``: the inputs by parameter
        name, and the true forward values and step values by name (float64 arrays)."""
        cases = []
        for values in self.hidden_cases(seed):
            arguments = dict(zip(self.spec.arguments, values, strict=True))
            cases.append((arguments, self.spec.truth(arguments)))
        return tuple(cases)

    def _sent(self, plan: CheckPlan) -> list[tuple[dict, dict]]:
        """The cases sent to the runner: every case of every seed, then (in a student's own
        plan) the common cases, ``plan.common_seed``'s, the same for everyone and judged for no
        points: a wrong answer's fingerprint is taken on them, so that students can be
        compared (on every kind of case: a batch of one, an odd size)."""
        sent = [case for seed in plan.seeds for case in self.cases(seed)]
        if plan.common_seed is not None:
            sent.extend(self.cases(plan.common_seed))
        return sent

    def request(self, plan: CheckPlan, graded: str) -> dict:
        """The lab's part of the runner's request: the step plan, the cases (:meth:`_sent`),
        and the training problem when a cell checks training."""
        cases = [
            {
                "args": {k: v.tolist() for k, v in arguments.items()},
                "truth": {k: v.tolist() for k, v in truth.items()},
            }
            for arguments, truth in self._sent(plan)
        ]
        kinds = {kind for kind, *_ in plan.cells.values()}
        return {
            "steps": list(self.spec.step_names),
            "forward": list(self.spec.forward),
            "cases": cases,
            "training": self._training_request() if "training" in kinds else None,
            "counted": {
                "modules": {network.__name__: list(network.COUNTED_FUNCTIONS)},
                "provided": list(network.FORWARD_FUNCTIONS),
            },
        }

    def _training_request(self) -> dict:
        training = self.helpers.training_request()
        batched = bool(training.get("batched"))
        return {
            **training,
            "max_most_called_count": forward_calls_allowed(
                {"X": training["X"], "W1": training["params"]["W1"]}, batched
            ),
        }

    def verdicts(
        self,
        plan: CheckPlan,
        request: dict,
        cases: list[dict],
        later: dict[str, dict],
        problem: str | None,
    ) -> Judgement:
        """Each planned grade cell's verdict from the runner's results on the hidden cases
        (one per case of the request) and its training answer (None if it never came)."""
        truths = [
            {k: np.array(v, dtype=np.float64) for k, v in case["truth"].items()}
            for case in request["cases"]
        ]
        cases = [
            step_verdicts.chosen_reading(case, truth, self.spec)
            for case, truth in zip(cases, truths, strict=True)
        ]
        given = [
            {k: np.array(v, dtype=np.float64) for k, v in case["args"].items()}
            for case in request["cases"]
        ]
        graded = sum(len(self.cases(seed)) for seed in plan.seeds)  # the rest: the common cases
        common = (cases[graded:], truths[graded:], given[graded:])
        by_seed = _by_seed(plan, cases, truths, self.cases)
        arguments = _by_seed(plan, given, truths, self.cases)
        spec = self.spec
        returns_right = all(
            step_verdicts.returns_verdict(c, t, [], HIDDEN, spec=spec)[0]
            for c, t in by_seed.values()
        )
        verdicts, by_step, misconceptions, wrong_answers = {}, {}, {}, {}
        for grade_id, (kind, *args) in plan.cells.items():
            if kind != "step":
                continue
            name, seed = args
            c, t = by_seed[seed]
            verdict = _verdict(
                step_verdicts.step_verdict(name, c, t, returns_right, HIDDEN, spec=spec),
                _step_kind(name, c),
            )
            wrong = None if verdict.passed else _first_wrong(name, c, t, arguments[seed][0])
            if wrong and (found := self._misconception(name, wrong)):
                misconceptions[grade_id] = found.key
                verdict = Verdict(False, f"{verdict.message} {found.question}", verdict.kind)
            if common[0] and wrong:  # the same mistake on everyone's common cases
                wrong = _first_wrong(name, *common)
            if wrong and wrong[0] == "value" and (digest := answer_digest(wrong[1])):
                wrong_answers[grade_id] = digest
            by_step[name] = verdicts[grade_id] = verdict
        failing = [name for name in spec.step_names if name in by_step and not by_step[name].passed]
        step_cells = {
            args[0]: (grade_id, args[1])
            for grade_id, (kind, *args) in plan.cells.items()
            if kind == "step"
        }
        if scales := step_verdicts.moved_scale(
            {name: by_seed[step_cells[name][1]] for name in failing}, returns_right
        ):
            for name, moved in step_verdicts.moved_scale_messages(scales, spec).items():
                grade_id = step_cells[name][0]
                kind = _step_kind(name, by_seed[step_cells[name][1]][0])
                verdicts[grade_id] = by_step[name] = Verdict(*moved, kind)
                if moved[0]:
                    misconceptions.pop(grade_id, None)
                    wrong_answers.pop(grade_id, None)
            failing = [name for name in failing if not by_step[name].passed]
        for grade_id, (kind, *args) in plan.cells.items():
            if kind == "whole":
                c, t = by_seed[args[0]]
                verdicts[grade_id] = _verdict(
                    step_verdicts.returns_verdict(c, t, failing, HIDDEN, spec=spec), _full_kind(c)
                )
            elif kind != "step":
                verdicts[grade_id] = self.later_verdict(kind, later, problem)
        problems = [problem] if problem else []
        if later.get("training", {}).get("answers_otherwise"):
            problems.append(ANSWERS_OTHERWISE)
        problems += _numerical_for_review(
            [case.get("full") or {} for case in cases] + [later.get("training") or {}],
            [case["args"] for case in request["cases"]]
            + [(request.get("training") or {}).get("params") or {}],
        )
        return Judgement(verdicts, problems, misconceptions, wrong_answers=wrong_answers)

    def later_verdict(self, kind: str, later: dict[str, dict], problem: str | None) -> Verdict:
        """The verdict of a cell judged on a later phase of the re-check (``training``)."""
        if kind != "training":
            raise ValueError(f"this judge plans no {kind!r} check")
        if "training" not in later:
            why = problem or "the re-check ended before training"
            return Verdict(False, f"Not graded: {why}.", TestOutcome.NOT_GRADED)
        if later["training"].get("answers_otherwise"):
            return Verdict(
                False, f"Not credited: {ANSWERS_OTHERWISE}. The instructor will review it."
            )
        if interfered := later["training"].get("interfered"):
            return Verdict(
                False, f"Not credited: {interfered} before training. The instructor will review it."
            )
        return self._training_verdict(later["training"].get("training"))

    def _training_verdict(self, training: dict | None) -> Verdict:
        if training and isinstance(training.get("stopped"), str):
            return Verdict(
                False, f"Not credited: {training['stopped']}. The instructor will review it."
            )
        if not training or "params" not in training:
            error = (training or {}).get("error", "no result")
            return Verdict(
                False,
                f"Training with your backprop failed: it raised {error}",
                error_outcome(error),
            )
        X, T, before = self.helpers.training_problem()
        return _trained_verdict(X, T, before, training)

    def training_reached(self):
        """The training test's early end: once the loss is below what it asks for."""
        X, T, _ = self.helpers.training_problem()
        return lab1.training_reached(X, T)

    def suspicions(self, answers: list[dict], request: dict) -> list[str]:
        """What the graded function was seen to do while judged that makes it not the
        student's own work: call the checks' withheld answers, or run the network's forward
        functions as often as numerical differentiation does (more than a backprop of its
        own could on the same inputs: forward_calls_allowed)."""
        batched = self.spec.arguments[0] == "X"
        # each run, with the calls its inputs allow: the hidden cases (in the request's order)
        runs = [
            (case.get("full", {}), forward_calls_allowed(given["args"], batched))
            for answer in answers
            for case, given in zip(answer.get("cases", []), request["cases"], strict=False)
        ]
        runs += [
            (answer, request["training"]["max_most_called_count"])
            for answer in answers
            if answer.get("phase") == "training"
        ]
        found = sorted(
            {
                f"it called {run['withheld_call']} (the graders' own answers) while judged"
                for run, _ in runs
                if isinstance(run.get("withheld_call"), str)
            }
        )
        found += [
            f"{answer['interfered']} before training"
            for answer in answers
            if answer.get("phase") == "training" and answer.get("interfered")
        ]
        over = [
            (calls, function_name(run.get("most_called")))
            for run, allowed in runs
            if isinstance(calls := run.get("most_called_count", 0), int) and calls > allowed
        ]
        if over:
            calls, most = max(over)
            found.append(
                f"it called {most or 'the forward functions'} {calls} times in one "
                "call (differentiating numerically?)"
            )
        return found

    def _misconception(
        self, name: str, wrong: tuple[str, object, dict, dict]
    ) -> Misconception | None:
        """The named misconception the step's first wrong answer (:func:`_first_wrong`)
        matches, if any."""
        kind, answer, args, truth = wrong
        if kind == "crash":
            return identify_crash(name, cast(str, answer), self.misconceptions)
        return identify(
            name, answer, {**args, **truth}, step_verdicts.TOLERANCE, self.misconceptions
        )


def _first_wrong(
    name: str, runs: list[dict], truths: list[dict], arguments: list[dict]
) -> tuple[str, object, dict, dict] | None:
    """The step's first wrong answer over the cases: ``("crash", error, args, truth)`` or
    ``("value", value, args, truth)``; None when there is none, or no value to tell."""
    for run, truth, args in zip(runs, truths, arguments, strict=True):
        ran = run.get("steps", {}).get(name)
        if ran and ran.get("error"):
            # as the runner said it: matched against the misconceptions, never shown
            return "crash", str(ran.get("said") or ran["error"]), args, truth
        value = (
            ran.get("value") if ran and ran.get("defined") else step_verdicts.final_value(run, name)
        )
        if value is None:
            return None
        if step_verdicts.compare_values(name, np.asarray(truth[name]), value, "") is not None:
            return "value", value, args, truth
    return None


def _verdict(result: tuple[bool, str], kind: TestOutcome | None = None) -> Verdict:
    passed, message = result
    return Verdict(
        passed,
        message.replace(f"wrong {HIDDEN}", "wrong on a hidden case"),
        None if passed else kind,
    )


def _step_kind(name: str, runs: list[dict]) -> TestOutcome | None:
    """How a step that failed went, from the runs: its code (or, where it never ran, the
    whole function before it) raised, or else a value was wrong (None)."""
    for run in runs:
        ran = run.get("steps", {}).get(name)
        error = ran.get("error") if isinstance(ran, dict) else run.get("full", {}).get("error")
        if error:
            return error_outcome(str(error))
    return None


def _full_kind(runs: list[dict]) -> TestOutcome | None:
    """How the whole function's test went when it failed: it raised, or else a value was
    wrong (None)."""
    for run in runs:
        if error := run.get("full", {}).get("error"):
            return error_outcome(str(error))
    return None


def _numerical_for_review(runs: list[dict], arguments: list[dict]) -> list[str]:
    """A flag for review (no points withheld) when the graded function called a function of
    the student's own more often than there are parameter entries, in one call (``runs``: the
    full runs and the training, with the arguments of each), as a numerical differentiation
    calls its loss: forward functions of the student's own are not the graders', so they
    cannot be told from any other helper by name."""
    for run, given in zip(runs, arguments, strict=True):
        calls, name = run.get("own_calls"), run.get("own_most_called")
        entries = sum(np.size(given[p]) for p in network.PARAMETER_NAMES if p in given)
        # more calls than entries: a per-entry helper of the student's is called once each
        if isinstance(calls, int) and entries and calls > entries:
            called = f"{name}()" if (name := function_name(name)) else "function"
            return [
                f"for review, backprop called its own {called} {calls} times in one call, "
                f"more than once for each of the {entries} parameter entries "
                "(differentiating numerically?)"
            ]
    return []


# Seen while judged: the training's first call repeats a hidden case's (judge_runtime.training).
ANSWERS_OTHERWISE = (
    "backprop answered the training's calls otherwise than it answered while "
    "judged, on the same inputs"
)


def _trained_verdict(X, T, before: dict, training: dict) -> Verdict:
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
        grouped[seed] = (values[position : position + count], truths[position : position + count])
        position += count
    return grouped
