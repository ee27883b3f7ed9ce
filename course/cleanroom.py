"""Tamper-proof re-check: grade the student's function again, outside their kernel.

Anything in a student's kernel can be patched (numpy, the helpers, assert handling, IPython's
error display), so an in-kernel pass proves nothing on its own. Here the ``backprop`` cell is
taken from the submitted notebook, run in a fresh sandboxed process (``helpers.recheck``) on the
hidden cases, and its outputs come back as plain JSON numbers; the verdicts are computed in this
process, where no student code runs, with the same judging functions the test cells use. The
hidden cases are those named by the hidden tests of the instructor's notebook.
"""

from __future__ import annotations

import functools
import json
import os
import re
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from course.kernels import SINGLE_THREADED
from course.notebooks import cells_by_grade_id
from course.sandbox import DEFAULT_LIMITS, sandbox_command
from helpers import lab1

# What runs before the student's cell: the instructor's provided functions, with the modules
# they and backprop use. Not the whole imports cell: plotting is never needed here, and
# loading matplotlib would cost more than the re-check itself.
TRUSTED_PRELUDE = "import os\n\nimport numpy as np\n"
TRUSTED_CELLS = ("provided_functions",)
SOLUTION_CELL = "backprop"
STEP_CALL = re.compile(r'check_step_on_hidden_cases\("(\w+)", backprop, seed=(\d+)\)')
WHOLE_CALL = re.compile(r"check_backprop_gradients_on_hidden_cases\(backprop, seed=(\d+)\)")
TRAINING_CALL = re.compile(r"check_training\(backprop\)")
MAX_RESPONSE_BYTES = 4 * 1024**2
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Verdict:
    """The clean room's verdict on one grade cell."""

    passed: bool
    message: str = ""


@dataclass(frozen=True)
class CheckPlan:
    """What to re-check: each grade cell's kind ("step", "whole", "training") and arguments."""

    trusted_code: str
    cells: dict[str, tuple]

    @property
    def seeds(self) -> list[int]:
        return sorted({args[-1] for kind, *args in self.cells.values() if kind != "training"})


def plan_from_source(source_notebook: Path) -> CheckPlan:
    """Read the instructor's notebook: trusted code, and each test's hidden call."""
    cells = cells_by_grade_id(nbformat.read(source_notebook, as_version=4))
    trusted = TRUSTED_PRELUDE + "\n\n".join(cells[name].source for name in TRUSTED_CELLS)
    plan = {}
    for grade_id, cell in cells.items():
        if not cell.metadata["nbgrader"].get("grade"):
            continue
        if match := STEP_CALL.search(cell.source):
            plan[grade_id] = ("step", match[1], int(match[2]))
        elif match := WHOLE_CALL.search(cell.source):
            plan[grade_id] = ("whole", int(match[1]))
        elif TRAINING_CALL.search(cell.source):
            plan[grade_id] = ("training",)
    return CheckPlan(trusted, plan)


def student_code(submitted_notebook: Path) -> str | None:
    """The source of the submitted notebook's backprop cell, or None if there is none."""
    try:
        cells = cells_by_grade_id(nbformat.read(submitted_notebook, as_version=4))
    except Exception:  # unreadable notebooks are reported elsewhere
        return None
    cell = cells.get(SOLUTION_CELL)
    return cell.source if cell is not None and cell.cell_type == "code" else None


def run_in_clean_room(plan: CheckPlan, code: str) -> dict | str:
    """Run ``helpers.recheck`` on the student's code; its parsed answer, or why there is none."""
    request = json.dumps({"trusted": plan.trusted_code, "student": code, "seeds": plan.seeds})
    cgroup = DEFAULT_LIMITS.cgroup()
    argv = cgroup.wrap(sandbox_command([sys.executable, "-m", "helpers.recheck"],
                                       env={**os.environ, **SINGLE_THREADED}))
    try:
        output, problem, status = run_bounded(argv, request.encode(), MAX_RESPONSE_BYTES,
                                              TIMEOUT_SECONDS)
    finally:
        cgroup.close()
    if problem:
        return problem
    try:
        answer = json.loads(output)
    except ValueError:
        return f"the re-check gave no readable answer (exit status {status})"
    return answer if isinstance(answer, dict) else "the re-check's answer was malformed"


def run_bounded(argv: list[str], request: bytes, max_bytes: int,
                timeout: float) -> tuple[bytes, str | None, int | None]:
    """Run ``argv`` with ``request`` on stdin; read at most ``max_bytes`` of its stdout.

    Returns ``(output, problem, exit status)``; ``problem`` says why the output is unusable
    (too large, too slow), in which case the process has been killed. Memory stays bounded by
    ``max_bytes`` whatever the process writes.
    """
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    writer = threading.Thread(target=_feed, args=(process.stdin, request), daemon=True)
    writer.start()
    deadline = time.monotonic() + timeout
    chunks, size, problem = [], 0, None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"the re-check ran past {timeout:.0f} s"
                break
            if not selector.select(timeout=left):
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                problem = f"the re-check's answer was larger than {max_bytes // 1024**2} MB"
                break
            chunks.append(chunk)
    if problem:
        process.kill()
    process.stdout.close()
    try:
        status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
        problem = problem or f"the re-check ran past {timeout:.0f} s"
    writer.join()
    return b"".join(chunks), problem, status


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except OSError:  # the process ended or was killed before reading it all
        pass


class ReportedError(Exception):
    """An exception raised in the clean room, known here only by its description."""


def _array(value):
    return None if value is None else np.array(value, dtype=np.float64)


def _run(described: dict) -> lab1.BackpropRun:
    variables = {name: _array(v) for name, v in (described.get("variables") or {}).items()}
    error = described.get("error")
    returned = described.get("returned")
    result = [_array(v) for v in returned] if isinstance(returned, list) else None
    return lab1.BackpropRun(variables, result=result,
                            error=ReportedError(error) if error else None)


def _judge_cases(judge, runs: list[dict], seed: int) -> Verdict:
    for described, case in zip(runs, lab1.hidden_cases(seed), strict=True):
        try:
            passed = judge(_run(described), case)
        except AssertionError as failure:
            return Verdict(False, str(failure))
        if not passed:
            return Verdict(False, "a hidden case failed")
    return Verdict(True)


def judge_answer(plan: CheckPlan, answer: dict | str) -> dict[str, Verdict]:
    """Each grade cell's verdict from the clean room's numbers (all fail without numbers)."""
    if isinstance(answer, str):
        return {grade_id: Verdict(False, answer) for grade_id in plan.cells}
    cases = answer.get("cases") or {}
    verdicts = {}
    for grade_id, (kind, *args) in plan.cells.items():
        try:
            verdicts[grade_id] = _judge(kind, args, cases, answer)
        except (ValueError, TypeError, KeyError) as error:  # malformed numbers
            verdicts[grade_id] = Verdict(False, f"unusable re-check answer ({error})")
    return verdicts


def _judge(kind: str, args: list, cases: dict, answer: dict) -> Verdict:
    if answer.get("definition_error") and not cases:
        return Verdict(False, f"the backprop cell failed: {answer['definition_error']}")
    if kind == "step":
        name, seed = args

        def judge_step(run, case):
            verdict = lab1.judge_step_run(name, run, *case)
            if not verdict.passed:
                raise AssertionError(verdict.message)
            return True

        return _judge_cases(judge_step, cases[str(seed)], seed)
    if kind == "whole":
        (seed,) = args

        def judge_whole(run, case):
            verdicts = lab1.judge_returned_gradients(run, *case)
            return all(v.passed for v in verdicts.values())

        return _judge_cases(judge_whole, cases[str(seed)], seed)
    training = answer.get("training") or {}
    if "params" not in training:
        return Verdict(False, f"training failed: {training.get('error', 'no result')}")
    X, T, before = lab1.training_problem()
    after = {name: np.array(training["params"][name], dtype=np.float64) for name in before}
    try:
        lab1.judge_training(lab1.training_result(X, T, before, after))
    except AssertionError as failure:
        return Verdict(False, str(failure))
    return Verdict(True)


@functools.lru_cache(maxsize=8)
def _cached_plan(source_notebook: Path, version: tuple[int, int, int]) -> CheckPlan:
    return plan_from_source(source_notebook)


def recheck(source_notebook: Path, submitted_notebook: Path) -> dict[str, Verdict]:
    """Clean-room verdict on every re-checkable grade cell of one submission."""
    # One reading of the instructor's notebook serves a whole batch; any edit changes its
    # ctime (which, unlike the mtime, copying tools cannot set back), so it is read again.
    stat = source_notebook.stat()
    plan = _cached_plan(source_notebook, (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size))
    code = student_code(submitted_notebook)
    if code is None:
        return {g: Verdict(False, "the submission has no backprop cell") for g in plan.cells}
    return judge_answer(plan, run_in_clean_room(plan, code))
