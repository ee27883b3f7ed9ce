"""Grade a whole cohort: nbgrader autograde on Dask workers, then feedback and CSV.

nbgrader has no parallel mode. Each student is a Dask task (``course.distributed``): a
grading process on a worker (``course.worker``) autogrades them with nbgrader's API in a
scratch course of its own, the trusted judge re-checks them, and the graded notebooks,
feedback pages and outcome come back as data. This process alone writes them into the course
folder and the gradebook (:func:`record_result`), as they arrive. The cluster is a LocalCluster
started here by default, or an existing one (``--scheduler``): one code path for both.

A student counts as graded when ``autograded/<student>/<lab>/`` holds our marker with the
digest of the submitted files: a run that was interrupted, or a resubmission, is graded again;
nbgrader's own "skip if the autograded folder exists" is not relied on, because an interrupted
autograde leaves that folder behind half-written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import sys
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from course import layout
from course.cgroups import missing_bounds, unbounded_problem
from course.cleanroom import plan_from_source
from course.cputime import WALL_CLOCK_FACTOR
from course.diagnosis import explain_low_score
from course.export import write_per_test_csv
from course.extract import safe_member_path
from course.feedback import write_timeout_page
from course.files import write_atomic
from course.judge_cells import METADATA_KEY as JUDGE_METADATA
from course.judge_cells import JudgeGradeCells
from course.kernels import GradingKernelManager
from course.kit import files_digest
from course.labs import load_lab
from course.late import QUIET, apply_due_date, reapply_late_penalties
from course.nbgrader_setup import load_config, make_api
from course.remote import WORKER_START_TIMEOUT
from course.sandbox import (
    SandboxedKernelManager,
    SandboxUnavailable,
    check_sandbox,
)
from course.settings import for_course
from course.submissions import name_problem, tree_problem
from course.text import printable, unfiltered

MARKER = ".course-graded.json"
OUTCOMES_FILE = "grading-outcomes.json"


@dataclass
class Outcome:
    """How grading one student went. ``status``: graded, flagged, failed or timeout;
    ``reason``: why, and for a graded student who scored almost nothing, why that is."""

    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    started_at: float = 0.0  # wall clock, seconds since the epoch
    digest: str = ""  # of the submission this outcome is about (see submission_digest)
    worker_peak_mb: float = 0.0  # the grading process's peak memory once this student was done

    def __post_init__(self) -> None:
        # a reason can quote a name or a line of the student's: shown on terminals and pages
        self.reason = printable(self.reason)

    @property
    def needs_attention(self) -> bool:
        return self.status != "graded" or bool(self.reason)

    def describe(self) -> str:
        """"status: reason", or the reason alone for a graded student."""
        return self.reason if self.status == "graded" else f"{self.status}: {self.reason}"


def labs_of(root: Path) -> list[str]:
    """The labs of the course at ``root``: the folders of ``source/``."""
    folder = layout.folder(root, "source")
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def require_lab(root: Path, lab: str) -> None:
    """Raise ValueError, listing the labs there are, unless ``lab`` is one of them."""
    if lab not in labs_of(root):
        there = ", ".join(labs_of(root)) or "none yet (make one in source/<lab>/)"
        raise ValueError(f"there is no lab called {lab!r} in {root}; the labs are: {there}")


def reports_dir(root: Path, lab: str) -> Path:
    return layout.reports(root, lab)


def submitted_students(root: Path, lab: str) -> list[str]:
    """Students with a ``submitted/<student>/<lab>/`` folder, or with notebooks left directly
    in ``submitted/<student>/`` (reported as misplaced, not ignored), sorted. Symbolic links
    are listed too (never followed), so that they are refused with a reason."""
    folder = layout.folder(root, "submitted")
    if not folder.is_dir():
        return []
    students = []
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if entry.is_symlink() or (path / lab).is_symlink():
            students.append(entry.name)
        elif entry.is_dir() and ((path / lab).is_dir() or any(path.glob("*.ipynb"))):
            students.append(entry.name)
    return sorted(students)


def admission_problem(root: Path, student: str) -> str | None:
    """Why nothing of ``submitted/<student>/`` may be read at all (an unsafe folder name, a
    link, a special or oversized file), or None. Checked before any other step reads it."""
    folder = layout.submitted(root, student)
    return name_problem(student) or tree_problem(folder, layout.shown(root, folder)[:-1])


def submission_digest(root: Path, lab: str, student: str) -> str:
    """SHA-256 over the names and contents of a student's submitted files (course.kit)."""
    folder = layout.submitted(root, student, lab)
    return files_digest({str(p.relative_to(folder)): p.read_bytes()
                         for p in folder.rglob("*") if p.is_file()})


def marker_path(root: Path, lab: str, student: str) -> Path:
    return layout.autograded(root, student, lab) / MARKER


def is_graded(root: Path, lab: str, student: str) -> bool:
    """True when the student's current submission was graded to the end."""
    marker = marker_path(root, lab, student)
    try:
        return json.loads(marker.read_text())["digest"] == submission_digest(root, lab, student)
    except (OSError, ValueError, KeyError):
        return False


GENERIC_LOG_LINES = ("Traceback", "There was an error processing", "Please see the")
# Warnings nbgrader logs for many ordinary submissions: never the reason a student failed.
ROUTINE_WARNINGS = ("Checksum for grade cell", "Checksum for read-only cell",
                    "Attribute 'checksum'", "Updating existing notebook",
                    "Removing failed notebook", "Removing failed assignment")


EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit)): (.+)$")


def _error_lines(log: str) -> list[str]:
    """What nbgrader's log says went wrong, most specific first: the exceptions its tracebacks
    end in, then its error lines, then its warnings, without the routine ones (changed
    checksums and the like)."""
    exceptions, errors, warnings = [], [], []
    for line in log.splitlines():
        if line.startswith(("[ERROR]", "[WARNING]")):
            text = line.split("]", 1)[1].strip()
            if not text or text.startswith(GENERIC_LOG_LINES) or any(
                    routine in text for routine in ROUTINE_WARNINGS):
                continue
            (errors if line.startswith("[ERROR]") else warnings).append(text)
        elif match := EXCEPTION_LINE.match(line):
            if match[1] != "NbGraderException":
                exceptions.append(f"{match[1]}: {match[2].strip()}")
    return exceptions + errors + warnings


def expected_notebooks(root: Path, lab: str) -> list[str]:
    """The names (without .ipynb) of the lab's notebooks, as released."""
    return sorted(p.stem for p in layout.release(root, lab).glob("*.ipynb"))


def submission_problem(root: Path, lab: str, student: str) -> str | None:
    """Why a submission cannot be graded at all (missing or unreadable notebook), or None."""
    folder = layout.submitted(root, student, lab)
    if not folder.is_dir():
        misplaced = sorted(p.name for p in folder.parent.glob("*.ipynb"))
        return (f"{', '.join(misplaced)} is in {layout.shown(root, folder.parent)}, not in "
                f"{layout.shown(root, folder)}; move it there and grade again")
    expected = sorted(p.name for p in layout.release(root, lab).glob("*.ipynb"))
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.ipynb"))
    for name in expected:
        if name not in found:
            return (f"no {name} in the submission (found: {', '.join(found) or 'no notebook'}); "
                    "was it renamed?")
        try:
            nbformat.read(folder / name, as_version=4)
        except Exception as error:  # any reason a notebook cannot be read
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return (f"{name} is not a readable notebook ({type(error).__name__}: "
                    f"{first_line[:120]}); ask for a new copy")
    return None


def grading_api(root: Path, sandbox: bool) -> NbGraderAPI:
    """nbgrader's API for grading; with ``sandbox``, every kernel it starts is sandboxed and the
    trusted judge (``course.judge_cells``) decides every judged grade cell.

    Its kernels draw no figures (see helpers/grading_backend.py), and each is killed as soon
    as its last cell has run: every output has arrived by then, and a graceful shutdown would
    only spend half a second per student and hand the student's exit handlers a last turn.
    """
    manager = SandboxedKernelManager if sandbox else GradingKernelManager
    overrides = {"Execute": {"kernel_manager_class": manager, "shutdown_kernel": "immediate"}}
    if sandbox:
        steps = list(load_config(root).Autograde.autograde_preprocessors)
        steps.insert(steps.index(SaveAutoGrades), JudgeGradeCells)
        overrides["Autograde"] = {"autograde_preprocessors": steps}
        overrides["JudgeGradeCells"] = {"enabled": True}
    return make_api(root, **overrides)


def judge_findings(root: Path, lab: str, student: str) -> list[str]:
    """What the judge recorded in the student's graded notebooks as needing a look: its own
    problems, and test cells whose kernel outcome it contradicted."""
    findings = []
    for notebook in sorted(layout.autograded(root, student, lab).glob("*.ipynb")):
        judged = nbformat.read(notebook, as_version=4).metadata.get(JUDGE_METADATA, {})
        findings += judged.get("problems", [])
        if judged.get("disagreements"):
            findings.append("the notebook's own tests disagree with the judge: "
                            + "; ".join(judged["disagreements"]))
    return findings


def record_flag(api: NbGraderAPI, root: Path, lab: str, student: str,
                findings: list[str]) -> None:
    """Flag (or unflag) each of the student's notebooks in the gradebook, with the findings
    as a comment on the graded cell, so the formgrader shows them. No score is touched."""
    graded_cell = load_lab(root, lab).judge.graded_cell
    with api.gradebook as gradebook:
        for source in sorted(layout.source(root, lab).glob("*.ipynb")):
            try:
                notebook = gradebook.find_submission_notebook(source.stem, lab, student)
            except MissingEntry:
                continue
            notebook.flagged = bool(findings)
            try:
                comment = gradebook.find_comment(graded_cell, source.stem, lab, student)
                comment.manual_comment = ("Flagged by the grader: " + "; ".join(findings)
                                          if findings else None)
            except MissingEntry:
                pass  # no graded cell to comment on; the flag and the report remain
        gradebook.db.commit()


def grade_student(root: Path, lab: str, student: str, api: NbGraderAPI | None = None,
                  sandbox: bool = True) -> Outcome:
    """Autograde one student with nbgrader, re-check in the clean room, then generate their
    feedback; runs in a worker.

    ``api``: a :func:`grading_api` for ``root`` to reuse across students (made when None).
    """
    start, started_at = time.monotonic(), time.time()
    api = api or grading_api(root, sandbox)
    problem = admission_problem(root, student) or submission_problem(root, lab, student)
    if problem:
        with api.gradebook as gradebook:  # so exports list the student, with zeros
            gradebook.update_or_create_student(student)
        return Outcome(student, "failed", problem, time.monotonic() - start, started_at)
    digest = submission_digest(root, lab, student)
    result = api.autograde(lab, student, force=True, create=True)
    if not result["success"]:
        errors = _error_lines(result.get("log", "")) or [result.get("error", "").strip()]
        return Outcome(student, "failed", _summarise(errors), time.monotonic() - start, started_at)
    findings = judge_findings(root, lab, student) if sandbox else []
    record_flag(api, root, lab, student, findings)
    feedback = generate_feedback_pages(api, lab, student)
    status, reason = "graded", ""
    if not feedback["success"]:
        status, reason = "failed", "feedback: " + _summarise(_error_lines(feedback.get("log", "")))
    else:
        with api.gradebook as gradebook:
            submission = gradebook.find_submission(lab, student)
            if findings:
                status, reason = "flagged", "; ".join(findings)
            elif submission.needs_manual_grade:
                status = "flagged"
                reason = "nbgrader flagged it for manual grading (changed or failed test cells)"
            else:
                reason = why_so_low(root, lab, student, submission.score, submission.max_score,
                                    judged=sandbox)
        write_atomic(marker_path(root, lab, student), json.dumps({"digest": digest}))
    return Outcome(student, status, reason, time.monotonic() - start, started_at, digest=digest)


def why_so_low(root: Path, lab: str, student: str, score: float, max_score: float,
               judged: bool = True) -> str:
    """Why the student scored almost nothing (see course.diagnosis), or "" when they did not.
    The judge's cause is read only when the judge ran (``judged``): otherwise whatever
    metadata the notebook has is the student's own."""
    for notebook in sorted(layout.autograded(root, student, lab).glob("*.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        cause = nb.metadata.get(JUDGE_METADATA, {}).get("cause", "") if judged else ""
        if reason := explain_low_score(nb, score, max_score, cause):
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


def run_workers(root: Path, lab: str, students: list[str], workers: int,
                student_timeout: float, progress: bool = True, sandbox: bool = True,
                client=None) -> list[Outcome]:
    """Grade ``students`` on Dask (``course.distributed``): on ``client``'s cluster, or on a
    LocalCluster of ``workers`` processes started for the purpose. Each result is written
    into the course folder and the gradebook here, as it arrives; returns the outcomes.

    ``student_timeout`` is the CPU seconds a grading process and what it starts may use on a
    student (``course.cputime``: with a wall-clock backstop five times it); past it, the
    process and everything it started are killed and the student's outcome is a timeout.
    """
    from course.distributed import grade_remotely, grading_client  # Dask: imported when grading

    outcomes: list[Outcome] = []
    bar = tqdm(total=len(students), desc=f"grading {lab}", unit="student", disable=not progress,
               file=unfiltered(sys.stderr))
    with (nullcontext(client) if client is not None
          else grading_client(None, workers)) as cluster:
        api = make_api(root)
        log = start_grading_log(root, lab, len(students))
        for student, result in grade_remotely(cluster, root, lab, students, student_timeout,
                                              sandbox):
            outcome = record_result(root, lab, student, result, api, student_timeout)
            append_grading_log(log, outcome, result.get("log") or "")
            outcomes.append(outcome)
            bar.update(1)
            if outcome.needs_attention and progress:
                bar.write(f"{outcome.student}: {outcome.describe()}")
    bar.close()
    return outcomes


LOG_FILE = "grading.log"
LOG_LINE_CHARACTERS = 160  # longer logged lines are wrapped, each piece behind its bar


def start_grading_log(root: Path, lab: str, students: int) -> Path:
    """``reports/<lab>/grading.log``, with a heading for a run grading ``students`` (earlier
    runs' students stay above it)."""
    path = reports_dir(root, lab) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"##### course grade {lab}: {students} students, from "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n\n")
    return path


def append_grading_log(path: Path, outcome: Outcome, log: str) -> None:
    """Add what a student's grading process wrote to stderr (nbgrader's log, their kernels',
    the judge's runner's, a traceback) to the run's log under their name, without control
    characters, each line behind a bar. Only the coordinator writes it."""
    if not log.strip():
        return
    # each line behind a bar, and wrapped: text the student's code wrote cannot pass for a
    # header, however wide the window it is read in
    lines = printable(log.rstrip()).splitlines()
    body = "".join(f"| {line[i:i + LOG_LINE_CHARACTERS]}\n" for line in lines
                   for i in range(0, max(len(line), 1), LOG_LINE_CHARACTERS))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"===== {printable(outcome.student)}: {outcome.status} =====\n{body}\n")


def timeout_reason(result: dict, student_timeout: float) -> str:
    """Why a student's grading was stopped (``course.remote``'s lost result): past its CPU
    limit, or past the wall-clock backstop while using little CPU time, with the CPU seconds
    it used."""
    cpu = float(result.get("cpu_seconds") or 0.0)
    if result.get("limit") == "wall":
        return (f"grading took {float(result.get('seconds') or 0.0):.0f} s of wall-clock time, "
                f"past its backstop of {WALL_CLOCK_FACTOR * student_timeout:.0f} s, while using "
                f"{cpu:.1f} CPU seconds (waiting for something that never came?); stopped")
    return (f"grading used {cpu:.1f} CPU seconds, more than its limit of {student_timeout:g} "
            "(a loop that never ends?); stopped")


def record_result(root: Path, lab: str, student: str, result: dict, api: NbGraderAPI,
                  student_timeout: float) -> Outcome:
    """Write one student's grading result (course.worker's, or how it was lost) into the
    course folder and the gradebook; return their outcome. Its marker records the digest of
    the files that were sent to be graded (``result["sent_digest"]``), not of what is in
    submitted/ now: a resubmission collected meanwhile is graded at the next run."""
    digest = result.get("sent_digest") or submission_digest(root, lab, student)
    lost = result.get("lost")
    with api.gradebook as gradebook:  # so exports list the student (with zeros if need be)
        gradebook.update_or_create_student(student)
    if lost == "timeout":
        write_timeout_page(root, lab, student, expected_notebooks(root, lab), student_timeout)
        return Outcome(student, "timeout", timeout_reason(result, student_timeout),
                       result.get("seconds", student_timeout), result.get("started_at", 0.0),
                       digest=digest)
    if lost:
        why = {"died": f"the grading process died (exit status {result.get('status')})",
               "never started": (f"the grading process ended before starting on it (exit "
                                 f"status {result['status']})" if "status" in result else
                                 f"the grading process did not start within "
                                 f"{WORKER_START_TIMEOUT:.0f} s"),
               "worker": f"the grading workers kept dying ({result.get('why', '')})"}
        return Outcome(student, "failed", why.get(lost, str(lost)), result.get("seconds", 0.0))
    if problem := returned_names_problem(root, lab, student, result):
        return Outcome(student, "failed", f"its grading result was refused: {problem}",
                       result.get("seconds", 0.0), digest=digest)
    outcome = Outcome(**{key: value for key, value in result["outcome"].items()
                         if key in Outcome.__dataclass_fields__})
    notebooks = {name: nbformat.reads(text, as_version=4)
                 for name, text in (result.get("autograded") or {}).items()}
    if not notebooks:
        return outcome
    graded = layout.autograded(root, student, lab)
    shutil.rmtree(graded, ignore_errors=True)
    for name, text in result["autograded"].items():
        write_atomic(graded / name, text)
    feedback = layout.feedback(root, student, lab)
    shutil.rmtree(feedback, ignore_errors=True)
    for name, data in (result.get("feedback") or {}).items():
        write_atomic(feedback / name, base64.b64decode(data))
    save_grades(api, root, lab, student, notebooks)
    record_flag(api, root, lab, student, result.get("findings") or [])
    if outcome.status in ("graded", "flagged"):
        write_atomic(marker_path(root, lab, student), json.dumps({"digest": digest}))
    outcome.digest = digest
    return outcome


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


def save_grades(api: NbGraderAPI, root: Path, lab: str, student: str,
                notebooks: dict[str, nbformat.NotebookNode]) -> None:
    """Record the graded ``notebooks`` (by file name) in the gradebook as nbgrader's autograde
    does: the submission with its timestamp, then its own SaveAutoGrades and the configured
    late penalty, run on the notebooks the grading process produced."""
    timestamp = api.coursedir.get_existing_timestamp(
        str(layout.submitted(root, student, lab)))
    config = load_config(root)
    # nbgrader 0.9.6's gradebook code makes SQLAlchemy 2 warn on every new submission (its
    # autograde does too, in its own process); the rows are written all the same.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with api.gradebook as gradebook:
            if timestamp:
                gradebook.update_or_create_submission(lab, student, timestamp=timestamp)
            else:
                gradebook.update_or_create_submission(lab, student)
        for name, notebook in notebooks.items():
            resources = {"nbgrader": {"notebook": Path(name).stem, "assignment": lab,
                                      "student": student, "db_url": api.coursedir.db_url}}
            SaveAutoGrades(config=config).preprocess(notebook, resources)
            AssignLatePenalties(config=config, log=QUIET).preprocess(notebook, resources)


def _timed_out(outcome: Outcome | None, root: Path, lab: str, student: str) -> bool:
    """True when this very submission already ran out of time: it is graded again only when
    resubmitted, or with --force, not at every run."""
    return (outcome is not None and outcome.status == "timeout"
            and outcome.digest == submission_digest(root, lab, student))


def load_outcomes(root: Path, lab: str) -> dict[str, Outcome]:
    """Outcomes recorded by earlier runs, by student."""
    path = reports_dir(root, lab) / OUTCOMES_FILE
    if not path.exists():
        return {}
    return {o["student"]: Outcome(**o) for o in json.loads(path.read_text())}


def save_outcomes(root: Path, lab: str, outcomes: dict[str, Outcome]) -> None:
    write_atomic(reports_dir(root, lab) / OUTCOMES_FILE,
                 json.dumps([asdict(o) for _, o in sorted(outcomes.items())], indent=1))


def grade_cohort(root: Path, lab: str, workers: int | None = None, force: bool = False,
                 student_timeout: float | None = None,
                 progress: bool = True, sandbox: bool = True,
                 scheduler: str | None = None, certs: Path | None = None,
                 insecure_local_only: bool = False,
                 unbounded: bool = False) -> dict[str, Outcome]:
    """Grade every submitted student of ``lab`` not yet graded (all with ``force``).

    With ``sandbox`` (the default), student code runs only in bubblewrap sandboxes and every
    judged grade cell is decided by the trusted judge; raises SandboxUnavailable, saying how to
    install bubblewrap, when sandboxes cannot be created here. Without it (a trusted run),
    neither. Before grading anyone, the canary (``course.canary``) grades the solution and the
    blank; raises CanaryFailed when they do not get full marks and nothing.
    Returns every submitted student's latest outcome (this run's or a recorded one), and
    writes them and the per-test CSV under ``reports/<lab>/``. ``scheduler``: the address of
    the Dask cluster to grade on (default: a LocalCluster of ``workers`` processes, here):
    ``tls://`` with the client certificates in ``certs`` (``course.cluster_certs``), or with
    ``insecure_local_only`` a ``tcp://`` address on the loopback; ValueError saying why not
    for any other. A sandboxed run stops (SandboxUnavailable) where a worker cannot give each
    student control groups of their own, unless ``unbounded``. ``workers`` and
    ``student_timeout`` (CPU seconds) override the configured ones (``course.settings``);
    raises SettingsError, before anything else, when the settings cannot work together.
    """
    settings = for_course(root, student_timeout, workers)
    student_timeout = settings.student_cpu_seconds
    security = None
    if scheduler:
        from course.cluster_certs import client_security, scheduler_problem

        if problem := scheduler_problem(scheduler, insecure_local_only):
            raise ValueError(problem)
        if scheduler.startswith("tls://"):
            security = client_security(certs or root / "cluster-certs")
    if sandbox:
        check_sandbox()
    workers = settings.workers or os.cpu_count() or 1
    require_lab(root, lab)
    if sandbox:  # every grade cell must be one the judge decides (raises PlanError, saying why)
        for source in sorted(layout.source(root, lab).glob("*.ipynb")):
            plan_from_source(source.resolve())
    with make_api(root).gradebook as gradebook:
        if lab not in {a.name for a in gradebook.assignments}:
            raise ValueError(f"{lab} is not in the gradebook yet: run `course release {lab}`")
    apply_due_date(root, lab)  # the configured one, whatever the gradebook had
    students = submitted_students(root, lab)
    outcomes = {s: o for s, o in load_outcomes(root, lab).items() if s in students}
    refused = {s: problem for s in students if (problem := admission_problem(root, s))}
    for student, problem in refused.items():
        outcomes[student] = Outcome(student, "failed", problem)
    todo = [s for s in students if s not in refused and (
        force or not (is_graded(root, lab, s) or _timed_out(outcomes.get(s), root, lab, s)))]
    if todo:
        from course.canary import check_grading_environment  # the canary grades: import late
        from course.distributed import grading_client

        with grading_client(scheduler, min(workers, len(todo)), security) as client:
            # on the workers that will grade: a cluster's environment is not this machine's
            if sandbox and not unbounded and (missing := missing_bounds(client)):
                raise SandboxUnavailable(unbounded_problem(missing))
            check_grading_environment(root, lab, student_timeout, sandbox, client)
            for outcome in run_workers(root, lab, todo, min(workers, len(todo)),
                                       student_timeout, progress, sandbox, client):
                outcomes[outcome.student] = outcome
    save_outcomes(root, lab, outcomes)
    reapply_late_penalties(root, lab)  # everyone's, also those graded before this run
    with make_api(root).gradebook as gradebook:
        write_per_test_csv(gradebook, lab, reports_dir(root, lab) / "grades.csv")
    return outcomes
