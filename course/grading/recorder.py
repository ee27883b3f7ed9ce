"""The one writer: each student's result, as a grading process sent it back (or how it was
lost), written into the course folder and the gradebook by the coordinating process alone, and
the run's ``reports/<lab>/grading.log``."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI

from course import layout
from course.files import write_atomic
from course.grading.admission import (
    expected_notebooks,
    marker_path,
    submission_digest,
)
from course.grading.cputime import WALL_CLOCK_FACTOR
from course.grading.gradebook import record_flag, save_grades
from course.grading.outcome import Outcome
from course.grading.remote import WORKER_START_TIMEOUT
from course.lms.extract import safe_member_path
from course.nbgrader_ext.feedback import write_timeout_page
from course.outcomes import Status
from course.text import printable
from course.written_answers import (
    answer_texts,
    keep_hand_grades,
    settled_answers,
    written_answer_ids,
)

LOG_FILE = "grading.log"


LOG_LINE_CHARACTERS = 160  # longer logged lines are wrapped, each piece behind its bar


def start_grading_log(root: Path, lab: str, students: int) -> Path:
    """``reports/<lab>/grading.log``, with a heading for a run grading ``students`` (earlier
    runs' students stay above it)."""
    path = layout.reports(root, lab) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            f"##### course grade {lab}: {students} students, from "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n\n"
        )
    return path


def grading_log_section(outcome: Outcome, log: str) -> str:
    """What a student's grading process wrote to stderr (nbgrader's log, their kernels', the
    judge's runner's, a traceback) as a section of the run's log under their name, without
    control characters, each line behind a bar ("" when it wrote nothing)."""
    if not log.strip():
        return ""
    # each line behind a bar, and wrapped: text the student's code wrote cannot pass for a
    # header, however wide the window it is read in
    lines = printable(log.rstrip()).splitlines()
    body = "".join(
        f"| {line[i : i + LOG_LINE_CHARACTERS]}\n"
        for line in lines
        for i in range(0, max(len(line), 1), LOG_LINE_CHARACTERS)
    )
    return f"===== {printable(outcome.student)}: {outcome.status} =====\n{body}"


def append_grading_log(path: Path, section: str) -> None:
    """Add a student's :func:`grading_log_section` to the run's log. Only the coordinator
    writes it."""
    if section:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(section + "\n")


def timeout_reason(result: dict, student_timeout: float) -> str:
    """Why a student's grading was stopped (``course.grading.remote``'s lost result): past its CPU
    limit, or past the wall-clock backstop while using little CPU time, with the CPU seconds
    it used."""
    cpu = float(result.get("cpu_seconds") or 0.0)
    if result.get("limit") == "wall":
        return (
            f"grading took {float(result.get('seconds') or 0.0):.0f} s of wall-clock time, "
            f"past its backstop of {WALL_CLOCK_FACTOR * student_timeout:.0f} s, while using "
            f"{cpu:.1f} CPU seconds (waiting for something that never came?); stopped"
        )
    return (
        f"grading used {cpu:.1f} CPU seconds, more than its limit of {student_timeout:g} "
        "(a loop that never ends?); stopped"
    )


def record_result(
    root: Path, lab: str, student: str, result: dict, api: NbGraderAPI, student_timeout: float
) -> Outcome:
    """Write one student's grading result (course.grading.worker's, or how it was lost) into the
    course folder and the gradebook; return their outcome. Its marker records the digest of
    the files that were sent to be graded (``result["sent_digest"]``), not of what is in
    submitted/ now: a resubmission collected meanwhile is graded at the next run."""
    digest = result.get("sent_digest") or submission_digest(root, lab, student)
    lost = result.get("lost")
    with api.gradebook as gradebook:  # so exports list the student (with zeros if need be)
        gradebook.update_or_create_student(student)
    if lost == "timeout":
        write_timeout_page(root, lab, student, expected_notebooks(root, lab), student_timeout)
        return Outcome(
            student,
            Status.TIMEOUT,
            timeout_reason(result, student_timeout),
            result.get("seconds", student_timeout),
            result.get("started_at", 0.0),
            digest=digest,
        )
    if lost:
        why = {
            "died": f"the grading process died (exit status {result.get('status')})",
            "never started": (
                f"the grading process ended before starting on it (exit status {result['status']})"
                if "status" in result
                else f"the grading process did not start within {WORKER_START_TIMEOUT:.0f} s"
            ),
            "worker": f"the grading workers kept dying ({result.get('why', '')})",
        }
        return Outcome(student, Status.FAILED, why.get(lost, str(lost)), result.get("seconds", 0.0))
    if problem := returned_names_problem(root, lab, student, result):
        return Outcome(
            student,
            Status.FAILED,
            f"its grading result was refused: {problem}",
            result.get("seconds", 0.0),
            digest=digest,
        )
    outcome = Outcome(
        **{
            key: value
            for key, value in result["outcome"].items()
            if key in Outcome.__dataclass_fields__
        }
    )
    notebooks = {
        name: nbformat.reads(text, as_version=4)
        for name, text in (result.get("autograded") or {}).items()
    }
    if not notebooks:
        return outcome
    graded = layout.autograded(root, student, lab)
    with api.gradebook as gradebook:
        answers = written_answer_ids(gradebook, lab)
        settled = settled_answers(gradebook, lab, student)
    before = answer_texts(_readable(graded), answers) if settled else {}
    shutil.rmtree(graded, ignore_errors=True)
    for name, text in result["autograded"].items():
        write_atomic(graded / name, text)
    feedback = layout.feedback(root, student, lab)
    shutil.rmtree(feedback, ignore_errors=True)
    for name, data in (result.get("feedback") or {}).items():
        write_atomic(feedback / name, base64.b64decode(data))
    save_grades(api, root, lab, student, notebooks)
    after = answer_texts(notebooks, answers)
    if unchanged := {key for key in settled if key in before and before[key] == after.get(key)}:
        with api.gradebook as gradebook:  # the answers the instructor graded, word for word
            keep_hand_grades(gradebook, lab, student, unchanged)
    record_flag(api, root, lab, student, result.get("findings") or [])
    if outcome.status in (Status.GRADED, Status.FLAGGED):
        write_atomic(marker_path(root, lab, student), json.dumps({"digest": digest}))
    outcome.digest = digest
    return outcome


def _readable(folder: Path) -> dict[str, nbformat.NotebookNode]:
    """The graded notebooks in ``folder`` that can be read, by file name."""
    notebooks = {}
    for path in sorted(folder.glob("*.ipynb")):
        try:
            notebooks[path.name] = nbformat.read(path, as_version=4)
        except Exception:  # half-written by a run that was stopped: nothing to compare
            continue
    return notebooks


def returned_names_problem(root: Path, lab: str, student: str, result: dict) -> str | None:
    """Why a worker's ``result`` for ``student`` may not be written, or None: it is about
    another student, or names a file the coordinator would write outside the student's
    folders (a worker is another machine's word: a path it returns is checked, not joined)."""
    outcome = result.get("outcome")
    if not isinstance(outcome, dict) or outcome.get("student") != student:
        return "it is about another student"
    notebooks = {f"{name}.ipynb" for name in expected_notebooks(root, lab)}
    graded = result.get("autograded") or {}
    if not isinstance(graded, dict) or not set(graded) <= notebooks:
        return "it names graded notebooks the lab does not have"
    pages = result.get("feedback") or {}
    if not isinstance(pages, dict):
        return "its feedback is not a set of pages"
    for name in pages:
        path = safe_member_path(name) if isinstance(name, str) else None
        if path is None or path.suffix != ".html":
            return f"a feedback page's name is not a page in the student's folder ({name!r})"
    return None
