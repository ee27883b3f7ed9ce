"""What grading recorded: scores from the course's gradebook, outcomes from its report."""

from __future__ import annotations

import json
from pathlib import Path

from nbgrader.api import MissingEntry

from course.nbgrader_setup import make_api
from course.written_answers import written_answer_ids
from tests.support.paths import LAB, NOTEBOOK


def scores(
    course: Path, student: str, lab: str = LAB, notebook: str = NOTEBOOK
) -> dict[str, tuple[float, float]]:
    """``{grade_id: (score, max_score)}`` of one student's ``lab`` (its notebook ``notebook``),
    read from the gradebook."""
    with make_api(course).gradebook as gradebook:
        submitted = gradebook.find_submission_notebook(notebook, lab, student)
        return {grade.name: (grade.score, grade.max_score) for grade in submitted.grades}


def grade_ids_by_student(course: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Every graded student's :func:`scores`."""
    with make_api(course).gradebook as gradebook:  # the course's own (SQLite or PostgreSQL)
        students = [s.id for s in gradebook.students]
    graded = {}
    for student in students:
        try:
            graded[student] = scores(course, student)
        except MissingEntry:  # never graded
            continue
    return graded


def recorded_outcomes(course: Path, lab: str = LAB) -> dict[str, dict]:
    """The outcomes ``course grade`` recorded for ``lab`` in ``course``, by student."""
    path = course / "reports" / lab / "grading-outcomes.json"
    return {o["student"]: o for o in json.loads(path.read_text())}


def written_answers(course: Path, lab: str = LAB) -> set[str]:
    """The grade ids of ``lab``'s written answers (graded by hand) in ``course``'s gradebook."""
    with make_api(course).gradebook as gradebook:
        return written_answer_ids(gradebook, lab)
