"""Named misconceptions: what a wrong step value most likely came from.

A lab declares its own (``labs/<lab>/misconceptions.py``, listed in its declaration): each is a
known wrong formula for one step, computed on the same inputs the student's code was given (the
true values of everything upstream). When a failing step's value matches one, the judge names
it and asks the pointed question, never the formula. ``course report`` counts them per step
across the cohort. One holds for every lab: a column vector where a flat one is expected.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Misconception:
    """A wrong formula for one step, and the question that points at it."""

    key: str
    step: str  # "" for any step
    formula: Callable[[dict], np.ndarray | None]  # from the step's inputs (true values), by name
    question: str
    crash: str = ""  # or: a regular expression the error of a step that raised matches


COLUMN = Misconception(
    "column_vector",
    "",
    lambda v: None,
    "A column vector where a flat vector is expected: what shape is the parameter itself?",
)


def answer_digest(value) -> str | None:
    """A short fingerprint of a step's numeric answer, equal for answers equal to 7
    significant digits: two students with the same wrong numbers on the same hidden case
    share it (course.similarity lists them), whatever code produced them. None when the
    answer is not an array of numbers."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    text = f"{array.shape}:" + ",".join(f"{x:.6e}" for x in array.ravel())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def identify_crash(
    step: str, error: str, catalogue: tuple[Misconception, ...]
) -> Misconception | None:
    """The misconception of ``catalogue`` whose ``crash`` pattern the ``error`` that ``step``
    raised (on correct inputs) matches, or None."""
    for misconception in catalogue:
        if (
            misconception.crash
            and misconception.step in ("", step)
            and re.search(misconception.crash, error)
        ):
            return misconception
    return None


def identify(
    step: str, value, inputs: dict, tolerance: float, catalogue: tuple[Misconception, ...]
) -> Misconception | None:
    """The misconception of ``catalogue`` (or COLUMN) a wrong ``value`` of ``step`` matches
    on ``inputs`` (the arguments and the true forward and upstream values), or None."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.ndim == 2 and array.shape[1] == 1 and np.asarray(inputs[step]).ndim == 1:
        return COLUMN
    for misconception in catalogue:
        if misconception.step != step or misconception.crash:
            continue
        with np.errstate(all="ignore"):
            wrong = np.asarray(misconception.formula(inputs), dtype=np.float64)
        if (
            wrong.shape == array.shape
            and np.all(np.isfinite(wrong))
            and np.all(
                np.abs(wrong - array) <= tolerance * np.maximum(np.abs(wrong) + np.abs(array), 1e-8)
            )
        ):
            return misconception
    return None
