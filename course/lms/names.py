"""The file names LMSs give submissions, read: whose a file is, which notebook, which resubmission.

* Canvas: ``doejane_12345_67890_classification.ipynb`` (also ``_LATE_`` and resubmissions
  renamed ``classification-1.ipynb``; the highest resubmission number wins);
* Moodle: ``Jane Doe_12345_assignsubmission_file_classification.ipynb``;
* plain: ``<student_id>.ipynb`` for a lab with one notebook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from course.lms.extract import UPLOADED_ARCHIVES
from course.submissions import SAFE_NAME

# Each LMS's names, by LMS; ``prefix`` is what the LMS put before the student's own file name,
# which a feedback file must start with for the LMS to hand it to that student.
PATTERNS = {
    "canvas": re.compile(
        r"^(?P<prefix>(?P<name>[^_]+)_(?P<late>LATE_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_)"
        r"(?P<file_id>.+?)(?:-(?P<resubmission>\d+))?\.ipynb$"
    ),
    "moodle": re.compile(
        r"^(?P<prefix>(?P<name>[^_]+)_(?P<student_id>\d+)_assignsubmission_file_)"
        r"(?P<file_id>.+?)\.ipynb$"
    ),
}
PLAIN = re.compile(rf"^(?P<student_id>{SAFE_NAME.pattern})\.ipynb$")


@dataclass(frozen=True)
class ParsedName:
    """What a submitted file's name says: whose it is, which notebook, which resubmission."""

    student_id: str
    file_id: str
    resubmission: int = 0
    lms: str = ""  # "canvas", "moodle", or "" for a plain <student_id>.ipynb
    name: str = ""  # the student's name as the LMS wrote it
    prefix: str = ""  # what the LMS put before the notebook's name
    marked_late: bool = False  # Canvas's _LATE_

    def first_and_last_name(self) -> tuple[str | None, str | None]:
        """The name as the gradebook keeps it: Moodle's "First Last" split at the last space;
        Canvas's name (its sortable name with the punctuation dropped, "doejane") cannot be
        split, so it is kept whole as the last name."""
        if not self.name:
            return None, None
        if self.lms == "moodle" and " " in self.name.strip():
            first, last = self.name.strip().rsplit(" ", 1)
            return first, last
        return None, self.name


def parse_name(filename: str, notebooks: list[str]) -> ParsedName | str:
    """Parse an LMS file name; return the parsed name, or a reason it is not understood."""
    if not filename.endswith(".ipynb"):
        return "not a notebook"
    for lms, pattern in PATTERNS.items():
        match = pattern.match(filename)
        if match:
            file_id = match["file_id"]
            if file_id not in notebooks:
                return (
                    f"notebook name {file_id!r} is not one of this lab's ({', '.join(notebooks)})"
                )
            return ParsedName(
                match["student_id"],
                file_id,
                int(match.groupdict().get("resubmission") or 0),
                lms=lms,
                name=match["name"],
                prefix=match["prefix"],
                marked_late=bool(match.groupdict().get("late")),
            )
    match = PLAIN.match(filename)
    if match and match["student_id"] in notebooks:
        return (
            f"{filename} is the lab's own notebook name, with no student's name or ID: "
            "name it <student_id>.ipynb, or collect the LMS's zip as downloaded"
        )
    if match and len(notebooks) == 1:
        return ParsedName(match["student_id"], notebooks[0])
    return (
        "file name not recognised: expected Canvas (name_12345_67890_notebook.ipynb), "
        "Moodle (Name_12345_assignsubmission_file_notebook.ipynb) or <student_id>.ipynb"
    )


def upload_prefix(name: str) -> tuple[str, str] | None:
    """What the LMS put before the name of an archive a student uploaded (``name`` as the LMS
    gave it), and its resubmission suffix (``-2``, or empty); None when the name is no LMS's."""
    lowered = name.lower()
    suffix = next((s for s in UPLOADED_ARCHIVES if lowered.endswith(s)), None)
    if suffix is None:
        return None
    for pattern in PATTERNS.values():  # the LMS's names, as if it were the notebook itself
        if match := pattern.match(name[: -len(suffix)] + ".ipynb"):
            resubmission = match.groupdict().get("resubmission")
            return match["prefix"], f"-{resubmission}" if resubmission else ""
    return None
