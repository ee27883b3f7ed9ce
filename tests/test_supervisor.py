"""course.grade's supervisor, driving real processes through its pipes. The workers here are
small stand-in scripts (the real worker is exercised by the cohort tests), so each way a
worker can behave is shown in a second: finishing, dying before it starts, hanging."""

import subprocess
import sys

from course import grade

FINISHES = """
import json, sys
for line in sys.stdin:
    student = json.loads(line)
    print(json.dumps({"event": "start", "student": student}), flush=True)
    outcome = {"student": student, "status": "graded", "reason": "", "seconds": 0.0}
    print(json.dumps({"event": "done", "outcome": outcome}), flush=True)
"""
DIES_AT_START = "import sys; sys.exit(3)"
HANGS_AFTER_START = """
import json, sys, time
student = json.loads(sys.stdin.readline())
print(json.dumps({"event": "start", "student": student}), flush=True)
time.sleep(600)
"""


def run_with(monkeypatch, tmp_path, script, students, timeout=60.0):
    spawned = []

    def spawn(root, lab, sandbox, env):
        process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, bufsize=0, start_new_session=True)
        spawned.append(process)
        return grade._Worker(process)

    monkeypatch.setattr(grade, "_spawn", spawn)
    outcomes = grade.run_workers(tmp_path, "lab1", students, 2, timeout, progress=False,
                                 sandbox=False)
    assert len(outcomes) == len(students)  # each student reported exactly once
    return {o.student: o for o in outcomes}, spawned


def test_every_name_reaches_a_worker_intact_and_is_graded_once(monkeypatch, tmp_path):
    names = ["plain", " spaced ", "two\nlines", "accentué", "x" * 200]
    outcomes, spawned = run_with(monkeypatch, tmp_path, FINISHES, names)
    assert sorted(outcomes) == sorted(names)
    assert all(o.status == "graded" for o in outcomes.values())
    assert len(spawned) == 2


def test_a_student_lost_before_any_start_is_retried_once_then_reported(monkeypatch, tmp_path):
    students = ["a", "b", "c"]
    outcomes, spawned = run_with(monkeypatch, tmp_path, DIES_AT_START, students)
    assert sorted(outcomes) == students
    for outcome in outcomes.values():
        assert outcome.status == "failed"
        assert "died (exit status 3) before starting on it, twice" in outcome.reason
    assert len(spawned) == 2 * len(students)


def test_a_student_past_the_time_limit_is_stopped(monkeypatch, tmp_path):
    outcomes, spawned = run_with(monkeypatch, tmp_path, HANGS_AFTER_START, ["slow"], timeout=1.0)
    assert outcomes["slow"].status == "timeout"
    assert all(process.poll() is not None for process in spawned)  # killed, not left behind
    assert "longer than 1 s" in outcomes["slow"].reason
