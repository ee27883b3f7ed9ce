"""CPU seconds used by a process tree: the measure every grading limit counts.

A limit in wall-clock seconds turns a busy grading machine into lost points (the same code takes
twice as long beside another job); CPU seconds are what the code itself costs. Each limit here
counts the CPU time (user and system) of a process and everything it started: the live
processes' own and, through their parents' accounts, those that have ended. The wall clock is
kept only as a generous backstop (``WALL_CLOCK_FACTOR`` times the CPU limit) for code that
waits rather than computes.
"""

from __future__ import annotations

import time

import psutil

WALL_CLOCK_FACTOR = 5.0  # the wall-clock backstop, as a multiple of a CPU limit


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) used so far by process ``pid`` and its descendants,
    counting the ended ones their parents have reaped; 0.0 when it is gone."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended while being read: its parent's account has it now
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


class CpuClock:
    """The CPU seconds a process tree has used since the clock started, and the wall-clock
    seconds. :meth:`cpu` never goes back (a process ending between two readings briefly
    leaves every account). Without a process to read (``pid`` None) it counts wall-clock
    seconds as CPU seconds."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.started = time.monotonic()
        self._base = tree_cpu_seconds(pid) if pid is not None else 0.0
        self._most = 0.0

    def cpu(self) -> float:
        """CPU seconds used since the clock started."""
        if self.pid is None:
            return self.wall()
        self._most = max(self._most, tree_cpu_seconds(self.pid) - self._base)
        return self._most

    def wall(self) -> float:
        """Wall-clock seconds since the clock started."""
        return time.monotonic() - self.started

    def over(self, cpu_limit: float, wall_factor: float = WALL_CLOCK_FACTOR) -> str | None:
        """``"cpu"`` once the tree has used more than ``cpu_limit`` CPU seconds, ``"wall"``
        once the wall-clock backstop (``wall_factor`` times it) has passed, else None."""
        if self.cpu() > cpu_limit:
            return "cpu"
        if self.wall() > wall_factor * cpu_limit:
            return "wall"
        return None
