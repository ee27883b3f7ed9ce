"""The canary: a grading environment that would grade the instructor's solution wrong stops
`course grade` before it grades anyone, and says why."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat

from course.grading.canary import environment_digest
from course.labs import copy_course
from course.notebooks import cell_by_grade_id
from labs.lab1.cohort import LAB1_COHORT, write_cohort
from tests.support.commands import run_course, run_nbgrader, tool_env
from tests.support.paths import LAB, ROOT, SOURCE_NOTEBOOK
from tests.support.scratch import make_scratch_course


def test_a_broken_grading_environment_stops_the_run_before_anyone_is_graded(tmp_path):
    course = copy_course(ROOT, tmp_path / "course", LAB)
    write_cohort(ROOT, LAB, course / "submitted", LAB1_COHORT[:1])  # a correct student
    # The instructor's provided functions, which the judge trusts, break on the way here.
    source = course / "source" / LAB / SOURCE_NOTEBOOK.name
    nb = nbformat.read(source, as_version=4)
    provided = cell_by_grade_id(nb, "provided_functions")
    provided.source = provided.source.replace(
        "return -t / np.maximum(y, PROBABILITY_FLOOR)",
        "return t / np.maximum(y, PROBABILITY_FLOOR)",
    )
    nbformat.write(nb, source)
    run_nbgrader("generate_assignment", LAB, "--force", cwd=course)

    result = run_course("grade", LAB, "--quiet", cwd=course)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "grading stopped before grading anyone" in result.stderr
    assert "solution scored" in result.stderr and "expected full marks" in result.stderr
    assert not (course / "autograded" / LAB1_COHORT[0].student).exists()


def test_a_sandbox_that_cannot_import_helpers_stops_the_run(tmp_path):
    """The course's helpers come from a folder only root may read: the grader imports them,
    but no sandbox can, so the solution would score nothing; the canary stops the run."""
    course = make_scratch_course(tmp_path / "course")
    write_cohort(ROOT, LAB, course / "submitted", LAB1_COHORT[:1])
    private = tmp_path / "private"
    shutil.copytree(ROOT / "helpers", private / "helpers")
    (private / "helpers").chmod(0o700)  # the folder the sandbox binds
    result = subprocess.run(
        [sys.executable, "-m", "course", "grade", LAB, "--quiet"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=600,
        env={**tool_env(), "PYTHONPATH": str(private)},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "grading stopped before grading anyone" in result.stderr
    assert "solution" in result.stderr
    assert not (course / "autograded" / LAB1_COHORT[0].student).exists()


def test_a_runtime_without_the_object_counter_stops_the_run(tmp_path):
    """A course whose packages were copied without the loop check's compiled object counter
    (``make setup`` not run): the judge's runner refuses to run, the solution would score
    nothing, and the canary stops the run."""
    course = make_scratch_course(tmp_path / "course")
    write_cohort(ROOT, LAB, course / "submitted", LAB1_COHORT[:1])
    copied = tmp_path / "copied"
    for package in ("helpers", "judge_runtime"):
        shutil.copytree(
            ROOT / package,
            copied / package,
            ignore=shutil.ignore_patterns("_allocations*.so", "__pycache__"),
        )
    assert [p.name for p in (copied / "judge_runtime").glob("_allocations*")] == ["_allocations.c"]
    result = subprocess.run(
        [sys.executable, "-m", "course", "grade", LAB, "--quiet"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=600,
        env={**tool_env(), "PYTHONPATH": str(copied)},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "grading stopped before grading anyone" in result.stderr
    assert not (course / "autograded" / LAB1_COHORT[0].student).exists()


def test_a_passed_canary_is_remembered_whatever_folder_the_grader_runs_from(tmp_path):
    """The canary's key is the environment, not the process: importing the lab (which writes
    __pycache__ files) or running from another folder (which changes sys.path and what
    Python lists as installed) must not make every `course grade` run it again."""
    course = make_scratch_course(tmp_path / "course")
    script = (
        "import sys; from pathlib import Path;"
        "from course.grading.canary import environment_digest;"
        "from course.labs import import_lab_module; root = Path(sys.argv[1]);"
        "import_lab_module(root, 'lab1', 'cohort'); print(environment_digest(root, 'lab1'))"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(course)],
            cwd=cwd,
            env=tool_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for cwd in (ROOT, course, elsewhere, ROOT / "bench")
    }
    assert len(digests) == 1, digests
    notebook = nbformat.read(course / "source" / LAB / SOURCE_NOTEBOOK.name, as_version=4)
    notebook.cells[-1].source += " "  # an edit of a cell, however small
    nbformat.write(notebook, course / "source" / LAB / SOURCE_NOTEBOOK.name)
    changed = subprocess.run(
        [sys.executable, "-c", script, str(course)],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert changed not in digests  # a changed lab is a changed environment
    # and a canary passed without the sandbox says nothing of one with it
    assert environment_digest(course, LAB, sandbox=False) != environment_digest(course, LAB)
