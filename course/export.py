"""nbgrader export plugin: one row per student, one column per grade cell, total and max.

Registered in nbgrader_config.py, so plain ``nbgrader export`` writes the same CSV that
``course grade`` does. Students in the gradebook who submitted nothing get zeros.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from course.files import write_csv

DEFAULT_FILE = "grades.csv"
LAB_SUMS = ("raw", "late_penalty", "total")  # a lab's columns after its grade cells


def grade_columns(gradebook: Gradebook, lab: str) -> list[tuple[str, str, float]]:
    """``(notebook, grade_id, max_score)`` of every grade cell of ``lab``, in notebook order."""
    assignment = gradebook.find_assignment(lab)
    columns = []
    for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
        cells = {cell.name: cell for cell in notebook.grade_cells}
        order = {cell.name: i for i, cell in enumerate(notebook.source_cells)}
        for name in sorted(cells, key=lambda n: (order.get(n, len(order)), n)):
            columns.append((notebook.name, name, cells[name].max_score))
    return columns


def late_penalty(gradebook: Gradebook, lab: str, student: str) -> float:
    """The points nbgrader's late penalty took from the student's lab (0 when none)."""
    try:
        return float(gradebook.find_submission(lab, student).late_submission_penalty or 0.0)
    except MissingEntry:
        return 0.0


def per_test_rows(gradebook: Gradebook, lab: str, students: list[str] | None = None) -> list[dict]:
    """One dict per student: ``student_id``, each grade cell's score, ``raw`` (their sum),
    ``late_penalty``, ``total`` (raw less the penalty: the grade) and ``max``. ``students``
    defaults to every student of the class (who submitted nothing scores 0)."""
    columns = grade_columns(gradebook, lab)
    wanted = students or sorted(s.id for s in gradebook.students)
    rows = []
    for student in wanted:
        row: dict[str, Any] = {"student_id": student}
        for notebook, grade_id, _ in columns:
            try:
                grade = gradebook.find_grade(grade_id, notebook, lab, student)
                row[grade_id] = grade.score or 0.0
            except MissingEntry:
                row[grade_id] = 0.0
        row["raw"] = sum(row[grade_id] for _, grade_id, _ in columns)
        row["late_penalty"] = late_penalty(gradebook, lab, student)
        row["total"] = row["raw"] - row["late_penalty"]
        row["max"] = sum(max_score for *_, max_score in columns)
        rows.append(row)
    return rows


def submitters(gradebook: Gradebook, lab: str) -> list[str]:
    """The students with a submission of ``lab`` in the gradebook (which holds every lab's)."""
    return sorted(s.student.id for s in gradebook.find_assignment(lab).submissions)


def write_per_test_csv(
    gradebook: Gradebook, lab: str, path: Path, students: list[str] | None = None
) -> Path:
    """Write :func:`per_test_rows` as CSV to ``path``; return it."""
    rows = per_test_rows(gradebook, lab, students)
    header = [
        "student_id",
        *(grade_id for _, grade_id, _ in grade_columns(gradebook, lab)),
        "raw",
        "late_penalty",
        "total",
        "max",
    ]
    return write_csv(path, header, rows)


def write_course_csv(
    gradebook: Gradebook, labs: list[str], path: Path, students: list[str] | None = None
) -> Path:
    """One row per student over several labs: each lab's grade cells as ``<lab>:<grade_id>``
    and its ``<lab>:raw``, ``<lab>:late_penalty`` and ``<lab>:total``, then the course
    ``total`` and ``max``; write it to ``path``."""
    wanted = students or sorted(s.id for s in gradebook.students)
    rows: dict[str, dict[str, Any]] = {student: {"student_id": student} for student in wanted}
    header, maximum = ["student_id"], 0.0
    for lab in labs:
        columns = grade_columns(gradebook, lab)
        header += [
            *(f"{lab}:{grade_id}" for _, grade_id, _ in columns),
            *(f"{lab}:{name}" for name in LAB_SUMS),
        ]
        maximum += sum(max_score for *_, max_score in columns)
        for row in per_test_rows(gradebook, lab, wanted):
            rows[row["student_id"]].update(
                {f"{lab}:{grade_id}": row[grade_id] for _, grade_id, _ in columns},
                **{f"{lab}:{name}": row[name] for name in LAB_SUMS},
            )
    for row in rows.values():
        row["total"] = sum(row[f"{lab}:total"] for lab in labs)
        row["max"] = maximum
    return write_csv(path, [*header, "total", "max"], list(rows.values()))


class PerTestCsvExportPlugin(ExportPlugin):
    """Per-grade-cell CSV: for one lab, its grade cells; for several (plain ``nbgrader
    export`` once the course has more than one), one row per student with every lab's."""

    def export(self, gradebook: Gradebook) -> None:
        labs = self.assignment or sorted(a.name for a in gradebook.assignments)
        target = Path(self.to or DEFAULT_FILE)
        students = list(self.student) or None
        if len(labs) == 1:
            write_per_test_csv(gradebook, labs[0], target, students)
        else:
            write_course_csv(gradebook, labs, target, students)
        self.log.info("Exported %s grades to %s", ", ".join(labs), target)
