"""Late submissions: each lab's due date and the course's penalty, set in ``nbgrader_config.py``.

nbgrader already applies a late penalty while grading: ``AssignLatePenalties`` compares the
submission's time (``timestamp.txt`` beside the notebooks, which ``course collect`` writes from
the LMS's zip) with the assignment's due date in the gradebook, and asks a
``LateSubmissionPlugin`` for the penalty. This module gives it the two things it lacks:

* :class:`Deadlines`: the due date of each lab, as configuration
  (``c.Deadlines.due = {"lab1": "2026-10-16 23:59 +01:00"}``), written into the gradebook by
  :func:`apply_due_date` before grading;
* :class:`PercentPerDay`: a penalty of a percentage of the score per day late (or part of a
  day), after a grace period, up to a cap
  (``c.AssignLatePenalties.plugin_class = "course.late.PercentPerDay"``);
* per-student extensions (``course extend``): nbgrader's own ``extension`` of the student's
  submission (its due date is the lab's plus it), recorded in ``reports/<lab>/extensions.json``
  too, since a student who has not handed in yet has no submission in the gradebook to hold
  it; :func:`reapply_late_penalties` writes them in before it assigns the penalties.

The penalty is nbgrader's own (``late_submission_penalty`` of each graded notebook), so the
formgrader, ``nbgrader export`` and the course's CSVs all read the same number.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.api import MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Float, Unicode
from traitlets.config import Configurable

from course import layout
from course.files import write_atomic
from course.nbgrader_setup import load_config, make_api
from course.submissions import SAFE_NAME, SAFE_NAME_RULE

DAY = 24 * 3600
# nbgrader's AssignLatePenalties logs a warning for every late notebook: the CSVs and the
# report say it once, better.
QUIET = logging.getLogger("course.late")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False
# What nbgrader writes in timestamp.txt and reads back (nbgrader.utils.parse_utc reads it).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
EXTENSIONS_FILE = "extensions.json"  # in reports/<lab>/: course extend's record
MAX_EXTENSION_DAYS = 365  # beyond it, a typo is likelier than a decision


class Deadlines(Configurable):
    """When each lab is due."""

    due = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="Due date of each lab, by lab name: an ISO 8601 date and time with its UTC "
        "offset, e.g. '2026-10-16 23:59 +01:00' (a time without one is refused: "
        "a deadline must not depend on the grading machine's time zone).",
    ).tag(config=True)

    zip_timezone = Unicode(
        "UTC",
        help="The time zone of the file times in an LMS's submission zip, which are the "
        "submission times (a zip stores local times with no zone).",
    ).tag(config=True)

    def due_date(self, lab: str) -> datetime | None:
        """``lab``'s due date in UTC (None when it has none); ValueError when unreadable."""
        text = self.due.get(lab)
        if text is None:
            return None
        return parse_moment(text, f"c.Deadlines.due[{lab!r}]")


def parse_moment(text: str, where: str) -> datetime:
    """An ISO 8601 date and time with its offset, as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{where} = {text!r} is not a date and time: write it as '2026-10-16 23:59 +01:00'"
        ) from None
    if moment.tzinfo is None:
        example = text.strip() if ":" in text else f"{text.strip()} 23:59"
        raise ValueError(
            f"{where} = {text!r} has no UTC offset: write the time and its "
            f"offset, e.g. '{example} +00:00'"
        )
    return moment.astimezone(UTC)


def penalty_fraction(
    seconds_late: float, percent_per_day: float, cap_percent: float, grace_minutes: float
) -> float:
    """The share of the score (0 to 1) taken for a submission ``seconds_late`` after the due
    date: nothing within the grace period; otherwise ``percent_per_day`` for each day or part
    of a day late, counted from the due date, never more than ``cap_percent``."""
    if seconds_late <= grace_minutes * 60:
        return 0.0
    days = math.ceil(seconds_late / DAY)
    return min(percent_per_day * days, cap_percent) / 100


class PercentPerDay(LateSubmissionPlugin):
    """nbgrader late-penalty plugin: a percentage of the notebook's score per day late."""

    percent_per_day = Float(
        10.0, help="Percent of the score taken per day late, or part of a day."
    ).tag(config=True)
    cap_percent = Float(100.0, help="Never take more than this percent of the score.").tag(
        config=True
    )
    grace_minutes = Float(0.0, help="A submission this many minutes late or less is on time.").tag(
        config=True
    )

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float:
        """Points taken from ``score`` (see :func:`penalty_fraction`)."""
        return score * penalty_fraction(
            total_seconds_late, self.percent_per_day, self.cap_percent, self.grace_minutes
        )


def deadlines(root: Path) -> Deadlines:
    """The course's :class:`Deadlines`, read from its ``nbgrader_config.py``."""
    return Deadlines(config=load_config(root))


def check_deadlines(root: Path) -> None:
    """Raise ValueError when ``c.Deadlines`` names a lab the course does not have (a typo
    would silently leave that lab with no due date) or a time zone that does not exist."""
    configured = deadlines(root)
    labs = sorted(
        {
            p.name
            for step in ("source", "release")
            if (folder := layout.folder(root, step)).is_dir()
            for p in folder.iterdir()
            if p.is_dir()
        }
    )
    unknown = sorted(set(configured.due) - set(labs))
    if unknown and labs:  # with no lab at all, the command itself says what is missing
        raise ValueError(
            f"c.Deadlines.due in nbgrader_config.py names {', '.join(unknown)}, "
            f"which {'is not a lab' if len(unknown) == 1 else 'are not labs'} of "
            f"this course (its labs: {', '.join(labs)}): correct the name"
        )
    for lab in configured.due:
        configured.due_date(lab)  # raises, saying how to write it, if unreadable
    zone(configured.zip_timezone)


def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (``c.Deadlines.zip_timezone``); ValueError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"c.Deadlines.zip_timezone = {name!r} is not a time zone: use a name "
            "such as 'UTC' or 'Europe/London'"
        ) from None


def apply_due_date(root: Path, lab: str) -> datetime | None:
    """Write ``lab``'s configured due date into the gradebook (where nbgrader's late penalty
    reads it), or clear it when none is configured, and the recorded extensions (cleared
    when there is no due date: nbgrader cannot add one to none); return it."""
    due = deadlines(root).due_date(lab)
    recorded = recorded_extensions(root, lab)
    with make_api(root).gradebook as gradebook:
        assignment = gradebook.find_assignment(lab)
        assignment.duedate = due.replace(tzinfo=None) if due else None  # naive UTC, as nbgrader
        _write_extensions(assignment, recorded)
        gradebook.db.commit()
    return due


def timestamp_text(moment: datetime) -> str:
    """``moment`` as nbgrader writes it in ``timestamp.txt``."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def reapply_late_penalties(root: Path, lab: str) -> int:
    """Set every graded submission's time from its ``timestamp.txt`` and its extension from
    the recorded ones (``course extend``), and have nbgrader's ``AssignLatePenalties`` assign
    its penalty again, so that a due date, extension or policy changed since grading (or a
    score given by hand) is reflected without regrading; return how many submissions it
    looked at. A student graded for the first time gets their extension here, at the end of
    ``course grade``."""
    import nbformat
    from nbgrader.preprocessors import AssignLatePenalties

    api = make_api(root)
    config = load_config(root)
    recorded = recorded_extensions(root, lab)
    with api.gradebook as gradebook:
        assignment = gradebook.find_assignment(lab)
        graded = [(s.student.id, [n.name for n in s.notebooks]) for s in assignment.submissions]
        for student, _ in graded:
            timestamp = api.coursedir.get_existing_timestamp(
                str(root / api.coursedir.submitted_directory / student / lab)
            )
            gradebook.find_submission(lab, student).timestamp = timestamp
        _write_extensions(assignment, recorded)
        gradebook.db.commit()
    for student, notebooks in graded:
        for notebook in notebooks:
            resources = {
                "nbgrader": {
                    "notebook": notebook,
                    "assignment": lab,
                    "student": student,
                    "db_url": api.coursedir.db_url,
                }
            }
            AssignLatePenalties(config=config, log=QUIET).preprocess(
                nbformat.v4.new_notebook(), resources
            )
    return len(graded)


# Per-student extensions (``course extend``)


def extensions_path(root: Path, lab: str) -> Path:
    """``reports/<lab>/extensions.json``: the extensions ``course extend`` gave, by student."""
    return layout.reports(root, lab) / EXTENSIONS_FILE


def recorded_extensions(root: Path, lab: str) -> dict[str, timedelta]:
    """The extensions recorded for ``lab``, by student ({} when none); ValueError, saying what
    to do, when the record cannot be read."""
    path = extensions_path(root, lab)
    try:
        entries = json.loads(path.read_text())
        return {
            str(student): timedelta(seconds=float(entry["seconds"]))
            for student, entry in entries.items()
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        raise ValueError(
            f"{layout.shown(root, path).rstrip('/')} is not a record of extensions "
            '(it should read {"STUDENT": {"seconds": 172800.0}, ...}): correct it, or remove '
            f"it and give the extensions again with `course extend {lab} STUDENT --days N`"
        ) from None


def record_extension(root: Path, lab: str, student: str, extension: timedelta | None) -> None:
    """Record ``student``'s extension of ``lab`` (None: remove it) in :func:`extensions_path`."""
    recorded = recorded_extensions(root, lab)
    if extension is None:
        recorded.pop(student, None)
    else:
        recorded[student] = extension
    write_atomic(
        extensions_path(root, lab),
        json.dumps(
            {s: {"seconds": e.total_seconds()} for s, e in sorted(recorded.items())}, indent=1
        )
        + "\n",
    )


def _write_extensions(assignment, recorded: dict[str, timedelta]) -> None:
    """Give each submission of ``assignment`` (the gradebook's) its recorded extension, or
    none at all when the lab has no due date (nbgrader's ``SubmittedAssignment.duedate`` adds
    the extension to the due date, and fails when there is none). An extension set in the
    gradebook by other means is left as it is."""
    for submission in assignment.submissions:
        if assignment.duedate is None:
            wanted = None
        elif submission.student.id in recorded:
            wanted = recorded[submission.student.id]
        else:
            continue
        if submission.extension != wanted:
            submission.extension = wanted


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


def shown_moment(moment: datetime) -> str:
    """``moment`` as the course's messages show times: in UTC, to the minute."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def shown_duration(duration: timedelta) -> str:
    """``duration`` in days, hours and minutes (``2 days``, ``1 day 12 h``, ``30 min``)."""
    minutes = round(duration.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{days} day{'' if days == 1 else 's'}" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(part for part in parts if part) or "0 min"
