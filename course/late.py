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
* :func:`reapply_late_penalties`: the penalties assigned again, with each student's extension
  (``course extend``, :mod:`course.extensions`) written into the gradebook first.

The penalty is nbgrader's own (``late_submission_penalty`` of each graded notebook), so the
formgrader, ``nbgrader export`` and the course's CSVs all read the same number.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Float, Unicode
from traitlets.config import Configurable

from course import layout
from course.extension_record import recorded_extensions, write_extensions
from course.nbgrader_setup import load_config, make_api

DAY = 24 * 3600
# nbgrader's AssignLatePenalties logs a warning for every late notebook: the CSVs and the
# report say it once, better.
QUIET = logging.getLogger("course.late")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False
# What nbgrader writes in timestamp.txt and reads back (nbgrader.utils.parse_utc reads it).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


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
        write_extensions(assignment, recorded)
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
        write_extensions(assignment, recorded)
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
