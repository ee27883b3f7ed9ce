"""What a new instructor trips over first: clear answers, no noise, nothing of theirs in git."""

from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest

from course.grading.admission import labs_of
from course.labs import load_lab
from tests.support.commands import run_course, run_nbgrader, tool_env
from tests.support.paths import LAB, ROOT
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course


def test_grades_and_student_files_never_show_up_in_git():
    outputs = [
        "grades.csv",
        "grades-lab1.csv",
        "exported.csv",
        "gradebook.db",
        "submitted/12345/lab1/classification.ipynb",
        "autograded/12345/lab1/x.ipynb",
        "feedback/12345/lab1/classification.html",
        "reports/lab1/grades.csv",
        "build/demo-course/gradebook.db",
        "downloaded/lab1/archive/a.zip",
    ]
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", *outputs], cwd=ROOT, capture_output=True, text=True
    )
    assert sorted(checked.stdout.split()) == sorted(outputs)


def test_nbgrader_with_the_course_config_prints_no_configuration_warning(tmp_path):
    course = make_scratch_course(tmp_path)
    result = run_nbgrader("db", "assignment", "list", cwd=course)
    assert LAB in result.stdout
    for noise in ("not recognized", "Config option", "deprecated"):
        assert noise not in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["grade", "report", "release"])
def test_an_unknown_lab_is_named_with_the_labs_there_are(command):
    result = run_course(command, "nosuchlab", cwd=ROOT)
    assert result.returncode == 2
    assert "no lab called 'nosuchlab'" in result.stderr and "lab1" in result.stderr
    assert "course release nosuchlab" not in result.stderr


def test_a_report_before_grading_says_nothing_is_graded_yet(tmp_path):
    course = make_scratch_course(tmp_path)
    result = run_course("report", LAB, cwd=course)
    assert result.returncode == 2
    assert f"nothing of {LAB} is graded yet" in result.stderr
    assert "0.00/2" not in result.stdout


def test_the_demo_is_quiet_grades_as_planted_and_leaves_git_clean(tmp_path):
    """`make demo`'s command in a clone of the repository, then `nbgrader export` at its
    root: no warning reaches the terminal, each synthetic student is graded as planted, and
    nothing shows up in `git status`."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach"], check=True)
    for tracked in subprocess.run(
        ["git", "ls-files", "-m", "-o", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split():
        if (ROOT / tracked).is_file() and not tracked.startswith("tests/"):
            target = clone / tracked  # the working tree as it is, not only as committed
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / tracked).read_bytes())
    subprocess.run(["git", "-C", str(clone), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(clone),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            "as tested",
        ],
        check=True,
    )
    demo = subprocess.run(
        [sys.executable, "-m", "course", "demo", "--student-timeout", STUDENT_TIMEOUT],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=900,
        env=tool_env(),
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "WARNING" not in demo.stdout + demo.stderr, demo.stderr[-3000:]
    assert "without encryption" not in demo.stdout + demo.stderr
    assert "NOT AS EXPECTED" not in demo.stdout
    for lab in labs_of(clone):  # every lab's synthetic cohort, graded as planted
        cohort = load_lab(clone, lab).demo.cohort
        assert f"of {len(cohort)} graded as expected" in demo.stdout, lab
        assert f"\n{len(cohort)} students; median" in demo.stdout, lab
    # Lab 1's similarity table (the first printed) lists its planted near-copies first
    similar = demo.stdout[demo.stdout.index("similar code, for review") :].splitlines()
    assert similar[1].split()[:2] == ["unusual_jacobian", "unusual_jacobian_renamed"], similar
    demo_course = clone / "build" / "demo-course"
    # Canvas's import file for the sample roster: every roster row (all the cohort but its
    # first student, left out on purpose and reported, plus one who handed nothing in)
    canvas = (demo_course / "reports" / LAB / "canvas-import.csv").read_text().splitlines()
    lab1_cohort = load_lab(clone, LAB).demo.cohort
    lab1_points = sum(
        c.metadata["nbgrader"]["points"]
        for nb in (clone / "source" / LAB).glob("*.ipynb")
        for c in nbformat.read(nb, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade")
    )
    assert canvas[:2] == [
        f"Student,ID,SIS User ID,SIS Login ID,Section,{LAB}",
        f"    Points Possible,,,,,{lab1_points:g}",
    ]
    assert len(canvas) == 2 + len(lab1_cohort)
    assert f"NOT in the import: {lab1_cohort[0].student}: no roster row" in demo.stdout
    # the demo course's gradebook holds every lab: one row per student, every lab's columns
    run_nbgrader("export", "--to", str(tmp_path / "all.csv"), cwd=demo_course)
    with (tmp_path / "all.csv").open() as exported:
        rows = list(csv.DictReader(exported))
    students = [row["student_id"] for row in rows]
    assert len(students) == len(set(students))
    cohorts = {lab: {s.student for s in load_lab(clone, lab).demo.cohort} for lab in labs_of(clone)}
    assert set(students) == set().union(*cohorts.values())
    assert {
        "lab1:test_dloss_dy",
        "lab2:test_A",
        "lab2:test_no_loop_over_samples",
        "lab3:test_affine_backward",
        "lab3:test_network",
        "lab1:total",
        "lab2:total",
        "lab3:total",
    } <= set(rows[0])
    by_student = {row["student_id"]: row for row in rows}
    assert "looped" not in cohorts["lab1"]  # a lab2 student only: lab1 scores 0, lab2 its own
    assert float(by_student["looped"]["lab1:total"]) == 0
    for lab, student in (("lab2", "looped"), ("lab3", "penalty_missing")):
        assert all(student not in cohorts[other] for other in cohorts if other != lab)
        planted = next(s for s in load_lab(clone, lab).demo.cohort if s.student == student)
        points = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for nb in (clone / "source" / lab).glob("*.ipynb")
            for c in nbformat.read(nb, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("grade")
        }
        assert float(by_student[student][f"{lab}:total"]) == sum(
            top for grade_id, top in points.items() if grade_id not in planted.expected_failures
        )
    run_nbgrader("export", cwd=clone)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "", status
