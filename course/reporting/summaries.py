"""The numbers of a grading report: per test, per student, per misconception."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from course import layout
from course.diagnosis import NOT_GRADED, judged_outcomes, outcome_of_test
from course.extensions import Extension
from course.grading.admission import submitted_students
from course.grading.outcome import load_outcomes
from course.labs import load_lab
from course.misconceptions import COLUMN
from course.nbgrader_ext.judge_cells import judged_notebooks
from course.notebooks import cells_by_grade_id
from course.similarity import (
    SameMistake,
    SimilarPair,
)
from course.written_answers import awaiting_hands


@dataclass(frozen=True)
class TestSummary:
    """One grade cell across the cohort."""

    grade_id: str
    max_score: float
    mean_score: float
    pass_rate: float


@dataclass
class Report:
    tests: list[TestSummary]
    totals: dict[str, float]
    max_total: float
    attention: list[tuple[str, str]]
    files: list[Path]
    misconceptions: list[tuple[str, str, int]]  # (grade_id, misconception, students), most first
    outcomes: dict[str, Counter]  # grade_id: how many students' tests went each way
    graded: int  # students with a graded notebook
    late: list[dict]  # per_test_rows of the students a late penalty was taken from
    similar: list[SimilarPair]  # most similar first (course.similarity)
    identical: list[tuple[str, ...]]  # groups with the same own code, smallest first
    same_mistakes: list[SameMistake]
    # (student, grade ids): written answers the instructor has still to grade by hand
    by_hand: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # course extend's extensions, by student: each student's own due date and how they stand
    extensions: list[Extension] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    """The cohort at a glance."""

    lab: str
    submitted: int
    graded: int
    totals: dict[str, float]
    max_total: float

    @property
    def median(self) -> float:
        return statistics.median(self.totals.values()) if self.totals else 0.0

    def sentence(self) -> str:
        full = sum(t >= self.max_total for t in self.totals.values())
        return (
            f"{self.submitted} submitted, {self.graded} graded; median total "
            f"{self.median:g} of {self.max_total:g}; {full} with full marks."
        )


def step_outcomes(root: Path, lab: str, columns, rows: list[dict]) -> dict[str, Counter]:
    """For each grade cell, how many students' tests were correct, wrong, crashed, blank or
    not graded at all (course.diagnosis.TEST_OUTCOMES), read from the graded notebooks."""
    counts: dict[str, Counter] = {grade_id: Counter() for _, grade_id, _ in columns}
    for row in rows:
        cells: dict[str, dict | None] = {}
        kinds: dict[str, dict[str, str]] = {}  # the judge's, by notebook and grade id
        for notebook, grade_id, max_score in columns:
            if notebook not in cells:
                path = layout.autograded(root, row["student_id"], lab) / f"{notebook}.ipynb"
                try:
                    nb = nbformat.read(path, as_version=4)
                    cells[notebook] = cells_by_grade_id(nb)
                    kinds[notebook] = judged_outcomes(nb)
                except Exception:  # not graded, or left half-written: nothing to read
                    cells[notebook] = None
            cell = (cells[notebook] or {}).get(grade_id)
            counts[grade_id][
                NOT_GRADED
                if cell is None
                else outcome_of_test(
                    cell, row[grade_id], max_score, kinds.get(notebook, {}).get(grade_id)
                )
            ] += 1
    return counts


def summarise_tests(rows: list[dict], columns) -> list[TestSummary]:
    """Mean score and pass rate per grade cell, hardest (lowest pass rate) first."""
    summaries = []
    for _, grade_id, max_score in columns:
        scores = [row[grade_id] for row in rows]
        passed = [score >= max_score for score in scores]
        summaries.append(
            TestSummary(
                grade_id,
                max_score,
                sum(scores) / len(scores) if scores else 0.0,
                sum(passed) / len(passed) if passed else 0.0,
            )
        )
    return sorted(summaries, key=lambda s: (s.pass_rate, s.grade_id))


def students_needing_attention(root: Path, lab: str, gradebook) -> list[tuple[str, str]]:
    """``(student, reason)`` for failed or stopped runs, flags and missing submissions."""
    attention = {}
    submitted = set(submitted_students(root, lab))
    for student, outcome in load_outcomes(root, lab).items():
        if outcome.needs_attention and student in submitted:
            attention[student] = outcome.describe()
    for student in submitted:
        if student in attention:
            continue
        try:
            submission = gradebook.find_submission(lab, student)
        except MissingEntry:  # never graded
            attention[student] = "submitted but not graded yet: run `course grade`"
            continue
        if submission.needs_manual_grade and (
            other := awaiting_hands(gradebook, lab, student).other
        ):
            attention[student] = f"flagged by nbgrader for manual grading ({', '.join(other)})"
    return sorted(attention.items())


def students_awaiting_hands(
    gradebook, lab: str, students: list[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """``(student, grade ids)`` of each of ``students`` with written answers the instructor has
    still to grade by hand (in the formgrader), in order of student."""
    waiting = [(s, awaiting_hands(gradebook, lab, s).answers) for s in sorted(students)]
    return [(student, answers) for student, answers in waiting if answers]


def misconception_questions(root: Path, lab: str) -> dict[str, str]:
    """The question each of the lab's named misconceptions raises, by key."""
    return {m.key: m.question for m in (*load_lab(root, lab).misconceptions, COLUMN)}


def count_misconceptions(root: Path, lab: str) -> list[tuple[str, str, int]]:
    """``(grade_id, misconception, students)`` across the cohort's graded notebooks, most
    frequent first: the list to read before the next lecture."""
    counts: Counter = Counter()
    for _, judged in judged_notebooks(root, lab):
        counts.update(judged.get("misconceptions", {}).items())
    return [
        (grade_id, key, n)
        for (grade_id, key), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
