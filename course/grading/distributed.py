"""Grading a cohort on Dask: an embedded LocalCluster by default, or the cluster whose
scheduler ``--scheduler ADDRESS`` names, through one code path.

Each student is one task (``course.grading.remote.grade_task``) that carries their submission and
the course kit (``course.grading.kit``) and returns their graded notebooks, feedback pages and
outcome as data; workers share no filesystem with the course. This process alone writes the course
folder and the gradebook, as results arrive (nbgrader's gradebook code finds, then inserts, without
locks: one writer). Dask hands a dead worker's student to another; a student whose grading runs past
the wall-clock limit has their grading process killed by the task itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.security import Security

from course.grading.kit import files_digest, grading_kit, pack, submission_files
from course.grading.remote import grade_task, kit_key, stop_grading_processes

# A task whose worker died mid-student is handed to another worker, up to this many times.
ALLOWED_FAILURES = 2
SCHEDULER_TIMEOUT = "30s"
LOOPBACK = "127.0.0.1:0"  # a LocalCluster's web servers: this machine only, any free port


@contextmanager
def grading_client(
    scheduler: str | None, workers: int, security: Security | None = None
) -> Iterator[Client]:
    """A Dask client: of the cluster at ``scheduler`` (connecting with ``security``, see
    ``course.grading.cluster_certs``), or of a LocalCluster of ``workers`` single-threaded workers
    started here (and stopped on leaving), whose web servers listen on the loopback only and
    serve nothing (their pages would list task keys, which name students)."""
    settings = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        "distributed.comm.timeouts.connect": SCHEDULER_TIMEOUT,
        "distributed.worker.daemon": False,  # workers start grading processes
        # No statistical profiler in a LocalCluster's workers: they are threads of the
        # coordinator, and its sys._current_frames() every 10 ms can deadlock CPython
        # 3.11 against a garbage collection in another thread (seen here: the
        # coordinator hung for good in the middle of writing a grade).
        "distributed.worker.profile.enabled": False,
        "distributed.scheduler.http.routes": [],
        "distributed.worker.http.routes": [],
    }
    with dask.config.set(settings):
        if scheduler:
            with Client(scheduler, timeout=SCHEDULER_TIMEOUT, security=security) as client:
                with stopping_grading_processes(client):
                    yield client
            return
        # Workers as threads of this process: each task's work happens in a grading process
        # of its own (course.grading.remote), so worker processes would only add their start-up.
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=False,
                dashboard_address=LOOPBACK,
                worker_dashboard_address=LOOPBACK,
                memory_limit=0,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            with stopping_grading_processes(client):
                yield client


_KITS_SENT: dict[int, set[str]] = {}  # by client: the kits its tasks were sent (kit_key)


@contextmanager
def stopping_grading_processes(client: Client) -> Iterator[None]:
    """Once the block is over (the run has no more students: the canary's and the cohort's,
    which share grading processes when their kits are the same), stop the grading processes
    of the kits it sent, with their scratch courses, on every worker: on a long-lived worker
    they would only wait. Another run's processes, of another kit, are left alone."""
    _KITS_SENT[id(client)] = set()
    try:
        yield
    finally:
        for kit in _KITS_SENT.pop(id(client), set()):
            try:
                client.run(stop_grading_processes, kit)
            except Exception:  # a worker gone meanwhile took its processes with it
                pass


def grade_remotely(
    client: Client,
    root: Path,
    lab: str,
    students: list[str],
    student_timeout: float,
    sandbox: bool,
    case_keys: dict[str, str] | None = None,
) -> Iterator[tuple[str, dict]]:
    """Send every student of ``students`` to the cluster, each with their case key (of
    ``case_keys``: course.case_keys; the course secret never leaves this process); yield
    ``(student, result)`` as each result arrives (see course.grading.remote.grade_task), or
    ``{"lost": "worker", ...}`` when the workers grading them kept dying.

    At most :func:`in_flight` students are sent ahead of the results, each sent as another's
    result arrives: a task carries the student's files, so this process holds a few
    submissions at a time, not the cohort's."""
    # By value in every task (about 100 KB packed), not scattered: a task that depends on no
    # data waits in the scheduler's queue until a worker is free, so a slow student holds up
    # no one (a task depending on scattered data is assigned to a worker up front, and may
    # wait behind a slow one while another is idle).
    kit = pack(grading_kit(root, lab))
    _KITS_SENT.setdefault(id(client), set()).add(kit_key(kit))  # stopped when the run ends
    waiting, sent, run = list(reversed(students)), {}, uuid.uuid4().hex[:8]
    futures: dict = {}

    def send() -> None:
        student = waiting.pop()
        files = submission_files(root, lab, student)
        sent[student] = files_digest(files)
        future = client.submit(
            grade_task,
            kit,
            lab,
            student,
            files,
            student_timeout,
            sandbox,
            (case_keys or {}).get(student),
            pure=False,
            key=f"grade-{lab}-{run}-{student}",
        )
        futures[future] = student
        arriving.add(future)

    arriving = as_completed()
    for _ in range(min(in_flight(client), len(waiting))):
        send()
    for future in arriving:
        student = futures.pop(future)
        try:
            result = future.result()
        except Exception as error:  # KilledWorker: the cluster gave up on this student
            result = {"lost": "worker", "why": f"{type(error).__name__}: {error}"}
        finally:
            future.release()
        if waiting:
            send()
        yield student, {**result, "sent_digest": sent.pop(student)}


def in_flight(client: Client) -> int:
    """How many students to have sent at once: twice the cluster's threads (a worker that
    finishes finds the next student already queued), at least four."""
    return max(4, 2 * sum(client.nthreads().values()))
