"""Grades and feedback back into the LMS: Canvas's gradebook import and Moodle's grade import,
from the LMS's own roster, and one zip of feedback pages the LMS hands out to each student.

A student is matched to a roster row only by what identifies them for sure, never by a guess:

* a Canvas file: the student's id in the gradebook is the Canvas user ID that ``course collect``
  read from the zip's file name; it must equal the roster's ``ID``;
* a Moodle file: its name carries the student's full name (and a number of the submission,
  not of the student), so the name ``course collect`` kept must equal exactly one roster row's
  ``First name`` + ``Last name`` (case and spacing aside);
* a notebook collected as ``<id>.ipynb``: the id must equal one of the roster's IDs (Canvas:
  ``ID``, ``SIS User ID``, ``SIS Login ID``; Moodle: ``ID number``, ``Email address``).

Whoever is graded but matches no row, or several, is listed and left out of the file, and a
row that could be theirs is written with no score (the LMS keeps what it has); every other
roster row without a graded student gets 0 (nothing handed in), and is listed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from course import layout
from course.export import grade_columns, per_test_rows
from course.files import write_atomic, write_csv
from course.lms.collect import collected_record
from course.nbgrader_setup import make_api
from course.written_answers import awaiting_hands

POINTS_POSSIBLE = "    Points Possible"  # Canvas's own second row, as its export writes it
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
CANVAS_KEYS = ("ID", "SIS User ID", "SIS Login ID")
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Email address")
MOODLE_KEYS = ("ID number", "Email address")


@dataclass
class Roster:
    """An LMS's roster (its own grade export): the header and the student rows, in order."""

    lms: str
    header: list[str]
    rows: list[dict[str, str]]
    points_possible: dict[str, str] | None = None  # Canvas's second row, when it has one

    def describe(self, i: int) -> str:
        """Row ``i`` as a person reads it: the name, and the IDs it has."""
        row = self.rows[i]
        name = row.get("Student") or f"{row.get('First name', '')} {row.get('Last name', '')}"
        keys = CANVAS_KEYS if self.lms == "canvas" else MOODLE_KEYS
        ids = ", ".join(row[key] for key in keys if row.get(key))
        return f"{name.strip()} ({ids or 'no ID'})"


@dataclass
class Matching:
    """Which graded student each roster row is (by row index), and who could not be placed."""

    by_row: dict[int, str] = field(default_factory=dict)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (student, why)
    blank_rows: dict[int, str] = field(default_factory=dict)  # row: why it gets no score
    waiting: set[str] = field(default_factory=set)  # students with answers to grade by hand
    no_submission: list[int] = field(default_factory=list)  # rows scored 0: nothing handed in


def read_roster(path: Path, lms: str) -> Roster:
    """Read the roster the LMS exported (Canvas: its gradebook export; Moodle: its grade
    export or participants list). ValueError when it is not one, saying what is missing."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Canvas writes a byte-order mark
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} does not exist: export the roster from {lms} "
            "(its gradebook export) and give its path"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not UTF-8 text: export it from {lms} again, or save it "
            'as "CSV UTF-8" if a spreadsheet program opened it'
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    doubled = sorted({name for name in header if name and header.count(name) > 1})
    if doubled:
        raise ValueError(
            f"{path} has the column {', '.join(doubled)} more than once: which "
            "one holds the students' IDs? Keep one and export again"
        )
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    required = ("Student", "ID") if lms == "canvas" else ("First name", "Last name")
    missing = [name for name in required if name not in header]
    keys = CANVAS_KEYS if lms == "canvas" else MOODLE_KEYS
    if missing or not any(key in header for key in keys):
        raise ValueError(
            f"{path} is not a {lms} roster: it has no {', '.join(missing or keys)} column "
            f"(its columns: {', '.join(header) or 'none'}); export the "
            f"{'gradebook' if lms == 'canvas' else 'grades (or participants)'} from {lms} "
            "as CSV and give that file"
        )
    points = None
    if lms == "canvas" and rows and rows[0].get("Student", "").strip() == "Points Possible":
        points = rows.pop(0)
    return Roster(lms, header, rows, points)


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class Graded:
    """A graded student as the LMS knows them."""

    student: str  # their id in the gradebook
    lms: str  # the LMS their file came from; "" when collected as <id>.ipynb
    name: str  # the name the LMS wrote in the file's name


def candidate_rows(roster: Roster, graded: Graded) -> list[int]:
    """The roster rows that are ``graded`` by what identifies them for sure: a Canvas file's
    user ID against Canvas's ``ID``; a Moodle file's name (its number identifies the
    submission, not the student) against ``First name`` + ``Last name``; the id of a
    notebook collected as ``<id>.ipynb`` against the roster's IDs (``ID``, ``SIS User ID``,
    ``SIS Login ID``; Moodle: ``ID number``, ``Email address``)."""
    if graded.lms and graded.lms != roster.lms:
        return []  # another LMS's ids and names say nothing about this roster's rows
    if graded.lms == "moodle":
        return [
            i
            for i, row in enumerate(roster.rows)
            if _name_key(f"{row['First name']} {row['Last name']}") == _name_key(graded.name)
        ]
    keys = (
        ("ID",)
        if graded.lms == "canvas"
        else (CANVAS_KEYS if roster.lms == "canvas" else MOODLE_KEYS)
    )
    return [
        i
        for i, row in enumerate(roster.rows)
        if any(row.get(key) == graded.student for key in keys)
    ]


def match_students(roster: Roster, students: list[Graded]) -> Matching:
    """Place each graded student on the one roster row that is them (:func:`candidate_rows`);
    list the rest with the reason. A row two students could be, or that could be a student
    left unplaced, is left blank rather than given anyone's score (or 0)."""
    matching = Matching()
    candidates = {graded.student: candidate_rows(roster, graded) for graded in students}
    claims = Counter(i for rows in candidates.values() for i in rows)
    for graded in sorted(students, key=lambda g: g.student):
        rows, shown = candidates[graded.student], graded.name or graded.student
        if len(rows) == 1 and claims[rows[0]] == 1:
            matching.by_row[rows[0]] = graded.student
            continue
        if not rows:
            what = {"canvas": "their Canvas ID", "moodle": "their name"}.get(graded.lms, "their ID")
            why = f"no roster row has {what} ({shown})"
        elif len(rows) > 1:
            why = f"{len(rows)} roster rows could be them ({shown}): left out rather than guessed"
        else:
            why = (
                f"another graded student could be the same roster row ({shown}): "
                "left out rather than guessed"
            )
        matching.unmatched.append((graded.student, why))
        for i in rows:
            matching.blank_rows[i] = f"could be {graded.student}"
    for i, row in enumerate(roster.rows):
        if i in matching.by_row or i in matching.blank_rows:
            continue
        keys = CANVAS_KEYS if roster.lms == "canvas" else MOODLE_KEYS
        if not any(row.get(key) for key in keys):
            matching.blank_rows[i] = "the row has no ID to import it by"
        else:
            matching.no_submission.append(i)
    return matching


def graded_students(root: Path, lab: str) -> list[Graded]:
    """Every student of the gradebook with a submission of ``lab``, with the LMS and name
    that course.lms.collect recorded from the LMS's zip (else the gradebook's name)."""
    record = collected_record(root, lab)
    with make_api(root).gradebook as gradebook:
        submitted = {s.student for s in gradebook.find_assignment(lab).submissions}
        return [
            Graded(
                s.id,
                record.get(s.id, {}).get("lms", ""),
                record.get(s.id, {}).get("name")
                or " ".join(filter(None, (s.first_name, s.last_name))),
            )
            for s in sorted(submitted, key=lambda s: s.id)
        ]


def assignment_column(roster: Roster, lab: str, column: str | None) -> str:
    """The roster's column for ``lab`` (Canvas: ``lab1 (1234)`` once the assignment exists),
    ``column`` when given, or the lab's name (the LMS then creates the assignment)."""
    if column:
        return column
    for name in roster.header:
        if name == lab or name.startswith(f"{lab} ("):
            return name
    return lab


def write_import(
    root: Path,
    lab: str,
    roster: Roster,
    target: Path,
    column: str | None = None,
    per_step: bool = False,
) -> Matching:
    """Write the LMS's grade import file for ``lab`` to ``target``; return the matching.

    Canvas: the roster's identity columns, then the lab's (the final score: raw less the late
    penalty), with Canvas's "Points Possible" row. Moodle: names, ID number, email, then the
    lab's. ``per_step`` adds a column per grade cell."""
    matching = match_students(roster, graded_students(root, lab))
    with make_api(root).gradebook as gradebook:
        columns = grade_columns(gradebook, lab)
        scores = {row["student_id"]: row for row in per_test_rows(gradebook, lab)}
        for i, student in sorted(matching.by_row.items()):
            if answers := awaiting_hands(gradebook, lab, student).answers:
                matching.waiting.add(student)
                matching.blank_rows[i] = (
                    f"{student}'s written answers are not graded yet ({', '.join(answers)}): "
                    "grade them in the formgrader, then export again"
                )
    title = assignment_column(roster, lab, column)
    steps = [(grade_id, f"{title}: {grade_id}") for _, grade_id, _ in columns] if per_step else []
    identity = [
        name
        for name in (CANVAS_IDENTITY if roster.lms == "canvas" else MOODLE_IDENTITY)
        if name in roster.header
    ]
    header = [*identity, title, *(name for _, name in steps)]
    lines = []
    if roster.lms == "canvas":
        maximum = {grade_id: top for _, grade_id, top in columns}
        lines.append(
            {
                "Student": POINTS_POSSIBLE,
                title: _number(sum(maximum.values())),
                **{name: _number(maximum[g]) for g, name in steps},
            }
        )
    for i, row in enumerate(roster.rows):
        line = {name: row.get(name, "") for name in identity}
        if i not in matching.blank_rows:  # a blank score leaves the LMS's grade as it is
            score = scores.get(matching.by_row.get(i), {})
            line.update(
                {
                    title: _number(score.get("total", 0.0)),
                    **{name: _number(score.get(g, 0.0)) for g, name in steps},
                }
            )
        lines.append(line)
    write_csv(target, header, lines)
    return matching


def _number(value: float) -> str:
    return f"{value:g}"


def feedback_zip(
    root: Path, lab: str, target: Path, waiting: Collection[str] = ()
) -> list[tuple[str, str]]:
    """Zip every student's feedback pages of ``lab`` to ``target``, each named as the LMS
    named their submission (``doejane_12345_67890_classification.html`` for Canvas, the
    ``Jane Doe_12345_assignsubmission_file_`` prefix for Moodle), so that the LMS's bulk
    upload hands each page to its student. Returns the students left out, with why: those
    whose submission did not come from an LMS zip (no name to give their page), and those
    ``waiting`` for written answers to be graded by hand (their page would say 0 for them)."""
    record = collected_record(root, lab)
    left_out = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in sorted(layout.folder(root, "feedback").glob(f"*/{lab}")):
            student = folder.parent.name
            prefix = record.get(student, {}).get("prefix")
            if student in waiting:
                left_out.append((student, "written answers not graded yet"))
                continue
            if not prefix:
                left_out.append((student, "no LMS file name (not collected from an LMS zip)"))
                continue
            for page in sorted(folder.glob("*.html")):
                archive.writestr(prefix + page.name, page.read_bytes())
    write_atomic(target, buffer.getvalue())
    return left_out


def write_sample_roster(path: Path, students: list[str], missing: str = "no_show") -> Path:
    """A roster as Canvas's gradebook export writes it, for the demo: one row per student
    (Canvas user ID 1001, 1002, ...; the student's id as SIS Login ID, which is how
    ``course export`` matches notebooks collected as ``<id>.ipynb``), plus ``missing``, a
    student of the class who handed nothing in."""
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section", "    Points Possible,,,,"]
    for number, student in enumerate([*students, missing], start=1001):
        lines.append(
            f'"{student.replace("_", " ").title()}",{number},S{number},{student},Section 1'
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
