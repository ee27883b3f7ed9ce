"""Shared fixtures: the repository, and scratch nbgrader courses graded with the real CLI."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.api import MissingEntry

from course.labs import copy_course
from course.nbgrader_setup import make_api
from course.settings import limited_to
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.hostile import (
    OUTSIDE_SECRET,
    PROBE_PORT,
    course_definition,
    course_files,
    write_catalogue,
)

ROOT = Path(__file__).resolve().parents[1]
# Passed canaries are remembered machine-wide (course.canary.passes_folder): the tests share a
# folder of their own, never the user's, so that one session's passes serve its other courses.
if "COURSE_CACHE_DIR" not in os.environ:
    os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="course-test-cache-")
    atexit.register(shutil.rmtree, os.environ["COURSE_CACHE_DIR"], True)
LAB = "lab1"
NOTEBOOK = "classification"
SOURCE_NOTEBOOK = ROOT / "source" / LAB / f"{NOTEBOOK}.ipynb"
RELEASE_NOTEBOOK = ROOT / "release" / LAB / f"{NOTEBOOK}.ipynb"
SCRIPTS = Path(sys.executable).parent


def tool_env(path: str | None = None) -> dict[str, str]:
    """This process's environment with this Python environment's scripts first on PATH
    (or, with ``path``, exactly that PATH)."""
    return {**os.environ, "PATH": path or f"{SCRIPTS}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_nbgrader(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``nbgrader`` command of this environment in ``cwd``; fail on non-zero."""
    result = subprocess.run(
        [str(SCRIPTS / "nbgrader"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(),
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


def run_course(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the real ``course`` command in ``cwd``; the caller checks the exit status."""
    return subprocess.run(
        [sys.executable, "-m", "course", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(),
    )


def make_scratch_course(folder: Path) -> Path:
    """A copy of the course (config and lab sources) in ``folder``, with the lab generated,
    graded with the tests' student limit (:func:`with_test_limits`)."""
    copy_course(ROOT, folder, LAB)  # no release: generated below
    with_test_limits(folder)
    run_nbgrader("generate_assignment", LAB, "--force", cwd=folder)
    return folder


def with_test_limits(course: Path) -> Path:
    """Give the course at ``course`` the tests' student limit, STUDENT_TIMEOUT, and the judge's
    budgets lowered to it (course.settings.limited_to): a student's grading process tree
    includes the judge's re-check, so the student limit is reached first either way."""
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\n# the tests' limits\n" + limited_to(float(STUDENT_TIMEOUT)))
    return course


def grade_ids_by_student(course: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Every graded student's :func:`scores`."""
    with make_api(course).gradebook as gradebook:  # the course's own (SQLite or PostgreSQL)
        students = [s.id for s in gradebook.students]
    graded = {}
    for student in students:
        try:
            graded[student] = scores(course, student)
        except MissingEntry:  # never graded
            continue
    return graded


def recorded_outcomes(course: Path, lab: str = LAB) -> dict[str, dict]:
    """The outcomes ``course grade`` recorded for ``lab`` in ``course``, by student."""
    path = course / "reports" / lab / "grading-outcomes.json"
    return {o["student"]: o for o in json.loads(path.read_text())}


def scores(
    course: Path, student: str, lab: str = LAB, notebook: str = NOTEBOOK
) -> dict[str, tuple[float, float]]:
    """``{grade_id: (score, max_score)}`` of one student's ``lab`` (its notebook ``notebook``),
    read from the gradebook."""
    with make_api(course).gradebook as gradebook:
        notebook = gradebook.find_submission_notebook(notebook, lab, student)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


# seconds; a normal student takes under 10 s with two workers, the slowest hostile ones that
# must still be graded (output floods, a numerical gradient) under 20 s
STUDENT_TIMEOUT = "40"  # CPU seconds: the numerical-differentiation students use about 25


class LoopbackProbe:
    """A TCP listener on the grader's loopback that records whoever connects."""

    def __init__(self, port: int):
        self.connections: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.connections.append(connection.recv(64))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """One batch: the demo cohort (collected from a folder) and the hostile catalogue (written
    straight into submitted/, some of it misplaced on purpose), graded with two workers; then
    graded again with a plain ``course grade``, as an instructor re-running it would.

    ``before``/``after``: every course file outside the grading outputs, with the gradebook's
    course-definition tables, before the first run and after the second; ``scores_first``:
    every student's scores after the first run."""
    folder = tmp_path_factory.mktemp("cohort")
    course = make_scratch_course(folder / "course")  # the folder beside it is "outside"
    secret = folder / OUTSIDE_SECRET
    secret.write_text("root-only text outside the course\n")
    secret.chmod(0o600)
    write_cohort(course, LAB, course / "incoming", DEMO_COHORT, flat=True)
    collected = run_course("collect", LAB, "incoming", cwd=course)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    write_catalogue(
        SOURCE_NOTEBOOK, course / "release" / LAB / SOURCE_NOTEBOOK.name, course / "submitted", LAB
    )
    before = course_files(folder), course_definition(course / "gradebook.db")
    probe = LoopbackProbe(PROBE_PORT)
    try:
        graded = run_course(
            "grade",
            LAB,
            "--workers",
            "2",
            "--student-timeout",
            STUDENT_TIMEOUT,
            "--quiet",
            cwd=course,
        )
        scores_first = grade_ids_by_student(course)
        outcomes_first = recorded_outcomes(course)
        regraded = run_course(
            "grade",
            LAB,
            "--workers",
            "2",
            "--student-timeout",
            STUDENT_TIMEOUT,
            "--quiet",
            cwd=course,
        )
    finally:
        probe.close()
    after = course_files(folder), course_definition(course / "gradebook.db")
    return SimpleNamespace(
        root=course,
        result=graded,
        regraded=regraded,
        before=before,
        after=after,
        scores_first=scores_first,
        outcomes_first=outcomes_first,
        probe_connections=probe.connections,
    )


def pytest_collection_modifyitems(items):
    """Browser tests run last: pytest-playwright's sync API keeps an asyncio event loop
    running in the main thread until the session ends, and a test that calls asyncio.run()
    after it would fail for that alone."""
    items.sort(key=lambda item: "page" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's browser, launched from Debian's Chromium (``make`` installs it)."""
    from tests.browser import CHROMIUM, CHROMIUM_FLAGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    from tests.browser import VIEWPORT

    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


@pytest.fixture(scope="session")
def release_nb() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE_NOTEBOOK, as_version=4)
