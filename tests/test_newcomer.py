"""What a new instructor trips over first: clear answers, no noise, nothing of theirs in git."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import LAB, ROOT, make_scratch_course, run_course, run_nbgrader, tool_env


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


@pytest.mark.slow
def test_the_demo_is_quiet_grades_as_planted_and_leaves_git_clean(tmp_path):
    """`make demo`'s command in a clone of the repository, then `nbgrader export` at its
    root: no warning reaches the terminal, each synthetic student is graded as planted, and
    nothing shows up in `git status`."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach"], check=True)
    for tracked in subprocess.run(["git", "ls-files", "-m", "-o", "--exclude-standard"],
                                  cwd=ROOT, capture_output=True, text=True).stdout.split():
        if (ROOT / tracked).is_file() and not tracked.startswith("tests/"):
            target = clone / tracked  # the working tree as it is, not only as committed
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / tracked).read_bytes())
    subprocess.run(["git", "-C", str(clone), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "--quiet", "--allow-empty", "-m", "as tested"], check=True)
    demo = subprocess.run([sys.executable, "-m", "course", "demo"], cwd=clone,
                          capture_output=True, text=True, timeout=900, env=tool_env())
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "WARNING" not in demo.stdout + demo.stderr, demo.stderr[-3000:]
    assert "without encryption" not in demo.stdout + demo.stderr
    assert "of 28 graded as expected" in demo.stdout and "NOT AS EXPECTED" not in demo.stdout
    run_nbgrader("export", cwd=clone)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=clone, capture_output=True, text=True, check=True).stdout
    assert status == "", status
