"""The grader's side of the judge's training run: the grader trains, the runner only computes.

The training loop (``judge_runtime.training.descent``, the code the notebooks' own training checks
run) lives here, in the grading process, where no student code runs. Each epoch it sends the
sandboxed runner the parameters and takes back the sums of what the student's function
returned for them (``judge_runtime.runner.serve_training``); the parameters, their updates and the
result are the grader's. A runner that sends anything else, or sends it out of turn, changes
nothing but the sums it was asked for.

Before training, the runner is asked for one call on the first hidden case's arguments (the
probe): the function already returned its answer for them while judged. A function that
answers otherwise in training (a blank one whose cell trains by finite differences of its own,
say) is not credited for training, and the flag says so.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from course.judge.api import function_name
from judge_runtime.training import descent, same_returns

DONE = {"done": True}  # what the runner is told once training is over
NOT_NUMBERS = (
    "TypeError: the gradients it returned are not arrays of numbers that fit their parameters"
)
MAX_ENTRIES = 10**6  # a parameter that grows past this by broadcasting is not trained here
# Of the epochs after the first, the share whose calls the runner counts: a training of 100
# epochs or more has none counted after its first with a chance below 2e-6.
COUNTED_SHARE = 1 / 8


class JudgedTraining:
    """One training run, message by message: :meth:`first`, then :meth:`take` for each of the
    runner's answers, until ``result`` is set."""

    def __init__(
        self,
        problem: dict,
        probe: dict | None = None,
        judged: dict | None = None,
        reached: Callable[[dict], bool] | None = None,
    ):
        """``problem``: the lab's training request (``X``, ``T``, ``params``, ``epochs``,
        ``rate``, ``batched``, optionally ``max_most_called_count``); ``probe``: a hidden case's
        arguments, and ``judged``: the full run's answer on them (``returned`` or ``error``),
        or None for no probe; ``reached``: when the training may stop early (the lab's, see
        ``descent``). Past ``max_most_called_count``, the training stops: ``result`` is then
        ``{"stopped": why}``."""
        self.calls = 1 if problem.get("batched") else len(problem["X"])
        # calls of one counted function per call of the graded one past which training stops
        self.max_most_called_count: int | None = problem.get("max_most_called_count")
        self.shapes = {name: np.shape(p) for name, p in problem["params"].items()}
        self.descent = descent(problem["params"], problem["epochs"], problem["rate"], reached)
        self.probe, self.judged = probe, judged
        self.result: dict | None = None  # {"params"}, {"error"} or {"stopped": ...}, once over
        self.answers_otherwise = False
        self.interfered = ""  # how the runner's code was changed before training, if it was
        # per call, at most, in an epoch: the counted forward function called most, how often;
        # the same for the function of the student's own (as the runner counted them)
        self.calls_seen: dict[str, Any] = {
            "most_called_count": 0,
            "most_called": "",
            "own_calls": 0,
            "own_most_called": "",
        }
        self._probing = probe is not None
        # the epochs whose calls the runner counts (counting every one costs a numerically
        # differentiating function seconds): the first, and each later one with a chance of
        # COUNTED_SHARE that it cannot know in advance, so that a training that ends early
        # (reached) still has some counted after its first
        draw = random.SystemRandom()
        self.counted_epochs = {0} | {
            epoch for epoch in range(1, int(problem["epochs"])) if draw.random() < COUNTED_SHARE
        }
        self.epoch = 0

    def first(self) -> dict:
        """The first message to the runner."""
        if self._probing:
            return {"probe": self.probe}
        return self._params(next(self.descent))

    def take(self, answer: dict) -> dict:
        """The runner's answer to the last message; the next message (:data:`DONE` once the
        training is over)."""
        if isinstance(answer.get("interfered"), str):
            self.result = {"error": "it interfered with the training"}
            # the runner's text is the student's to forge: only a name of the grader's code
            said = re.fullmatch(
                r"it replaced the grader's [\w.]{1,80}|it started a thread of "
                r"its own",
                answer["interfered"],
            )
            self.interfered = said.group() if said else "it changed the grader's code"
            return DONE
        if self._probing:
            self._probing = False
            self.answers_otherwise = not _agrees(answer, self.judged or {})
            return self._params(next(self.descent))
        if answer.get("error"):
            self.result = {"error": str(answer["error"])}
            return DONE
        self._count_calls(answer)
        seen = self.calls_seen
        most = self.max_most_called_count
        if most is not None and seen["most_called_count"] > most:
            # numerical differentiation, seen: its training would only burn the student's time
            called = seen["most_called"] or "a forward function"
            self.result = {
                "stopped": f"it called {called} {seen['most_called_count']} times in one "
                "call (differentiating numerically?)"
            }
            return DONE
        try:
            totals = {
                name: _numbers(answer["totals"][name], shape) for name, shape in self.shapes.items()
            }
            params = self.descent.send((totals, self.calls))
            self.shapes = {name: p.shape for name, p in params.items()}
            return self._params(params)
        except StopIteration as done:
            self.result = {"params": {name: p.tolist() for name, p in done.value.items()}}
        except Exception:  # whatever the runner sent: training fails, closed
            self.result = {"error": NOT_NUMBERS}
        return DONE

    def _count_calls(self, answer: dict) -> None:
        for calls, name in (("most_called_count", "most_called"), ("own_calls", "own_most_called")):
            seen = answer.get(calls)
            if isinstance(seen, int) and seen > self.calls_seen[calls]:
                self.calls_seen[calls] = seen
                self.calls_seen[name] = function_name(answer.get(name))

    @property
    def probing(self) -> bool:
        """Whether the runner's next answer is the probe's."""
        return self._probing

    def _params(self, params: dict) -> dict:
        """The next epoch's message: its parameters, and whether to count its calls."""
        message = {
            "params": {name: p.tolist() for name, p in params.items()},
            "count": self.epoch in self.counted_epochs,
        }
        self.epoch += 1
        return message


def _numbers(value, shape: tuple) -> np.ndarray:
    """``value`` (nested lists of numbers) as an array that the parameter of ``shape`` can
    move against (numpy broadcasts a gradient of another shape, as the notebook's training
    does) without growing past :data:`MAX_ENTRIES`; TypeError when it is not."""
    if value is None:  # what the runner sends for what is not numbers
        raise TypeError("not numbers")
    array = np.asarray(value, dtype=np.float64)
    if np.prod(np.broadcast_shapes(shape, array.shape), dtype=float) > MAX_ENTRIES:
        raise TypeError(f"shape {array.shape} would grow a parameter of shape {shape}")
    return array


def _agrees(probe: dict, judged: dict) -> bool:
    """Whether the probe's answer is what the function answered while judged: both raised,
    or both returned the same values."""
    if probe.get("error") or judged.get("error"):
        return bool(probe.get("error")) and bool(judged.get("error"))
    return same_returns(probe.get("returned"), judged.get("returned"))


def well_formed(answer: dict, probing: bool) -> bool:
    """Whether a runner's training answer has the shape the grader reads."""
    if "interfered" in answer:
        return isinstance(answer["interfered"], str)
    if answer.get("error"):
        return isinstance(answer["error"], str)
    if probing:
        return isinstance(answer.get("returned"), list)
    return isinstance(answer.get("totals"), dict)
