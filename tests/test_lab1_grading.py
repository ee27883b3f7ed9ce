"""End-to-end: real `nbgrader autograde` of a synthetic cohort, checked per grade cell.

Every planted single-step mistake must lose exactly that step's points (plus the whole-function
and training tests where the returned gradients are wrong), because each step is judged against
the chain rule applied to the student's own upstream gradient.
"""

from __future__ import annotations

import pytest

from course.cohort import ALL_TESTS, LAB1_COHORT, write_cohort
from tests.conftest import LAB, make_scratch_course, run_nbgrader, scores

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = make_scratch_course(tmp_path_factory.mktemp("course"))
    write_cohort(course, LAB, course / "submitted")
    run_nbgrader("autograde", LAB, cwd=course)
    return course


def test_cohort_has_at_least_eight_single_step_mistakes():
    step_mistakes = [s for s in LAB1_COHORT
                     if len({f for f in s.expected_failures if f.startswith("test_dloss")}) == 1]
    assert len(step_mistakes) >= 8


@pytest.mark.parametrize("submission", LAB1_COHORT, ids=lambda s: s.student)
def test_each_grade_cell_scores_as_expected(graded_course, submission):
    graded = scores(graded_course, submission.student)
    assert set(graded) == set(ALL_TESTS)
    wrong = {}
    for grade_id, (score, max_score) in graded.items():
        expected = 0.0 if grade_id in submission.expected_failures else max_score
        if score != expected:
            wrong[grade_id] = f"scored {score}, expected {expected}"
    assert not wrong, f"{submission.student} ({submission.description}): {wrong}"
