"""Memory is bounded by the size cap, not by what students hand in: notebooks just under the
cap (10 MB, the worst kind: a hundred thousand small outputs) are graded with every process of
the run under 300 MB; one over it is refused, saying what to do, and nothing is lost."""

from __future__ import annotations

import subprocess
import sys

import nbformat

from course.submissions import MAX_BYTES
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import tool_env
from tests.support.gradebook import recorded_outcomes
from tests.support.paths import LAB, NOTEBOOK
from tests.support.scratch import GRADE, make_scratch_course

PEAK_OF_ALL = (
    "import resource, subprocess, sys\n"
    "result = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(result.stdout); sys.stderr.write(result.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    "sys.exit(result.returncode)\n"
)


def _padded(path, target_bytes: int) -> None:
    """Give the notebook at ``path`` small outputs until it is about ``target_bytes``."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")

    def size_with(count: int) -> int:
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="y" * 300 + "\n")
            for _ in range(count)
        ]
        return len(nbformat.writes(nb).encode())

    base, per_output = size_with(0), (size_with(1000) - size_with(0)) / 1000
    size_with(max(0, int((target_bytes - base) / per_output)))
    nbformat.write(nb, path)


def test_notebooks_at_the_size_cap_are_graded_in_bounded_memory(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    students = [s for s in DEMO_COHORT if s.student in ("correct", "wrong_dbeta", "blank")]
    write_cohort(course, LAB, course / "submitted", students)
    for student, target in (
        ("correct", MAX_BYTES - 64 * 1024),
        ("wrong_dbeta", MAX_BYTES - 64 * 1024),
        ("blank", MAX_BYTES + 512 * 1024),
    ):
        path = course / "submitted" / student / LAB / f"{NOTEBOOK}.ipynb"
        _padded(path, target)
        assert abs(path.stat().st_size - target) < 64 * 1024
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_OF_ALL,
            sys.executable,
            "-m",
            "course",
            *GRADE,
        ],
        cwd=course,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=900,
    )
    *_, peak_mb = result.stdout.strip().splitlines()
    outcomes = recorded_outcomes(course)
    assert outcomes["correct"]["status"] == "graded", outcomes["correct"]
    assert outcomes["wrong_dbeta"]["status"] == "graded", outcomes["wrong_dbeta"]
    assert outcomes["blank"]["status"] == "failed"
    assert "Clear Outputs" in outcomes["blank"]["reason"]
    assert (course / "submitted" / "blank" / LAB / f"{NOTEBOOK}.ipynb").stat().st_size > MAX_BYTES
    # the coordinator, the grading processes, the kernels and the judge's runners alike
    assert int(peak_mb) < 300, peak_mb
