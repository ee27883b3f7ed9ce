"""The demo cohort and the hostile catalogue, graded once per test run by the real CLI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import run_course
from tests.support.gradebook import grade_ids_by_student, recorded_outcomes
from tests.support.hostile import (
    OUTSIDE_SECRET,
    PROBE_PORT,
    course_definition,
    course_files,
    write_catalogue,
)
from tests.support.paths import LAB, SOURCE_NOTEBOOK
from tests.support.probe import LoopbackProbe
from tests.support.scratch import grade_scratch, make_scratch_course

# A folder the pytest processes of one `make test` share (scripts/run-tests.sh makes it): the
# cohort is graded there by the first process to ask, and read back by the others.
SHARED_FOLDER = "COURSE_TEST_SHARE"


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """One batch: the demo cohort (collected from a folder) and the hostile catalogue (written
    straight into submitted/, some of it misplaced on purpose), graded with two workers; then
    graded again with a plain ``course grade``, as an instructor re-running it would.

    ``before``/``after``: every course file outside the grading outputs, with the gradebook's
    course-definition tables, before the first run and after the second; ``scores_first``:
    every student's scores after the first run.

    Graded once per pytest process, or once per ``make test`` (:data:`SHARED_FOLDER`). The
    tests that use it run one after another, in one process at a time (tests/conftest.py
    groups them): each starts from the course the one before left."""
    shared = os.environ.get(SHARED_FOLDER)
    if not shared:
        return _grade_cohort(tmp_path_factory.mktemp("cohort"))
    record = Path(shared) / "graded-course.pickle"
    with _locked(Path(shared) / "graded-course.lock"):
        if record.exists():
            return pickle.loads(record.read_bytes())
        folder = Path(shared) / "cohort"
        shutil.rmtree(folder, ignore_errors=True)  # a process that died grading it
        folder.mkdir()
        graded = _grade_cohort(folder)
        record.write_bytes(pickle.dumps(graded))
        return graded


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _grade_cohort(folder: Path) -> SimpleNamespace:
    """:func:`graded_course`'s batch, graded in the empty folder ``folder``."""
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
        graded = grade_scratch(course)
        scores_first = grade_ids_by_student(course)
        outcomes_first = recorded_outcomes(course)
        regraded = grade_scratch(course)
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
