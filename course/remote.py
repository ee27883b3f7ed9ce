"""A grading task as a Dask worker runs it: one student's submission in, their graded
notebooks, feedback pages and outcome out, as data (``course.distributed`` sends the tasks and
alone writes the course folder and the gradebook).

The grading itself runs in a grading process of the worker's own (``python -m
course.worker``), one per worker thread and course kit, kept from task to task so that its
imports and its scratch course are paid for once. A task waits for its student's result while
the grading process and what it started have used at most the student's CPU-time limit (and a
wall-clock backstop five times it, ``course.cputime``); past it, everything it started (kernels,
sandboxes, the judge's runner: its whole process group) are killed, and the next task starts a
fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from course import cgroups
from course.cputime import CpuClock
from course.kit import SCRATCH_PREFIX, scratch_course, unpack_kit
from course.sandbox import FONT_CACHE_VARIABLE, remove_stale_runtime_folders

WORKER_START_TIMEOUT = 120.0  # from a student's being sent to its grading starting
LOG_BYTES = 64 * 1024  # of a grading process's stderr kept per student (the last ones)
LOG_SETTLE_SECONDS = 0.02
_PROCESSES: dict[tuple, GradingProcess] = {}
_LOCK = threading.Lock()


class GradingProcess:
    """A ``course.worker`` grading students of one lab in a scratch course of its own."""

    def __init__(self, kit: dict[str, bytes], lab: str, sandbox: bool, command=None):
        """Start one for ``lab`` in a scratch course made from ``kit`` (``command(root, lab,
        sandbox)``, default :meth:`command`, gives the program to run)."""
        self.folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
        root = scratch_course(kit, self.folder / "scratch-course")
        self.env = dict(os.environ)
        if sandbox:  # one font list for the kernels of this grading process (built by it)
            self.env[FONT_CACHE_VARIABLE] = str(self.folder / "fonts")
        # Its own process group, so that killing it kills its kernels and sandboxes too (and
        # it ends itself when the Dask worker that started it is gone: course.worker).
        self.process = subprocess.Popen(
            (command or self.command)(root, lab, sandbox),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0, cwd=root, start_new_session=True, env=self.env)
        self.pending = b""
        self.ended = False  # its output ended: it is gone, or going
        self._log = bytearray()  # what it wrote to stderr since the current student began
        self._log_lock = threading.Lock()
        threading.Thread(target=self._drain_log, daemon=True).start()

    def _drain_log(self) -> None:
        """Read the grading process's stderr (nbgrader's log, its kernels' and the judge's
        runner's) as it comes, keeping the last LOG_BYTES: a flood costs a read, not memory."""
        descriptor = self.process.stderr.fileno()
        while True:
            try:
                chunk = os.read(descriptor, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:  # every writer is gone: closed here, where no read can race it
                self.process.stderr.close()
                return
            with self._log_lock:
                self._log += chunk
                if len(self._log) > 2 * LOG_BYTES:
                    del self._log[:-LOG_BYTES]

    def take_log(self, settle: bool = True) -> str:
        """What the grading process wrote to stderr since the last call (its last
        LOG_BYTES, as text); with ``settle``, after a moment for what it wrote just before
        its answer to be read."""
        if settle:
            time.sleep(LOG_SETTLE_SECONDS)
        with self._log_lock:
            text = bytes(self._log[-LOG_BYTES:]).decode("utf-8", errors="replace")
            self._log.clear()
        return text

    @staticmethod
    def command(root: Path, lab: str, sandbox: bool) -> list[str]:
        """``python -m course.worker ROOT LAB [--no-sandbox]``."""
        return [sys.executable, "-m", "course.worker", str(root), lab,
                *([] if sandbox else ["--no-sandbox"])]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """End it and everything it started, and remove its scratch course."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        cgroups.remove_stale()  # those of the kernels killed with it
        remove_stale_runtime_folders()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _next_message(self, deadline: float) -> dict | None:
        """The next protocol line before ``deadline`` (monotonic); None when it ended or the
        deadline passed."""
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                self.ended = True
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return self._next_message(deadline)
        return message if isinstance(message, dict) else self._next_message(deadline)

    CHECK_SECONDS = 0.25  # how often a student's CPU time is read while it is graded

    def grade(self, student: str, files: dict[str, bytes], student_timeout: float) -> dict:
        """Grade one student: the worker's ``done`` message, or ``{"lost": why}`` when it
        ended, never started, or used more than ``student_timeout`` CPU seconds (the grading
        process and everything it started, from the student's start; or the wall-clock
        backstop, ``course.cputime``): then it has been killed, and the result says which
        limit (``limit``: ``cpu`` or ``wall``) and how much CPU time was used."""
        self.take_log(settle=False)  # what came before this student is not theirs
        result = self._grade(student, files, student_timeout)
        result["log"] = self.take_log()
        return result

    def _grade(self, student: str, files: dict[str, bytes], student_timeout: float) -> dict:
        request = {"student": student,
                   "files": {name: base64.b64encode(data).decode() for name, data in files.items()}}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
        except OSError:
            return {"lost": "died", "status": self.process.wait()}
        started = self._next_message(time.monotonic() + WORKER_START_TIMEOUT)
        if not started or started.get("event") != "start":
            ended = self.ended
            self.kill()
            if ended:
                return {"lost": "never started", "status": self.process.returncode}
            return {"lost": "never started"}
        clock = CpuClock(self.process.pid)
        while True:
            done = self._next_message(time.monotonic() + self.CHECK_SECONDS)
            if done and done.get("event") == "done":
                return done
            if self.ended:
                break
            if limit := clock.over(student_timeout):
                cpu = clock.cpu()
                self.kill()
                return {"lost": "timeout", "limit": limit, "cpu_seconds": cpu,
                        "seconds": clock.wall(), "started_at": started.get("at", time.time())}
        self.kill()
        return {"lost": "died", "status": self.process.returncode, "seconds": clock.wall()}


def kit_key(packed_kit: bytes) -> str:
    """What tells one course kit's grading processes from another's."""
    return hashlib.sha256(packed_kit).hexdigest()


def stop_grading_processes(kit: str) -> int:
    """Kill this worker's grading processes of the kit ``kit`` (:func:`kit_key`) and remove
    their scratch courses, once a run has no more students for them; return how many."""
    with _LOCK:
        stopping = [_PROCESSES.pop(key) for key in list(_PROCESSES) if key[0] == kit]
    for process in stopping:
        process.kill()
    return len(stopping)


def grade_task(packed_kit: bytes, lab: str, student: str, files: dict[str, bytes],
               student_timeout: float, sandbox: bool) -> dict:
    """A Dask task: grade ``student``'s ``files`` (their submitted folder of ``lab``) with the
    course kit (``course.kit.pack``). Returns the grading process's result (see
    course.worker), or ``{"lost": ...}`` when the student's grading ended without one."""
    key = (kit_key(packed_kit), lab, sandbox, threading.get_ident())
    for _ in range(2):  # a grading process lost before it started on the student: once more
        with _LOCK:
            process = _PROCESSES.get(key)
            if process is None or not process.alive():
                process = _PROCESSES[key] = GradingProcess(unpack_kit(packed_kit), lab, sandbox)
        result = process.grade(student, files, student_timeout)
        if not process.alive():
            with _LOCK:
                _PROCESSES.pop(key, None)
        if result.get("lost") != "never started":
            break
    return result
