"""`nbgrader export` with the course's plugin, once the course has more than one lab: one row
per student, every lab's grade cells and totals side by side."""

from __future__ import annotations

import csv
import shutil

from labs.lab1.cohort import LAB1_COHORT, write_cohort
from tests.support.commands import run_nbgrader
from tests.support.paths import LAB, ROOT
from tests.support.scratch import make_scratch_course

SECOND = "lab1again"  # a second lab: Lab 1's notebook under another name


def test_one_row_per_student_with_every_labs_columns(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    shutil.copytree(ROOT / "source" / LAB, course / "source" / SECOND)
    run_nbgrader("generate_assignment", SECOND, "--force", cwd=course)
    by_name = {s.student: s for s in LAB1_COHORT}
    write_cohort(ROOT, LAB, course / "submitted", (by_name["correct"], by_name["wrong_dbeta"]))
    # correct submits the second lab too (the same notebook); wrong_dbeta does not
    shutil.copytree(
        course / "submitted" / "correct" / LAB, course / "submitted" / "correct" / SECOND
    )
    for lab in (LAB, SECOND):
        run_nbgrader("autograde", lab, cwd=course)
    run_nbgrader("db", "student", "add", "ghost", cwd=course)
    run_nbgrader("export", cwd=course)
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["correct", "ghost", "wrong_dbeta"]
    header = list(rows["correct"])
    assert header[0] == "student_id" and header[-2:] == ["total", "max"]
    assert f"{LAB}:test_dloss_dy" in header and f"{SECOND}:test_dloss_dy" in header
    assert header.index(f"{LAB}:total") < header.index(f"{SECOND}:test_dloss_dy")
    assert rows["correct"][f"{LAB}:total"] == rows["correct"][f"{SECOND}:total"] == "22.0"
    # the written answers, left as released, count 0 of their points
    assert rows["correct"]["total"] == "44.0" and rows["correct"]["max"] == "48.0"
    assert rows["wrong_dbeta"][f"{LAB}:test_dloss_dbeta"] == "0.0"
    assert float(rows["wrong_dbeta"][f"{LAB}:total"]) < 22
    assert rows["wrong_dbeta"][f"{SECOND}:total"] == "0.0"  # submitted nothing there
    assert rows["ghost"]["total"] == "0.0" and rows["ghost"]["max"] == "48.0"
