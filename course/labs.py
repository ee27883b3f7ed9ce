"""A lab as the course's tools know it: declared by the lab itself in ``labs/<lab>/lab.py``
(instructor-only material, in the course folder, never installed for students).

The tools in ``course/`` name no lab: what one lab grades and how (its judge, its
misconceptions, its synthetic cohort) is read from its declaration.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def import_lab_module(root: Path, lab: str, name: str):
    """``labs/<lab>/<name>.py`` of the course at ``root`` (students get ``helpers`` and
    ``course`` only; this is read from the course folder itself)."""
    # On the path only while importing: left there, it would put this course's helpers and
    # judge runtime first for every process started later (a spawned audit worker, say).
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"labs.{lab}.{name}")
    finally:
        if added:
            sys.path.remove(str(root))


@dataclass(frozen=True)
class Demo:
    """A lab's synthetic cohort, for `course demo` and the tests."""

    cohort: tuple  # each synthetic student (their planted outcome included)
    write: Callable  # (root, lab, target folder, cohort, flat) -> the notebooks written


@dataclass(frozen=True)
class LabDeclaration:
    """Everything the course's tools know of one lab."""

    name: str
    judge: Any  # its part of the trusted judge (course.judge.api.LabJudge)
    demo: Demo | None = None
    # the judges of the other functions it grades, each of its own graded cell
    more_judges: tuple = ()

    @property
    def judges(self) -> tuple:
        """Every judge of the lab: the first (``judge``) and the rest."""
        return (self.judge, *self.more_judges)

    @property
    def misconceptions(self) -> tuple:
        """The misconceptions its judges name (course.misconceptions.Misconception)."""
        return tuple(m for judge in self.judges for m in getattr(judge, "misconceptions", ()))


def load_lab(root: Path, lab: str) -> LabDeclaration:
    """The declaration of ``lab`` in the course at ``root`` (``labs/<lab>/lab.py``'s LAB)."""
    return import_lab_module(root, lab, "lab").LAB


def copy_course(root: Path, target: Path, lab: str) -> Path:
    """A scratch copy of what grading ``lab`` needs from the course at ``root`` (course.grading.kit:
    the config, the lab's source notebooks, its instructor-only material), with a gradebook of
    its own and no release yet (generate it). Returns ``target``."""
    from course.grading.kit import grading_kit, scratch_course

    return scratch_course(grading_kit(root, lab), target)
