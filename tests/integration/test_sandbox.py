"""The sandbox on its own: what student code can and cannot see or do."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course.sandbox import cgroups
from course.sandbox.command import WORKDIR, sandbox_command
from course.sandbox.limits import DEFAULT_LIMITS, Limits
from course.sandbox.probe import check_sandbox
from course.sandbox.uids import SANDBOX_UIDS, UID_LOCKS
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import tool_env
from tests.support.gradebook import recorded_outcomes
from tests.support.paths import LAB, ROOT, SCRIPTS
from tests.support.probe import LoopbackProbe
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course

LISTENER_PORT = 47322  # a listener on the grader's loopback, for the probe to try

PROBE = """
import json, os, socket, sys
report = {"uid": os.getuid(), "cwd": os.getcwd(), "given": open("given.txt").read()}
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


def run_sandboxed(code: str, inputs: Path | None, *args: str, limits: Limits = DEFAULT_LIMITS):
    cgroup = cgroups.StudentCgroup(limits)
    command = cgroup.wrap(
        sandbox_command(
            [sys.executable, "-c", code, *args], inputs=inputs, limits=limits, uid=61234
        )
    )
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        cgroup.close()


# Everything a student could try for a withheld module's real code: import it, then load its
# compiled copy (whatever Python version compiled it) without its source.
WITHHELD_PROBE = """
import glob, importlib.machinery, json, os
import helpers.backprop_spec as spec
report = {}
try:
    spec.true_gradients()
    report["imported"] = "ran"
except RuntimeError as error:
    report["imported"] = "withheld" if "not available" in str(error) else repr(error)
folder = os.path.dirname(spec.__file__)
compiled = glob.glob(os.path.join(folder, "**", "backprop_spec*.pyc"), recursive=True)
report["compiled"] = compiled
for path in compiled:
    loaded = importlib.machinery.SourcelessFileLoader("stolen", path).load_module()
    report["loaded"] = hasattr(loaded, "STEPS")
print(json.dumps(report))
"""


def test_a_withheld_module_is_out_of_reach_compiled_or_not():
    import py_compile
    from importlib.util import cache_from_source

    import helpers.backprop_spec

    source = helpers.backprop_spec.__file__
    py_compile.compile(source, cfile=cache_from_source(source), doraise=True)  # as pip does
    assert Path(cache_from_source(source)).exists()
    check_sandbox()
    command = sandbox_command(
        [sys.executable, "-c", WITHHELD_PROBE], withheld=("backprop_spec.py",), uid=61234
    )
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    assert report == {"imported": "withheld", "compiled": []}


# Run by a grader whose environment holds a stale installed copy of helpers: runs its argv
# sandboxed, passing on the output and exit status.
STRAY_GRADER = """
import subprocess, sys
from course.sandbox.command import sandbox_command
command = sandbox_command(sys.argv[1:], withheld=("backprop_spec.py",), uid=61234)
sys.exit(subprocess.run(command).returncode)
"""
STRAY_PROBE = "import os, sys; print(os.path.exists(sys.argv[1]))"


def test_a_stale_installed_copy_of_helpers_is_out_of_reach(tmp_path):
    """A grading environment that still holds a copy of helpers from an earlier
    ``pip install .`` (its site-packages is bound whole) shows the student none of it."""
    check_sandbox()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python3*/site-packages")
    (real_site,) = Path(sys.prefix).glob("lib/python3*/site-packages")
    (site / "course-dependencies.pth").write_text(f"{real_site}\n")
    stray = site / "helpers"
    stray.mkdir()
    for name in ("__init__.py", "backprop_spec.py"):
        (stray / name).write_text((ROOT / "helpers" / name).read_text())
    probe = [str(venv / "bin" / "python"), "-c", STRAY_PROBE, str(stray / "backprop_spec.py")]
    ran = subprocess.run(
        [str(venv / "bin" / "python"), "-c", STRAY_GRADER, *probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**tool_env(), "PYTHONPATH": str(ROOT)},
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "False"


def test_student_code_sees_only_its_working_copy(tmp_path):
    check_sandbox()
    listener = LoopbackProbe(LISTENER_PORT)
    try:
        (tmp_path / "given.txt").write_text("the student's file")
        result = run_sandboxed(
            PROBE, tmp_path, str(ROOT), str(LISTENER_PORT), limits=Limits(file_bytes=1024**2)
        )
        unsandboxed = subprocess.run(  # the control: outside, the listener is reachable
            [
                sys.executable,
                "-c",
                "import socket, sys\nsocket.create_connection(('127.0.0.1', "
                "int(sys.argv[1])), timeout=1).sendall(b'in')",
                str(LISTENER_PORT),
            ],
            timeout=60,
        )
        deadline = time.monotonic() + 10
        while b"in" not in listener.connections and time.monotonic() < deadline:
            time.sleep(0.05)  # until the listener has taken the control's connection
    finally:
        listener.close()
    assert unsandboxed.returncode == 0 and b"in" in listener.connections
    assert b"out" not in listener.connections
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["uid"] == 61234 and report["cwd"] == str(WORKDIR)
    assert report["given"] == "the student's file"  # a copy of its inputs to work in
    # of the course folder, only the environment and the two packages student code imports
    assert set(report["course_visible"]) <= {".venv", "helpers", "judge_runtime"}
    assert "source" not in report["course_visible"]
    assert report["network"] is False
    assert report["big_file"] is False
    # what it wrote stayed in its scratch: the grader's folders never see it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["given.txt"]


SCRATCH_FLOOD = """
import os
count = 0
try:
    while True:
        open(f"f{count}", "w").close()
        count += 1
except OSError:
    pass
written = 0
try:
    with open("/tmp/fill.bin", "wb") as handle:
        while True:
            handle.write(b"0" * 1024**2)
            handle.flush()
            written += 1
except OSError:
    pass
print(count, written)
"""


def test_the_scratch_is_bounded_in_files_and_bytes_while_it_is_written():
    result = run_sandboxed(
        SCRATCH_FLOOD, None, limits=Limits(scratch_files=200, scratch_bytes=8 * 1024**2)
    )
    assert result.returncode == 0, result.stderr
    files, megabytes = map(int, result.stdout.split())
    assert 150 <= files < 200
    assert megabytes <= 8


CGROUPS_SEEN = """
print(open("/proc/self/cgroup").read())
"""


def test_each_sandbox_runs_in_control_groups_of_its_own():
    if not cgroups.available():
        pytest.skip("no writable cgroup v1 hierarchy: the documented rlimits-only fallback")
    result = run_sandboxed(CGROUPS_SEEN, None)
    assert result.returncode == 0, result.stderr
    groups = {line.split(":")[1]: line.split(":")[2] for line in result.stdout.splitlines() if line}
    for controller in cgroups.available():
        assert cgroups.PREFIX in groups[next(k for k in groups if controller in k.split(","))]


def test_a_group_that_cannot_take_its_limits_is_never_dropped_silently(tmp_path, monkeypatch):
    """A cpu hierarchy whose folder is capped below one core (as an administrator might cap a
    grading user's): no student group can take a one-core quota there. The workers' check
    reports cpu missing, and a student's groups are refused outright, never made without it."""
    cpu = Path("/sys/fs/cgroup/cpu")
    if not os.access(cpu, os.W_OK):
        pytest.skip("no writable cgroup v1 cpu hierarchy")
    capped = cpu / f"course-test-{os.getpid()}"
    capped.mkdir()
    try:
        (capped / "cpu.cfs_quota_us").write_text("50000")  # half a core
        fake = tmp_path / "cgroup"
        fake.mkdir()
        (fake / "cpu").symlink_to(capped)
        for controller in ("memory", "pids"):
            (fake / controller).symlink_to(Path("/sys/fs/cgroup") / controller)
        monkeypatch.setattr(cgroups, "CGROUP_ROOT", fake)
        monkeypatch.setattr(cgroups, "_own_path", lambda controller: "/")
        assert cgroups.available() == ["memory", "pids"]
        with pytest.raises(cgroups.CgroupUnavailable, match=r"cpu\.cfs_quota_us"):
            cgroups.StudentCgroup()
        assert not [g for g in capped.iterdir() if g.name.startswith(cgroups.PREFIX)]
    finally:
        capped.rmdir()


def test_grading_without_bubblewrap_stops_and_says_how_to_install_it(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "course", "grade", "lab1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=tool_env(path=str(SCRIPTS)),
    )  # no /usr/bin: no bwrap
    assert result.returncode == 2
    assert "apt-get install bubblewrap" in result.stderr
    assert "--no-sandbox" in result.stderr


def test_a_trusted_run_can_opt_out(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "course", "grade", "lab1", "--no-sandbox"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=tool_env(path=str(SCRIPTS)),
    )  # no bwrap, none asked for
    assert "bubblewrap" not in result.stderr
    assert "no lab called 'lab1'" in result.stderr  # got past the sandbox check


TAKES_A_UID = (
    "import sys\nfrom course.sandbox.uids import sandbox_user\nsys.stdin.readline()\n"
    "uid = sandbox_user()\nassert sandbox_user() == uid\nprint(uid, flush=True)\n"
    "sys.stdin.read()\n"
)


def test_grading_processes_alive_together_never_share_a_sandbox_uid():
    """Whatever their pids, live grading processes hold different uids (each process's limit
    is its own): a uid another process holds is skipped, even the one a pid points to first;
    an ended process's uid is free again."""
    child = subprocess.Popen(
        [sys.executable, "-c", TAKES_A_UID],
        cwd=ROOT,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    first_choice = SANDBOX_UIDS[child.pid % len(SANDBOX_UIDS)]
    UID_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    held = os.open(UID_LOCKS / str(first_choice), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a grading process holds it
        child.stdin.write("go\n")
        child.stdin.flush()
        uid = int(child.stdout.readline())
        assert uid != first_choice and uid in SANDBOX_UIDS
        second = subprocess.Popen(
            [sys.executable, "-c", TAKES_A_UID],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        out, _ = second.communicate("go\n")
        assert int(out) not in (uid, first_choice)
    finally:
        child.communicate("")
        os.close(held)


def test_grading_without_per_student_control_groups_stops_unless_told(tmp_path):
    """Where no control group can bound a student's process tree as a whole (here: the
    hierarchy looked for where none is mounted), grading stops before anyone is graded and says
    why and what to do; with --unbounded it grades under the per-process rlimits."""
    course = make_scratch_course(tmp_path / "course")
    write_cohort(
        course, LAB, course / "submitted", [s for s in DEMO_COHORT if s.student == "correct"]
    )
    env = {**tool_env(), "COURSE_CGROUP_ROOT": str(tmp_path / "no-cgroups")}
    args = [
        sys.executable,
        "-m",
        "course",
        "grade",
        LAB,
        "--student-timeout",
        STUDENT_TIMEOUT,
        "--quiet",
    ]
    refused = subprocess.run(args, cwd=course, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no cpu, memory, pids" in refused.stderr and "--unbounded" in refused.stderr
    assert not (course / "autograded").exists()
    graded = subprocess.run(
        [*args, "--unbounded"], cwd=course, capture_output=True, text=True, env=env, timeout=600
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert recorded_outcomes(course)["correct"]["status"] == "graded"
