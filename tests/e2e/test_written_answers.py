"""Written answers, graded by hand: they wait for the instructor without flagging anyone, no
LMS import gives a grade that lacks them, and once graded they count everywhere."""

from __future__ import annotations

import csv

import nbformat
from nbgrader.api import Gradebook

from course.lms.handback import write_sample_roster
from course.notebooks import cell_by_grade_id
from labs.lab1.cohort import LAB1_COHORT, write_cohort
from tests.support.commands import run_course
from tests.support.gradebook import recorded_outcomes
from tests.support.paths import LAB, NOTEBOOK
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course

WROTE, SILENT = "alternative_forms", "correct"  # with and without written answers
WRITTEN = {s.student: dict(s.written) for s in LAB1_COHORT}


def _canvas_rows(course, roster) -> tuple[dict[str, str], str]:
    exported = run_course("export", LAB, "--lms", "canvas", "--roster", str(roster), cwd=course)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with (course / "reports" / LAB / "canvas-import.csv").open() as rows:
        by_login = {r["SIS Login ID"]: r[LAB] for r in csv.DictReader(rows) if r["SIS Login ID"]}
    return by_login, exported.stdout


def _grade_by_hand(course, student: str, scores: dict[str, float]) -> None:
    """Give ``scores`` to the written answers of ``student``, as the formgrader's grade
    handler does (nbgrader.server_extensions.formgrader.apihandlers.GradeHandler.put)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for grade_id, score in scores.items():
            grade = gradebook.find_grade(grade_id, NOTEBOOK, LAB, student)
            grade.manual_score = score
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gradebook.db.commit()


def _grade(course, *options: str) -> None:
    graded = run_course("grade", LAB, "--student-timeout", STUDENT_TIMEOUT, *options, cwd=course)
    assert graded.returncode == 0, graded.stdout + graded.stderr


def test_written_answers_wait_for_the_instructor_then_count(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    cohort = tuple(s for s in LAB1_COHORT if s.student in (WROTE, SILENT))
    assert WRITTEN[WROTE] and not WRITTEN[SILENT]
    write_cohort(course, LAB, course / "incoming", cohort, flat=True)
    assert run_course("collect", LAB, "incoming", cwd=course).returncode == 0
    graded = run_course("grade", LAB, "--student-timeout", STUDENT_TIMEOUT, cwd=course)
    assert graded.returncode == 0, graded.stdout + graded.stderr  # nobody needs attention
    outcomes = recorded_outcomes(course)
    assert {s: (o["status"], o["reason"]) for s, o in outcomes.items()} == {
        WROTE: ("graded", ""),
        SILENT: ("graded", ""),
    }

    report = run_course("report", LAB, cwd=course)
    assert report.returncode == 0, report.stdout + report.stderr
    waiting = ", ".join(sorted(WRITTEN[WROTE]))
    assert "written answers to grade by hand (1 students" in report.stdout
    assert f"  {WROTE}: {waiting}" in report.stdout
    listed = (course / "reports" / LAB / "to-grade-by-hand.csv").read_text().splitlines()
    assert listed == ["student_id,written_answers", f"{WROTE},{waiting.replace(', ', ' ')}"]

    # Until they are graded, no import gives the writer a grade (the LMS keeps its own).
    roster = write_sample_roster(tmp_path / "roster.csv", [WROTE, SILENT])
    rows, said = _canvas_rows(course, roster)
    assert rows[SILENT] == "22" and rows[WROTE] == ""
    assert f"{WROTE}'s written answers are not graded yet ({waiting})" in said

    _grade_by_hand(course, WROTE, {"answer_dloss_dh": 1.0, "answer_dloss_dW1": 0.5})
    report = run_course("report", LAB, cwd=course)
    assert "written answers to grade by hand" not in report.stdout
    rows, said = _canvas_rows(course, roster)
    assert rows == {SILENT: "22", WROTE: "23.5", "no_show": "0"}
    assert "feedback made again, with the scores given by hand: 1 students" in said
    page = (course / "feedback" / WROTE / LAB / f"{NOTEBOOK}.html").read_text()
    assert "Score: 23.5 / 24.0" in page  # the total the student reads has the hand-given points

    # Graded again as it is (after a fix to the grader, say): the hand-given scores stand.
    _grade(course, "--force")
    rows, _ = _canvas_rows(course, roster)
    assert rows[WROTE] == "23.5"
    # A resubmission that changes only code: the answers, word for word, keep their scores.
    notebook = course / "submitted" / WROTE / LAB / f"{NOTEBOOK}.ipynb"
    resubmitted = nbformat.read(notebook, as_version=4)
    cell_by_grade_id(resubmitted, "backprop").source += "\n# checked once more"
    nbformat.write(resubmitted, notebook)
    _grade(course)
    rows, _ = _canvas_rows(course, roster)
    assert rows[WROTE] == "23.5"
    # One with other words: they wait for the instructor again, even when graded again
    # unchanged afterwards (the scores given were for other words).
    notebook.write_text(notebook.read_text().replace("I add up over", "I sum over"))
    _grade(course)
    _grade(course, "--force")
    rows, said = _canvas_rows(course, roster)
    assert rows[WROTE] == "" and f"{WROTE}'s written answers are not graded yet" in said
