"""Grading students on Dask workers and recording each result as it arrives."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from tqdm import tqdm

from course.grading.outcome import Outcome
from course.grading.recorder import (
    append_grading_log,
    grading_log_section,
    record_result,
    start_grading_log,
)
from course.nbgrader_setup import make_api
from course.text import unfiltered

LOG = logging.getLogger(__name__)


def run_workers(
    root: Path,
    lab: str,
    students: list[str],
    workers: int,
    student_timeout: float,
    progress: bool = True,
    sandbox: bool = True,
    client=None,
    case_keys: dict[str, str] | None = None,
    on_result: Callable[[str, dict], None] | None = None,
) -> list[Outcome]:
    """Grade ``students`` on Dask (``course.grading.distributed``): on ``client``'s cluster, or on a
    LocalCluster of ``workers`` processes started for the purpose, each on the hidden cases of
    their key in ``case_keys`` (course.case_keys). Each result (shown first to ``on_result``,
    with the student) is written
    into the course folder and the gradebook here, as it arrives; returns the outcomes.

    ``student_timeout`` is the CPU seconds a grading process and what it starts may use on a
    student (``course.grading.cputime``: with a wall-clock backstop five times it); past it, the
    process and everything it started are killed and the student's outcome is a timeout.
    """
    from course.grading.distributed import (  # Dask: imported when grading
        grade_remotely,
        grading_client,
    )

    outcomes: list[Outcome] = []
    bar = tqdm(
        total=len(students),
        desc=f"grading {lab}",
        unit="student",
        disable=not progress,
        file=unfiltered(sys.stderr),
    )
    with nullcontext(client) if client is not None else grading_client(None, workers) as cluster:
        api = make_api(root)
        log = start_grading_log(root, lab, len(students))
        for student, result in grade_remotely(
            cluster, root, lab, students, student_timeout, sandbox, case_keys
        ):
            if on_result is not None:
                on_result(student, result)
            outcome = record_result(root, lab, student, result, api, student_timeout)
            section = grading_log_section(outcome, result.get("log") or "")
            append_grading_log(log, section)
            if section:  # shown live with --verbose
                LOG.info("%s", section.rstrip())
            outcomes.append(outcome)
            bar.update(1)
            if outcome.needs_attention and progress:
                bar.write(f"{outcome.student}: {outcome.describe()}")
    bar.close()
    return outcomes
