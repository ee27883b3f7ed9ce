"""The demo cohort and the hostile catalogue, graded once per session by the real CLI."""

from __future__ import annotations

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
