"""`course audit`: the grader checks its own verdicts on submissions derived from a lab's
solution, before the lab goes out.

Rewrites that keep the meaning (:mod:`course.audit.rewrites`) must earn full marks, unflagged;
mutants that break one step (:mod:`course.audit.mutants`) must lose that step and only the
checks that depend on every step; the lab's declared misconceptions must be named. Each is
judged by the grader's own judge (:mod:`course.audit.findings`), a sample also through the
whole of ``course grade`` in a scratch course (:mod:`course.audit.pipeline`), and the report
(:mod:`course.audit.report`) lists each one that was not graded as its derivation implies.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection
from pathlib import Path

from course.audit.findings import judge_all
from course.audit.function_derivations import derive as derive_functions
from course.audit.pipeline import grade_through_pipeline, sample
from course.audit.report import AuditReport
from course.audit.subject import load_subject


def audit(
    root: Path,
    lab: str,
    n: int | None = None,
    seed: int = 0,
    workers: int = 2,
    pipeline_sample: int = 0,
    operators: Collection[str] | None = None,
) -> AuditReport:
    """Derive submissions from ``lab``'s solution in the course at ``root`` (all of them, or
    those of ``operators``; or ``n`` of them drawn with ``seed``), judge each (``workers`` at
    a time; 1: in this process), and grade ``pipeline_sample`` of them through ``course
    grade`` in a scratch course as well."""
    started = time.monotonic()
    subject = load_subject(root, lab)
    derived = subject.derive() if subject.solution is not None else derive_functions(subject)
    if operators is not None:
        unknown = set(operators) - {d.operator for d in derived}
        if unknown:
            raise ValueError(f"no derived submission of {lab} comes from {sorted(unknown)}")
        derived = [d for d in derived if d.operator in operators]
    if n is not None and n < len(derived):
        derived = random.Random(seed).sample(derived, n)
    findings = list(judge_all(subject, derived, workers))
    checks = []
    if pipeline_sample:
        checks = grade_through_pipeline(subject, sample(findings, pipeline_sample, seed), workers)
    solution = subject.solution.code if subject.solution is not None else ""
    return AuditReport(lab, solution, findings, checks, time.monotonic() - started)
