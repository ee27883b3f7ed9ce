"""course.grading.remote's grading process, driven through its pipes. The grading programs here are
small stand-in scripts (the real one, course.grading.worker, is exercised by the cohort tests), so
each way a grading process can behave is shown in a second: finishing, dying before it
starts, running past the time limit with children of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from course.grading.remote import GradingProcess

KIT = {"nbgrader_config.py": b"c = get_config()  # noqa: F821\n"}
FINISHES = """
import base64, json, sys
for line in sys.stdin:
    request = json.loads(line)
    student = request["student"]
    print(json.dumps({"event": "start", "student": student}), flush=True)
    files = {k: base64.b64decode(v).decode() for k, v in request["files"].items()}
    outcome = {"student": student, "status": "graded", "reason": files["note.txt"]}
    print(json.dumps({"event": "done", "outcome": outcome}), flush=True)
"""
DIES_AT_START = "import sys; sys.exit(3)"
HANGS_WITH_A_CHILD = """
import json, subprocess, sys, time
request = json.loads(sys.stdin.readline())
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(PID_FILE, "w").write(str(child.pid))
print(json.dumps({"event": "start", "student": request["student"]}), flush=True)
time.sleep(600)
"""


def process_running(script: str) -> GradingProcess:
    return GradingProcess(
        KIT,
        "lab1",
        sandbox=False,
        command=lambda root, lab, sandbox: [sys.executable, "-c", script],
    )


def test_every_name_and_file_reaches_the_grading_process_intact():
    process = process_running(FINISHES)
    try:
        for name in ["plain", " spaced ", "two\nlines", "accentué", "x" * 200]:
            done = process.grade(name, {"note.txt": f"for {name}".encode()}, 30.0)
            assert done["outcome"] == {"student": name, "status": "graded", "reason": f"for {name}"}
        assert process.alive()  # one process for every student: imports paid for once
    finally:
        process.kill()


def test_a_grading_process_that_dies_before_starting_is_reported_as_such():
    process = process_running(DIES_AT_START)
    assert process.grade("a", {}, 30.0) == {"lost": "never started", "status": 3, "log": ""}
    assert not process.alive() and not process.folder.exists()  # its scratch course is gone


def test_past_the_time_limit_the_grading_process_and_its_children_are_killed(tmp_path):
    """A grading process that waits forever: stopped by the wall-clock backstop (five times
    the CPU limit, course.grading.cputime), with the child it started."""
    pid_file = tmp_path / "child.pid"
    process = process_running(f"PID_FILE = {str(pid_file)!r}\n" + HANGS_WITH_A_CHILD)
    start = time.monotonic()
    result = process.grade("slow", {}, 0.4)
    assert result["lost"] == "timeout" and result["limit"] == "wall"
    assert 2.0 <= time.monotonic() - start < 10.0
    assert not process.alive()
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):  # killed with its grading process's group
        os.kill(child, 0)


def test_the_grading_process_refuses_a_course_it_did_not_make(tmp_path):
    """course.grading.worker removes each student's folders and, at the end, its whole course:
    pointed at a real course, it must leave it as it is."""
    course = tmp_path / "course"
    (course / "submitted" / "alice" / "lab1").mkdir(parents=True)
    (course / "submitted" / "alice" / "lab1" / "classification.ipynb").write_text("{}")
    ran = subprocess.run(
        [sys.executable, "-m", "course.grading.worker", str(course), "lab1"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert ran.returncode == 2
    assert "grades only in a scratch course" in ran.stderr
    assert (course / "submitted" / "alice" / "lab1" / "classification.ipynb").read_text() == "{}"


LOGS = """
import json, sys
for line in sys.stdin:
    student = json.loads(line)["student"]
    print(f"before {student}", file=sys.stderr, flush=True)
    print(json.dumps({"event": "start", "student": student}), flush=True)
    sys.stderr.write("x" * 300_000 if student == "flood" else "")
    print(f"traceback of {student}", file=sys.stderr, flush=True)
    print(json.dumps({"event": "done", "outcome": {"student": student, "status": "failed"}}),
          flush=True)
"""


def test_what_a_grading_process_writes_to_stderr_comes_back_with_its_student():
    """Each result carries what the grading process wrote while grading that student (its
    first 16 KB and last 48 KB), and nothing of the student before."""
    process = process_running(LOGS)
    try:
        first = process.grade("a", {}, 30.0)
        assert "before a" in first["log"] and "traceback of a" in first["log"]
        flood = process.grade("flood", {}, 30.0)
        assert "traceback of a" not in flood["log"]
        assert flood["log"].startswith("before flood\n")  # its first 16 KB
        assert flood["log"].endswith("traceback of flood\n")  # and its last 48 KB
        assert "bytes left out" in flood["log"]
        assert 60_000 < len(flood["log"]) <= 64 * 1024 + 100
        last = process.grade("b", {}, 30.0)
        assert last["log"] == "before b\ntraceback of b\n"
    finally:
        process.kill()
