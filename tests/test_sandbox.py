"""The sandbox on its own: what student code can and cannot see or do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from course.sandbox import Limits, check_sandbox, sandbox_command
from tests.conftest import ROOT, SCRIPTS, LoopbackProbe, tool_env

LISTENER_PORT = 47322  # a listener on the grader's loopback, for the probe to try

PROBE = """
import json, os, socket, sys
report = {"uid": os.getuid(), "cwd": os.getcwd()}
report["course_visible"] = sorted(os.listdir(sys.argv[1])) if os.path.exists(sys.argv[1]) else []
open("written.txt", "w").write("mine")
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=1).sendall(b"out")
    report["network"] = True
except OSError:
    report["network"] = False
try:
    open("big.bin", "wb").write(b"0" * (2 * 1024**2))
    report["big_file"] = True
except OSError:
    report["big_file"] = False
import helpers.lab1, numpy
print(json.dumps(report))
"""


def run_sandboxed(code: str, workdir: Path, *args: str, limits: Limits):
    os.chown(workdir, 61234, 61234)
    command = sandbox_command([sys.executable, "-c", code, *args], workdir=workdir,
                              limits=limits, uid=61234)
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_student_code_sees_only_its_working_copy(tmp_path):
    check_sandbox()
    listener = LoopbackProbe(LISTENER_PORT)
    try:
        result = run_sandboxed(PROBE, tmp_path, str(ROOT), str(LISTENER_PORT),
                               limits=Limits(file_bytes=1024**2))
        unsandboxed = subprocess.run(  # the control: outside, the listener is reachable
            [sys.executable, "-c", "import socket, sys\nsocket.create_connection(('127.0.0.1', "
             "int(sys.argv[1])), timeout=1).sendall(b'in')", str(LISTENER_PORT)], timeout=60)
        deadline = time.monotonic() + 10
        while b"in" not in listener.connections and time.monotonic() < deadline:
            time.sleep(0.05)  # until the listener has taken the control's connection
    finally:
        listener.close()
    assert unsandboxed.returncode == 0 and b"in" in listener.connections
    assert b"out" not in listener.connections
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["uid"] == 61234 and report["cwd"] == str(tmp_path)
    # of the course folder, only the environment and the helpers package are there
    assert set(report["course_visible"]) <= {".venv", "helpers"}
    assert "source" not in report["course_visible"]
    assert report["network"] is False
    assert report["big_file"] is False
    assert (tmp_path / "written.txt").read_text() == "mine"


def test_grading_without_bubblewrap_stops_and_says_how_to_install_it(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    result = subprocess.run([sys.executable, "-m", "course", "grade", "lab1"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env=tool_env(path=str(SCRIPTS)))  # no /usr/bin: no bwrap
    assert result.returncode == 2
    assert "apt-get install bubblewrap" in result.stderr
    assert "--no-sandbox" in result.stderr


def test_a_trusted_run_can_opt_out(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    result = subprocess.run([sys.executable, "-m", "course", "grade", "lab1", "--no-sandbox"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=tool_env(path=str(SCRIPTS)))  # no bwrap, none asked for
    assert "bubblewrap" not in result.stderr
    assert "lab1 is not in the gradebook yet" in result.stderr  # got past the sandbox check
