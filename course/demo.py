"""A graded demo cohort against what its lab planted: `course demo` and the tests check that
every synthetic student (``labs.cohorts.Submission``: ``student``, ``expected_status``,
``expected_failures``) was graded as planted."""

from __future__ import annotations

from pathlib import Path

from course.export import grade_columns, per_test_rows
from course.grading.outcome import load_outcomes
from course.nbgrader_setup import make_api
from course.written_answers import written_answer_ids


def expected_against_graded(
    root: Path, lab: str, cohort: tuple
) -> list[tuple[str, str, str, bool]]:
    """For each synthetic student graded in the course at ``root``: ``(student, expected,
    got, as_expected)``, where expected and got read "graded 18/22" (status and total; the
    written answers, graded by hand, count 0 until they are)."""
    outcomes = load_outcomes(root, lab)
    with make_api(root).gradebook as gradebook:
        points = {grade_id: top for _, grade_id, top in grade_columns(gradebook, lab)}
        written = written_answer_ids(gradebook, lab)  # graded by hand: 0 until they are
        totals = {
            row["student_id"]: row["total"]
            for row in per_test_rows(gradebook, lab, [s.student for s in cohort])
        }
    rows = []
    for submission in cohort:
        wanted = (
            0.0
            if submission.expected_status in ("failed", "timeout")
            else sum(
                top
                for grade_id, top in points.items()
                if grade_id not in submission.expected_failures and grade_id not in written
            )
        )
        outcome = outcomes.get(submission.student)
        status = outcome.status if outcome else "not graded"
        top = sum(points.values())
        expected = f"{submission.expected_status} {wanted:g}/{top:g}"
        got = f"{status} {totals.get(submission.student, 0.0):g}/{top:g}"
        rows.append((submission.student, expected, got, expected == got))
    return rows
