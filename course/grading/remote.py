"""A grading task as a Dask worker runs it: one student's submission in, their graded
notebooks, feedback pages and outcome out, as data (``course.grading.distributed`` sends the tasks
and alone writes the course folder and the gradebook).

The grading itself runs in a grading process of the worker's own (``python -m
course.grading.worker``), one per worker thread and course kit, kept from task to task so that its
imports and its scratch course are paid for once. A task waits for its student's result while the
grading process and what it started have used at most the student's CPU-time limit (and a wall-clock
backstop five times it, ``course.grading.cputime``); past it, everything it started (kernels,
sandboxes, the judge's runner: its whole process group) are killed, and the next task starts a fresh
one.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import IO, cast

from course.grading.cputime import CpuClock
from course.grading.kit import SCRATCH_PREFIX, scratch_course, unpack_kit
from course.sandbox import cgroups
from course.sandbox.files import FONT_CACHE_VARIABLE
from course.sandbox.mounts import remove_stale_runtime_folders

WORKER_START_TIMEOUT = 120.0  # from a student's being sent to its grading starting
LOG_BYTES = 64 * 1024  # of a grading process's stderr kept per student
LOG_HEAD_BYTES = 16 * 1024  # ... its first ones; the rest are its last
LOG_READ_BYTES = 64 * 1024
LOG_FLOOD_PAUSE_SECONDS = 0.1
LOG_SETTLE_SECONDS = 0.02
LOG_SETTLE_LIMIT_SECONDS = 2.0  # waiting for a lagging flood to be read, at most


def _unread(stream) -> int:
    """Bytes waiting in the pipe ``stream`` reads (0 once it is closed)."""
    try:
        return struct.unpack("i", fcntl.ioctl(stream.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return 0


class _Log:
    """What a grading process wrote to stderr for one student: its first LOG_HEAD_BYTES and
    its last bytes, LOG_BYTES in all, and how much was left out between them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._head, self._tail, self._left_out = bytearray(), bytearray(), 0

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; True once more has come than is kept (a flood)."""
        with self._lock:
            room = LOG_HEAD_BYTES - len(self._head)
            self._head += chunk[: max(room, 0)]
            self._tail += chunk[max(room, 0) :]
            keep = LOG_BYTES - LOG_HEAD_BYTES
            if len(self._tail) > keep:
                self._left_out += len(self._tail) - keep
                del self._tail[:-keep]
            return self._left_out > 0

    def take(self) -> str:
        """The text kept so far, and start again."""
        with self._lock:
            middle = (
                f"\n... {self._left_out:,} bytes left out ...\n".encode() if self._left_out else b""
            )
            data = bytes(self._head) + middle + bytes(self._tail)
            self._head, self._tail, self._left_out = bytearray(), bytearray(), 0
        return data.decode("utf-8", errors="replace")


_PROCESSES: dict[tuple, GradingProcess] = {}
_LOCK = threading.Lock()


class GradingProcess:
    """A ``course.grading.worker`` grading students of one lab in a scratch course of its own."""

    def __init__(self, kit: dict[str, bytes], lab: str, sandbox: bool, command=None):
        """Start one for ``lab`` in a scratch course made from ``kit`` (``command(root, lab,
        sandbox)``, default :meth:`command`, gives the program to run)."""
        self.folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
        root = scratch_course(kit, self.folder / "scratch-course")
        self.env = dict(os.environ)
        if sandbox:  # one font list for the kernels of this grading process (built by it)
            self.env[FONT_CACHE_VARIABLE] = str(self.folder / "fonts")
        # Its own process group, so that killing it kills its kernels and sandboxes too (and
        # it ends itself when the Dask worker that started it is gone: course.grading.worker).
        self.process = subprocess.Popen(
            (command or self.command)(root, lab, sandbox),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            cwd=root,
            start_new_session=True,
            env=self.env,
        )
        self.pending = b""
        self.ended = False  # its output ended: it is gone, or going
        self._log = _Log()
        threading.Thread(target=self._drain_log, daemon=True).start()

    def _drain_log(self) -> None:
        """Read the grading process's stderr (nbgrader's log, its kernels' and the judge's
        runner's) as it comes into the current student's :class:`_Log`. Past its size, reads
        slow down: the writer then waits on a full pipe, so a flood costs neither memory nor
        this process's CPU time (which no student's limit counts)."""
        descriptor = cast(IO[bytes], self.process.stderr).fileno()  # a pipe: never None
        while True:
            try:
                chunk = os.read(descriptor, LOG_READ_BYTES)
            except OSError:
                chunk = b""
            if not chunk:  # every writer is gone: closed here, where no read can race it
                cast(IO[bytes], self.process.stderr).close()
                return
            if self._log.add(chunk):
                time.sleep(LOG_FLOOD_PAUSE_SECONDS)

    def take_log(self, settle: bool = True) -> str:
        """What the grading process wrote to stderr since the last call, as text (its first
        and last parts, when it wrote more than LOG_BYTES); with ``settle``, after a moment
        for what it wrote just before its answer to be read."""
        if settle:
            time.sleep(LOG_SETTLE_SECONDS)
            deadline = time.monotonic() + LOG_SETTLE_LIMIT_SECONDS
            while _unread(self.process.stderr) and time.monotonic() < deadline:
                time.sleep(LOG_SETTLE_SECONDS)  # the drain thread is behind (a flood)
        return self._log.take()

    @staticmethod
    def command(root: Path, lab: str, sandbox: bool) -> list[str]:
        """``python -m course.grading.worker ROOT LAB [--no-sandbox]``."""
        return [
            sys.executable,
            "-m",
            "course.grading.worker",
            str(root),
            lab,
            *([] if sandbox else ["--no-sandbox"]),
        ]

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
            if (
                left <= 0
                or not select.select([cast(IO[bytes], self.process.stdout)], [], [], left)[0]
            ):
                return None
            chunk = os.read(cast(IO[bytes], self.process.stdout).fileno(), 1 << 20)
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

    def grade(
        self,
        student: str,
        files: dict[str, bytes],
        student_timeout: float,
        case_key: str | None = None,
    ) -> dict:
        """Grade one student (on the hidden cases of ``case_key``): the worker's ``done``
        message, or ``{"lost": why}`` when it ended, never started, or used more than
        ``student_timeout`` CPU seconds (the grading process and everything it started, from
        the student's start; or the wall-clock backstop, ``course.grading.cputime``): then it
        has been killed, and the result says which limit (``limit``: ``cpu`` or ``wall``) and
        how much CPU time was used."""
        self.take_log(settle=False)  # what came before this student is not theirs
        result = self._grade(student, files, student_timeout, case_key)
        result["log"] = self.take_log()
        return result

    def _grade(
        self, student: str, files: dict[str, bytes], student_timeout: float, case_key: str | None
    ) -> dict:
        request = {
            "student": student,
            "case_key": case_key,
            "files": {name: base64.b64encode(data).decode() for name, data in files.items()},
        }
        try:
            cast(IO[bytes], self.process.stdin).write(json.dumps(request).encode() + b"\n")
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
                return {
                    "lost": "timeout",
                    "limit": limit,
                    "cpu_seconds": cpu,
                    "seconds": clock.wall(),
                    "started_at": started.get("at", time.time()),
                }
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


def grade_task(
    packed_kit: bytes,
    lab: str,
    student: str,
    files: dict[str, bytes],
    student_timeout: float,
    sandbox: bool,
    case_key: str | None = None,
) -> dict:
    """A Dask task: grade ``student``'s ``files`` (their submitted folder of ``lab``) with the
    course kit (``course.grading.kit.pack``), on the hidden cases of their ``case_key``. Returns
    the grading process's result (see course.grading.worker), or ``{"lost": ...}`` when the
    student's grading ended without one."""
    key = (kit_key(packed_kit), lab, sandbox, threading.get_ident())
    for _ in range(2):  # a grading process lost before it started on the student: once more
        with _LOCK:
            process = _PROCESSES.get(key)
            if process is None or not process.alive():
                process = _PROCESSES[key] = GradingProcess(unpack_kit(packed_kit), lab, sandbox)
        result = process.grade(student, files, student_timeout, case_key)
        if not process.alive():
            with _LOCK:
                _PROCESSES.pop(key, None)
        if result.get("lost") != "never started":
            break
    return result
