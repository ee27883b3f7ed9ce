"""A reviewed regrade (course.grading.regrade): after the judge changes, `course grade` says who
was graded with the older one; `--diff` shows exactly who and which tests would change, writing
no grade; `--apply-diff` writes what it showed."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import shutil
from types import SimpleNamespace

import pytest

from course.settings import limited_to
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import run_course
from tests.support.gradebook import grade_ids_by_student
from tests.support.paths import LAB
from tests.support.scratch import grade_scratch, make_scratch_course

BY_NAME = {submission.student: submission for submission in DEMO_COHORT}
STUDENTS = {"ann": "correct", "gus": "wrong_db2", "eve": "wrong_dbeta", "res": "correct"}
# slow's backprop spends CPU time when the judge re-checks it (the graded kernel, which has
# COURSE_JUDGED set, skips it): 6 s where it is defined, 5 s at each of its first three calls:
# graded within the tests' student limit, stopped at the lower one the diff runs with.
BURN = """import os as _os
import time as _time


def _burn(seconds):
    start = _time.process_time()
    while _time.process_time() - start < seconds and "COURSE_JUDGED" not in _os.environ:
        pass


_burn(6)
_calls = []


def backprop(x, t, W1, b1, W2, b2):
    if len(_calls) < 3:
        _calls.append(_burn(5))
"""
SLOW = dataclasses.replace(
    BY_NAME["correct"],
    student="slow",
    edits=(("def backprop(x, t, W1, b1, W2, b2):\n", BURN),),
)
DIFF_LIMIT = 20.0
# A judge that from now on accepts a wrong value of dloss_db2 (not code that raises or is left
# blank), as a loosened tolerance would accept some.
LENIENT = """

from course.judge.api import Verdict as _Verdict

_judged = JUDGE.verdicts


def _lenient(plan, request, cases, later, problem):
    judgement = _judged(plan, request, cases, later, problem)
    verdict = judgement.verdicts.get("test_dloss_db2")
    if verdict is not None and not verdict.passed and verdict.kind is None:
        judgement.verdicts["test_dloss_db2"] = _Verdict(True, "Accepted by the new tolerance.")
    return judgement


JUDGE.verdicts = _lenient
"""


def _written(course):
    """Every file grading writes for the students (graded notebooks, feedback, outcomes,
    the gradebook), by path, with a digest of its content."""
    paths = [
        *sorted((course / "autograded").rglob("*")),
        *sorted((course / "feedback").rglob("*")),
        course / "reports" / LAB / "grading-outcomes.json",
        course / "reports" / LAB / "grades.csv",
    ]
    return {
        p.relative_to(course).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
        if p.is_file()
    }


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    course = make_scratch_course(tmp_path_factory.mktemp("regrade") / "course")
    cohort = (
        *(
            dataclasses.replace(BY_NAME[name], student=student)
            for student, name in STUDENTS.items()
        ),
        SLOW,
    )
    write_cohort(course, LAB, course / "submitted", cohort)
    first = grade_scratch(course)
    assert first.returncode in (0, 1), first.stdout + first.stderr
    assert "older version" not in first.stdout
    scores_before, files_before = grade_ids_by_student(course), _written(course)
    with (course / "labs" / LAB / "judge.py").open("a") as judge:
        judge.write(LENIENT)
    with (course / "nbgrader_config.py").open("a") as config:  # budgets decide verdicts too
        config.write("\n" + limited_to(DIFF_LIMIT))
    plain = grade_scratch(course)
    # res resubmits eve's notebook: what it changes is the resubmission's, not the judge's
    shutil.copy(
        course / "submitted" / "eve" / LAB / "classification.ipynb",
        course / "submitted" / "res" / LAB / "classification.ipynb",
    )
    diff = run_course(
        "grade", LAB, "--diff", "--workers", "2", "--student-timeout", f"{DIFF_LIMIT:g}", cwd=course
    )
    assert diff.returncode == 0, diff.stdout + diff.stderr
    scores_diffed, files_diffed = grade_ids_by_student(course), _written(course)
    rows = list(csv.DictReader((course / "reports" / LAB / "regrade-diff.csv").open()))
    applied = grade_scratch(course, "--apply-diff")
    again = grade_scratch(course, "--apply-diff")
    after = grade_scratch(course)
    return SimpleNamespace(
        root=course,
        plain=plain,
        diff=diff,
        applied=applied,
        again=again,
        after=after,
        rows=rows,
        scores_before=scores_before,
        scores_diffed=scores_diffed,
        scores_after=grade_ids_by_student(course),
        files_before=files_before,
        files_diffed=files_diffed,
    )


def test_a_changed_judge_is_reported_not_silently_regraded(regraded):
    assert regraded.plain.returncode == 1, regraded.plain.stderr
    assert "graded with an older version of the judge: 5 students" in regraded.plain.stdout
    assert "--diff" in regraded.plain.stdout


def test_the_diff_names_exactly_the_students_and_tests_that_change(regraded):
    assert regraded.diff.returncode == 0, regraded.diff.stderr
    out = regraded.diff.stdout
    assert "regraded 5 students" in out and "2 would change" in out, out
    points = regraded.scores_before["gus"]["test_dloss_db2"][1]
    assert f"c.JudgeBudgets, labs/{LAB}/judge.py: 1 student +{points:g} on test_dloss_db2" in out
    assert f"test_dloss_db2: 0 -> {points:g}" in out and "Accepted by the new tolerance." in out
    judged = [r for r in regraded.rows if r["student"] != "res"]
    assert [(r["student"], r["test"], r["old"], r["new"]) for r in judged] == [
        ("gus", "test_dloss_db2", "0", f"{points:g}")
    ]
    assert judged[0]["cause"] == f"c.JudgeBudgets, labs/{LAB}/judge.py"


def test_a_resubmission_is_not_blamed_on_the_judge(regraded):
    resubmitted = [r for r in regraded.rows if r["student"] == "res"]
    assert {r["test"] for r in resubmitted} >= {"test_dloss_dbeta"}
    for row in resubmitted:
        assert row["cause"].startswith("a resubmission since the last grade"), row
        assert float(row["new"]) < float(row["old"])


def test_the_diff_writes_no_grade(regraded):
    assert regraded.scores_diffed == regraded.scores_before
    assert regraded.files_diffed == regraded.files_before


def test_apply_diff_writes_what_the_diff_showed(regraded):
    assert regraded.applied.returncode == 0, regraded.applied.stdout + regraded.applied.stderr
    assert "regrade written for 4 students" in regraded.applied.stdout  # not slow's: below
    before, after = regraded.scores_before, regraded.scores_after
    points = before["gus"]["test_dloss_db2"][1]
    assert after["gus"]["test_dloss_db2"][0] == points
    changed = {
        (student, test)
        for student in before
        for test in before[student]
        if before[student][test] != after[student][test]
    }
    assert {c for c in changed if c[0] != "res"} == {("gus", "test_dloss_db2")}
    page = next((regraded.root / "feedback" / "gus" / LAB).glob("*.html")).read_text()
    assert "Accepted by the new tolerance." in page


def test_a_regrade_that_did_not_end_is_shown_and_never_written(regraded):
    assert "slow: could not be regraded (timeout" in regraded.diff.stdout, regraded.diff.stdout
    assert "slow" not in {row["student"] for row in regraded.rows}
    assert regraded.scores_after["slow"] == regraded.scores_before["slow"]
    # still graded with the older version, so the next --diff tries again
    assert "older version of the judge: 1 student (slow)" in regraded.after.stdout


def test_once_applied_there_is_nothing_more_to_apply(regraded):
    assert regraded.again.returncode == 2 and "no regrade" in regraded.again.stderr
