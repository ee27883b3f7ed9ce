"""The canary: a grading environment that would grade the instructor's solution wrong stops
`course grade` before it grades anyone, and says why."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from course.labs import copy_course
from course.notebooks import cell_by_grade_id
from labs.lab1.cohort import LAB1_COHORT, write_cohort
from tests.conftest import (
    LAB,
    ROOT,
    SOURCE_NOTEBOOK,
    make_scratch_course,
    run_course,
    run_nbgrader,
    tool_env,
)

pytestmark = pytest.mark.slow


def test_a_broken_grading_environment_stops_the_run_before_anyone_is_graded(tmp_path):
    course = copy_course(ROOT, tmp_path / "course", LAB)
    write_cohort(ROOT, LAB, course / "submitted", LAB1_COHORT[:1])  # a correct student
    # The instructor's provided functions, which the judge trusts, break on the way here.
    source = course / "source" / LAB / SOURCE_NOTEBOOK.name
    nb = nbformat.read(source, as_version=4)
    provided = cell_by_grade_id(nb, "provided_functions")
    provided.source = provided.source.replace("return -t / np.maximum(y, PROBABILITY_FLOOR)",
                                              "return t / np.maximum(y, PROBABILITY_FLOOR)")
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
    result = subprocess.run([sys.executable, "-m", "course", "grade", LAB, "--quiet"],
                            cwd=course, capture_output=True, text=True, timeout=600,
                            env={**tool_env(), "PYTHONPATH": str(private)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "grading stopped before grading anyone" in result.stderr
    assert "solution" in result.stderr
    assert not (course / "autograded" / LAB1_COHORT[0].student).exists()
