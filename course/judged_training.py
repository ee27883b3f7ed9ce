"""The grader's side of the judge's training run: the grader trains, the runner only computes.

The training loop (``helpers.training.descent``, the code the notebooks' own training checks
run) lives here, in the grading process, where no student code runs. Each epoch it sends the
sandboxed runner the parameters and takes back the sums of what the student's function
returned for them (``helpers.recheck.serve_training``); the parameters, their updates and the
result are the grader's. A runner that sends anything else, or sends it out of turn, changes
nothing but the sums it was asked for.

Before training, the runner is asked for one call on the first hidden case's arguments (the
probe): the function already returned its answer for them while judged. A function that
answers otherwise in training (a blank one whose cell trains by finite differences of its own,
say) is not credited for training, and the flag says so.
"""

from __future__ import annotations

import numpy as np

from helpers.training import descent, same_returns

DONE = {"done": True}  # what the runner is told once training is over
NOT_NUMBERS = "TypeError: the gradients it returned are not arrays of numbers"


class JudgedTraining:
    """One training run, message by message: :meth:`first`, then :meth:`take` for each of the
    runner's answers, until ``result`` is set."""

    def __init__(self, problem: dict, probe: dict | None = None, judged: dict | None = None):
        """``problem``: the lab's training request (``X``, ``T``, ``params``, ``epochs``,
        ``rate``, ``batched``); ``probe``: a hidden case's arguments, and ``judged``: the full
        run's answer on them (``returned`` or ``error``), or None for no probe."""
        self.calls = 1 if problem.get("batched") else len(problem["X"])
        self.names = list(problem["params"])
        self.descent = descent(problem["params"], problem["epochs"], problem["rate"])
        self.probe, self.judged = probe, judged
        self.result: dict | None = None  # {"params": ...} or {"error": ...}, once over
        self.answers_otherwise = False
        self._probing = probe is not None

    def first(self) -> dict:
        """The first message to the runner."""
        if self._probing:
            return {"probe": self.probe}
        return self._params(next(self.descent))

    def take(self, answer: dict) -> dict:
        """The runner's answer to the last message; the next message (:data:`DONE` once the
        training is over)."""
        if self._probing:
            self._probing = False
            self.answers_otherwise = not _agrees(answer, self.judged or {})
            return self._params(next(self.descent))
        if answer.get("error"):
            self.result = {"error": str(answer["error"])}
            return DONE
        try:
            totals = {name: _numbers(answer["totals"][name]) for name in self.names}
            return self._params(self.descent.send((totals, self.calls)))
        except StopIteration as done:
            self.result = {"params": {name: p.tolist() for name, p in done.value.items()}}
        except (KeyError, TypeError, ValueError):
            self.result = {"error": NOT_NUMBERS}
        return DONE

    @property
    def probing(self) -> bool:
        """Whether the runner's next answer is the probe's."""
        return self._probing

    @staticmethod
    def _params(params: dict) -> dict:
        return {"params": {name: p.tolist() for name, p in params.items()}}


def _numbers(value) -> np.ndarray:
    """``value`` (nested lists of numbers) as an array; TypeError when it is none (the runner
    sends None for what is not numbers)."""
    if value is None:
        raise TypeError("not numbers")
    return np.asarray(value, dtype=np.float64)


def _agrees(probe: dict, judged: dict) -> bool:
    """Whether the probe's answer is what the function answered while judged: both raised,
    or both returned the same values."""
    if probe.get("error") or judged.get("error"):
        return bool(probe.get("error")) and bool(judged.get("error"))
    return same_returns(probe.get("returned"), judged.get("returned"))


def well_formed(answer: dict, probing: bool) -> bool:
    """Whether a runner's training answer has the shape the grader reads."""
    if answer.get("error"):
        return isinstance(answer["error"], str)
    if probing:
        return isinstance(answer.get("returned"), list)
    return isinstance(answer.get("totals"), dict)
