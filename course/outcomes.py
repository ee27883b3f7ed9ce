"""How grading went, as typed kinds: a student's status, and how each graded test cell went,
decided by whoever judged it (the trusted judge records each verdict's kind in the graded
notebook), never read back from the words of a message."""

from __future__ import annotations

import re
from enum import StrEnum


class Status(StrEnum):
    """How grading one student went."""

    GRADED = "graded"  # graded to the end, nothing to look at (a reason may say why so low)
    FLAGGED = "flagged"  # graded, and the judge or nbgrader asks the instructor to look
    FAILED = "failed"  # not graded: the reason says why (a bad submission, a dead worker)
    TIMEOUT = "timeout"  # stopped at the student limit


class TestOutcome(StrEnum):
    """How one graded test cell went."""

    __test__ = False  # not a pytest class

    CORRECT = "correct"
    WRONG = "wrong value"  # ran, and a value was wrong (or points were withheld)
    CRASHED = "crashed"  # the code raised, or could not be run at all
    BLANK = "blank"  # still the released `raise NotImplementedError()`
    NOT_GRADED = "not graded"  # the judge could not finish: no verdict on the code


TEST_OUTCOMES = tuple(TestOutcome)  # the report's columns, in this order
BLANK_ERROR = "NotImplementedError"  # what the released blanks raise
# Where the judge records its findings, and each test's kind, in a graded notebook's metadata.
JUDGE_METADATA = "course_judge"


def error_outcome(error: str) -> TestOutcome:
    """BLANK or CRASHED for code that raised ``error`` (``"Name"`` or ``"Name: message"``, as
    the judge's runner reports it): the released blank's error, or any other."""
    match = re.match(r"\s*(\w+)", error or "")
    return TestOutcome.BLANK if match and match[1] == BLANK_ERROR else TestOutcome.CRASHED
