"""The judge's conversation with its runner: each answer checked for its phase, order and
shape, and the truth of a step sent only once the student's own answer to it has left."""

from __future__ import annotations

import json
from collections.abc import Callable

from course.judge.api import function_name
from course.judge.runner_text import vouched_error, vouched_interference, vouched_syntax_error
from course.judge.training import JudgedTraining, well_formed

# The runner's phases after the steps, in the order they come (each when the request asks).
LATER_PHASES = (("training", "training"), ("lines", "line_counts"))


class ConversationOver(Exception):
    """The runner said something it may not: nothing more it says is taken."""


class Conversation:
    """The grader's side of a re-check (see judge_runtime.runner): what is sent, what came back.

    Sends the request without any step's true value; takes the runner's lines in the one
    order they may come (the full runs, each step in turn, training) and answers each step's
    line with that step's true values, so that the runner never holds a value before its
    answer is in. A line out of order ends the conversation.
    """

    def __init__(
        self,
        request: dict,
        answer_names: tuple[str, ...],
        training_reached: Callable[[dict], bool] | None = None,
    ):
        """``answer_names``: every name of a case's truth that is some check's answer (all
        withheld from the first message, whatever steps the request runs);
        ``training_reached``: when the training may stop early (``LabJudge.training_reached``)."""
        self.training_reached = training_reached
        self.steps = list(request.get("steps") or [])
        hidden = set(self.steps) | set(answer_names)
        self.cases = len(request["cases"])
        self.first = dict(
            request,
            cases=[
                {
                    "args": case["args"],
                    "truth": {k: v for k, v in case["truth"].items() if k not in hidden},
                }
                for case in request["cases"]
            ],
        )
        if training := request.get("training"):  # what stops it is the grader's to know
            self.first["training"] = {
                k: v for k, v in training.items() if k != "max_most_called_count"
            }
        self.truths = [case["truth"] for case in request["cases"]]
        self.request = request
        # the student's own code, for the lines and names a report of theirs may quote
        self.own_code = own_code(request)
        # the runner's later phases (training is the grader's: self.training)
        self.later_due = [
            phase for phase, key in LATER_PHASES if request.get(key) and phase != "training"
        ]
        self.training_problem = request.get("training")
        self.training: JudgedTraining | None = None
        self.full: dict | None = None
        self.step_results: list[list] = []
        self.later: dict[str, dict] = {}

    def expected(self) -> str | None:
        """The phase of the next line the runner may send; None once it has said it all."""
        if self.full is None:
            return "full"
        if self.full.get("definition_error"):
            return None
        if len(self.step_results) < len(self.steps):
            return "step"
        if self.training_problem and (self.training is None or self.training.result is None):
            return "gradients"
        return next((phase for phase in self.later_due if phase not in self.later), None)

    def hear(self, line: bytes) -> bytes | None:
        """Take one line from the runner; what to send back (a step's true values), if any."""
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser
            message = None
        phase = self.expected()
        if (
            not isinstance(message, dict)
            or phase is None
            or message.get("phase") != phase
            or (phase == "step" and message.get("index") != len(self.step_results) + 1)
            or (not self._well_formed(phase, message))
        ):
            raise ConversationOver("the re-check's answers were unreadable or out of order")
        self._vouch(phase, message)
        if phase == "full":
            self.full = message
        elif phase == "gradients":
            return _line(self._training().take(message))
        elif phase != "step":
            self.later[phase] = message
        else:
            self.step_results.append(message.get("results") or [])
            done = len(self.step_results)
            if done < len(self.steps):  # the next step needs this one's true value
                name = self.steps[done - 1]
                return _line({"truth": [{name: truth[name]} for truth in self.truths]})
        if self.expected() == "gradients":  # the steps are in: the grader's training begins
            return _line(self._training().first())
        return None

    def _vouch(self, phase: str, message: dict) -> None:
        """Rewrite, in place, every text of ``message`` that may reach a message or a flag
        with what the grader can vouch for (``course.judge.runner_text``); an error a step raised
        is also kept as said, under ``said``, for matching misconceptions only."""
        own = self.own_code
        if phase == "full":
            vouch_setup(message, self.request)
            for run in message.get("full") or []:
                vouch_run(run, self.request)
        elif phase == "step":
            step = self.steps[len(self.step_results)]
            unknown = set(self.steps[self.steps.index(step) :])
            for index, result in enumerate(message.get("results") or []):
                known = {
                    **self.first["cases"][index]["args"],
                    **{k: v for k, v in self.truths[index].items() if k not in unknown},
                }
                for reading in (result, (result or {}).get("alternative")):
                    if isinstance(reading, dict) and reading.get("error"):
                        reading["said"] = str(reading["error"])
                        reading["error"] = vouched_error(reading["error"], own, known)
        elif phase in ("gradients", "lines"):
            if message.get("error"):
                message["error"] = vouched_error(message["error"], own)
            if phase == "lines" and message.get("interfered"):
                message["interfered"] = vouched_interference(message["interfered"])

    def _training(self) -> JudgedTraining:
        if self.training is None:
            assert self.full is not None and self.training_problem
            judged = (self.full.get("full") or [None])[0]
            self.training = JudgedTraining(
                self.training_problem,
                self.first["cases"][0]["args"] if judged else None,
                judged,
                self.training_reached,
            )
        return self.training

    def training_answer(self) -> dict | None:
        """The training phase as the judge reads it (made here, from the grader's own
        training), or None while it is not over."""
        if self.training is None or self.training.result is None:
            return None
        return {
            "phase": "training",
            "training": self.training.result,
            "answers_otherwise": self.training.answers_otherwise,
            "interfered": self.training.interfered,
            **self.training.calls_seen,
        }

    def _well_formed(self, phase: str, message: dict) -> bool:
        """Whether ``message`` has the shape of its phase (the judge reads nothing else)."""
        if phase == "full":
            full = message.get("full")
            return (
                set_up_well_formed(message, "full", self.cases)
                and isinstance(full, list)
                and all(
                    isinstance(f.get("most_called_count", 0), int)
                    and isinstance(f.get("most_called", ""), str)
                    and isinstance(f.get("withheld_call", ""), str)
                    for f in full
                )
            )
        if phase == "step":
            results = message.get("results")
            return (
                isinstance(results, list)
                and len(results) == self.cases
                and all(result is None or isinstance(result, dict) for result in results)
            )
        if phase == "gradients":
            return well_formed(message, self._training().probing)
        if phase == "lines":
            lines = message.get("lines")
            return (lines is None or isinstance(lines, list)) and all(
                isinstance(message.get(key) or "", str) for key in ("error", "interfered")
            )
        return isinstance(message.get("training"), dict)

    def answers(self) -> list[dict]:
        """What arrived, as the judge reads it: the cases (once every step is in) and training."""
        if self.full is None or self.expected() == "step":
            return []
        if self.full.get("definition_error"):
            return [
                {
                    "phase": "cases",
                    **{k: self.full.get(k) for k in ("setup_errors", "definition_error")},
                    "cases": [],
                }
            ]
        cases = [{"full": full, "steps": {}} for full in self.full.get("full") or []]
        for name, results in zip(self.steps, self.step_results, strict=True):
            for case, result in zip(cases, results, strict=False):
                if isinstance(result, dict):
                    case["steps"][name] = result
        answers = [
            {
                "phase": "cases",
                "setup_errors": self.full.get("setup_errors") or {},
                "definition_error": None,
                "cases": cases,
            }
        ]
        if (training := self.training_answer()) is not None:
            answers.append(training)
        return answers + [self.later[phase] for phase in self.later_due if phase in self.later]


def set_up_well_formed(message: dict, runs: str, count: int) -> bool:
    """Whether ``message`` says what setting up raised (``setup_errors``, a dict, and
    ``definition_error``, a text or nothing) and holds under ``runs`` a list of ``count``
    dicts, one per case (any number once the graded function could not be defined)."""
    found = message.get(runs)
    return (
        isinstance(message.get("setup_errors", {}), dict)
        and isinstance(message.get("definition_error") or "", str)
        and isinstance(found, list)
        and all(isinstance(run, dict) for run in found)
        and (bool(message.get("definition_error")) or len(found) == count)
    )


def own_code(request: dict) -> str:
    """The student's own code a request runs (every cell but the first, the instructor's), for
    the lines and names a report of theirs may quote."""
    return "\n".join(code for _, code in (request.get("setup") or [])[1:])


def vouch_setup(message: dict, request: dict) -> None:
    """Rewrite, in place, the errors ``message`` says setting up ``request`` raised (its
    ``setup_errors`` and ``definition_error``) with what the grader can vouch for."""
    codes = dict(request.get("setup") or [])
    errors = {
        label: vouched_syntax_error(said, codes[label], label)
        for label, said in (message.get("setup_errors") or {}).items()
        if label in codes and said
    }
    message["setup_errors"] = errors
    if said := message.get("definition_error"):
        undefined = f"the cell does not define {request.get('function')}"
        message["definition_error"] = (
            undefined
            if said == undefined
            else errors.get(request.get("graded_label"), vouched_error(said, own_code(request)))
        )


def vouch_run(run: dict, request: dict) -> None:
    """Rewrite, in place, what one call of the graded function raised (``error``) and the
    withheld function it called (``withheld_call``), if any, with what the grader can vouch
    for."""
    run["error"] = vouched_error(run.get("error"), own_code(request)) or None
    withheld = {f"helpers.{name.removesuffix('.py')}." for name in request.get("withheld") or ()}
    called = run.get("withheld_call")
    if called is not None and not (
        isinstance(called, str)
        and any(
            called.startswith(prefix) and function_name(called[len(prefix) :])
            for prefix in withheld
        )
    ):
        run["withheld_call"] = "a withheld function of the graders'"


# The most values of its cases' functions a probe may ask for (a numerical gradient of the
# judge's cases asks for about 40); past it, the re-check ends.
MAX_ASKS = 5_000


class ProbeConversation:
    """The grader's side of a probe (see judge_runtime.probe): the request is sent whole (it
    holds no truth); each value a case's function is asked for is answered with ``value(case
    number, point)``, and counted here; then one answer is taken, checked for its shape and
    vouched for, with the calls each case made as counted here."""

    def __init__(self, request: dict, value: Callable[[int, list], float] | None = None):
        self.request = request
        self.value = value
        self.asked = [0] * len(request["cases"])
        self.answer: dict | None = None

    def hear(self, line: bytes) -> bytes | None:
        """Take one line of the probe's: a value asked for (answered) or its one answer; one
        of another shape, or any line after the answer, ends it."""
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if self.answer is None and isinstance(message, dict) and message.get("phase") == "ask":
            return self._answer_ask(message)
        if self.answer is not None or not self._well_formed(message):
            raise ConversationOver("the re-check's answers were unreadable or out of order")
        assert isinstance(message, dict)
        vouch_setup(message, self.request)
        for number, case in enumerate(message["cases"]):
            vouch_run(case, self.request)
            if self.value is not None:
                case["calls"] = self.asked[number]  # counted here, not as the probe says
        self.answer = message
        return None

    def _answer_ask(self, message: dict) -> bytes:
        number, point = message.get("case"), message.get("x")
        if (
            self.value is None
            or not isinstance(number, int)
            or not 0 <= number < len(self.asked)
            or not isinstance(point, list)
        ):
            raise ConversationOver("the re-check's answers were unreadable or out of order")
        if sum(self.asked) >= MAX_ASKS:
            raise ConversationOver(f"it asked for more than {MAX_ASKS} values of the functions")
        self.asked[number] += 1
        try:
            value: float | None = float(self.value(number, point))
        except (TypeError, ValueError):  # a point of another size, or not numbers
            value = None
        return _line({"value": value})  # NaN and infinities as a kernel's f gives them

    def _well_formed(self, message) -> bool:
        return (
            isinstance(message, dict)
            and message.get("phase") == "cases"
            and set_up_well_formed(message, "cases", len(self.request["cases"]))
        )

    def answers(self) -> list[dict]:
        """What arrived: the one answer, or nothing."""
        return [] if self.answer is None else [self.answer]


def _line(message: dict) -> bytes:
    return json.dumps(message).encode() + b"\n"
