"""Grade a whole cohort: nbgrader autograde in parallel worker processes, then feedback and CSV.

nbgrader has no parallel mode, so N worker processes (``python -m course.worker``) grade the
students through nbgrader's API, each given the next student as soon as it is free; separate
processes on disjoint students share the SQLite gradebook safely. This process supervises
them: it shows progress, stops a student whose grading runs past the wall-clock limit, and
starts a new worker when one dies or is stopped, so one submission never stops the others.

A student counts as graded when ``autograded/<student>/<lab>/`` holds our marker with the
digest of the submitted files: a run that was interrupted, or a resubmission, is graded again;
nbgrader's own "skip if the autograded folder exists" is not relied on, because an interrupted
autograde leaves that folder behind half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import SaveAutoGrades
from tqdm import tqdm

from course import cgroups
from course.cleanroom import plan_from_source
from course.diagnosis import explain_low_score
from course.export import write_per_test_csv
from course.feedback import write_timeout_page
from course.files import write_atomic
from course.judge_cells import METADATA_KEY as JUDGE_METADATA
from course.judge_cells import JudgeGradeCells
from course.kernels import GradingKernelManager
from course.labs import load_lab
from course.nbgrader_setup import load_config, make_api
from course.sandbox import (
    FONT_CACHE_VARIABLE,
    SandboxedKernelManager,
    build_matplotlib_font_cache,
    check_sandbox,
    remove_stale_runtime_folders,
)
from course.submissions import name_problem, tree_problem

MARKER = ".course-graded.json"
DEFAULT_STUDENT_TIMEOUT = 120.0
WORKER_START_TIMEOUT = 120.0  # from being given a student to starting on it (imports included)
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

    @property
    def needs_attention(self) -> bool:
        return self.status != "graded" or bool(self.reason)

    def describe(self) -> str:
        """"status: reason", or the reason alone for a graded student."""
        return self.reason if self.status == "graded" else f"{self.status}: {self.reason}"


def labs_of(root: Path) -> list[str]:
    """The labs of the course at ``root``: the folders of ``source/``."""
    folder = root / "source"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def require_lab(root: Path, lab: str) -> None:
    """Raise ValueError, listing the labs there are, unless ``lab`` is one of them."""
    if lab not in labs_of(root):
        there = ", ".join(labs_of(root)) or "none yet (make one in source/<lab>/)"
        raise ValueError(f"there is no lab called {lab!r} in {root}; the labs are: {there}")


def reports_dir(root: Path, lab: str) -> Path:
    return root / "reports" / lab


def submitted_students(root: Path, lab: str) -> list[str]:
    """Students with a ``submitted/<student>/<lab>/`` folder, or with notebooks left directly
    in ``submitted/<student>/`` (reported as misplaced, not ignored), sorted. Symbolic links
    are listed too (never followed), so that they are refused with a reason."""
    folder = root / "submitted"
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
    return name_problem(student) or tree_problem(root / "submitted" / student,
                                                 f"submitted/{student}")


def submission_digest(root: Path, lab: str, student: str) -> str:
    """SHA-256 over the names and contents of a student's submitted files."""
    digest = hashlib.sha256()
    folder = root / "submitted" / student / lab
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def marker_path(root: Path, lab: str, student: str) -> Path:
    return root / "autograded" / student / lab / MARKER


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
    return sorted(p.stem for p in (root / "release" / lab).glob("*.ipynb"))


def submission_problem(root: Path, lab: str, student: str) -> str | None:
    """Why a submission cannot be graded at all (missing or unreadable notebook), or None."""
    folder = root / "submitted" / student / lab
    if not folder.is_dir():
        misplaced = sorted(p.name for p in folder.parent.glob("*.ipynb"))
        return (f"{', '.join(misplaced)} is in submitted/{student}/, not in "
                f"submitted/{student}/{lab}/; move it there and grade again")
    expected = sorted(p.name for p in (root / "release" / lab).glob("*.ipynb"))
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
    for notebook in sorted((root / "autograded" / student / lab).glob("*.ipynb")):
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
        for source in sorted((root / "source" / lab).glob("*.ipynb")):
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
    for notebook in sorted((root / "autograded" / student / lab).glob("*.ipynb")):
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


@dataclass
class _Worker:
    process: subprocess.Popen
    student: str | None = None  # the student it was last given and has not finished
    given_at: float = 0.0
    started_at: float | None = None  # when it said it started on that student
    started_wall: float = 0.0  # the same, by the wall clock
    pending: bytes = b""  # bytes read from the worker that do not yet end a line

    def read_messages(self) -> list[dict] | None:
        """Every complete message the worker has sent since the last call; None at its end.

        Reads the pipe directly: a buffered readline would leave later lines in a buffer that
        select() cannot see.
        """
        chunk = os.read(self.process.stdout.fileno(), 65536)
        if not chunk:
            return None
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        return [message for line in lines if (message := _parse_message(line)) is not None]

    def give(self, student: str | None) -> None:
        """Hand the worker its next student, or (None) tell it there are no more."""
        self.student, self.given_at, self.started_at = student, time.monotonic(), None
        try:
            if student is None:
                self.process.stdin.close()
            else:  # as JSON: any folder name, even one with a newline, is one line
                self.process.stdin.write(json.dumps(student).encode() + b"\n")
                self.process.stdin.flush()
        except OSError:  # it has died: its end of the pipe is read next
            pass


def _parse_message(line: bytes) -> dict | None:
    """A worker's protocol message, or None for anything else that reached the pipe."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "event" in message else None


def _spawn(root: Path, lab: str, sandbox: bool, env: dict) -> _Worker:
    flags = [] if sandbox else ["--no-sandbox"]
    # Its own process group, so killing it kills it and its clean-room processes. Its kernels
    # have sessions of their own and die with it: sandboxed ones through bwrap's
    # --die-with-parent, trusted ones through ipykernel's watch on its parent.
    process = subprocess.Popen(
        [sys.executable, "-m", "course.worker", str(root), lab, *flags],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
        cwd=root, env=env, start_new_session=True,
    )
    return _Worker(process)


def _kill(worker: _Worker) -> None:
    try:
        os.killpg(worker.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.process.wait()


def run_workers(root: Path, lab: str, students: list[str], workers: int,
                student_timeout: float, progress: bool = True,
                sandbox: bool = True) -> list[Outcome]:
    """Grade ``students`` in ``workers`` processes, each given the next student as soon as it
    is free, so one slow submission holds up no one else's.

    ``student_timeout`` counts from when a worker starts on a student. A worker that dies (or
    hangs for WORKER_START_TIMEOUT) before starting on the student it was given has the
    student given to another worker, once; then the student is reported as failed.
    """
    with tempfile.TemporaryDirectory(prefix="course-mplcache-") as fonts:
        env = dict(os.environ)
        if sandbox:  # one font list for all the workers' kernels, removed whatever happens
            env[FONT_CACHE_VARIABLE] = str(build_matplotlib_font_cache(Path(fonts)))
        try:
            return _supervise(root, lab, students, workers, student_timeout, progress,
                              sandbox, env)
        finally:
            cgroups.remove_stale()  # those of workers killed with a student
            remove_stale_runtime_folders()


def _supervise(root: Path, lab: str, students: list[str], workers: int, student_timeout: float,
               progress: bool, sandbox: bool, env: dict) -> list[Outcome]:
    waiting = deque(students)
    handed_back: set[str] = set()
    selector = selectors.DefaultSelector()
    active: list[_Worker] = []
    outcomes: list[Outcome] = []
    bar = tqdm(total=len(students), desc=f"grading {lab}", unit="student", disable=not progress)

    def start_worker() -> None:
        worker = _spawn(root, lab, sandbox, env)
        active.append(worker)
        selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
        worker.give(waiting.popleft() if waiting else None)

    def finish(outcome: Outcome) -> None:
        outcomes.append(outcome)
        bar.update(1)
        if outcome.needs_attention and progress:
            bar.write(f"{outcome.student}: {outcome.describe()}")

    def lost_before_start(worker: _Worker, why: str) -> None:
        if worker.student in handed_back:
            finish(Outcome(worker.student, "failed",
                           f"the grading process {why} before starting on it, twice"))
        else:
            handed_back.add(worker.student)
            waiting.appendleft(worker.student)

    def retire(worker: _Worker) -> None:
        """Forget a dead or killed worker; a fresh one takes over if students are waiting."""
        selector.unregister(worker.process.stdout)
        worker.process.stdin.close()
        worker.process.stdout.close()
        active.remove(worker)
        if waiting:
            start_worker()

    for _ in range(min(workers, len(students))):
        start_worker()
    while active:
        for key, _ in selector.select(timeout=1.0):
            worker = key.data
            messages = worker.read_messages()
            if messages is None:  # the worker ended
                code = worker.process.wait()
                if worker.student is not None and worker.started_at is None:
                    lost_before_start(worker, f"died (exit status {code})")
                elif worker.student is not None:
                    finish(Outcome(worker.student, "failed",
                                   f"the grading process died (exit status {code})",
                                   time.monotonic() - worker.started_at, worker.started_wall))
                retire(worker)
                continue
            for message in messages:
                about = message.get("student") or message.get("outcome", {}).get("student")
                if about != worker.student:
                    continue  # cannot happen; and a report on anyone else is no grade
                if message["event"] == "start":
                    worker.started_at, worker.started_wall = time.monotonic(), time.time()
                elif message["event"] == "done":
                    finish(Outcome(**message["outcome"]))
                    worker.give(waiting.popleft() if waiting else None)
        now = time.monotonic()
        for worker in list(active):
            if worker.student is None:
                continue
            if worker.started_at is None and now - worker.given_at > WORKER_START_TIMEOUT:
                _kill(worker)
                lost_before_start(worker, f"did not start within {WORKER_START_TIMEOUT:.0f} s")
            elif worker.started_at is not None and now - worker.started_at > student_timeout:
                _kill(worker)
                write_timeout_page(root, lab, worker.student, expected_notebooks(root, lab),
                                   student_timeout)
                finish(Outcome(worker.student, "timeout",
                               f"grading took longer than {student_timeout:.0f} s "
                               "(a loop that never ends?); stopped",
                               now - worker.started_at, worker.started_wall,
                               digest=submission_digest(root, lab, worker.student)))
            else:
                continue
            worker.student = None
            retire(worker)
    bar.close()
    return outcomes


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
                 student_timeout: float = DEFAULT_STUDENT_TIMEOUT,
                 progress: bool = True, sandbox: bool = True) -> dict[str, Outcome]:
    """Grade every submitted student of ``lab`` not yet graded (all with ``force``).

    With ``sandbox`` (the default), student code runs only in bubblewrap sandboxes and every
    judged grade cell is decided by the trusted judge; raises SandboxUnavailable, saying how to
    install bubblewrap, when sandboxes cannot be created here. Without it (a trusted run),
    neither. Before grading anyone, the canary (``course.canary``) grades the solution and the
    blank; raises CanaryFailed when they do not get full marks and nothing.
    Returns every submitted student's latest outcome (this run's or a recorded one), and
    writes them and the per-test CSV under ``reports/<lab>/``.
    """
    if sandbox:
        check_sandbox()
    workers = workers or os.cpu_count() or 1
    require_lab(root, lab)
    if sandbox:  # every grade cell must be one the judge decides (raises PlanError, saying why)
        for source in sorted((root / "source" / lab).glob("*.ipynb")):
            plan_from_source(source.resolve())
    with make_api(root).gradebook as gradebook:
        if lab not in {a.name for a in gradebook.assignments}:
            raise ValueError(f"{lab} is not in the gradebook yet: run `course release {lab}`")
    students = submitted_students(root, lab)
    outcomes = {s: o for s, o in load_outcomes(root, lab).items() if s in students}
    refused = {s: problem for s in students if (problem := admission_problem(root, s))}
    for student, problem in refused.items():
        outcomes[student] = Outcome(student, "failed", problem)
    todo = [s for s in students if s not in refused and (
        force or not (is_graded(root, lab, s) or _timed_out(outcomes.get(s), root, lab, s)))]
    if todo:
        from course.canary import check_grading_environment  # the canary grades: import late

        check_grading_environment(root, lab, student_timeout, sandbox)
        for outcome in run_workers(root, lab, todo, min(workers, len(todo)), student_timeout,
                                   progress, sandbox):
            outcomes[outcome.student] = outcome
    save_outcomes(root, lab, outcomes)
    with make_api(root).gradebook as gradebook:
        write_per_test_csv(gradebook, lab, reports_dir(root, lab) / "grades.csv")
    return outcomes
