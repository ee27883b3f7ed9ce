"""Grading one student inside a grading process (``course.grading.worker``): nbgrader's autograde
with sandboxed kernels and the trusted judge, the judge's findings, feedback pages, and why a
low score is low."""

from __future__ import annotations

import json
import re
import resource
import time
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import SaveAutoGrades

from course import layout
from course.diagnosis import explain_low_score
from course.files import write_atomic
from course.grading.admission import (
    admission_problem,
    marker_path,
    submission_digest,
    submission_problem,
)
from course.grading.gradebook import record_flag
from course.grading.kernels import GradingKernelManager
from course.grading.outcome import Outcome
from course.nbgrader_ext.judge_cells import METADATA_KEY as JUDGE_METADATA
from course.nbgrader_ext.judge_cells import JudgeGradeCells
from course.nbgrader_setup import load_config, make_api
from course.outcomes import Status
from course.sandbox.kernel import SandboxedKernelManager
from course.written_answers import awaiting_hands

GENERIC_LOG_LINES = ("Traceback", "There was an error processing", "Please see the")


# Warnings nbgrader logs for many ordinary submissions: never the reason a student failed.
ROUTINE_WARNINGS = (
    "Checksum for grade cell",
    "Checksum for read-only cell",
    "Attribute 'checksum'",
    "Updating existing notebook",
    "Removing failed notebook",
    "Removing failed assignment",
)


EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit)): (.+)$")


def _error_lines(log: str) -> list[str]:
    """What nbgrader's log says went wrong, most specific first: the exceptions its tracebacks
    end in, then its error lines, then its warnings, without the routine ones (changed
    checksums and the like)."""
    errors: list[str]
    warnings: list[str]
    exceptions, errors, warnings = [], [], []
    for line in log.splitlines():
        if line.startswith(("[ERROR]", "[WARNING]")):
            text = line.split("]", 1)[1].strip()
            if (
                not text
                or text.startswith(GENERIC_LOG_LINES)
                or any(routine in text for routine in ROUTINE_WARNINGS)
            ):
                continue
            (errors if line.startswith("[ERROR]") else warnings).append(text)
        elif match := EXCEPTION_LINE.match(line):
            if match[1] != "NbGraderException":
                exceptions.append(f"{match[1]}: {match[2].strip()}")
    return exceptions + errors + warnings


def grading_api(root: Path, sandbox: bool) -> NbGraderAPI:
    """nbgrader's API for grading; with ``sandbox``, every kernel it starts is sandboxed and the
    trusted judge (``course.nbgrader_ext.judge_cells``) decides every judged grade cell.

    Its kernels draw no figures (see judge_runtime/grading_backend.py), and each is killed as soon
    as its last cell has run: every output has arrived by then, and a graceful shutdown would
    only spend half a second per student and hand the student's exit handlers a last turn.
    """
    manager = SandboxedKernelManager if sandbox else GradingKernelManager
    overrides = {
        "Execute": {"kernel_manager_class": manager, "shutdown_kernel": "immediate"},
        "JudgeGradeCells": {"enabled": sandbox},
    }
    if sandbox and (problem := pipeline_problem(load_config(root))):
        raise ValueError(problem)
    return make_api(root, **overrides)


def pipeline_problem(config) -> str | None:
    """Why the configured autograde pipeline cannot be graded with the judge, or None: the
    judge (JudgeGradeCells) must be in it, before the scores are saved (SaveAutoGrades)."""
    steps = list(config.Autograde.get("autograde_preprocessors", []))
    if (
        JudgeGradeCells in steps
        and SaveAutoGrades in steps
        and (steps.index(JudgeGradeCells) < steps.index(SaveAutoGrades))
    ):
        return None
    return (
        "c.Autograde.autograde_preprocessors in nbgrader_config.py must hold "
        "course.nbgrader_ext.judge_cells.JudgeGradeCells before SaveAutoGrades: without it no "
        "judge decides the grade cells and the kernel's own test results would count"
    )


def judge_findings(root: Path, lab: str, student: str) -> list[str]:
    """What the judge recorded in the student's graded notebooks as needing a look: its own
    problems, and test cells whose kernel outcome it contradicted."""
    findings = []
    for notebook in sorted(layout.autograded(root, student, lab).glob("*.ipynb")):
        judged = nbformat.read(notebook, as_version=4).metadata.get(JUDGE_METADATA, {})
        findings += judged.get("problems", [])
        if judged.get("disagreements"):
            findings.append(
                "the notebook's own tests disagree with the judge: "
                + "; ".join(judged["disagreements"])
            )
    return findings


def grade_student(
    root: Path,
    lab: str,
    student: str,
    api: NbGraderAPI | None = None,
    sandbox: bool = True,
    case_key: str | None = None,
) -> Outcome:
    """Autograde one student with nbgrader, re-check in the clean room, then generate their
    feedback; runs in a worker.

    ``api``: a :func:`grading_api` for ``root`` to reuse across students (made when None).
    ``case_key``: the student's (course.case_keys), from which the judge draws their hidden
    cases; a sandboxed grading without one fails the student, saying so.
    """
    start, started_at = time.monotonic(), time.time()
    api = api or grading_api(root, sandbox)
    problem = admission_problem(root, student) or submission_problem(root, lab, student)
    if problem:
        with api.gradebook as gradebook:  # so exports list the student, with zeros
            gradebook.update_or_create_student(student)
        return Outcome(student, Status.FAILED, problem, time.monotonic() - start, started_at)
    digest = submission_digest(root, lab, student)
    # read by the judge (course.nbgrader_ext.judge_cells) of this student's autograde only
    api.config.JudgeGradeCells.case_keys = {student: case_key} if case_key else {}
    try:
        result = api.autograde(lab, student, force=True, create=True)
    finally:
        api.config.JudgeGradeCells.case_keys = {}
    if not result["success"]:
        errors = _error_lines(result.get("log", "")) or [result.get("error", "").strip()]
        return Outcome(
            student, Status.FAILED, _summarise(errors), time.monotonic() - start, started_at
        )
    if not sandbox:  # no judge ran: nothing in the notebook may pass for its record
        forget_judge_metadata(layout.autograded(root, student, lab))
    findings = judge_findings(root, lab, student) if sandbox else []
    record_flag(api, root, lab, student, findings)
    feedback = generate_feedback_pages(api, lab, student)
    status, reason = Status.GRADED, ""
    if not feedback["success"]:
        status = Status.FAILED
        reason = "feedback: " + _summarise(_error_lines(feedback.get("log", "")))
    else:
        with api.gradebook as gradebook:
            submission = gradebook.find_submission(lab, student)
            waiting = awaiting_hands(gradebook, lab, student)
            if findings:
                status, reason = Status.FLAGGED, "; ".join(findings)
            elif waiting.other:
                status = Status.FLAGGED
                reason = (
                    "nbgrader flagged it for manual grading (changed or failed test cells: "
                    f"{', '.join(waiting.other)})"
                )
            else:  # written answers still to grade count neither for nor against "so low"
                reason = why_so_low(
                    root,
                    lab,
                    student,
                    submission.score,
                    submission.max_score - waiting.points,
                    judged=sandbox,
                )
        write_atomic(marker_path(root, lab, student), json.dumps({"digest": digest}))
    return Outcome(student, status, reason, time.monotonic() - start, started_at, digest=digest)


def forget_judge_metadata(graded: Path) -> None:
    """Remove what only the judge may write (course.nbgrader_ext.judge_cells.METADATA_KEY) from
    the graded notebooks in ``graded``: in a trusted run it can only be the student's own."""
    for path in sorted(graded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if nb.metadata.pop(JUDGE_METADATA, None) is not None:
            nbformat.write(nb, path)


def why_so_low(
    root: Path, lab: str, student: str, score: float, max_score: float, judged: bool = True
) -> str:
    """Why the student scored almost nothing (see course.diagnosis), or "" when they did not.
    The judge's cause is read only when the judge ran (``judged``): otherwise whatever
    metadata the notebook has is the student's own."""
    for notebook in sorted(layout.autograded(root, student, lab).glob("*.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        cause = nb.metadata.get(JUDGE_METADATA, {}).get("cause", "") if judged else ""
        if reason := explain_low_score(nb, score, max_score, cause, judged):
            return reason
    return ""


def generate_feedback_pages(api: NbGraderAPI, lab: str, student: str) -> dict:
    """nbgrader's generate_feedback for one student, writing the HTML pages only: nbgrader
    would otherwise copy every other file of the graded folder (the student's own files)
    into ``feedback/``, where the student's browser opens them beside the pages."""
    ignored = api.coursedir.ignore
    api.coursedir.ignore = ["*"]
    try:
        return api.generate_feedback(lab, student, force=True)
    finally:
        api.coursedir.ignore = ignored


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _summarise(lines: list[str], limit: int = 500) -> str:
    text = " | ".join(dict.fromkeys(line.strip() for line in lines if line.strip()))
    return text[:limit] or "unknown error (see nbgrader's log)"
