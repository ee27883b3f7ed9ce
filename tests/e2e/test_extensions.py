"""Per-student extensions (`course extend`): nbgrader's own extension of one student's
submission, so their lateness and penalty count from their own due date, at once for a graded
student and when graded for one extended before handing in; shown by `course report`, `--list`
and the LMS import's grade; kept through a forced regrade; bad input refused, changing
nothing. Real grading, real gradebook."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from course.cli import main
from course.export import per_test_rows
from course.late import timestamp_text
from course.lms.handback import write_sample_roster
from course.nbgrader_setup import make_api
from labs.lab1.cohort import LAB1_COHORT, write_cohort
from tests.support.commands import run_course, run_nbgrader
from tests.support.paths import LAB
from tests.support.scratch import grade_scratch, make_scratch_course

DUE = "2026-10-16 23:59:00+00:00"  # 10 % a day or part of one, 15 minutes' grace, cap 50 %
POLICY = (
    f'\nc.Deadlines.due = {{"{LAB}": "{DUE}"}}\n'
    "c.PercentPerDay.percent_per_day = 10\nc.PercentPerDay.cap_percent = 50\n"
    "c.PercentPerDay.grace_minutes = 15\n"
)
HANDED_IN = datetime(2026, 10, 18, 10, 0, tzinfo=UTC)  # 34 h late: 2 days, 20 % of 22
CY_HANDED_IN = datetime(2026, 10, 19, 10, 0, tzinfo=UTC)  # 58 h late: 3 days, 30 %
NO_DUE_LAB = "lab1again"  # Lab 1's notebook under another name, with no due date


def _submit(course, student: str, when: datetime) -> None:
    """The solution (22 of the tests' 22 points, no written answer) handed in at ``when``."""
    work = course.parent / "work"
    if not work.exists():
        (correct,) = [s for s in LAB1_COHORT if s.student == "correct"]
        write_cohort(course, LAB, work, (correct,))
    folder = course / "submitted" / student / LAB
    shutil.copytree(work / "correct" / LAB, folder)
    (folder / "timestamp.txt").write_text(timestamp_text(when))


def _extend(course, *args: str) -> SimpleNamespace:
    """``course extend LAB *args`` in ``course``, by the command's own ``main`` in this
    process (the command starts in about 2 s, and it runs 20 times here); the first call of
    the test runs the command itself."""
    with contextlib.chdir(course), capture() as (out, err):
        try:
            status = main(["extend", LAB, *args])
        except SystemExit as exit:  # argparse's refusals
            status = exit.code
    return SimpleNamespace(returncode=status, stdout=out.getvalue(), stderr=err.getvalue())


@contextlib.contextmanager
def capture():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def _standing(course) -> dict[str, tuple]:
    """Each graded student's (late penalty, total, extension) in the gradebook."""
    with make_api(course).gradebook as gradebook:
        rows = {r["student_id"]: r for r in per_test_rows(gradebook, LAB)}
        return {
            s.student.id: (
                pytest.approx(rows[s.student.id]["late_penalty"]),
                pytest.approx(rows[s.student.id]["total"]),
                s.extension,
            )
            for s in gradebook.find_assignment(LAB).submissions
        }


def _state(course) -> tuple:
    """What a refused `course extend` must leave as it was: the record, and the gradebook."""
    record = course / "reports" / LAB / "extensions.json"
    with make_api(course).gradebook as gradebook:
        rows = per_test_rows(gradebook, LAB)
        extensions = {s.student.id: s.extension for s in gradebook.find_assignment(LAB).submissions}
    return record.read_text() if record.exists() else None, rows, extensions


def _grade(course, *options: str) -> None:
    graded = grade_scratch(course, *options)
    assert graded.returncode == 0, graded.stdout + graded.stderr


def test_an_extension_moves_one_students_lateness_and_penalty(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + POLICY)
    shutil.copytree(course / "source" / LAB, course / "source" / NO_DUE_LAB)
    for student in ("ada", "bob"):
        _submit(course, student, HANDED_IN)
    run_nbgrader("db", "student", "add", "cy", cwd=course)  # in the class, nothing handed in

    # Extended before handing anything in: recorded, applied when graded.
    early = run_course("extend", LAB, "cy", "--days", "3", cwd=course)
    assert early.returncode == 0, early.stdout + early.stderr
    assert "cy: extended by 3 days to 2026-10-19 23:59 UTC; not graded yet" in early.stdout
    assert "cy is not graded yet" in early.stdout

    _grade(course)
    assert _standing(course) == {
        "ada": (4.4, 17.6, None),
        "bob": (4.4, 17.6, None),
    }

    # Bad input: exit status 2, a message that says what to do, nothing changed.
    before = _state(course)
    for args, said in [
        (
            ("nobody", "--days", "1"),
            "'nobody' is not a student of this course: nobody by that id is in the gradebook",
        ),
        (("nobody", "--days", "1"), "`nbgrader db student add nobody`"),
        (("../ada", "--days", "1"), "'../ada' cannot be a student id"),
        (
            ("ada", "--until", "2026-10-16 12:00 +00:00"),
            "is not after lab1's due date, 2026-10-16 23:59 UTC",
        ),
        (("ada", "--until", "2026-10-18 23:59"), "has no UTC offset"),
        (("ada", "--until", "next friday"), "is not a date and time"),
        (("ada", "--days", "-1"), "--days -1 is not a number of days to extend by"),
        (("ada", "--days", "4000"), "is more than 365 days"),
        (("ada",), "one of the arguments --days --until --clear --list is required"),
        (("--days", "1"), "whose? give the student"),
    ]:
        refused = _extend(course, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert said in refused.stderr, (args, refused.stderr)
        assert _state(course) == before, args
    no_due = run_course("extend", NO_DUE_LAB, "ada", "--days", "1", cwd=course)
    assert no_due.returncode == 2
    assert f"{NO_DUE_LAB} has no due date to extend: set it in nbgrader_config.py" in (
        no_due.stderr
    )
    assert _state(course) == before

    # Half a day: due 2026-10-17 11:59, so 22 h late, one day: 10 %. Bob keeps his 20 %.
    half = _extend(course, "ada", "--days", "0.5")
    assert half.returncode == 0, half.stdout + half.stderr
    assert "ada: extended by 12 h to 2026-10-17 11:59 UTC" in half.stdout
    assert "ada's late penalty: 4.4 -> 2.2; total 19.8 of 24" in half.stdout
    assert _standing(course) == {
        "ada": (2.2, 19.8, timedelta(hours=12)),
        "bob": (4.4, 17.6, None),
    }

    # The report: the student's own due date beside their lateness, and the extensions.
    report = run_course("report", LAB, cwd=course)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "  ada: 22 - 2.2 = 19.8 (due extended to 2026-10-17 11:59 UTC)" in report.stdout
    assert "  bob: 22 - 4.4 = 17.6\n" in report.stdout
    assert "extensions given with course extend (2):" in report.stdout
    assert (
        "  ada: extended by 12 h to 2026-10-17 11:59 UTC; handed in 2026-10-18 10:00 UTC, "
        "22 h 1 min late, late penalty 2.2"
    ) in report.stdout
    page = (course / "reports" / LAB / "report.html").read_text()
    assert (
        "<td>ada</td><td>22</td><td>2.2</td><td>19.8</td><td>2026-10-17 11:59 UTC (extended)</td>"
    ) in page
    assert "<td>bob</td><td>22</td><td>4.4</td><td>17.6</td><td>2026-10-16 23:59 UTC</td>" in page
    assert "<h2>Extensions</h2>" in page
    assert (
        "<td>ada</td><td>12 h</td><td>2026-10-17 11:59 UTC</td><td>2026-10-18 10:00 UTC</td>"
        "<td>22 h 1 min</td><td>2.2</td>"
    ) in page
    assert "<td>cy</td><td>3 days</td><td>2026-10-19 23:59 UTC</td><td>not graded yet</td>" in page

    # --until (with another offset) and --days agree: two days, handed in on time.
    until = _extend(course, "ada", "--until", "2026-10-19 00:59 +01:00")
    assert until.returncode == 0, until.stdout + until.stderr
    assert "ada's late penalty: 2.2 -> 0; total 22 of 24" in until.stdout
    record = (course / "reports" / LAB / "extensions.json").read_text()
    listed = _extend(course, "--list")
    days = _extend(course, "ada", "--days", "2")
    assert days.returncode == 0 and "ada's late penalty: 0 -> 0" in days.stdout
    assert (course / "reports" / LAB / "extensions.json").read_text() == record
    assert _extend(course, "--list").stdout == listed.stdout
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        "lab1 is due 2026-10-16 23:59 UTC; 2 extensions (reports/lab1/extensions.json)",
        "  ada: extended by 2 days to 2026-10-18 23:59 UTC; handed in 2026-10-18 10:00 UTC, "
        "on time, late penalty 0",
        "  cy: extended by 3 days to 2026-10-19 23:59 UTC; not graded yet",
    ]
    assert _standing(course) == {"ada": (0, 22, timedelta(days=2)), "bob": (4.4, 17.6, None)}

    # The LMS import: the grade counts lateness from the student's own due date.
    roster = write_sample_roster(tmp_path / "roster.csv", ["ada", "bob", "cy"])
    exported = run_course("export", LAB, "--lms", "canvas", "--roster", str(roster), cwd=course)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert (
        "due date extended, lateness counted from it: ada: extended by 2 days to "
        "2026-10-18 23:59 UTC"
    ) in exported.stdout
    with (course / "reports" / LAB / "canvas-import.csv").open() as rows:
        grades = {r["SIS Login ID"]: r[LAB] for r in csv.DictReader(rows) if r["SIS Login ID"]}
    assert grades == {"ada": "22", "bob": "17.6", "cy": "0", "no_show": "0"}

    # Cy hands in 58 h after the lab's due date, within his 3 days; everyone is graded again
    # from scratch: the extensions stand, Cy's applied as he is graded.
    _submit(course, "cy", CY_HANDED_IN)
    _grade(course, "--force")
    assert _standing(course) == {
        "ada": (0, 22, timedelta(days=2)),
        "bob": (4.4, 17.6, None),
        "cy": (0, 22, timedelta(days=3)),
    }

    # Removed: the lab's due date again, and its penalty at once.
    cleared = _extend(course, "cy", "--days", "0")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert "lab1: cy's extension removed; their due date is the lab's, 2026-10-16 23:59 UTC" in (
        cleared.stdout
    )
    assert "cy's late penalty: 0 -> 6.6; total 15.4 of 24" in cleared.stdout
    assert _extend(course, "ada", "--clear").returncode == 0
    nothing = _extend(course, "bob", "--clear")
    assert nothing.returncode == 0 and "bob has no extension of lab1: nothing to remove" in (
        nothing.stdout
    )
    assert _standing(course) == {
        "ada": (4.4, 17.6, None),
        "bob": (4.4, 17.6, None),
        "cy": (6.6, 15.4, None),
    }
    assert _extend(course, "--list").stdout.splitlines() == [
        "lab1 is due 2026-10-16 23:59 UTC; no extensions (reports/lab1/extensions.json)"
    ]
