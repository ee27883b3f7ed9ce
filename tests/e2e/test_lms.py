"""Back to the LMS: a Canvas and a Moodle submission zip, with known names, late markers and
times, collected with the real `course collect`; the late penalty taken by nbgrader's own
AssignLatePenalties under the course's policy; the import files `course export --lms` writes,
equal to files checked by hand; the feedback zip named for the LMS's bulk upload."""

from __future__ import annotations

import csv
import warnings
import zipfile
from datetime import UTC, datetime

import nbformat
import pytest
from sqlalchemy.exc import SAWarning

from course.export import per_test_rows
from course.labs import copy_course
from course.late import DAY, penalty_fraction, reapply_late_penalties
from course.lms.handback import read_roster, write_import
from course.nbgrader_setup import make_api
from course.reporting.build import build_report
from course.written_answers import written_answer_ids
from tests.support.commands import run_course, run_nbgrader
from tests.support.paths import LAB, NOTEBOOK, RELEASE_NOTEBOOK, ROOT, SOURCE_NOTEBOOK

DUE = "2026-10-16 23:59:00+00:00"  # 10 % a day or part of one, 15 minutes' grace, cap 50 %
POLICY = (
    f'\nc.Deadlines.due = {{"{LAB}": "{DUE}"}}\n'
    "c.PercentPerDay.percent_per_day = 10\nc.PercentPerDay.cap_percent = 50\n"
    "c.PercentPerDay.grace_minutes = 15\n"
)


@pytest.mark.parametrize(
    ("seconds_late", "fraction"),
    [
        (-1, 0.0),  # just before the due date
        (0, 0.0),  # at it
        (15 * 60, 0.0),  # the last second of the grace period
        (15 * 60 + 1, 0.10),  # just after it: a day started, counted from the due date
        (DAY, 0.10),  # one whole day
        (DAY + 1, 0.20),  # a second into the second day
        (4 * DAY + 1, 0.50),  # the fifth day reaches the cap
        (30 * DAY, 0.50),  # and it stays there
    ],
)
def test_the_late_penalty_at_its_edges(seconds_late, fraction):
    assert penalty_fraction(seconds_late, 10, 50, 15) == pytest.approx(fraction)


def _zip(path, files: dict[str, datetime | tuple]):
    """A zip of the release notebook under each name, with that file time (in UTC, the
    zone the course's configuration gives for LMS zips; a tuple is written as it is)."""
    notebook = RELEASE_NOTEBOOK.read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        for name, when in files.items():
            stamp = when if isinstance(when, tuple) else when.timetuple()[:6]
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), notebook)
    return path


def _grade_everyone_full_marks(course):
    """Every collected student's notebook given full marks for its tests in the gradebook, its
    written answers left as released (what grading them would record for correct code and no
    written answer; grading itself is tested elsewhere), then the late penalties assigned as
    `course grade` does at its end."""
    students = sorted(p.name for p in (course / "submitted").iterdir())
    with make_api(course).gradebook as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader 0.9.6 on SQLAlchemy 2, harmless
        written = written_answer_ids(gradebook, LAB)
        for student in students:
            submission = gradebook.add_submission(LAB, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0.0 if grade.name in written else grade.max_score
                    grade.needs_manual_grade = False
        gradebook.db.commit()
    for student in students:  # the feedback pages grading writes
        page = course / "feedback" / student / LAB / f"{NOTEBOOK}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<p>feedback for {student}</p>")
    reapply_late_penalties(course, LAB)


@pytest.fixture
def course(tmp_path):
    """A scratch course whose configuration sets lab1's due date and the policy above,
    released with `course release` (which writes the due date into the gradebook)."""
    course = tmp_path / "course"
    copy_course(ROOT, course, LAB)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + POLICY)
    released = run_course("release", LAB, cwd=course)
    assert released.returncode == 0, released.stdout + released.stderr
    with make_api(course).gradebook as gradebook:
        assert gradebook.find_assignment(LAB).duedate == datetime(2026, 10, 16, 23, 59)
    return course


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_canvas_zip_to_canvas_import_file(course, tmp_path):
    archive = _zip(
        tmp_path / "submissions.zip",
        {
            "doejane_1001_5001_classification.ipynb": at("2026-10-16 20:00:00"),  # on time
            "smithjohn_LATE_1002_5002_classification.ipynb": at("2026-10-18 10:00:00"),  # 2nd day
            "leeann_LATE_1003_5003_classification.ipynb": at("2026-10-17 00:10:00"),  # grace
            "kimsue_LATE_1005_5005_classification.ipynb": at("2026-10-27 09:00:00"),  # capped
            "nguyenbao_1004_5004_classification.ipynb": at("2026-10-16 21:00:00"),  # not listed
            "parkmin_LATE_1007_5007_classification.ipynb": at("2026-10-16 22:00:00"),  # marker
            "ortizluis_1008_5008_classification.ipynb": at("2026-10-17 08:00:00"),  # no marker
            "zerodate_1009_5009_classification.ipynb": (1980, 0, 0, 0, 0, 0),  # no time at all
            "../outside_1010_5010_classification.ipynb": at("2026-10-16 20:00:00"),
        },
    )
    collected = run_course("collect", LAB, str(archive), cwd=course)
    assert collected.returncode == 1, collected.stdout + collected.stderr  # one left out:
    assert (
        "NOT collected ../outside_1010_5010_classification.ipynb: not extracted: its path "
        "in the zip leaves the zip's folder"
    ) in collected.stdout
    # Canvas's marker and the time disagree (either way): the penalty follows the time, and
    # the instructor is told
    assert (
        "CHECK parkmin_LATE_1007_5007_classification.ipynb: the LMS marks it late but "
        "it was handed in at 2026-10-16 22:00 UTC, before the due date"
    ) in collected.stdout
    assert (
        "CHECK ortizluis_1008_5008_classification.ipynb: the LMS does not mark it late but "
        "its time, 2026-10-17 08:00 UTC, is after the due date"
    ) in collected.stdout
    assert "CHECK zerodate_1009_5009_classification.ipynb: its time in the zip" in (
        collected.stdout
    )
    assert not (course / "submitted" / "1009" / LAB / "timestamp.txt").exists()
    assert (
        (course / "submitted" / "1002" / LAB / "timestamp.txt")
        .read_text()
        .startswith("2026-10-18 10:00:00")
    )
    with make_api(course).gradebook as gradebook:
        assert gradebook.find_student("1001").last_name == "doejane"  # kept, not only the ID
    _grade_everyone_full_marks(course)

    not_a_roster = tmp_path / "names.csv"
    not_a_roster.write_text("name,score\nJane,1\n")
    refused = run_course(
        "export", LAB, "--lms", "canvas", "--roster", str(not_a_roster), cwd=course
    )
    assert refused.returncode == 2
    assert "is not a canvas roster: it has no Student, ID column" in refused.stderr
    assert not (course / "reports" / LAB / "canvas-import.csv").exists()

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab 0 (77),Current Score\n"
        "    Points Possible,,,,,10.00,(read only)\n"
        '"Doe, Jane",1001,S1,jdoe,Section A,9,90\n'
        '"Smith, John",1002,S2,jsmith,Section A,8,80\n'
        '"Lee, Ann",1003,S3,alee,Section B,,\n'
        '"Kim, Sue",1005,S5,skim,Section B,7,70\n'
        '"Absent, Al",1006,S6,aabsent,Section B,,\n'
        '"Park, Min",1007,S7,mpark,Section A,10,100\n'
        '"Ortiz, Luis",1008,S8,lortiz,Section A,,\n'
        '"Zero, Date",1009,S9,zdate,Section A,,\n'
        '"Kim, Sue (again)",1005,S10,skim2,Section B,,\n'  # two rows with one ID
        '"Test, Student",,,,Section A,,\n'
    )  # Canvas's test student: no ID
    exported = run_course("export", LAB, "--lms", "canvas", "--roster", str(roster), cwd=course)
    assert exported.returncode == 1  # someone could not be placed
    assert (
        "NOT in the import: 1004: no roster row has their Canvas ID (nguyenbao)" in exported.stdout
    )
    assert "NOT in the import: 1005: 2 roster rows could be them (kimsue)" in exported.stdout
    assert "no submission, 0: Absent, Al (1006, S6, aabsent)" in exported.stdout
    written = (course / "reports" / LAB / "canvas-import.csv").read_text()
    assert written.splitlines() == [  # checked by hand: 22 points, less the late penalty
        "Student,ID,SIS User ID,SIS Login ID,Section,lab1",
        "    Points Possible,,,,,24",  # 22 for the tests, 2 for the written answers
        '"Doe, Jane",1001,S1,jdoe,Section A,22',
        '"Smith, John",1002,S2,jsmith,Section A,17.6',  # 34 h late: 2 days, 20 %
        '"Lee, Ann",1003,S3,alee,Section B,22',  # 11 minutes late: grace
        '"Kim, Sue",1005,S5,skim,Section B,',  # two rows could be her: neither is given
        '"Absent, Al",1006,S6,aabsent,Section B,0',  # in the class, handed nothing in
        '"Park, Min",1007,S7,mpark,Section A,22',
        '"Ortiz, Luis",1008,S8,lortiz,Section A,19.8',  # 8 hours late: 10 %
        '"Zero, Date",1009,S9,zdate,Section A,22',  # no time: nothing to be late by
        '"Kim, Sue (again)",1005,S10,skim2,Section B,',
        '"Test, Student",,,,Section A,',  # nothing to import it by
    ]
    with zipfile.ZipFile(course / "reports" / LAB / "canvas-feedback.zip") as pages:
        assert sorted(pages.namelist()) == [
            "doejane_1001_5001_classification.html",
            "kimsue_LATE_1005_5005_classification.html",
            "leeann_LATE_1003_5003_classification.html",
            "nguyenbao_1004_5004_classification.html",
            "ortizluis_1008_5008_classification.html",
            "parkmin_LATE_1007_5007_classification.html",
            "smithjohn_LATE_1002_5002_classification.html",
            "zerodate_1009_5009_classification.html",
        ]
        assert pages.read("smithjohn_LATE_1002_5002_classification.html") == (
            b"<p>feedback for 1002</p>"
        )

    run_nbgrader("export", cwd=course)  # raw score, penalty and grade, in nbgrader's export
    with (course / "grades.csv").open(newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert [rows["1002"][c] for c in ("raw", "late_penalty", "total")] == ["22.0", "4.4", "17.6"]
    assert [rows["1005"][c] for c in ("raw", "late_penalty", "total")] == ["22.0", "11.0", "11.0"]
    assert [rows["1003"][c] for c in ("raw", "late_penalty", "total")] == ["22.0", "0.0", "22.0"]

    # the report shows raw, penalty and grade of each late student
    report = build_report(course, LAB)
    assert {r["student_id"]: (r["raw"], r["late_penalty"], r["total"]) for r in report.late} == {
        "1002": pytest.approx((22, 4.4, 17.6)),
        "1005": pytest.approx((22, 11, 11)),
        "1008": pytest.approx((22, 2.2, 19.8)),
    }
    page = (course / "reports" / LAB / "report.html").read_text()
    assert "<h2>Late submissions</h2>" in page and "<td>1002</td><td>22</td><td>4.4</td>" in page
    # per-step columns, on request, with their points possible
    write_import(course, LAB, read_roster(roster, "canvas"), tmp_path / "steps.csv", per_step=True)
    header, points, *_ = (tmp_path / "steps.csv").read_text().splitlines()
    grade_cells = [  # in the notebook's order, the written answers first
        cell.metadata.nbgrader
        for cell in nbformat.read(SOURCE_NOTEBOOK, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    ]
    assert header.endswith(",lab1," + ",".join(f"lab1: {c['grade_id']}" for c in grade_cells))
    each = "".join(f",{c['points']:g}" for c in grade_cells)
    assert points == "    Points Possible,,,,,24" + each

    # A score taken away by hand after grading: the penalty follows it once reassigned (as
    # `course report` and `course grade` do), 20 % of 20 rather than of 22
    with make_api(course).gradebook as gradebook:
        gradebook.find_grade("test_training_lowers_loss", NOTEBOOK, LAB, "1002").manual_score = 0
        gradebook.db.commit()
    reapply_late_penalties(course, LAB)
    with make_api(course).gradebook as gradebook:
        row = per_test_rows(gradebook, LAB, ["1002"])[0]
    assert (row["raw"], row["late_penalty"], row["total"]) == pytest.approx((20, 4, 16))


def test_moodle_zip_to_moodle_import_file(course, tmp_path):
    archive = _zip(
        tmp_path / "moodle.zip",
        {
            "Jane Doe_311_assignsubmission_file_classification.ipynb": at("2026-10-16 12:00:00"),
            "Ann Marie Lee_312_assignsubmission_file_classification.ipynb": at(
                "2026-10-19 12:00:00"
            ),  # 3 days late: 30 %
            "Sam Lee_313_assignsubmission_file_classification.ipynb": at("2026-10-16 12:00:00"),
            # Moodle's "download submissions in folders"
            "Bo Chen_314_assignsubmission_file/classification.ipynb": at("2026-10-16 12:00:00"),
            "Cy Dee_315_assignsubmission_file/classification.ipynb": at("2026-10-18 12:00:00"),
        },
    )
    config = course / "nbgrader_config.py"
    policy = config.read_text()
    config.write_text(policy + 'c.Deadlines.due = {"Lab1": "2026-10-16 23:59 +00:00"}\n')
    refused = run_course("collect", LAB, str(archive), cwd=course)  # a typo: no due date?
    assert refused.returncode == 2
    assert "c.Deadlines.due in nbgrader_config.py names Lab1, which is not a lab" in (
        refused.stderr
    )
    config.write_text(policy)
    collected = run_course("collect", LAB, str(archive), cwd=course)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert "collected 314: classification.ipynb" in collected.stdout
    assert (
        (course / "submitted" / "312" / LAB / "timestamp.txt")
        .read_text()
        .startswith("2026-10-19 12:00:00")
    )  # each file its own time, whatever folder holds it
    with make_api(course).gradebook as gradebook:
        student = gradebook.find_student("312")
        assert (student.first_name, student.last_name) == ("Ann Marie", "Lee")
    _grade_everyone_full_marks(course)
    roster = tmp_path / "moodle-roster.csv"
    roster.write_text(
        "First name,Last name,ID number,Institution,Department,Email address\n"
        "Jane,Doe,u001,Uni,CS,jane@uni.example\n"
        "ann marie,LEE,u002,Uni,CS,ann@uni.example\n"
        "Sam,Lee,u003,Uni,CS,sam.lee@uni.example\n"
        "Sam,Lee,u004,Uni,Maths,sam.lee2@uni.example\n"  # two Sam Lees: never guessed
        "Bo,Chen,u005,Uni,CS,bo@uni.example\n"
        "Cy,Dee,u006,Uni,CS,cy@uni.example\n"
        # Moodle's file number of Ann Marie's submission is this student's ID number: a
        # submission's number says nothing of who the student is
        "Carl,Poe,312,Uni,CS,carl@uni.example\n"
    )
    exported = run_course("export", LAB, "--lms", "moodle", "--roster", str(roster), cwd=course)
    assert exported.returncode == 1
    assert (
        "NOT in the import: 313: 2 roster rows could be them (Sam Lee): left out rather "
        "than guessed"
    ) in exported.stdout
    written = (course / "reports" / LAB / "moodle-import.csv").read_text()
    assert written.splitlines() == [
        "First name,Last name,ID number,Email address,lab1",
        "Jane,Doe,u001,jane@uni.example,22",
        "ann marie,LEE,u002,ann@uni.example,15.4",
        "Sam,Lee,u003,sam.lee@uni.example,",  # either could be the Sam Lee who handed in
        "Sam,Lee,u004,sam.lee2@uni.example,",
        "Bo,Chen,u005,bo@uni.example,22",  # on time, in the folder beside Cy's late one
        "Cy,Dee,u006,cy@uni.example,17.6",  # 36 hours late: 20 %
        "Carl,Poe,312,carl@uni.example,0",
    ]
    with zipfile.ZipFile(course / "reports" / LAB / "moodle-feedback.zip") as pages:
        assert "Ann Marie Lee_312_assignsubmission_file_classification.html" in pages.namelist()
