"""Written answers: grade cells the student answers in prose (nbgrader's "manually graded
answer" cells, both a grade cell and a solution cell), which the instructor grades by hand in
the formgrader, with the rubric in the source notebook's solution.

An answer left as released scores 0 at once (nbgrader's own rule); one the student wrote awaits
the instructor. Awaiting them is the normal course of grading, not a flag: what nbgrader asks to
be looked at besides them (a test cell it could not score) still flags the student.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry


def written_answer_ids(gradebook: Gradebook, lab: str) -> set[str]:
    """The grade ids of ``lab``'s written answers, across its notebooks (the gradebook's
    record of the source notebooks, which no student can change)."""
    answers: set[str] = set()
    for notebook in gradebook.find_assignment(lab).notebooks:
        solutions = {cell.name for cell in notebook.solution_cells}
        answers |= {cell.name for cell in notebook.grade_cells if cell.name in solutions}
    return answers


@dataclass(frozen=True)
class AwaitingHands:
    """What of one student's submission waits for a person: ``answers``, written answers to
    grade (with their points); ``other``, any other grade nbgrader asks to be looked at."""

    answers: tuple[str, ...] = ()
    points: float = 0.0
    other: tuple[str, ...] = ()


def awaiting_hands(gradebook: Gradebook, lab: str, student: str) -> AwaitingHands:
    """The grades of ``student``'s submission of ``lab`` that nbgrader marks as needing manual
    grading, split into written answers and the rest (nothing when it was never graded)."""
    try:
        submission = gradebook.find_submission(lab, student)
    except MissingEntry:
        return AwaitingHands()
    answers = written_answer_ids(gradebook, lab)
    waiting = [grade for notebook in submission.notebooks for grade in notebook.grades]
    waiting = [grade for grade in waiting if grade.needs_manual_grade]
    return AwaitingHands(
        answers=tuple(sorted(g.name for g in waiting if g.name in answers)),
        points=sum(g.max_score for g in waiting if g.name in answers),
        other=tuple(sorted(g.name for g in waiting if g.name not in answers)),
    )


def graded_by_hand(gradebook: Gradebook, lab: str) -> list[str]:
    """The students with a written answer of ``lab`` graded by hand and settled (a manual score
    in the gradebook, and not waiting to be looked at again), in order: their feedback pages,
    made when they were graded, lack it."""
    answers = written_answer_ids(gradebook, lab)
    students = set()
    for submission in gradebook.find_assignment(lab).submissions:
        for notebook in submission.notebooks:
            if any(g.name in answers and _settled(g) for g in notebook.grades):
                students.add(submission.student.id)
    return sorted(students)


def _settled(grade) -> bool:
    return grade.manual_score is not None and not grade.needs_manual_grade


def settled_answers(gradebook: Gradebook, lab: str, student: str) -> set[tuple[str, str]]:
    """``(notebook, grade id)`` of each of ``student``'s written answers graded by hand and
    settled (nothing asks for it to be looked at again)."""
    try:
        submission = gradebook.find_submission(lab, student)
    except MissingEntry:
        return set()
    answers = written_answer_ids(gradebook, lab)
    return {
        (notebook.name, grade.name)
        for notebook in submission.notebooks
        for grade in notebook.grades
        if grade.name in answers and _settled(grade)
    }


def answer_texts(
    notebooks: dict[str, NotebookNode], answers: set[str]
) -> dict[tuple[str, str], str]:
    """The text of each written answer (grade ids ``answers``) in the graded ``notebooks``
    (by file name), by ``(notebook, grade id)``."""
    return {
        (Path(name).stem, cell.metadata["nbgrader"]["grade_id"]): cell.source
        for name, notebook in notebooks.items()
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") in answers
    }


def keep_hand_grades(
    gradebook: Gradebook, lab: str, student: str, unchanged: set[tuple[str, str]]
) -> None:
    """After ``student``'s submission is graded again, the written answers ``unchanged``
    (``(notebook, grade id)``: settled before, and the same text now) read as they did when the
    instructor graded them: their hand-given scores stand, and nothing asks for them to be
    graded again (nbgrader's autograde would, for every hand-given score)."""
    for notebook in gradebook.find_submission(lab, student).notebooks:
        for grade in notebook.grades:
            if (notebook.name, grade.name) in unchanged:
                grade.needs_manual_grade = False
    gradebook.db.commit()
