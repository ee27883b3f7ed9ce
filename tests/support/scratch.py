"""Scratch copies of the course, set up as an instructor would, with the tests' limits."""

from __future__ import annotations

import subprocess
from pathlib import Path

from course.labs import copy_course
from course.settings import limited_to
from tests.support.commands import run_course, run_nbgrader
from tests.support.paths import LAB, ROOT

# CPU seconds per student: a normal student takes under 10 s, the slowest hostile ones that
# must still be graded (output floods, a numerical gradient) about 25.
STUDENT_TIMEOUT = "40"


def make_scratch_course(folder: Path) -> Path:
    """A copy of the course (config and lab sources) in ``folder``, with the lab generated,
    graded with the tests' student limit (:func:`with_test_limits`)."""
    copy_course(ROOT, folder, LAB)  # no release: generated below
    with_test_limits(folder)
    run_nbgrader("generate_assignment", LAB, "--force", cwd=folder)
    return folder


def with_test_limits(course: Path) -> Path:
    """Give the course at ``course`` the tests' student limit, STUDENT_TIMEOUT, and the judge's
    budgets lowered to it (course.settings.limited_to): a student's grading process tree
    includes the judge's re-check, so the student limit is reached first either way."""
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\n# the tests' limits\n" + limited_to(float(STUDENT_TIMEOUT)))
    return course


# ``course grade``'s arguments as the tests grade: the tests' lab, two workers, the tests'
# student limit, no progress bar.
GRADE = ("grade", LAB, "--workers", "2", "--student-timeout", STUDENT_TIMEOUT, "--quiet")


def grade_scratch(course: Path, *options: str) -> subprocess.CompletedProcess:
    """``course grade`` (:data:`GRADE`, with ``options``) in the scratch course ``course``."""
    return run_course(*GRADE, *options, cwd=course)
