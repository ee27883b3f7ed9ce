"""Running the judge's runner (``judge_runtime.runner``) in a sandbox, within its CPU budgets."""

from __future__ import annotations

import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, cast

from traitlets import Float
from traitlets.config import Configurable

from course.grading.cputime import WALL_CLOCK_FACTOR, CpuClock
from course.grading.kernels import SINGLE_THREADED
from course.judge.conversation import Conversation, ConversationOver, ProbeConversation
from course.sandbox.cgroups import StudentCgroup
from course.sandbox.command import sandbox_command
from course.sandbox.limits import DEFAULT_LIMITS, Limits

MAX_RESPONSE_BYTES = 4 * 1024**2


# CPU seconds from the start (course.grading.cputime): the hidden cases' answer must arrive by the
# first, training by the second, the line counts by the third. A correct function of up to
# 5 ms per call fits all (Lab 1's training: about 11,500 calls before it is judged reached).
BUDGETS = (30.0, 90.0, 120.0)  # the defaults of JudgeBudgets


CHECK_SECONDS = 0.25  # how often the runner's CPU time is read while its answer is awaited


# Whether the end of the runner's stderr (what the student's code and the runner wrote there,
# read as it comes, at the student's own cost) goes to this process's stderr once the runner
# is done: a grading process (course.grading.worker) keeps it for the student's log.
RUNNER_STDERR_TO_LOG = False


RUNNER_LOG_BYTES = 16 * 1024  # the last of the runner's stderr kept


class JudgeBudgets(Configurable):
    """The CPU seconds the judge's re-check of one student may have used, counted from its
    start, when each of its answers arrives (``c.JudgeBudgets.<name>``): past one, the
    re-check is stopped and the cells it had not answered are not graded. A correct function
    of up to 5 ms a call fits within each."""

    cases_cpu_seconds = Float(BUDGETS[0], help="by the answers on the hidden cases").tag(
        config=True
    )
    training_cpu_seconds = Float(
        BUDGETS[1], help="by the end of training with the student's function"
    ).tag(config=True)
    lines_cpu_seconds = Float(
        BUDGETS[2], help="by the counts of the lines it ran (its last answer)"
    ).tag(config=True)

    def budgets(self) -> tuple[float, float, float]:
        """(cases, training, lines), as :func:`run_in_clean_room` takes them."""
        return self.cases_cpu_seconds, self.training_cpu_seconds, self.lines_cpu_seconds


def run_in_clean_room(
    request: dict,
    answer_names: tuple[str, ...] = (),
    budgets: tuple[float, float, float] = BUDGETS,
    limits: Limits = DEFAULT_LIMITS,
    training_reached: Callable[[dict], bool] | None = None,
) -> tuple[list[dict], str | None]:
    """Run ``judge_runtime.runner`` on ``request`` (a :class:`Conversation`, whose training
    may stop once ``training_reached``) in a sandbox with ``limits``, within the CPU
    ``budgets`` (see JudgeBudgets); the answers that arrived, and why the rest did not (None
    when all did)."""
    conversation = Conversation(request, answer_names, training_reached)
    cases_budget, training_budget, lines_budget = budgets
    by_phase = {"full": cases_budget, "step": cases_budget, "gradients": training_budget}

    def budget(_: int) -> float:
        """The budget of the answer the conversation awaits (training may end early, so
        its number of lines is not known in advance)."""
        return by_phase.get(conversation.expected() or "", lines_budget)

    problem, status = _run_sandboxed(
        "judge_runtime.runner", request, conversation.first, conversation.hear, budget, limits
    )
    if problem is None and conversation.expected() is not None:
        problem = f"the re-check ended early (exit status {status})"
    return conversation.answers(), problem


def run_probe_in_clean_room(
    request: dict,
    budget: float = BUDGETS[0],
    limits: Limits = DEFAULT_LIMITS,
    value: Callable[[int, list], float] | None = None,
) -> tuple[list[dict], str | None]:
    """Run ``judge_runtime.probe`` on ``request`` (a :class:`ProbeConversation`, answering the
    values its cases' functions ask for with ``value``) in a sandbox with ``limits``, its one
    answer due within ``budget`` CPU seconds; the answers that arrived (that one, or none),
    and why it did not (None when it did)."""
    conversation = ProbeConversation(request, value)
    problem, status = _run_sandboxed(
        "judge_runtime.probe", request, request, conversation.hear, (budget,), limits
    )
    if problem is None and conversation.answer is None:
        problem = f"the re-check ended early (exit status {status})"
    return conversation.answers(), problem


def _run_sandboxed(module: str, request: dict, first: dict, hear, budgets, limits: Limits):
    """``python -m module`` in a sandbox and a cgroup of ``limits``, told ``first`` (the
    request withholds what ``request`` names), heard by ``hear`` within ``budgets`` (see
    :func:`run_bounded`); ``(problem, exit status)``."""
    cgroup = StudentCgroup(limits)
    argv = cgroup.wrap(
        sandbox_command(
            [sys.executable, "-m", module],
            limits=limits,
            env={**os.environ, **SINGLE_THREADED},
            withheld=tuple(request.get("withheld") or ()),
        )
    )
    try:
        return run_bounded(
            argv, json.dumps(first).encode() + b"\n", hear, MAX_RESPONSE_BYTES, budgets
        )
    finally:
        cgroup.close()


def run_bounded(
    argv: list[str],
    first: bytes,
    hear,
    max_bytes: int,
    budgets: tuple[float, ...] | Callable[[int], float],
) -> tuple[str | None, int | None]:
    """Run ``argv`` with ``first`` on its stdin, then hand each line of its stdout to
    ``hear`` and write what that returns (if anything) to its stdin; read at most
    ``max_bytes`` in all. ``hear`` raises ConversationOver to end it.

    The i-th line of output must arrive before the process (and what it started) has used
    ``budgets[i]`` CPU seconds (``budgets(i)`` when it is a function; past the tuple's end, its
    last), and before WALL_CLOCK_FACTOR times that has passed on the
    wall clock (the last budget bounds the whole run): a busy machine slows the run, not
    its verdict. Returns ``(problem, exit status)``; ``problem`` says why the process was
    killed (too large, too slow). Memory stays bounded by ``max_bytes`` whatever the
    process writes.
    """
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    errors = bytearray()  # the last RUNNER_LOG_BYTES of its stderr
    outgoing: queue.Queue = queue.Queue()
    outgoing.put(first)
    writer = threading.Thread(target=_feed, args=(process.stdin, outgoing), daemon=True)
    writer.start()
    clock = CpuClock(process.pid)
    pending, size, lines, problem = b"", 0, 0, None
    next_reading = 0.0  # reading a process tree's CPU time scans /proc: at most every check
    with selectors.DefaultSelector() as selector:
        selector.register(cast(IO[bytes], process.stdout), selectors.EVENT_READ)  # pipes
        selector.register(cast(IO[bytes], process.stderr), selectors.EVENT_READ)
        while True:
            budget = budgets(lines) if callable(budgets) else budgets[min(lines, len(budgets) - 1)]
            now = time.monotonic()
            if now >= next_reading and (passed := clock.over(budget)):
                problem = (
                    f"the re-check used more than its {budget:g} s of CPU time"
                    if passed == "cpu"
                    else f"the re-check waited past its {WALL_CLOCK_FACTOR * budget:g} s "
                    f"backstop, using {clock.cpu():.1f} s of CPU time"
                )
                break
            if now >= next_reading:
                next_reading = now + CHECK_SECONDS
            ready = {key.fileobj for key, _ in selector.select(timeout=CHECK_SECONDS)}
            if process.stderr in ready:
                if data := os.read(process.stderr.fileno(), 1 << 16):
                    errors += data
                    del errors[:-RUNNER_LOG_BYTES]
                else:
                    selector.unregister(process.stderr)
            if process.stdout not in ready:
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                problem = f"the re-check's answer was larger than {max_bytes // 1024**2} MB"
                break
            *complete, pending = (pending + chunk).split(b"\n")
            try:
                for line in complete:
                    lines += 1
                    if line.strip() and (reply := hear(line)) is not None:
                        outgoing.put(reply)
            except ConversationOver as over:
                problem = str(over)
                break
    outgoing.put(None)  # nothing more to say: close its stdin
    if problem:
        process.kill()
    cast(IO[bytes], process.stdout).close()
    cast(IO[bytes], process.stderr).close()
    if RUNNER_STDERR_TO_LOG and errors:
        sys.stderr.write(
            "the judge's runner wrote (its last "
            f"{RUNNER_LOG_BYTES // 1024} KB at most):\n"
            + bytes(errors).decode("utf-8", errors="replace")
            + "\n"
        )
        sys.stderr.flush()
    try:
        status = process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
    writer.join(timeout=5)
    return problem, status


def _feed(pipe, outgoing: queue.Queue) -> None:
    """Write each message of ``outgoing`` to ``pipe`` until None, then close it."""
    try:
        while (data := outgoing.get()) is not None:
            pipe.write(data)
            pipe.flush()
    except OSError:  # the process ended or was killed before reading it all
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass
