"""The extensions ``course extend`` gave, by student: ``reports/<lab>/extensions.json``.

nbgrader keeps an extension on a student's submission, so a student who has not handed in yet
has nowhere in the gradebook to hold one: the course records them here as well, and writes them
into the gradebook whenever it assigns late penalties (:func:`course.late.reapply_late_penalties`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from course import layout
from course.files import write_atomic

EXTENSIONS_FILE = "extensions.json"  # in reports/<lab>/


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


def write_extensions(assignment, recorded: dict[str, timedelta]) -> None:
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
