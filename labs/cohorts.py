"""Synthetic cohorts: each synthetic student's notebook is the lab's release with its solution
cells filled in from the instructor's solution, optionally with planted mistakes. A lab lists
its own (``labs/<lab>/cohort.py``); ``make demo``, the tests and the benchmarks write and grade
them, and ``course.demo.expected_against_graded`` compares the grades with what was planted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.audit.derived import apply_edits
from course.notebooks import cell_by_grade_id
from course.regions import solution_delimiters, without_delimiters


@dataclass(frozen=True)
class Submission:
    """One synthetic student: how their graded cell differs from the solution, and the grade
    cells that must therefore score zero (all others full marks)."""

    student: str
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    expected_failures: frozenset[str] = field(default_factory=frozenset)
    blank: bool = False
    corrupt: bool = False  # not even valid JSON: grading must report it, not crash
    expected_status: str = "graded"  # what `course grade` reports (course.grading.outcome)
    own_cell: str = ""  # a code cell of the student's own, put just above the graded cell
    misconception: str = ""  # the one the judge must name (course.misconceptions)
    whole_cell: str = ""  # the graded cell written from scratch (edits are then ignored)
    expected_reason: str = ""  # part of the reason `course grade` gives (none when empty)
    # (grade id, text) of written answers (graded by hand: never part of the planted total)
    written: tuple[tuple[str, str], ...] = ()


def fails(*names: str) -> frozenset[str]:
    return frozenset(names)


def solution_code(source_cell: str) -> str:
    """The solution cell's code as a student would have written it (markers removed)."""
    return without_delimiters(source_cell, solution_delimiters())


def build_submission(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    submission: Submission,
    graded_cell: str,
) -> nbformat.NotebookNode:
    """The notebook ``submission.student`` hands in: the release with every solution code
    cell filled in from the instructor's solution (none when blank), ``graded_cell`` (a
    solution cell's grade id) written whole when the submission says so. Each planted edit
    changes the graded cell when its fragment is there, else the one other cell that has it."""
    nb = copy.deepcopy(release)
    cell = cell_by_grade_id(nb, graded_cell)
    if not submission.blank:
        filled = {
            grade_id: solution_code(cell_by_grade_id(source, grade_id).source)
            for grade_id in _solution_code_cells(release)
        }
        edits: dict[str, list[tuple[str, str]]] = {}
        for old, new in submission.edits:
            having = [g for g, code in filled.items() if old in code]
            target = graded_cell if graded_cell in having else having[0] if having else graded_cell
            edits.setdefault(target, []).append((old, new))
        for grade_id, code in filled.items():
            cell_by_grade_id(nb, grade_id).source = apply_edits(
                code, tuple(edits.get(grade_id, ()))
            )
    if submission.whole_cell:
        cell.source = submission.whole_cell
    if submission.own_cell:
        nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(submission.own_cell))
    for grade_id, text in submission.written:
        cell_by_grade_id(nb, grade_id).source = text
    return nb


def _solution_code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The grade ids of ``nb``'s solution code cells, in order."""
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in nb.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
    ]


def write_cohort(
    root: Path,
    lab: str,
    target: Path,
    cohort: tuple[Submission, ...],
    flat: bool = False,
    graded_cell: str = "backprop",
) -> list[Path]:
    """Write every submission of a one-notebook lab and return the paths.

    Layout: nbgrader's ``target/<student>/<lab>/<notebook>.ipynb``, or with ``flat``
    ``target/<student>.ipynb`` (a folder of notebooks for ``course collect``).
    """
    (source_path,) = sorted((root / "source" / lab).glob("*.ipynb"))
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(root / "release" / lab / source_path.name, as_version=4)
    paths = []
    for submission in cohort:
        if flat:
            path = target / f"{submission.student}.ipynb"
        else:
            path = target / submission.student / lab / source_path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(build_submission(source, release, submission, graded_cell))
        path.write_text(text[: len(text) // 2] if submission.corrupt else text)
        paths.append(path)
    return paths


def cohort_writer(default: tuple[Submission, ...], graded_cell: str) -> Callable[..., list[Path]]:
    """A lab's ``write_cohort(root, lab, target, cohort=default, flat=False)``: its cohort
    (default: ``default``) written as :func:`write_cohort` does, edits placed from
    ``graded_cell``."""

    def write(
        root: Path,
        lab: str,
        target: Path,
        cohort: tuple[Submission, ...] = default,
        flat: bool = False,
    ) -> list[Path]:
        """Write every submission of the lab's cohort and return the paths (see
        labs.cohorts.write_cohort)."""
        return write_cohort(root, lab, target, cohort, flat, graded_cell)

    return write
