"""What a new instructor trips over first: clear answers, no noise, nothing of theirs in git."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import LAB, ROOT, make_scratch_course, run_course, run_nbgrader


def test_grades_and_student_files_never_show_up_in_git():
    outputs = ["grades.csv", "grades-lab1.csv", "exported.csv", "gradebook.db",
               "submitted/12345/lab1/classification.ipynb", "autograded/12345/lab1/x.ipynb",
               "feedback/12345/lab1/classification.html", "reports/lab1/grades.csv",
               "build/demo-course/gradebook.db", "downloaded/lab1/archive/a.zip"]
    checked = subprocess.run(["git", "check-ignore", "--no-index", *outputs], cwd=ROOT,
                             capture_output=True, text=True)
    assert sorted(checked.stdout.split()) == sorted(outputs)


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_report_before_grading_says_nothing_is_graded_yet(tmp_path):
    course = make_scratch_course(tmp_path)
    result = run_course("report", LAB, cwd=course)
    assert result.returncode == 2
    assert f"nothing of {LAB} is graded yet" in result.stderr
    assert "0.00/2" not in result.stdout
