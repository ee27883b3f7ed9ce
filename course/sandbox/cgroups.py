"""Per-student control groups: a CPU share, a memory ceiling and a process count, enforced by
the kernel while a submission runs.

rlimits are per process (a tree of 64 processes may each use the full address space) and say
nothing about CPU share, so each sandboxed process tree is started inside control groups of its
own, nested under this process's: ``cpu`` (a quota of ``Limits.cpu_cores``, so a fork swarm
slows no classmate graded beside it), ``memory`` (``Limits.memory_bytes`` for the whole tree,
its tmpfs pages included) and ``pids`` (``Limits.processes``). Where the machine has no writable
cgroup v1 hierarchy (cgroup v2 only, or not root and no folder delegated to this user), a
:class:`StudentCgroup` has no groups and the sandbox's rlimits are the only bounds;
:func:`available` says which case applies.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

from course.sandbox.limits import DEFAULT_LIMITS, Limits
from course.sandbox.user_namespace import outer_uid

# where the cgroup hierarchies are mounted (a machine that mounts them elsewhere says so)
CGROUP_ROOT = Path(os.environ.get("COURSE_CGROUP_ROOT", "/sys/fs/cgroup"))
CONTROLLERS = ("cpu", "memory", "pids")
PREFIX = "course-"
DELEGATED_PREFIX = "course-uid-"  # a grading user's own folder: not one of PREFIX's groups
CPU_PERIOD_US = 100_000
_counter = itertools.count()

# Writes the shell's own pid (which exec keeps) into each cgroup.procs given before "--", then
# runs the rest: the process tree is inside its groups before any of it starts.
JOIN_AND_EXEC = (
    'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"'
)


def _own_path(controller: str) -> str | None:
    """This process's cgroup path in a v1 ``controller``'s hierarchy, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def _parent(controller: str) -> Path | None:
    """Where this process makes groups in ``controller``'s hierarchy: its own group, if it may
    write there (root), else the grading user's delegated folder (DELEGATED_PREFIX and its uid,
    made by ``scripts/setup-grader-user.sh``), if any."""
    folder = CGROUP_ROOT / controller
    if not (folder / "cgroup.procs").exists():
        return None
    own = _own_path(controller)
    candidates = [] if own is None else [folder / own.lstrip("/")]
    candidates.append(folder / f"{DELEGATED_PREFIX}{outer_uid()}")
    for parent in candidates:
        if parent.is_dir() and os.access(parent, os.W_OK):
            return parent
    return None


class CgroupUnavailable(RuntimeError):
    """A per-student group could not be made, or not given its limits."""


def available(limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """The controllers in which this process can make per-student groups with ``limits``
    (tried: a group is made, given them, and removed)."""
    found = []
    for controller in CONTROLLERS:
        parent = _parent(controller)
        if parent is None:
            continue
        probe = parent / f"{PREFIX}{os.getpid()}-probe{next(_counter)}"
        try:
            _make(probe, _settings(limits)[controller])
        except CgroupUnavailable:
            continue
        _remove(probe)
        found.append(controller)
    return found


def missing_bounds(client, limits: Limits = DEFAULT_LIMITS) -> dict[str, list[str]]:
    """The controllers each of ``client``'s Dask workers (their machine) cannot make
    per-student groups with ``limits`` in: ``{worker: [controller, ...]}``, only workers
    missing some."""
    found = client.run(available, limits)
    return {
        worker: [c for c in CONTROLLERS if c not in have]
        for worker, have in sorted(found.items())
        if set(have) != set(CONTROLLERS)
    }


def _settings(limits: Limits) -> dict[str, dict]:
    return {
        "cpu": {
            "cpu.cfs_period_us": CPU_PERIOD_US,
            "cpu.cfs_quota_us": int(limits.cpu_cores * CPU_PERIOD_US),
        },
        "memory": {"memory.limit_in_bytes": limits.memory_bytes},
        "pids": {"pids.max": limits.processes},
    }


def _make(group: Path, settings: dict) -> None:
    """Make ``group`` with ``settings``; raise CgroupUnavailable (leaving nothing) if not."""
    try:
        group.mkdir()
        for setting, value in settings.items():
            (group / setting).write_text(str(value))
    except OSError as error:
        _remove(group)
        raise CgroupUnavailable(
            f"cannot make the group {group} with {settings} ({error})"
        ) from None


def unbounded_problem(missing: dict[str, list[str]]) -> str:
    """What :func:`missing_bounds` means for the instructor, and what to do."""
    where = "; ".join(
        f"{worker}: no {', '.join(controllers)}" for worker, controllers in missing.items()
    )
    return (
        f"grading stopped before grading anyone: a student's processes would have no "
        f"aggregate bound ({where}). Per-student control groups need a writable cgroup v1 "
        f"hierarchy under {CGROUP_ROOT} (grade as root on such a machine, or as a user "
        "prepared by scripts/setup-grader-user.sh) that lets a group take the configured "
        "c.SandboxLimits (a folder capped below them does not); "
        "without them only per-process rlimits apply, and a swarm of processes can slow "
        "a classmate graded at the same time and use 64 times the memory limit. Pass "
        "--unbounded to grade so anyway."
    )


class StudentCgroup:
    """Control groups for one sandboxed process tree; :meth:`wrap` a command to start it in
    them, :meth:`close` once it has ended."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS):
        """Groups with ``limits``'s memory, processes and CPU share. Raises CgroupUnavailable
        (leaving no group behind) when a group cannot be made or given its limits where the
        hierarchy is writable: never a tree silently unbounded."""
        self.groups: list[Path] = []
        settings = _settings(limits)
        name = f"{PREFIX}{os.getpid()}-{next(_counter)}"
        for controller in CONTROLLERS:
            parent = _parent(controller)
            if parent is None:
                continue
            try:
                _make(parent / name, settings[controller])
            except CgroupUnavailable:
                self.close()
                raise
            self.groups.append(parent / name)

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside this tree's groups (unchanged when there are none)."""
        if not self.groups:
            return list(argv)
        procs = [str(group / "cgroup.procs") for group in self.groups]
        return ["sh", "-c", JOIN_AND_EXEC, "course-cgroup", *procs, "--", *argv]

    def close(self) -> None:
        """Kill whatever is left in the groups and remove them."""
        for group in self.groups:
            _remove(group)
        self.groups = []


def _remove(group: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)  # the killed processes are still exiting


def remove_stale() -> None:
    """Remove groups left by grading processes that no longer run (killed mid-student)."""
    for controller in CONTROLLERS:
        parent = _parent(controller)
        if parent is None:
            continue
        for group in parent.glob(f"{PREFIX}*-*"):
            owner = group.name[len(PREFIX) :].split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                _remove(group)
