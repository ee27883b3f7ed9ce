"""End-to-end: a synthetic cohort collected and graded with the real `course` and nbgrader.

Every planted single-step mistake must lose exactly that step's points (plus the whole-function
and training tests where the returned gradients are wrong), because each step is judged against
the chain rule applied to the student's own upstream gradient. A broken notebook and a student
whose code never finishes are reported, and never stop the others.
"""

from __future__ import annotations

import nbformat
import pytest

from course.misconceptions import MISCONCEPTIONS
from helpers.lab1 import STEPS
from labs.lab1.cohort import ALL_TESTS, BROKEN_AND_LOOPING, DEMO_COHORT, FAIRNESS, LAB1_COHORT
from tests.conftest import LAB, STUDENT_TIMEOUT, recorded_outcomes, run_course, scores

NOTEBOOK_FILE = "classification.ipynb"

pytestmark = pytest.mark.slow


def test_cohort_has_at_least_eight_single_step_mistakes():
    step_mistakes = [s for s in LAB1_COHORT
                     if len({f for f in s.expected_failures if f.startswith("test_dloss")}) == 1]
    assert len(step_mistakes) >= 8


@pytest.mark.parametrize("submission", (*LAB1_COHORT, *FAIRNESS), ids=lambda s: s.student)
def test_each_grade_cell_scores_as_expected(graded_course, submission):
    graded = scores(graded_course.root, submission.student)
    assert set(graded) == set(ALL_TESTS)
    wrong = {}
    for grade_id, (score, max_score) in graded.items():
        expected = 0.0 if grade_id in submission.expected_failures else max_score
        if score != expected:
            wrong[grade_id] = f"scored {score}, expected {expected}"
    assert not wrong, f"{submission.student} ({submission.description}): {wrong}"


@pytest.mark.parametrize("submission", DEMO_COHORT, ids=lambda s: s.student)
def test_each_student_has_the_expected_outcome(graded_course, submission):
    outcome = recorded_outcomes(graded_course.root)[submission.student]
    assert outcome["status"] == submission.expected_status, outcome


def test_grading_reports_the_students_needing_attention_by_name(graded_course):
    result = graded_course.result
    assert result.returncode == 1  # someone needs attention
    for submission in BROKEN_AND_LOOPING:
        assert f"needs attention: {submission.student}: {submission.expected_status}" in (
            result.stdout)
    assert "is not a readable notebook" in result.stdout
    grades = (graded_course.root / "reports" / LAB / "grades.csv").read_text()
    assert "\nbroken_notebook," + ",".join(["0.0"] * 11) + ",20.0" in grades
    assert f"longer than {STUDENT_TIMEOUT} s" in result.stdout


@pytest.mark.parametrize("submission", [s for s in (*LAB1_COHORT, *FAIRNESS) if s.misconception],
                         ids=lambda s: s.student)
def test_each_planted_mistake_is_named_as_its_misconception(graded_course, submission):
    notebook = graded_course.root / "autograded" / submission.student / LAB / NOTEBOOK_FILE
    judged = nbformat.read(notebook, as_version=4).metadata["course_judge"]
    (failed_step,) = [f for f in submission.expected_failures if f.startswith("test_dloss")]
    assert judged["misconceptions"] == {failed_step: submission.misconception}
    report = run_course("report", LAB, cwd=graded_course.root)
    assert submission.misconception in (
        graded_course.root / "reports" / LAB / "misconceptions.csv").read_text(), report.stdout


def test_at_least_twelve_misconceptions_are_named_across_the_steps():
    assert len(MISCONCEPTIONS) >= 12
    assert {m.step for m in MISCONCEPTIONS} == {step.name for step in STEPS}
