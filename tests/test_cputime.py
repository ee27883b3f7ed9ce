"""Limits count CPU seconds, so a busy machine slows grading but changes no verdict.

Each limit is shown with four CPU-bound processes running beside it on the machine's cores:
work that fits its CPU limit finishes however long it takes on the wall clock; work past it is
stopped, saying how much CPU time it used; code that waits rather than computes is stopped by
the wall-clock backstop (five times the limit). The limits: the per-student one
(``course.remote``), the judge's runner (``course.cleanroom.run_bounded``), and nbgrader's
per-cell one (``course.bounded_execute.BoundedExecute``, what ``nbgrader autograde`` runs with
the course's configuration).
"""

from __future__ import annotations

import subprocess
import sys
import time

import nbformat
import pytest
from traitlets.config import Config

from course.bounded_execute import BoundedExecute
from course.cleanroom import run_bounded
from course.cputime import WALL_CLOCK_FACTOR, CpuClock
from course.remote import GradingProcess
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.conftest import (
    LAB,
    STUDENT_TIMEOUT,
    make_scratch_course,
    recorded_outcomes,
    run_course,
    scores,
)

KIT = {"nbgrader_config.py": b"c = get_config()  # noqa: F821\n"}
BURN = "import sys, time\nend = time.process_time() + float(sys.argv[1])\n" \
       "while time.process_time() < end: pass\n"


# Busy until the test process is gone (or two minutes have passed), whatever becomes of it.
BURNER = ("import os, time\nparent, end = os.getppid(), time.monotonic() + 120\n"
          "while os.getppid() == parent and time.monotonic() < end: pass\n")


@pytest.fixture
def busy_machine():
    """Four CPU-bound processes beside the test, on the machine's two cores, each in a
    session of its own (as a grading process is: the scheduler shares the cores between
    sessions first)."""
    burners = [subprocess.Popen([sys.executable, "-c", BURNER], start_new_session=True)
               for _ in range(4)]
    time.sleep(0.2)
    yield
    for burner in burners:
        burner.kill()
        burner.wait()


def _burn(seconds: float) -> list[str]:
    return [sys.executable, "-c", BURN, str(seconds)]


def test_the_clock_counts_the_cpu_time_of_a_process_and_its_children():
    """A child that computed for 0.6 s and ended counts (through its parent's account); a
    process that sleeps uses next to nothing."""
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess, sys; subprocess.run({_burn(0.6)!r}); "
                               "import time; time.sleep(30)"])
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    clock, idle = CpuClock(parent.pid), CpuClock(sleeper.pid)
    try:
        deadline = time.monotonic() + 20
        while clock.cpu() < 0.6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert clock.cpu() >= 0.6
        assert idle.cpu() < 0.3
    finally:
        for process in (parent, sleeper):
            process.kill()
            process.wait()


def _grading_process(script: str) -> GradingProcess:
    return GradingProcess(KIT, "lab1", sandbox=False,
                          command=lambda root, lab, sandbox: [sys.executable, "-c", script])


GRADES_AFTER_BURNING = """
import json, sys, time
request = json.loads(sys.stdin.readline())
print(json.dumps({"event": "start", "student": request["student"]}), flush=True)
end = time.process_time() + SECONDS
while time.process_time() < end: pass
print(json.dumps({"event": "done", "outcome": {"student": "a", "status": "graded"}}),
      flush=True)
time.sleep(60)
"""


def test_a_student_within_the_cpu_limit_is_graded_however_busy_the_machine(busy_machine):
    process = _grading_process("SECONDS = 1.5\n" + GRADES_AFTER_BURNING)
    try:
        start = time.monotonic()
        result = process.grade("a", {}, 2.5)
        assert result.get("event") == "done", result
        # slower than its CPU limit on the wall clock: a wall-clock limit would have failed it
        assert time.monotonic() - start > 2.5
    finally:
        process.kill()


def test_a_student_past_the_cpu_limit_is_stopped_saying_how_much_it_used(busy_machine):
    process = _grading_process("SECONDS = 60\n" + GRADES_AFTER_BURNING)
    result = process.grade("a", {}, 1.0)
    assert result["lost"] == "timeout" and result["limit"] == "cpu"
    assert 1.0 < result["cpu_seconds"] < 2.0
    assert not process.alive()


def test_a_student_that_waits_is_stopped_by_the_wall_clock_backstop():
    process = _grading_process(GRADES_AFTER_BURNING.replace(
        "while time.process_time() < end: pass", "time.sleep(600)").replace(
        "end = time.process_time() + SECONDS\n", ""))
    start = time.monotonic()
    result = process.grade("a", {}, 0.5)
    assert result["lost"] == "timeout" and result["limit"] == "wall"
    assert WALL_CLOCK_FACTOR * 0.5 <= time.monotonic() - start < 10
    assert result["cpu_seconds"] < 0.5


def _answers(seconds: float, budgets: tuple[float, ...]):
    heard = []
    command = [sys.executable, "-c", BURN + "print('{}', flush=True)\n", str(seconds)]
    problem, _ = run_bounded(command, b"", heard.append, 1024, budgets)
    return problem, heard


def test_the_judges_runner_is_held_to_cpu_seconds_not_the_wall_clock(busy_machine):
    start = time.monotonic()
    problem, heard = _answers(1.0, (2.0,))
    assert problem is None and heard == [b"{}"]
    assert time.monotonic() - start > 2.0  # past the budget on the wall clock: no matter
    problem, heard = _answers(30.0, (0.5,))
    assert problem == "the re-check used more than its 0.5 s of CPU time"
    assert heard == []


def _cell_outputs(source: str, timeout: int) -> list[dict]:
    config = Config()
    config.Execute.timeout = timeout
    config.Execute.interrupt_on_timeout = True
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source),
                                         nbformat.v4.new_code_cell("print('next')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    executed, _ = BoundedExecute(config=config).preprocess(nb, {})
    return [cell.outputs for cell in executed.cells]


def test_a_cell_is_held_to_cpu_seconds_and_says_so(busy_machine):
    # computing for 1.5 CPU seconds takes longer on a busy machine: within a 3 s limit
    outputs = _cell_outputs(f"exec({BURN!r}.replace('float(sys.argv[1])', '1.5'))", 3)
    assert not any(o.output_type == "error" for o in outputs[0]), outputs[0]
    outputs = _cell_outputs("while True:\n    pass", 1)
    (error,) = [o for o in outputs[0] if o.get("ename") == "CellTimeoutError"]
    assert error.ename == "CellTimeoutError"
    assert "used more than 1 s of CPU time" in error.evalue
    assert outputs[1][0].text == "next\n"  # the kernel was interrupted, not lost


def test_a_cell_that_waits_is_stopped_by_the_wall_clock_backstop():
    start = time.monotonic()
    outputs = _cell_outputs("import time\ntime.sleep(60)", 1)
    (error,) = [o for o in outputs[0] if o.get("ename") == "CellTimeoutError"]
    assert "waited more than 5 s while using" in error.evalue
    assert time.monotonic() - start < 30



# Honest, wrong and numerically differentiating work: the last uses most of its CPU limit.
BUSY_COHORT = ("correct", "fair_numerical", "fair_scratch_reuse", "wrong_dbeta")


@pytest.mark.slow
def test_a_busy_machine_grades_exactly_as_a_quiet_one(graded_course, tmp_path, busy_machine):
    """The same students graded with four CPU-bound processes beside the workers get the
    statuses, reasons, scores and judge's messages of the quiet run."""
    course = make_scratch_course(tmp_path)
    cohort = tuple(s for s in DEMO_COHORT if s.student in BUSY_COHORT)
    assert len(cohort) == len(BUSY_COHORT)
    write_cohort(course, LAB, course / "submitted", cohort)
    run_course("grade", LAB, "--workers", "2", "--student-timeout", STUDENT_TIMEOUT, "--quiet",
               cwd=course)
    busy, quiet = recorded_outcomes(course), recorded_outcomes(graded_course.root)
    for student in BUSY_COHORT:
        assert (busy[student]["status"], busy[student]["reason"]) == (
            quiet[student]["status"], quiet[student]["reason"]), student
        assert scores(course, student) == scores(graded_course.root, student), student
        assert judge_messages(course, student) == judge_messages(graded_course.root, student)


def judge_messages(course, student: str) -> list[str]:
    """The error messages of a student's graded notebook, in order (the judge's verdicts)."""
    (graded,) = (course / "autograded" / student / LAB).glob("*.ipynb")
    notebook = nbformat.read(graded, as_version=4)
    return [output.get("evalue", "") for cell in notebook.cells
            for output in cell.get("outputs", []) if output.get("output_type") == "error"]
