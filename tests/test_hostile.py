"""Hostile and broken submissions, graded in one batch beside the rest of the cohort.

Student code runs sandboxed and every graded function is re-checked in a clean room, so: each
cheat earns nothing for the steps it cheats and is flagged; each broken submission gets its
stated outcome; nobody else's grade changes; the course's files are untouched.
"""

from __future__ import annotations

import pytest
from nbgrader.api import MissingEntry

from tests.conftest import LAB, recorded_outcomes, scores
from tests.hostile import CATALOGUE, EXIT_HANDLER_MARK, NOTEBOOK

pytestmark = pytest.mark.slow


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 20


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.student)
def test_each_hostile_submission_gets_its_outcome(graded_course, entry):
    outcome = recorded_outcomes(graded_course.root)[entry.student]
    assert outcome["status"] in entry.statuses, outcome
    try:
        total = sum(score for score, _ in scores(graded_course.root, entry.student).values())
    except MissingEntry:  # never graded
        total = 0.0
    assert entry.min_total <= total <= entry.max_total, (entry.what, outcome, total)
    if outcome["status"] != "graded":
        assert outcome["reason"], "every outcome that needs attention says why"


def test_the_course_files_and_other_students_work_are_untouched(graded_course):
    files_before, definition_before = graded_course.before
    files_after, definition_after = graded_course.after
    assert files_after.keys() == files_before.keys()
    changed = [path for path in files_before if files_before[path] != files_after[path]]
    assert not changed
    assert definition_after == definition_before  # hidden tests and cells in the gradebook


def test_no_sandbox_reached_the_network(graded_course):
    assert graded_course.probe_connections == []


def test_no_huge_file_was_left_behind(graded_course):
    limit = 64 * 1024**2
    big = [p for p in graded_course.root.rglob("*") if p.is_file() and p.stat().st_size > limit]
    assert not big


def test_the_correct_student_keeps_full_marks_beside_them(graded_course):
    graded = scores(graded_course.root, "correct")
    assert all(score == max_score for score, max_score in graded.values())
    assert recorded_outcomes(graded_course.root)["correct"]["status"] == "graded"


def test_student_code_gets_no_turn_after_the_last_cell(graded_course):
    """Each kernel is killed once its cells have run, so exit handlers never run."""
    folder = graded_course.root / "autograded" / "h_exit_handler" / LAB
    assert (folder / NOTEBOOK).is_file()
    assert not (folder / EXIT_HANDLER_MARK).exists()
