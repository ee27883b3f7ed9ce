"""Rootless grading: a grading process that is not root becomes root of a user namespace of
its own, so it can build sandboxes exactly as a root one does, with no power outside it.

Inside, uid 0 is the grading user and uids 1..N are its subordinate ids (``/etc/subuid`` and
``/etc/subgid``, mapped by shadow's setuid helpers ``newuidmap``/``newgidmap``): the sandboxes'
per-student uids are among them, so each student's processes still run as a uid of their own
that the machine knows as one of the grading user's subordinate ids, never as a real user.
``scripts/setup-grader-user.sh`` prepares a machine (the user, its ids, its control groups).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import subprocess
from pathlib import Path

SUBORDINATE_IDS = {
    "uid": (Path("/etc/subuid"), "newuidmap"),
    "gid": (Path("/etc/subgid"), "newgidmap"),
}
SETUP_HINT = (
    "As root, run `scripts/setup-grader-user.sh {user}` (it installs nothing: "
    "`apt-get install uidmap bubblewrap` first), or grade as root."
)
# What each uid inside the namespace may hold at once. The kernel charges every namespace and
# inotify instance a student makes to the namespace's owner too, the grading user, whose
# allowance is the whole machine's (user.max_*): without a bound of its own here, one
# student's namespaces or inotify instances would leave none for classmates' sandboxes.
PER_UID_LIMITS = {
    **{
        f"max_{kind}_namespaces": 64
        for kind in ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time")
    },
    "max_inotify_instances": 16,
    "max_inotify_watches": 8192,
}
USER_SYSCTLS = Path("/proc/sys/user")
_CLONE_NEWUSER, _CLONE_NEWNS = 0x10000000, 0x00020000


class UserNamespaceUnavailable(RuntimeError):
    """This user cannot make a user namespace with the subordinate ids sandboxes need."""


def outer_uid() -> int:
    """This process's effective uid as the machine sees it (outside any user namespace)."""
    inside = os.geteuid()
    for row in Path("/proc/self/uid_map").read_text().splitlines():
        first, outside, count = map(int, row.split())
        if first <= inside < first + count:
            return outside + inside - first
    return inside


def subordinate_range(kind: str, user: str, own_id: int) -> tuple[int, int] | None:
    """The first subordinate ``kind`` (``"uid"`` or ``"gid"``) range given to ``user`` (by name
    or by ``own_id``): ``(start, count)``, or None."""
    path = SUBORDINATE_IDS[kind][0]
    try:
        rows = path.read_text().splitlines()
    except OSError:
        return None
    for row in rows:
        fields = row.strip().split(":")
        if (
            len(fields) == 3
            and fields[0] in (user, str(own_id))
            and fields[1].isdigit()
            and fields[2].isdigit()
        ):
            return int(fields[1]), int(fields[2])
    return None


def enter(ids_needed: int) -> None:
    """Make this process (single-threaded: call it before any thread starts) root of a new user
    namespace with a mount namespace of its own, in which uids and gids 0..``ids_needed``-1
    exist (0 is this user; the others its subordinate ids). Raises UserNamespaceUnavailable,
    saying what to do, when this user has too few subordinate ids or the helpers fail."""
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    ranges = {}
    for kind, own in (("uid", uid), ("gid", gid)):
        found = subordinate_range(kind, user, uid)
        if found is None:
            raise UserNamespaceUnavailable(
                f"grading as {user} (not root) needs {ids_needed - 1} subordinate {kind}s in "
                f"{SUBORDINATE_IDS[kind][0]} (none given). {SETUP_HINT.format(user=user)}"
            )
        if found[1] < ids_needed - 1:
            raise UserNamespaceUnavailable(
                f"grading as {user} (not root) needs {ids_needed - 1} subordinate {kind}s; "
                f"{SUBORDINATE_IDS[kind][0]} gives it only {found[1]}: as root, change its "
                f"line there to {user}:{found[0]}:65536 (if that range is free), or remove the "
                "line and run `scripts/setup-grader-user.sh`."
            )
        ranges[kind] = (own, found[0])
    ready_read, ready_write = os.pipe()
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:  # maps the parent's namespace once it exists: the helpers need a pid
        status = 1
        try:
            os.close(ready_write)
            os.close(report_read)
            os.read(ready_read, 1)
            problems = []
            for kind, (own, start) in ranges.items():
                tool = SUBORDINATE_IDS[kind][1]
                try:
                    result = subprocess.run(
                        [
                            tool,
                            str(os.getppid()),
                            "0",
                            str(own),
                            "1",
                            "1",
                            str(start),
                            str(ids_needed - 1),
                        ],
                        capture_output=True,
                        text=True,
                    )
                except OSError as error:  # missing, or not executable
                    problems.append(f"{tool}: {error}")
                    continue
                if result.returncode != 0:
                    problems.append(f"{tool}: {(result.stderr or 'failed').strip()[:200]}")
            os.write(report_write, "; ".join(problems).encode())
            status = 1 if problems else 0
        finally:
            os._exit(status)
    os.close(ready_read)
    os.close(report_write)
    libc = ctypes.CDLL(None, use_errno=True)
    unshared = libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) == 0
    errno = ctypes.get_errno()
    os.write(ready_write, b"x")  # the child maps (or, if unshare failed, fails) and ends
    os.close(ready_write)
    _, status = os.waitpid(child, 0)
    report = os.read(report_read, 4096).decode(errors="replace")
    os.close(report_read)
    if not unshared:
        raise UserNamespaceUnavailable(
            f"cannot make a user namespace ({os.strerror(errno)}): the kernel must allow "
            "unprivileged user namespaces (sysctl user.max_user_namespaces > 0). "
            + SETUP_HINT.format(user=user)
        )
    if status != 0:
        raise UserNamespaceUnavailable(
            f"cannot map {user}'s subordinate ids ({report or 'the helper failed'}). "
            + SETUP_HINT.format(user=user)
        )
    limit_each_uid()


def limit_each_uid(limits: dict[str, int] = PER_UID_LIMITS) -> None:
    """Bound what each uid of this (new) user namespace may hold at once (PER_UID_LIMITS:
    namespaces, inotify instances), as root of the namespace may. Raises
    UserNamespaceUnavailable when a bound cannot be set: grading without it would let one
    student starve the others."""
    for name, value in limits.items():
        try:
            (USER_SYSCTLS / name).write_text(f"{value}\n")
        except OSError as error:
            raise UserNamespaceUnavailable(
                f"cannot bound {name} in the grading user namespace ({error})"
            ) from None
