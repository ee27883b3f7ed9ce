"""Feedback pages made again once written answers are graded by hand: a student's page is made
when they are graded, before the instructor scores their written answers in the formgrader."""

from __future__ import annotations

from pathlib import Path

from course.grading.student import generate_feedback_pages
from course.nbgrader_setup import make_api
from course.written_answers import graded_by_hand


def remake_hand_graded_feedback(root: Path, lab: str) -> tuple[list[str], dict[str, str]]:
    """Make again the feedback pages of every student of ``lab`` with a written answer graded
    by hand, so that they show the score given. Returns the students whose pages were made,
    and, by student, why the others' could not be."""
    api = make_api(root)
    with api.gradebook as gradebook:
        students = graded_by_hand(gradebook, lab)
    made, failed = [], {}
    for student in students:
        result = generate_feedback_pages(api, lab, student)
        if result["success"]:
            made.append(student)
        else:
            failed[student] = str(result.get("error", "")).strip()
    return made, failed
