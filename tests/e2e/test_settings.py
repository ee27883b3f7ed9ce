"""The course tools' settings: every one listed by ``course --help-all``, each read from
``nbgrader_config.py`` and obeyed where it applies (the student limit by ``course grade``, the
judge's budgets by the judge in the grading processes, the sandbox's limits by the kernels),
and settings that cannot work together refused before anything is graded, naming which to
change."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course.settings import BUDGET_NAMES, CLASSES
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import run_course, tool_env
from tests.support.gradebook import recorded_outcomes
from tests.support.paths import LAB, ROOT
from tests.support.scratch import make_scratch_course


def _configure(course, *lines: str) -> None:
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\n" + "\n".join(lines) + "\n")


def test_help_all_lists_every_setting_with_its_default_and_help(tmp_path):
    """Outside any course, too."""
    listed = subprocess.run(
        [sys.executable, "-m", "course", "--help-all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=tool_env(),
    )
    assert listed.returncode == 0, listed.stderr
    count = 0
    for cls in CLASSES:
        for name, trait in cls.class_traits(config=True).items():
            line = f"c.{cls.__name__}.{name} = {trait.default()!r}"
            if trait.metadata.get("set_by_grading"):  # what course grade sets: no setting
                assert line not in listed.stdout, line
            elif trait.this_class is cls:
                assert line in listed.stdout, line
                assert " ".join(trait.help.split()[:4]) in listed.stdout, name
                count += 1
    assert count >= 15


@pytest.fixture(scope="module")
def one_student_course(tmp_path_factory):
    course = make_scratch_course(tmp_path_factory.mktemp("settings") / "course")
    write_cohort(
        course, LAB, course / "submitted", tuple(s for s in DEMO_COHORT if s.student == "correct")
    )
    return course


@pytest.mark.parametrize(
    ("lines", "flags", "named"),
    [
        (
            ["c.JudgeBudgets.lines_cpu_seconds = 200.0"],
            [],
            "c.JudgeBudgets.lines_cpu_seconds (200)",
        ),
        ([], ["--student-timeout", "20"], "c.JudgeBudgets.training_cpu_seconds (40)"),
        (
            ["c.Grading.student_cpu_seconds = 400.0", "c.SandboxLimits.cpu_seconds = 300"],
            [],
            "c.SandboxLimits.cpu_seconds (300) is below",
        ),
        (["c.Execute.timeout = 500"], [], "c.Execute.timeout (500 s a cell)"),
        (
            ['c.Execute.pop("timeout")'],
            ["--student-timeout", "20"],
            "c.Execute.timeout (30 s a cell)",
        ),  # not set: nbgrader's default, checked all the same
        (
            ["c.JudgeBudgets.cases_cpu_seconds = 100.0"],
            [],
            "c.JudgeBudgets.cases_cpu_seconds (100) is above c.JudgeBudgets.training_cpu_seconds",
        ),
    ],
)
def test_settings_that_cannot_work_together_stop_grading_before_anyone(
    one_student_course, lines, flags, named
):
    course = one_student_course
    config = course / "nbgrader_config.py"
    original = config.read_text()
    _configure(course, "c.Grading.student_cpu_seconds = 120.0", *lines)
    try:
        graded = run_course("grade", LAB, *flags, cwd=course)
    finally:
        config.write_text(original)
    assert graded.returncode == 2, graded.stdout + graded.stderr
    assert "cannot work together" in graded.stderr and named in graded.stderr, graded.stderr
    assert "Traceback" not in graded.stderr
    assert not (course / "autograded").exists()


SANDBOXED_KERNEL = """
import asyncio, sys
from pathlib import Path
from course.nbgrader_setup import load_config
from course.sandbox.kernel import SandboxedKernelManager
from course.sandbox.mounts import use_private_mounts

CODE = ("import os, resource; s = os.statvfs('/course-scratch'); "
        "print(resource.getrlimit(resource.RLIMIT_AS)[0], "
        "resource.getrlimit(resource.RLIMIT_NOFILE)[0], s.f_blocks * s.f_frsize, s.f_files)")

async def main():
    manager = SandboxedKernelManager(kernel_name="python3", config=load_config(Path(sys.argv[1])))
    await manager.start_kernel(cwd=sys.argv[1])
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        request = client.execute(CODE)
        while True:
            message = await client.get_iopub_msg(timeout=30)
            if message["parent_header"].get("msg_id") != request:
                continue
            if message["msg_type"] == "stream":
                print(message["content"]["text"].strip())
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)

use_private_mounts()
asyncio.run(main())
"""


def test_a_sandboxed_kernel_gets_the_configured_limits(tmp_path):
    course = make_scratch_course(tmp_path / "course")
    _configure(
        course,
        f"c.SandboxLimits.memory_bytes = {3 * 1024**3}",
        "c.SandboxLimits.open_files = 200",
        f"c.SandboxLimits.scratch_bytes = {96 * 1024**2}",
        "c.SandboxLimits.scratch_files = 3000",
    )
    ran = subprocess.run(
        [sys.executable, "-c", SANDBOXED_KERNEL, str(course)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=tool_env(),
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    memory, files, scratch, inodes = map(int, ran.stdout.split()[-4:])
    assert (memory, files, scratch, inodes) == (3 * 1024**3, 200, 96 * 1024**2, 3000)


def test_the_configured_judge_budgets_reach_the_judge_in_the_grading_processes(tmp_path):
    """Budgets too small for the instructor's own solution (its re-check uses about half a
    CPU second; budgets are read a few times a second): the canary, graded by the workers
    with the course's configuration, stops the run."""
    course = make_scratch_course(tmp_path / "course")
    write_cohort(
        course, LAB, course / "submitted", tuple(s for s in DEMO_COHORT if s.student == "correct")
    )
    _configure(course, *(f"c.JudgeBudgets.{name} = 0.05" for name in BUDGET_NAMES))
    graded = run_course("grade", LAB, "--workers", "1", cwd=course)
    assert graded.returncode == 2, graded.stdout + graded.stderr
    assert "Not graded" in graded.stderr or "solution" in graded.stderr, graded.stderr
    assert not (course / "autograded" / "correct").exists()


def test_the_configured_student_limit_stops_a_loop(tmp_path):
    """c.Grading.student_cpu_seconds, with no --student-timeout: a student whose code never
    ends is stopped at that limit, and the reason says so; an honest one is graded."""
    course = make_scratch_course(tmp_path / "course")
    students = ("correct", "loops_forever")
    write_cohort(
        course, LAB, course / "submitted", tuple(s for s in DEMO_COHORT if s.student in students)
    )
    _configure(
        course,
        "c.Grading.student_cpu_seconds = 16.0",
        "c.JudgeBudgets.cases_cpu_seconds = 16.0",
        "c.JudgeBudgets.training_cpu_seconds = 16.0",
        "c.JudgeBudgets.lines_cpu_seconds = 16.0",
    )
    graded = run_course("grade", LAB, "--workers", "2", "--quiet", cwd=course)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    outcomes = recorded_outcomes(course)
    assert outcomes["correct"]["status"] == "graded"
    assert outcomes["loops_forever"]["status"] == "timeout"
    assert "more than its limit of 16 " in outcomes["loops_forever"]["reason"]


def test_debug_shows_the_traceback_of_an_error(one_student_course):
    """The same refusal with --debug: the message, and the traceback behind it."""
    graded = run_course("grade", LAB, "--debug", "--student-timeout", "10", cwd=one_student_course)
    assert graded.returncode == 2
    assert "Traceback (most recent call last)" in graded.stderr
    assert "SettingsError" in graded.stderr and "cannot work together" in graded.stderr


def test_a_pipeline_without_the_judge_is_refused_before_grading(one_student_course):
    """Grading with the sandbox but no judge in c.Autograde.autograde_preprocessors would let
    the kernel's own test results count: refused, saying what to put back."""
    course = one_student_course
    config = course / "nbgrader_config.py"
    original = config.read_text()
    _configure(
        course,
        "c.Autograde.autograde_preprocessors = [step for step in "
        "c.Autograde.autograde_preprocessors if step.__name__ != "
        "'JudgeGradeCells']",
    )
    try:
        graded = run_course("grade", LAB, cwd=course)
    finally:
        config.write_text(original)
    assert graded.returncode == 2, graded.stdout + graded.stderr
    assert "JudgeGradeCells before SaveAutoGrades" in graded.stderr
    assert not (course / "autograded").exists()
