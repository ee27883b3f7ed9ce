"""Limits count CPU seconds, so a busy machine slows grading but changes no verdict.

Each limit is shown with CPU-bound processes running beside it: work that fits its CPU limit
finishes however long it takes on the wall clock; work past it is stopped, saying how much CPU
time it used; code that waits rather than computes is stopped by the wall-clock backstop (five
times the limit). A single limit is shown on one core shared with two CPU-bound processes
(:func:`busy_core`), so that whatever else the machine runs (the other tests, under ``pytest
-n``), the work gets about a third of it: far slower than the wall clock, yet well above the
fifth below which the backstop would come first. Whole grading runs are shown with four
CPU-bound processes beside them on the machine's cores (:func:`busy`). The limits: the
per-student one (``course.grading.remote``), the judge's runner
(``course.judge.runner.run_bounded``), and nbgrader's per-cell one
(``course.nbgrader_ext.bounded_execute.BoundedExecute``, what ``nbgrader autograde`` runs with
the course's configuration).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import nbformat
import pytest
from traitlets.config import Config

from course.grading.cputime import WALL_CLOCK_FACTOR, CpuClock
from course.grading.remote import GradingProcess
from course.judge.runner import run_bounded
from course.labs import copy_course
from course.nbgrader_ext.bounded_execute import BoundedExecute
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from labs.lab2.cohort import DEMO_COHORT as LAB2_COHORT
from tests.support.commands import run_course, run_nbgrader
from tests.support.gradebook import recorded_outcomes, scores
from tests.support.hostile import CATALOGUE, write_catalogue
from tests.support.paths import LAB, NOTEBOOK, ROOT, SOURCE_NOTEBOOK
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course, with_test_limits

KIT = {"nbgrader_config.py": b"c = get_config()  # noqa: F821\n"}
BURN = (
    "import sys, time\nend = time.process_time() + float(sys.argv[1])\n"
    "while time.process_time() < end: pass\n"
)


# Busy until the test process is gone (or two minutes have passed), whatever becomes of it.
BURNER = (
    "import os, time\nparent, end = os.getppid(), time.monotonic() + 120\n"
    "while os.getppid() == parent and time.monotonic() < end: pass\n"
)


@contextlib.contextmanager
def busy(processes: int = 4):
    """CPU-bound processes beside the test (four: twice the machine's two cores), each in a
    session of its own (as a grading process is: the scheduler shares the cores between
    sessions first)."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURNER], start_new_session=True)
        for _ in range(processes)
    ]
    time.sleep(0.2)
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@pytest.fixture
def busy_machine():
    """:func:`busy`, for the whole test."""
    with busy():
        yield


@pytest.fixture
def busy_core():
    """The test (and whatever it starts) held to one core, with two CPU-bound processes on it:
    its work gets about a third of the core."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})  # inherited by what the test starts
    try:
        with busy(2):
            yield
    finally:
        os.sched_setaffinity(0, before)


def _burn(seconds: float) -> list[str]:
    return [sys.executable, "-c", BURN, str(seconds)]


def test_the_clock_counts_the_cpu_time_of_a_process_and_its_children():
    """A child that computed for 0.6 s and ended counts (through its parent's account); a
    process that sleeps uses next to nothing."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run({_burn(0.6)!r}); import time; time.sleep(30)",
        ]
    )
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
    return GradingProcess(
        KIT,
        "lab1",
        sandbox=False,
        command=lambda root, lab, sandbox: [sys.executable, "-c", script],
    )


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


def test_a_student_within_the_cpu_limit_is_graded_however_busy_the_machine(busy_core):
    process = _grading_process("SECONDS = 1.5\n" + GRADES_AFTER_BURNING)
    try:
        start = time.monotonic()
        result = process.grade("a", {}, 2.5)
        assert result.get("event") == "done", result
        # slower than its CPU limit on the wall clock: a wall-clock limit would have failed it
        assert time.monotonic() - start > 2.5
    finally:
        process.kill()


def test_a_student_past_the_cpu_limit_is_stopped_saying_how_much_it_used(busy_core):
    process = _grading_process("SECONDS = 60\n" + GRADES_AFTER_BURNING)
    result = process.grade("a", {}, 1.0)
    assert result["lost"] == "timeout" and result["limit"] == "cpu"
    assert 1.0 < result["cpu_seconds"] < 2.0
    assert not process.alive()


def test_a_student_that_waits_is_stopped_by_the_wall_clock_backstop():
    process = _grading_process(
        GRADES_AFTER_BURNING.replace(
            "while time.process_time() < end: pass", "time.sleep(600)"
        ).replace("end = time.process_time() + SECONDS\n", "")
    )
    start = time.monotonic()
    result = process.grade("a", {}, 0.5)
    assert result["lost"] == "timeout" and result["limit"] == "wall"
    assert WALL_CLOCK_FACTOR * 0.5 <= time.monotonic() - start < 10
    assert result["cpu_seconds"] < 0.5


def _answers(seconds: float, budgets):
    heard = []
    command = [sys.executable, "-c", BURN + "print('{}', flush=True)\n", str(seconds)]
    problem, _ = run_bounded(command, b"", heard.append, 1024, budgets)
    return problem, heard


def test_a_budget_may_follow_what_is_awaited_rather_than_the_line_count():
    """The judge's budget follows the phase its conversation awaits (a training that ends
    early sends fewer lines than its epochs): a function of the line count is obeyed."""
    asked = []

    def budget(lines: int) -> float:
        asked.append(lines)
        return 0.3

    problem, heard = _answers(30.0, budget)
    assert problem == "the re-check used more than its 0.3 s of CPU time"
    assert heard == [] and asked and set(asked) == {0}


def test_the_judges_runner_is_held_to_cpu_seconds_not_the_wall_clock(busy_core):
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
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("print('next')")]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    executed, _ = BoundedExecute(config=config).preprocess(nb, {})
    return [cell.outputs for cell in executed.cells]


def test_a_cell_is_held_to_cpu_seconds_and_says_so(busy_core):
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


# Lab 1: honest, wrong and numerically differentiating work (the last uses most of its CPU
# limit); the hostile entries whose outcome hangs on a limit (a flood that costs the kernel about
# its cell's CPU limit, a flood of the judge's pipe, a numerical gradient of the graders' loss, a
# memory bomb) or that the judge must answer from its own measurements; Lab 2: a per-sample loop,
# float32, one batching mistake, the 1/n moved. Outcomes that may differ between two quiet runs
# (the catalogue's entries with more than one allowed status) are left out: they prove nothing.
BUSY_LAB1 = ("correct", "fair_numerical", "fair_scratch_reuse", "wrong_dbeta")
BUSY_HOSTILE = (
    "h_output_stream_flood",
    "h_clean_room_flood",
    "h_numerical_graders_loss",
    "h_memory_bomb",
    "h_malformed_answer",
)
BUSY_LAB2 = ("looped", "fair_float32", "dW1_averaged_twice", "forgot_1_over_n")
LAB2, LAB2_NOTEBOOK = "lab2", "vectorized"


def _grade(course, lab: str = LAB) -> None:
    graded = run_course(
        "grade", lab, "--workers", "2", "--student-timeout", STUDENT_TIMEOUT, "--quiet", cwd=course
    )
    assert graded.returncode in (0, 1), graded.stdout + graded.stderr


def _same_grading(busy, quiet, students, lab: str = LAB, notebook: str = NOTEBOOK) -> None:
    """Each student's status, reason, scores and judge's messages are those of the quiet run."""
    busy_outcomes, quiet_outcomes = recorded_outcomes(busy, lab), recorded_outcomes(quiet, lab)
    for student in students:
        assert (busy_outcomes[student]["status"], busy_outcomes[student]["reason"]) == (
            quiet_outcomes[student]["status"],
            quiet_outcomes[student]["reason"],
        ), student
        assert scores(busy, student, lab, notebook) == scores(quiet, student, lab, notebook), (
            student
        )
        assert judge_messages(busy, student, lab) == judge_messages(quiet, student, lab), student


def test_a_busy_machine_grades_exactly_as_a_quiet_one(graded_course, tmp_path, busy_machine):
    """Lab 1's students and the limit-bound hostile entries, graded with four CPU-bound
    processes beside the workers, get the statuses, reasons, scores and judge's messages of the
    quiet run (``graded_course``, the same submissions)."""
    assert not {e.student for e in CATALOGUE if len(e.statuses) > 1} & set(BUSY_HOSTILE)
    course = make_scratch_course(tmp_path)
    cohort = tuple(s for s in DEMO_COHORT if s.student in BUSY_LAB1)
    assert len(cohort) == len(BUSY_LAB1)
    write_cohort(course, LAB, course / "submitted", cohort)
    write_catalogue(
        SOURCE_NOTEBOOK,
        course / "release" / LAB / SOURCE_NOTEBOOK.name,
        course / "submitted",
        LAB,
        only=BUSY_HOSTILE,
    )
    _grade(course)
    _same_grading(course, graded_course.root, BUSY_LAB1 + BUSY_HOSTILE)


def test_a_busy_machine_grades_lab2_exactly_as_a_quiet_one(tmp_path):
    """The same for Lab 2, whose loop check counts rather than times: quiet first, then with
    four CPU-bound processes beside the workers."""
    cohort = tuple(s for s in LAB2_COHORT if s.student in BUSY_LAB2)
    assert len(cohort) == len(BUSY_LAB2)
    courses = []
    for run in ("quiet", "busy"):
        course = with_test_limits(copy_course(ROOT, tmp_path / run, LAB2))
        run_nbgrader("generate_assignment", LAB2, "--force", cwd=course)
        write_cohort(course, LAB2, course / "submitted", cohort)
        courses.append(course)
    _grade(courses[0], LAB2)
    with busy():
        _grade(courses[1], LAB2)
    _same_grading(courses[1], courses[0], BUSY_LAB2, LAB2, LAB2_NOTEBOOK)
    assert recorded_outcomes(courses[0], LAB2)["looped"]["status"] == "graded"
    assert scores(courses[0], "looped", LAB2, LAB2_NOTEBOOK)["test_no_loop_over_samples"][0] == 0


def judge_messages(course, student: str, lab: str = LAB) -> list[str]:
    """What each grade cell of a student's graded notebook says, in order (the judge's
    verdicts, which the feedback shows; the student's other cells' outputs it does not)."""
    (graded,) = (course / "autograded" / student / lab).glob("*.ipynb")
    notebook = nbformat.read(graded, as_version=4)
    return [
        output.get("evalue", output.get("text", ""))
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.get("outputs", [])
    ]
