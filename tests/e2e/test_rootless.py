"""Rootless grading: ``course grade`` run by an unprivileged user prepared by
``scripts/setup-grader-user.sh`` (``make setup`` prepares ``course-grader``) grades exactly as
root does, each student's code still in a sandbox, as a uid of its own, in control groups of
its own; a user that was not prepared is told what to do."""

from __future__ import annotations

import ast
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cputime import judge_messages

from course.case_keys import secret_path
from course.sandbox.uids import SANDBOX_UIDS
from course.sandbox.user_namespace import PER_UID_LIMITS
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.gradebook import recorded_outcomes, scores
from tests.support.hostile import CATALOGUE, write_catalogue
from tests.support.paths import LAB, ROOT, SOURCE_NOTEBOOK
from tests.support.scratch import GRADE, make_scratch_course

GRADER_USER = "course-grader"
ROOTLESS_LAB1 = ("correct", "wrong_dbeta", "fair_scratch_reuse")
# bounded only by the sandbox's limits and groups: the outcomes a uid or a group could change
ROOTLESS_HOSTILE = (
    "h_memory_bomb",
    "h_tmp_flood",
    "h_link_outside",
    "h_socket",
    "h_malformed_answer",
)
FORK_BOMB = "h_fork_bomb"  # stopped by one limit or another: its status may vary

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches to another user: root only")


def _view_script(cwd: Path, *more: Path) -> str:
    """Shell lines that, in a private mount namespace, let any user reach this interpreter, its
    environment, the course code, ``cwd`` and ``more``: each folder on their paths that others
    cannot traverse (a pyenv under /root, pytest's temporary folders) is covered by a
    traversable tmpfs holding only the way on."""
    lines = ["set -e"]
    exposed: dict[Path, set[str]] = {}
    for needed in (Path(sys.base_prefix).resolve(), Path(sys.prefix), ROOT, cwd, *more):
        for folder in needed.parents:
            if not os.stat(folder).st_mode & 0o001:
                exposed.setdefault(folder, set()).add(needed.relative_to(folder).parts[0])
    for number, (folder, children) in enumerate(
        sorted(exposed.items(), key=lambda item: len(item[0].parts))
    ):
        hold = f"/run/course-view-{os.getpid()}-{number}"
        lines += [
            f"mkdir -p {hold}",
            f"mount --bind {shlex.quote(str(folder))} {hold}",
            f"mount -t tmpfs -o mode=0755,size=1m course-view {shlex.quote(str(folder))}",
        ]
        for child in sorted(children):
            inside = shlex.quote(str(folder / child))
            lines += [f"mkdir -p {inside}", f"mount --bind {hold}/{shlex.quote(child)} {inside}"]
    return "\n".join(lines) + '\nexec "$@"\n'


def as_user(
    user: str,
    argv: list[str],
    cwd: Path,
    timeout: float = 900,
    before: str = "",
    secrets: Path | None = None,
):
    """Run ``argv`` as ``user`` in ``cwd`` with this Python environment (reachable whatever
    the folders above it allow) and the course code on PYTHONPATH; ``before``: shell lines
    run first as root, in the same private mount namespace; ``secrets``: the folder of the
    course secret (course.case_keys), made reachable too."""
    home = pwd.getpwnam(user).pw_dir
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": home,
        "LANG": "C.UTF-8",
        **({"COURSE_SECRET_DIR": str(secrets)} if secrets else {}),
    }
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        before + "\n" + _view_script(cwd, *([secrets] if secrets else [])),
        "course-view",
        "runuser",
        "-u",
        user,
        "--",
        "env",
        "-i",
        *(f"{name}={value}" for name, value in env.items()),
        *argv,
    ]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _give_to(user: str, folder: Path) -> None:
    record = pwd.getpwnam(user)
    for path in (folder, *folder.rglob("*")):
        os.lchown(path, record.pw_uid, record.pw_gid)


@pytest.fixture(scope="module")
def grader_user():
    """The unprivileged grading user, as ``make setup`` prepared it."""
    try:
        pwd.getpwnam(GRADER_USER)
    except KeyError:
        pytest.fail(
            f"no user {GRADER_USER}: run `scripts/setup-grader-user.sh` as root (make setup does)"
        )
    return GRADER_USER


def test_an_unprivileged_user_grades_as_root_does(graded_course, grader_user, tmp_path):
    """Honest, wrong and hostile work graded by ``course-grader`` gets the statuses, reasons,
    scores and judge's messages of the run as root (``graded_course``, the same
    submissions); a fork bomb is stopped; what grading wrote belongs to that user."""
    assert not {e.student for e in CATALOGUE if len(e.statuses) > 1} & set(ROOTLESS_HOSTILE)
    course = make_scratch_course(tmp_path / "course")
    cohort = tuple(s for s in DEMO_COHORT if s.student in ROOTLESS_LAB1)
    assert len(cohort) == len(ROOTLESS_LAB1)
    write_cohort(course, LAB, course / "submitted", cohort)
    write_catalogue(
        SOURCE_NOTEBOOK,
        course / "release" / LAB / SOURCE_NOTEBOOK.name,
        course / "submitted",
        LAB,
        only=(*ROOTLESS_HOSTILE, FORK_BOMB),
    )
    _give_to(grader_user, course)
    # the course's secret, so that each student is judged on the cases the root run judged
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    shutil.copy2(secret_path(graded_course.root), secrets / secret_path(course).name)
    _give_to(grader_user, secrets)
    graded = as_user(
        grader_user,
        [sys.executable, "-m", "course", *GRADE],
        cwd=course,
        secrets=secrets,
    )
    assert graded.returncode in (0, 1), graded.stdout + graded.stderr
    rootless, as_root = recorded_outcomes(course), recorded_outcomes(graded_course.root)
    for student in ROOTLESS_LAB1 + ROOTLESS_HOSTILE:
        assert (rootless[student]["status"], rootless[student]["reason"]) == (
            as_root[student]["status"],
            as_root[student]["reason"],
        ), student
        assert scores(course, student) == scores(graded_course.root, student), student
        assert judge_messages(course, student) == judge_messages(graded_course.root, student)
    (fork_bomb,) = (e for e in CATALOGUE if e.student == FORK_BOMB)
    assert rootless[FORK_BOMB]["status"] in fork_bomb.statuses
    owners = {path.stat().st_uid for path in (course / "autograded").rglob("*")}
    assert owners == {pwd.getpwnam(grader_user).pw_uid}


SANDBOX_REPORT = """import os, subprocess
from course.sandbox import cgroups
from course.sandbox.command import sandbox_command
from course.sandbox.mounts import use_private_mounts
from course.sandbox.user_namespace import outer_uid
use_private_mounts()
groups = cgroups.StudentCgroup()
inside = subprocess.run(groups.wrap(sandbox_command(
    ["sh", "-c", "id -u; cat /proc/self/uid_map; grep -c course-uid- /proc/self/cgroup"])),
    capture_output=True, text=True)
groups.close()
print(repr((outer_uid(), sorted(cgroups.available()), inside.stdout.split(), inside.returncode)))
"""


def test_the_sandbox_of_an_unprivileged_user_gives_each_student_a_subordinate_uid(
    grader_user, tmp_path
):
    """In a grading process of ``course-grader``, a sandboxed process runs as one of the
    sandbox uids, which the machine knows as a subordinate id of that user (never the grading
    user, never root), inside that user's delegated cpu, memory and pids groups."""
    ran = as_user(grader_user, [sys.executable, "-c", SANDBOX_REPORT], cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    grader_uid = pwd.getpwnam(grader_user).pw_uid
    outer, controllers, inside, status = ast.literal_eval(ran.stdout.strip().splitlines()[-1])
    assert (outer, controllers, status) == (grader_uid, ["cpu", "memory", "pids"], 0)
    uid, *uid_map, joined = inside
    start = {
        int(row[0]): (int(row[1]), int(row[2]))
        for row in zip(uid_map[0::3], uid_map[1::3], uid_map[2::3], strict=True)
    }
    assert int(uid) in SANDBOX_UIDS
    base, count = start[1]
    outside = base + int(uid) - 1
    assert outside not in (0, grader_uid) and int(uid) - 1 < count
    assert int(joined) == 3  # cpu, memory and pids: each under course-uid-<uid>


def test_a_user_without_subordinate_ids_is_told_what_to_do(tmp_path):
    """``course grade`` by a user that ``setup-grader-user.sh`` did not prepare stops before
    grading, naming the missing ids and the script to run."""
    course = make_scratch_course(tmp_path / "course")
    _give_to("nobody", course)
    graded = as_user(
        "nobody", [sys.executable, "-m", "course", "grade", LAB], cwd=course, timeout=300
    )
    assert graded.returncode != 0
    message = graded.stdout + graded.stderr
    assert "subordinate uids" in message and "setup-grader-user.sh nobody" in message, message
    assert "Traceback" not in message
    assert not (course / "autograded").exists()
    shutil.rmtree(course, ignore_errors=True)


# Run in a sandbox: keep as many UTS namespaces alive as the kernel lets this uid (each held by
# a bind mount of it, in a user and mount namespace of the student's own); print how many.
NAMESPACE_HOG = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWUTS, MS_BIND = 0x10000000, 0x00020000, 0x04000000, 4096
uid, gid = os.getuid(), os.getgid()
assert libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0
open("/proc/self/setgroups", "w").write("deny")
open("/proc/self/uid_map", "w").write(f"0 {uid} 1")
open("/proc/self/gid_map", "w").write(f"0 {gid} 1")
os.makedirs("hold")
assert libc.mount(b"none", b"hold", b"tmpfs", 0, None) == 0
kept = 0
while kept < 5000 and libc.unshare(CLONE_NEWUTS) == 0:
    open(f"hold/{kept}", "w").close()
    if libc.mount(b"/proc/self/ns/uts", f"hold/{kept}".encode(), None, MS_BIND, None) != 0:
        break
    kept += 1
print(kept)
"""
RUN_HOG = """import pathlib, subprocess, sys
from course.sandbox.command import sandbox_command
from course.sandbox.mounts import use_private_mounts
use_private_mounts()
ran = subprocess.run(sandbox_command([sys.executable, "hog.py"], inputs=pathlib.Path.cwd()),
                     capture_output=True, text=True)
print(ran.stdout.strip() or ran.stderr[-500:])
"""


def test_a_student_holds_no_more_namespaces_than_its_share(grader_user, tmp_path):
    """Every namespace a student makes is charged to the grading user too, whose allowance is
    the whole machine's: each sandbox uid gets a bound of its own (PER_UID_LIMITS), so one
    student cannot leave classmates' sandboxes none (without it: about 96,000)."""
    (tmp_path / "hog.py").write_text(NAMESPACE_HOG)
    _give_to(grader_user, tmp_path)
    ran = as_user(grader_user, [sys.executable, "-c", RUN_HOG], cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == str(PER_UID_LIMITS["max_uts_namespaces"])


def test_a_lock_folder_another_user_made_is_refused_naming_it(grader_user, tmp_path):
    """Rootless grading locks its sandbox uids in /run/course-sandbox-uids-<uid>, which only
    root can make: one made by someone else is refused, saying whose it is and what to run
    (here in a private /run, so the machine's stays as it is)."""
    uid = pwd.getpwnam(grader_user).pw_uid
    before = (
        "mount -t tmpfs -o mode=0755 course-run /run && "
        f"install -d -m 0700 -o nobody /run/course-sandbox-uids-{uid}"
    )
    ran = as_user(
        grader_user,
        [sys.executable, "-c", "from course.sandbox.probe import check_sandbox; check_sandbox()"],
        cwd=tmp_path,
        timeout=120,
        before=before,
    )
    assert ran.returncode != 0
    message = ran.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"course.sandbox.errors.SandboxUnavailable: /run/course-sandbox-uids-{uid}"
        " is not a private folder of this user"
    ), message
    assert "owner uid 65534" in message and "setup-grader-user.sh" in message
    assert "--no-sandbox" not in message  # the fix is the folder, not a sandbox-less run
