"""``course grade``: every submitted student of a lab, after the settings, the sandbox and the
canary were checked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from course import layout
from course.case_keys import case_keys, course_secret
from course.export import write_per_test_csv
from course.grading.admission import (
    admission_problem,
    is_graded,
    require_lab,
    submission_digest,
    submitted_students,
)
from course.grading.canary import check_grading_environment
from course.grading.outcome import Outcome, load_outcomes, save_outcomes
from course.grading.run import run_workers
from course.grading.student import pipeline_problem
from course.grading.version import manifest, record_version, version_of
from course.judge.plan import plan_from_source
from course.late import apply_due_date, reapply_late_penalties
from course.nbgrader_setup import load_config, make_api
from course.outcomes import Status
from course.sandbox.cgroups import missing_bounds, unbounded_problem
from course.sandbox.errors import SandboxUnavailable
from course.sandbox.probe import check_sandbox
from course.settings import for_course


def _timed_out(outcome: Outcome | None, root: Path, lab: str, student: str) -> bool:
    """True when this very submission already ran out of time: it is graded again only when
    resubmitted, or with --force, not at every run."""
    return (
        outcome is not None
        and outcome.status == Status.TIMEOUT
        and outcome.digest == submission_digest(root, lab, student)
    )


def grade_cohort(
    root: Path,
    lab: str,
    workers: int | None = None,
    force: bool = False,
    student_timeout: float | None = None,
    progress: bool = True,
    sandbox: bool = True,
    scheduler: str | None = None,
    certs: Path | None = None,
    insecure_local_only: bool = False,
    unbounded: bool = False,
    on_result: Callable[[str, dict], None] | None = None,
) -> dict[str, Outcome]:
    """Grade every submitted student of ``lab`` not yet graded (all with ``force``).

    With ``sandbox`` (the default), student code runs only in bubblewrap sandboxes and every judged
    grade cell is decided by the trusted judge; raises SandboxUnavailable, saying how to install
    bubblewrap, when sandboxes cannot be created here. Without it (a trusted run), neither. Before
    grading anyone, the canary (``course.grading.canary``) grades the solution and the blank; raises
    CanaryFailed when they do not get full marks and nothing. Returns every submitted student's
    latest outcome (this run's or a recorded one), and writes them and the per-test CSV under
    ``reports/<lab>/``. ``scheduler``: the address of the Dask cluster to grade on (default: a
    LocalCluster of ``workers`` processes, here): ``tls://`` with the client certificates in
    ``certs`` (``course.grading.cluster_certs``), or with ``insecure_local_only`` a ``tcp://``
    address on the loopback; ValueError saying why not for any other. A sandboxed run stops
    (SandboxUnavailable) where a worker cannot give each student control groups of their own, unless
    ``unbounded``. ``workers`` and ``student_timeout`` (CPU seconds) override the configured ones
    (``course.settings``); raises SettingsError, before anything else, when the settings cannot work
    together. A sandboxed grade records the version of what judged it
    (course.grading.version). ``on_result`` sees each student's result before it is recorded.
    """
    settings = for_course(root, student_timeout, workers)
    student_timeout = settings.student_cpu_seconds
    security = None
    if scheduler:
        from course.grading.cluster_certs import client_security, scheduler_problem

        if problem := scheduler_problem(scheduler, insecure_local_only):
            raise ValueError(problem)
        if scheduler.startswith("tls://"):
            security = client_security(certs or root / "cluster-certs")
    if sandbox:
        if problem := pipeline_problem(load_config(root)):
            raise ValueError(problem)
        check_sandbox()
        course_secret(root)  # the students' hidden cases are drawn from it (SecretError)
    workers = settings.workers or os.cpu_count() or 1
    require_lab(root, lab)
    if sandbox:  # every grade cell must be one the judge decides (raises PlanError, saying why)
        for source in sorted(layout.source(root, lab).glob("*.ipynb")):
            plan_from_source(source.resolve())
    with make_api(root).gradebook as gradebook:
        if lab not in {a.name for a in gradebook.assignments}:
            raise ValueError(f"{lab} is not in the gradebook yet: run `course release {lab}`")
    apply_due_date(root, lab)  # the configured one, whatever the gradebook had
    version = record_version(root, lab, manifest(root, lab)) if sandbox else ""
    students = submitted_students(root, lab)
    outcomes = {s: o for s, o in load_outcomes(root, lab).items() if s in students}
    refused = {s: problem for s in students if (problem := admission_problem(root, s))}
    for student, problem in refused.items():
        outcomes[student] = Outcome(student, Status.FAILED, problem)
    todo = [
        s
        for s in students
        if s not in refused
        and (force or not (is_graded(root, lab, s) or _timed_out(outcomes.get(s), root, lab, s)))
    ]
    if todo:
        from course.grading.distributed import grading_client

        with grading_client(scheduler, min(workers, len(todo)), security) as client:
            # on the workers that will grade: a cluster's environment is not this machine's
            if sandbox and not unbounded and (missing := missing_bounds(client, settings.limits)):
                raise SandboxUnavailable(unbounded_problem(missing))
            check_grading_environment(root, lab, student_timeout, sandbox, client)
            for outcome in run_workers(
                root,
                lab,
                todo,
                min(workers, len(todo)),
                student_timeout,
                progress,
                sandbox,
                client,
                case_keys(root, lab, todo) if sandbox else None,
                on_result,
            ):
                outcome.version = version
                outcomes[outcome.student] = outcome
    save_outcomes(root, lab, outcomes)
    reapply_late_penalties(root, lab)  # everyone's, also those graded before this run
    with make_api(root).gradebook as gradebook:
        write_per_test_csv(gradebook, lab, layout.reports(root, lab) / "grades.csv")
    return outcomes


def judged_with_older_version(root: Path, lab: str) -> list[str]:
    """The students whose recorded grade was judged with another version of the lab's judge
    than the current one (course.grading.version): a regrade would judge them otherwise."""
    current = version_of(manifest(root, lab))
    return sorted(
        student
        for student, outcome in load_outcomes(root, lab).items()
        if outcome.status in (Status.GRADED, Status.FLAGGED) and outcome.version != current
    )
