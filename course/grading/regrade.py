"""A reviewed regrade: ``course grade LAB --diff`` grades, in a scratch copy of the course, every
student whose grade an older version of the judge gave (course.grading.version), and shows who
would change, each test's old and new points, the totals, the new message, grouped by cause (the
files that changed), without touching a grade; ``course grade LAB --apply-diff`` then writes
exactly those results, as the one writer writes any (course.grading.recorder).

The results wait in ``reports/<lab>/regrade/``, with the version and each submission's digest:
they are applied only while both still hold.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course import layout
from course.case_keys import secret_path
from course.export import write_per_test_csv
from course.files import write_atomic
from course.grading.admission import submission_digest, submitted_students
from course.grading.cohort import grade_cohort, judged_with_older_version
from course.grading.kit import submission_files, unpack
from course.grading.outcome import Outcome, load_outcomes, save_outcomes
from course.grading.recorder import (
    append_grading_log,
    grading_log_section,
    record_result,
    start_grading_log,
)
from course.grading.version import cause, changed_files, manifest, record_version, version_of
from course.labs import copy_course
from course.late import reapply_late_penalties
from course.nbgrader_setup import CONFIG_FILE, make_api
from course.outcomes import Status
from course.release import generate_release
from course.settings import for_course
from course.written_answers import written_answer_ids

PENDING = "regrade"  # reports/<lab>/regrade/: the results a diff showed, until applied
INDEX = "pending.json"
DIFF_CSV = "regrade-diff.csv"
WRITTEN = (Status.GRADED, Status.FLAGGED)  # a regrade that ended so is one that can be written


@dataclass(frozen=True)
class TestChange:
    """One test of one student whose points a regrade changes."""

    student: str
    grade_id: str
    old: float | None  # None: not graded before
    new: float
    message: str  # the judge's new message for the test
    cause: str  # the files whose change made it


@dataclass
class RegradeDiff:
    """What a regrade would change: each changed test, each student's totals, and the
    students it graded."""

    version: str
    graded: list[str]
    changes: list[TestChange] = field(default_factory=list)
    totals: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    # students whose outcome would change (graded -> flagged, say): (old, new, the new reason)
    statuses: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # students whose regrade did not end (a time-out, a lost worker, a failure): their grade
    # stays, and they stay graded with the older version; why, by student
    lost: dict[str, str] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, str, float, list[str]]]:
        """``(cause, grade_id, change in points, students)``, the largest groups first."""
        grouped: dict[tuple[str, str, float], list[str]] = defaultdict(list)
        for change in self.changes:
            delta = change.new - (change.old or 0.0)
            grouped[change.cause, change.grade_id, delta].append(change.student)
        return sorted(
            ((c, g, d, sorted(s)) for (c, g, d), s in grouped.items()),
            key=lambda group: (-len(group[3]), group[0], group[1]),
        )

    def changed_students(self) -> list[str]:
        return sorted({change.student for change in self.changes} | set(self.statuses))


def _autograded_scores(root: Path, lab: str) -> dict[str, dict[str, float]]:
    """Each graded student's automatic score of each autograded test (written answers, graded
    by hand, are left out: a regrade keeps them)."""
    with make_api(root).gradebook as gradebook:
        written = written_answer_ids(gradebook, lab)
        return {
            submission.student.id: {
                grade.name: float(grade.auto_score or 0.0)
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.name not in written
            }
            for submission in gradebook.find_assignment(lab).submissions
        }


def _messages(root: Path, lab: str, student: str) -> dict[str, str]:
    """The judge's message of each graded test of the student's graded notebooks."""
    found = {}
    for path in sorted(layout.autograded(root, student, lab).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if not grade_id or cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    found[grade_id] = str(output.get("evalue", ""))
                elif output.get("output_type") == "stream" and grade_id not in found:
                    found[grade_id] = str(output.get("text", "")).strip()
    return found


def _scratch_course(root: Path, lab: str, folder: Path, students: list[str]) -> Path:
    """A scratch copy of the course with ``students``' submissions, whose hidden cases are the
    course's own (its secret, wherever the copy is)."""
    course = copy_course(root, folder, lab)
    with (course / CONFIG_FILE).open("a") as config:
        config.write(f"\nc.Course.secret_file = {str(secret_path(root).resolve())!r}\n")
    generate_release(course, lab)
    for student in students:
        unpack(submission_files(root, lab, student), layout.submitted(course, student, lab))
    return course


def diff_regrade(root: Path, lab: str, force: bool = False, **grading) -> RegradeDiff:
    """Grade, in a scratch copy, every submitted student graded with an older version of the
    judge (``force``: every submitted student), and return what would change; keep the results
    that can be written (graded to the end) in ``reports/<lab>/regrade/`` for
    :func:`apply_regrade`, and write ``reports/<lab>/regrade-diff.csv``. Nothing of the
    course's grades changes. ``grading``: grade_cohort's options (workers, student_timeout,
    progress, scheduler, ...)."""
    files = manifest(root, lab)
    version = version_of(files)
    recorded = load_outcomes(root, lab)
    old_scores = _autograded_scores(root, lab)
    submitted = submitted_students(root, lab)
    stale = set(judged_with_older_version(root, lab))
    students = [
        s for s in submitted if force or s in stale or s not in old_scores or s not in recorded
    ]
    diff = RegradeDiff(version, students)
    pending = layout.reports(root, lab) / PENDING
    if not students:
        shutil.rmtree(pending, ignore_errors=True)
        return diff
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="course-regrade-") as scratch:
        course = _scratch_course(root, lab, Path(scratch) / "course", students)
        outcomes = grade_cohort(course, lab, force=True, on_result=results.__setitem__, **grading)
        new_scores = _autograded_scores(course, lab)
        for student in students:
            after = outcomes.get(student)
            if after is None or after.status not in WRITTEN:
                diff.lost[student] = after.describe() if after else "not graded"
                continue
            status = str(recorded[student].status) if student in recorded else "not graded"
            if str(after.status) != status:
                diff.statuses[student] = (status, str(after.status), after.reason)
            new, old = new_scores.get(student, {}), old_scores.get(student)
            messages = _messages(course, lab, student)
            why = _cause(root, lab, student, recorded.get(student), files)
            for grade_id in sorted(new):
                before = None if old is None else old.get(grade_id)
                if before != new[grade_id]:
                    diff.changes.append(
                        TestChange(
                            student,
                            grade_id,
                            before,
                            new[grade_id],
                            messages.get(grade_id, ""),
                            why,
                        )
                    )
            diff.totals[student] = (None if old is None else sum(old.values()), sum(new.values()))
    _keep_pending(root, lab, diff, results, grading.get("student_timeout"))
    write_diff_csv(diff, layout.reports(root, lab) / DIFF_CSV)
    return diff


def _cause(
    root: Path, lab: str, student: str, recorded: Outcome | None, files: dict[str, str]
) -> str:
    """Why a student's grade would change: the files of the judge that changed since their
    grade, or their resubmission since (which a judge change must not take the blame for)."""
    if recorded is None:
        return "(not graded before)"
    changed = changed_files(root, lab, recorded.version, files)
    if recorded.digest and recorded.digest != submission_digest(root, lab, student):
        return "a resubmission since the last grade" + (
            f", and {cause(changed)}" if changed else ""
        )
    return cause(changed)


def _keep_pending(
    root: Path, lab: str, diff: RegradeDiff, results: dict[str, dict], timeout: float | None
) -> None:
    """Keep the results a diff showed, to be written by :func:`apply_regrade`: each student
    graded to the end, with the version and the digest of the files that were graded. The
    last diff's are replaced only now, once this one is complete."""
    pending = layout.reports(root, lab) / PENDING
    fresh = pending.with_name(PENDING + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    kept = {s: r for s, r in results.items() if s in diff.graded and s not in diff.lost}
    for number, result in enumerate(kept.values(), 1):
        write_atomic(fresh / f"{number}.json", json.dumps(result))
    index = {
        "version": diff.version,
        "student_cpu_seconds": for_course(root, timeout).student_cpu_seconds,
        "students": {
            student: {
                "file": f"{number}.json",
                "digest": result.get("sent_digest") or submission_digest(root, lab, student),
            }
            for number, (student, result) in enumerate(kept.items(), 1)
        },
    }
    write_atomic(fresh / INDEX, json.dumps(index))
    shutil.rmtree(pending, ignore_errors=True)
    fresh.rename(pending)


def write_diff_csv(diff: RegradeDiff, path: Path) -> None:
    """One row per changed test: the student, the test, old and new points, the change, the
    student's old and new totals, the cause and the new message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student",
                "test",
                "old",
                "new",
                "change",
                "old_total",
                "new_total",
                "cause",
                "message",
            ]
        )
        for change in diff.changes:
            old_total, new_total = diff.totals[change.student]
            writer.writerow(
                [
                    change.student,
                    change.grade_id,
                    "" if change.old is None else f"{change.old:g}",
                    f"{change.new:g}",
                    f"{change.new - (change.old or 0.0):+g}",
                    "" if old_total is None else f"{old_total:g}",
                    f"{new_total:g}",
                    change.cause,
                    change.message,
                ]
            )


def describe_diff(diff: RegradeDiff, lab: str) -> str:
    """The diff as the instructor reads it: the groups, then each changed student's tests."""
    if not diff.graded:
        return f"{lab}: every student was graded with the current version: nothing to regrade\n"
    changed = diff.changed_students()
    lines = [
        f"{lab}: regraded {len(diff.graded)} students in a scratch gradebook (nothing written): "
        f"{len(changed)} would change"
    ]
    for why, grade_id, delta, students in diff.groups():
        lines.append(
            f"  {why}: {len(students)} student{'s' if len(students) != 1 else ''} "
            f"{delta:+g} on {grade_id}"
        )
    for student in changed:
        old_total, new_total = diff.totals.get(student, (None, 0.0))
        lines.append(f"{student}: total {_points(old_total)} -> {new_total:g}")
        if student in diff.statuses:
            before, after, reason = diff.statuses[student]
            lines.append(f"  {before} -> {after}" + (f": {reason}" if reason else ""))
        for change in (c for c in diff.changes if c.student == student):
            lines.append(f"  {change.grade_id}: {_points(change.old)} -> {change.new:g}")
            if change.message:
                lines.append(f"    {change.message}")
    for student, why in sorted(diff.lost.items()):
        lines.append(
            f"{student}: could not be regraded ({why}): keeps their grade, and stays graded "
            "with the older version (run --diff again)"
        )
    lines.append(
        f"apply it with `course grade {lab} --apply-diff` (the grades, outcomes and feedback "
        "shown; the late penalty is then applied to them as to any grade)"
    )
    return "\n".join(lines) + "\n"


def _points(value: float | None) -> str:
    return "(not graded)" if value is None else f"{value:g}"


def apply_regrade(root: Path, lab: str) -> tuple[list[str], list[str]]:
    """Write the results the last ``--diff`` showed into the course (grades, graded notebooks,
    feedback), as ``course grade`` writes any, and the late penalty; return the students
    written, and those left out: a student who resubmitted since (graded at the next run).
    Raises ValueError when there is no diff to apply, or the judge changed since it was made."""
    pending = layout.reports(root, lab) / PENDING
    try:
        index = json.loads((pending / INDEX).read_text())
    except (OSError, ValueError):
        raise ValueError(
            f"there is no regrade of {lab} to apply: run `course grade {lab} --diff` first"
        ) from None
    files = manifest(root, lab)
    if index.get("version") != version_of(files):
        raise ValueError(
            f"the judge of {lab} changed since `course grade {lab} --diff` was run: run it "
            "again, and apply what it shows"
        )
    version = record_version(root, lab, files)
    api = make_api(root)
    log = start_grading_log(root, lab, len(index["students"]))
    outcomes = load_outcomes(root, lab)
    written, skipped = [], []
    for student, entry in index["students"].items():
        if submission_digest(root, lab, student) != entry["digest"]:
            skipped.append(student)
            continue
        result = json.loads((pending / entry["file"]).read_text())
        outcome = record_result(root, lab, student, result, api, index["student_cpu_seconds"])
        append_grading_log(log, grading_log_section(outcome, result.get("log") or ""))
        outcome.version = version
        outcomes[student] = outcome
        written.append(student)
    save_outcomes(root, lab, outcomes)
    reapply_late_penalties(root, lab)
    with make_api(root).gradebook as gradebook:
        write_per_test_csv(gradebook, lab, layout.reports(root, lab) / "grades.csv")
    shutil.rmtree(pending, ignore_errors=True)
    return written, skipped
