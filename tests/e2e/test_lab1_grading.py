"""End-to-end: a synthetic cohort collected and graded with the real `course` and nbgrader.

Every planted single-step mistake must lose exactly that step's points (plus the whole-function
and training tests where the returned gradients are wrong), because each step is judged against
the chain rule applied to the student's own upstream gradient. A broken notebook and a student
whose code never finishes are reported, and never stop the others.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course.demo import expected_against_graded
from helpers.backprop_spec import STEPS
from labs.lab1.cohort import (
    ALL_TESTS,
    BROKEN_AND_LOOPING,
    DEMO_COHORT,
    FAIRNESS,
    LAB1_COHORT,
)
from labs.lab1.misconceptions import MISCONCEPTIONS
from tests.support.commands import run_course
from tests.support.gradebook import recorded_outcomes, scores, written_answers
from tests.support.paths import LAB, ROOT
from tests.support.scratch import STUDENT_TIMEOUT

NOTEBOOK_FILE = "classification.ipynb"


def test_cohort_has_at_least_eight_single_step_mistakes():
    step_mistakes = [
        s
        for s in LAB1_COHORT
        if len({f for f in s.expected_failures if f.startswith("test_dloss")}) == 1
    ]
    assert len(step_mistakes) >= 8


@pytest.mark.parametrize("submission", (*LAB1_COHORT, *FAIRNESS), ids=lambda s: s.student)
def test_each_grade_cell_scores_as_expected(graded_course, submission):
    graded = scores(graded_course.root, submission.student)
    written = written_answers(graded_course.root)
    assert set(graded) == set(ALL_TESTS) | written
    wrong = {}
    for grade_id, (score, max_score) in graded.items():
        # a written answer counts nothing until it is graded by hand
        expected = 0.0 if grade_id in submission.expected_failures | written else max_score
        if score != expected:
            wrong[grade_id] = f"scored {score}, expected {expected}"
    assert not wrong, f"{submission.student} ({submission.description}): {wrong}"


@pytest.mark.parametrize("submission", DEMO_COHORT, ids=lambda s: s.student)
def test_each_student_has_the_expected_outcome(graded_course, submission):
    outcome = recorded_outcomes(graded_course.root)[submission.student]
    assert outcome["status"] == submission.expected_status, outcome
    if submission.expected_reason:  # nothing or almost nothing: the grader says why
        assert submission.expected_reason in outcome["reason"], outcome
    elif outcome["status"] == "graded":
        assert outcome["reason"] == "", outcome


def _feedback_page(course, student: str) -> str:
    return (
        course / "feedback" / student / LAB / NOTEBOOK_FILE.replace(".ipynb", ".html")
    ).read_text()


def test_a_cell_that_cannot_run_is_shown_once_as_the_cause(graded_course):
    """A stray parenthesis: the first test says why the cell could not run, the others
    point to it, and the report names the cause (not ten NameErrors)."""
    page = _feedback_page(graded_course.root, "stray_parenthesis")
    assert page.count("could not be run") == 1
    assert page.count("Not run, for the reason given in test_dloss_dy above.") == 9
    report = run_course("report", LAB, cwd=graded_course.root)
    assert (
        "stray_parenthesis: scored 2/24: syntax error at line 22 of the backprop cell"
        in report.stdout
    )


def test_feedback_names_each_test_in_its_summary(graded_course):
    page = _feedback_page(graded_course.root, "correct")
    assert "Test cell" not in page
    for grade_id in ALL_TESTS:
        assert f'href="#{grade_id}"><code>{grade_id}</code>: ' in page


def test_no_feedback_page_shows_where_the_grader_keeps_its_files(graded_course):
    """The cohort's code names no path (the hostile catalogue's does, on purpose): whatever
    path a page shows came from the grader's tracebacks or warnings."""
    pages = [
        page
        for s in DEMO_COHORT
        for page in (graded_course.root / "feedback" / s.student / LAB).glob("*.html")
    ]
    assert len(pages) == len(DEMO_COHORT) - 1  # all but the unreadable notebook
    for page in pages:
        text = page.read_text()
        for path in (
            str(ROOT),
            str(graded_course.root),
            "site-packages",
            "/tmp/ipykernel_",
            "/run/course",
            "/course-scratch",
        ):
            assert path not in text, f"{page} shows {path}"


def test_a_student_stopped_for_time_gets_a_page_that_says_so(graded_course):
    page = _feedback_page(graded_course.root, "loops_forever")
    assert f"took more than {float(STUDENT_TIMEOUT):g} seconds of computing time" in page
    assert "submit it again" in page


def test_grading_reports_the_students_needing_attention_by_name(graded_course):
    result = graded_course.result
    assert result.returncode == 1  # someone needs attention
    for submission in BROKEN_AND_LOOPING:
        (line,) = [
            line
            for line in result.stdout.splitlines()
            if line.startswith(f"needs attention: {submission.student}: ")
        ]
        assert submission.expected_reason in line
        if submission.expected_status != "graded":
            assert f": {submission.expected_status}: " in line
    assert "is not a readable notebook" in result.stdout
    grades = (graded_course.root / "reports" / LAB / "grades.csv").read_text()
    # eleven tests and two written answers, raw, late penalty and total, all 0; of 24
    assert "\nbroken_notebook," + ",".join(["0.0"] * 16) + ",24.0" in grades
    assert re.search(
        rf"grading used [\d.]+ CPU seconds, more than its limit of "
        rf"{float(STUDENT_TIMEOUT):g}",
        result.stdout,
    ), result.stdout


@pytest.fixture(scope="module")
def misconceptions_csv(graded_course) -> str:
    """The report's misconception counts for the graded cohort (`course report`, run once)."""
    report = run_course("report", LAB, cwd=graded_course.root)
    assert report.returncode in (0, 1), report.stderr
    return (graded_course.root / "reports" / LAB / "misconceptions.csv").read_text()


@pytest.mark.parametrize(
    "submission", [s for s in (*LAB1_COHORT, *FAIRNESS) if s.misconception], ids=lambda s: s.student
)
def test_each_planted_mistake_is_named_as_its_misconception(
    graded_course, misconceptions_csv, submission
):
    notebook = graded_course.root / "autograded" / submission.student / LAB / NOTEBOOK_FILE
    judged = nbformat.read(notebook, as_version=4).metadata["course_judge"]
    (failed_step,) = [f for f in submission.expected_failures if f.startswith("test_dloss")]
    assert judged["misconceptions"] == {failed_step: submission.misconception}
    assert submission.misconception in misconceptions_csv


def test_at_least_twelve_misconceptions_are_named_across_the_steps():
    assert len(MISCONCEPTIONS) >= 12
    assert {m.step for m in MISCONCEPTIONS} == {step.name for step in STEPS}


def test_every_synthetic_student_is_graded_as_planted(graded_course):
    """What `make demo` prints beside each synthetic student: expected against got."""
    rows = expected_against_graded(graded_course.root, LAB, DEMO_COHORT)
    assert len(rows) == len(DEMO_COHORT)
    assert [row for row in rows if not row[3]] == []
    assert ("correct", "graded 22/24", "graded 22/24", True) in rows
