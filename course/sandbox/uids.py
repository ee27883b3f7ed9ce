"""The unprivileged uids sandboxes run as: one per live grading process on this machine."""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from course.sandbox.errors import SandboxUnavailable
from course.sandbox.user_namespace import outer_uid

SANDBOX_UIDS = range(60000, 65000)
UID_LOCKS = Path("/run/course-sandbox-uids")  # one lock file per uid in use (graded as root)


_held_uid: tuple[int, int] | None = None  # (pid, uid): this process's, with its lock kept open


def uid_lock_folder() -> Path:
    """Where the grading processes of this machine's grading user hold their uid locks: UID_LOCKS
    for root; for another user (whose sandbox uids are its own subordinate ids, see
    course.sandbox.user_namespace), ``/run/course-sandbox-uids-<uid>``, which only root can make
    (``scripts/setup-grader-user.sh`` does), so no other user can take its place. Raises
    SandboxUnavailable, saying what to do, unless it is a private folder of this user."""
    user = outer_uid()
    if user == 0:
        UID_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
        return UID_LOCKS
    folder = Path(f"{UID_LOCKS}-{user}")
    try:
        info = folder.lstat()
    except FileNotFoundError:
        raise SandboxUnavailable(
            f"{folder} is missing: as root, run `scripts/setup-grader-user.sh` for this user "
            "(once per boot: /run does not survive one)"
        ) from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SandboxUnavailable(
            f"{folder} is not a private folder of this user (owner uid {info.st_uid}, mode "
            f"{stat.filemode(info.st_mode)}): as root, remove it and run "
            "`scripts/setup-grader-user.sh` for this user"
        )
    return folder


def sandbox_user() -> int:
    """An unprivileged uid for this grading process's sandboxes, used by no other live grading
    process on this machine (each holds a lock on its uid's file under UID_LOCKS while it
    lives; the kernel drops the lock when it ends), so one student's fork bomb exhausts only
    its own process limit, not a neighbour's. RuntimeError when every uid is taken."""
    global _held_uid
    if _held_uid is not None and _held_uid[0] == os.getpid():
        return _held_uid[1]
    locks = uid_lock_folder()
    start = os.getpid() % len(SANDBOX_UIDS)  # spread the search: fewer files tried
    for offset in range(len(SANDBOX_UIDS)):
        uid = SANDBOX_UIDS[(start + offset) % len(SANDBOX_UIDS)]
        descriptor = os.open(locks / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        _held_uid = (os.getpid(), uid)  # the descriptor stays open: the lock lives with us
        return uid
    raise SandboxUnavailable(
        f"all {len(SANDBOX_UIDS)} sandbox uids are in use by grading processes"
    )
