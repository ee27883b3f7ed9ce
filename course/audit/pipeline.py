"""A sample of the derived submissions graded through the whole pipeline (``course grade`` in a
scratch course: nbgrader, the student's kernel, the sandboxed judge, the comparison of the
kernel's visible tests with the judge, the gradebook), and held against the direct judging.

Whatever the direct judging leaves out shows here: a rewrite whose visible tests fail in the
student's kernel (it would be flagged as a disagreement), a cell the notebook cannot run, a
score the gradebook records otherwise.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course import layout
from course.audit.findings import Finding
from course.audit.subject import Subject
from course.grading.cohort import grade_cohort
from course.labs import copy_course
from course.nbgrader_setup import make_api
from course.outcomes import Status
from course.release import generate_release
from course.written_answers import written_answer_ids


@dataclass(frozen=True)
class PipelineCheck:
    """One sampled submission: what ``course grade`` gave it, and how that differs from the
    direct judging (empty when it does not)."""

    finding: Finding
    status: str
    failed: tuple[str, ...]
    differences: str


def sample(findings: list[Finding], size: int, seed: int) -> list[Finding]:
    """Up to ``size`` findings, spread over the operators (one of each first, drawn with
    ``seed``), faults first."""
    rng = random.Random(seed)
    by_operator: dict[str, list[Finding]] = {}
    for finding in findings:
        by_operator.setdefault(finding.derived.operator, []).append(finding)
    chosen = [f for f in findings if f.fault][:size]
    operators = sorted(by_operator)
    rng.shuffle(operators)
    for operator in operators:
        if len(chosen) >= size:
            break
        candidates = [f for f in by_operator[operator] if f not in chosen]
        if candidates:
            chosen.append(rng.choice(candidates))
    return chosen


def grade_through_pipeline(
    subject: Subject, findings: list[Finding], workers: int
) -> list[PipelineCheck]:
    """Grade each of ``findings``' submissions with ``course grade`` in a scratch copy of the
    course (never the course's own gradebook; the course's settings), and compare."""
    notebook_name = subject.source_path.name
    with tempfile.TemporaryDirectory(prefix="course-audit-") as folder:
        course = copy_course(subject.root, Path(folder) / "course", subject.lab)
        generate_release(course, subject.lab)
        students = {}
        for number, finding in enumerate(findings):
            student = f"audit{number:03d}"
            students[student] = finding
            path = layout.submitted(course, student, subject.lab) / notebook_name
            path.parent.mkdir(parents=True)
            nbformat.write(subject.notebook(finding.derived), path)
        outcomes = grade_cohort(course, subject.lab, workers=workers, progress=False)
        checks = []
        with make_api(course).gradebook as gradebook:
            written = written_answer_ids(gradebook, subject.lab)  # left blank, graded by hand
            for student, finding in students.items():
                notebook = gradebook.find_submission_notebook(
                    Path(notebook_name).stem, subject.lab, student
                )
                failed = tuple(
                    sorted(
                        g.name
                        for g in notebook.grades
                        if (g.score or 0) < g.max_score and g.name not in written
                    )
                )
                outcome = outcomes[student]
                checks.append(
                    PipelineCheck(
                        finding, outcome.status, failed, _differences(finding, outcome, failed)
                    )
                )
    return checks


def _differences(finding: Finding, outcome, failed: tuple[str, ...]) -> str:
    found = []
    if failed != finding.failed:
        found.append(f"course grade failed {list(failed)}, the judge {list(finding.failed)}")
    flagged = outcome.status == Status.FLAGGED
    if flagged != bool(finding.problems):
        found.append(
            f"course grade: {outcome.status} ({outcome.reason})"
            if flagged or outcome.status != Status.GRADED
            else "course grade did not flag what the judge found"
        )
    elif outcome.status not in (Status.GRADED, Status.FLAGGED):
        found.append(f"course grade: {outcome.status} ({outcome.reason})")
    return "; ".join(found)
