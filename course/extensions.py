"""Per-student extensions (``course extend``): what is asked for, who may get one, granting it,
and where each extension leaves its student.

An extension is nbgrader's own ``extension`` of the student's submission (their due date is the
lab's plus it), kept in :mod:`course.extension_record` too; :mod:`course.late` assigns the
penalties it implies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.api import MissingEntry

from course import layout
from course.extension_record import record_extension, recorded_extensions
from course.late import (
    apply_due_date,
    deadlines,
    parse_moment,
    reapply_late_penalties,
    shown_duration,
    shown_moment,
)
from course.nbgrader_setup import make_api
from course.submissions import SAFE_NAME, SAFE_NAME_RULE

MAX_EXTENSION_DAYS = 365  # beyond it, a typo is likelier than a decision


def requested_extension(
    lab: str,
    due: datetime | None,
    days: float | None = None,
    until: str | None = None,
    clear: bool = False,
) -> timedelta | None:
    """The extension of ``lab`` (due at ``due``, UTC) that ``course extend``'s ``--days N``
    (fractional days), ``--until DATE`` (a date and time with its UTC offset) or ``--clear``
    asks for; None to remove one (``--clear``, ``--days 0``). ValueError, saying what to
    write, when it is not one: no due date to extend, a date not after it, a negative or
    unreasonably long extension."""
    if clear or days == 0:
        return None
    if due is None:
        raise ValueError(
            f"{lab} has no due date to extend: set it in nbgrader_config.py first, e.g. "
            f"c.Deadlines.due = {{{lab!r}: '2026-10-16 23:59 +01:00'}}"
        )
    if until is not None:
        extension = parse_moment(until, "--until") - due
        if extension <= timedelta(0):
            raise ValueError(
                f"--until {until.strip()} ({shown_moment(due + extension)}) is not after "
                f"{lab}'s due date, {shown_moment(due)}: give a later date and time (to "
                "remove an extension: --clear)"
            )
    elif days is not None:
        if not math.isfinite(days) or days < 0:
            raise ValueError(
                f"--days {days:g} is not a number of days to extend by: give a number above 0, "
                "fractions allowed (--days 1.5), or --clear to remove an extension"
            )
        if days > MAX_EXTENSION_DAYS:
            raise ValueError(
                f"--days {days:g} is more than {MAX_EXTENSION_DAYS} days: is the number right?"
            )
        extension = timedelta(days=days)
    else:
        raise ValueError("say how long: --days N, --until DATE, or --clear")
    if extension > timedelta(days=MAX_EXTENSION_DAYS):
        raise ValueError(
            f"an extension of {shown_duration(extension)} is more than {MAX_EXTENSION_DAYS} "
            "days: is the number or the date right?"
        )
    return extension


def student_problem(root: Path, student: str) -> str | None:
    """Why ``student`` cannot be given an extension (not an id the course can have, or nobody
    the course knows: neither in the gradebook nor in ``submitted/``), or None."""
    if not SAFE_NAME.fullmatch(student) or len(student) > 128:
        return (
            f"{student!r} cannot be a student id ({SAFE_NAME_RULE}): give the id the "
            "gradebook and submitted/ use"
        )
    if layout.submitted(root, student).is_dir():
        return None
    with make_api(root).gradebook as gradebook:
        known = sorted(s.id for s in gradebook.students)
    if student in known:
        return None
    folder = layout.folder(root, "submitted")
    known = sorted(
        set(known)
        | ({p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set())
    )
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return (
        f"{student!r} is not a student of this course: nobody by that id is in the gradebook "
        f"or in {layout.shown(root, folder)} (the students: {shown or 'none yet'}). Check the "
        "id (the one `course collect` gave them: Canvas's user ID, say); to extend a student "
        "who has handed nothing in yet, add them to the gradebook first: "
        f"`nbgrader db student add {student}`"
    )


def grant_extension(root: Path, lab: str, student: str, extension: timedelta | None) -> None:
    """Record ``student``'s extension of ``lab`` (None: remove it), write it and the
    configured due date into the gradebook, and assign the late penalties again, so that a
    graded student's penalty follows it at once. A lab not yet in the gradebook gets it when
    released; a student not yet graded, at the end of the ``course grade`` that grades them."""
    record_extension(root, lab, student, extension)
    with make_api(root).gradebook as gradebook:
        if lab not in {a.name for a in gradebook.assignments}:
            return
        if extension is None:
            try:
                gradebook.find_submission(lab, student).extension = None
                gradebook.db.commit()
            except MissingEntry:
                pass
    apply_due_date(root, lab)
    reapply_late_penalties(root, lab)


@dataclass(frozen=True)
class Extension:
    """A student's extension of a lab, and where it leaves them."""

    student: str
    extension: timedelta
    due: datetime | None  # their own due date, the lab's plus the extension (UTC); None: no date
    handed_in: datetime | None  # their submission's time (UTC); None: none, or not graded yet
    graded: bool  # whether the gradebook has their submission
    penalty: float | None  # the late penalty taken from them (None: not graded yet)
    recorded: bool = True  # False: set in the gradebook by other means than `course extend`

    @property
    def late_by(self) -> timedelta | None:
        """How long after their own due date they handed in (None: on time, or no time)."""
        if self.handed_in is None or self.due is None or self.handed_in <= self.due:
            return None
        return self.handed_in - self.due

    def describe(self) -> str:
        """One line: the extension, the due date it gives, and how the student stands."""
        if self.due is None:
            to = "but the lab has no due date now (c.Deadlines.due), so it does not apply"
        else:
            to = f"to {shown_moment(self.due)}"
        if not self.graded:
            standing = "not graded yet"
        elif self.handed_in is None:
            standing = "no submission time, so never late"
        else:
            late = self.late_by
            standing = f"handed in {shown_moment(self.handed_in)}, " + (
                f"{shown_duration(late)} late" if late else "on time"
            )
        if self.penalty is not None:
            standing += f", late penalty {self.penalty:g}"
        other = "" if self.recorded else " (set in the gradebook, not by `course extend`)"
        return (
            f"{self.student}: extended by {shown_duration(self.extension)} {to}; {standing}{other}"
        )


def lab_extensions(root: Path, lab: str) -> list[Extension]:
    """Every extension of ``lab`` (recorded by ``course extend``, or in the gradebook), by
    student, with each student's due date and how they stand."""
    due = deadlines(root).due_date(lab)
    recorded = recorded_extensions(root, lab)
    found: dict[str, Extension] = {}
    with make_api(root).gradebook as gradebook:
        assignment = next((a for a in gradebook.assignments if a.name == lab), None)
        for submission in assignment.submissions if assignment else []:
            student = submission.student.id
            extension = recorded.get(student, submission.extension)
            if extension is None:
                continue
            found[student] = Extension(
                student,
                extension,
                due + extension if due else None,
                submission.timestamp.replace(tzinfo=UTC) if submission.timestamp else None,
                True,
                float(submission.late_submission_penalty or 0.0),
                student in recorded,
            )
    for student, extension in recorded.items():
        if student not in found:
            found[student] = Extension(
                student, extension, due + extension if due else None, None, False, None
            )
    return [found[student] for student in sorted(found)]
