"""Grading past one machine: a real ``dask scheduler`` and two ``dask worker`` processes, whose
working folders hold no course files, grade part of the demo cohort through ``course grade
--scheduler``, with the gradebook on a throwaway PostgreSQL server; one worker is killed
mid-batch. Every grade, outcome and feedback page equals the default local run's (the
``graded_course`` fixture: a LocalCluster and SQLite), nothing is lost and nothing doubled."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from course.grading.admission import marker_path
from course.labs import copy_course
from course.nbgrader_ext.judge_cells import judged_notebooks
from course.nbgrader_setup import make_api
from tests.support.commands import run_course, run_nbgrader, tool_env
from tests.support.gradebook import grade_ids_by_student, recorded_outcomes
from tests.support.paths import LAB, ROOT
from tests.support.scratch import STUDENT_TIMEOUT, with_test_limits
from tests.support.servers import DaskCluster, postgres_binary, postgres_server

# Every status but a time-out (whose cost is the limit itself; the local run covers it).
STUDENTS = (
    "correct",
    "blank",
    "alternative_forms",
    "wrong_dy_sign",
    "fair_oracle",
    "stray_parenthesis",
    "broken_notebook",
)

pytestmark = pytest.mark.skipif(
    postgres_binary("initdb") is None,
    reason="PostgreSQL's server is not installed (make installs it)",
)


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as url:
        yield url


def _feedback(course, student):
    """What a student's feedback pages say: their text, without the markup (a kernel's output
    arrives in chunks that differ from run to run, and each chunk is a block of its own). No
    progress bar is drawn while grading (course.grading.kernels.GRADING_ENVIRONMENT): how many a
    cell prints would depend on the machine's speed."""
    folder = course / "feedback" / student / LAB
    pages = {}
    for page in sorted(folder.glob("*.html")):
        text = page.read_text()
        assert "it/s]" not in text, f"{page} shows a progress bar"
        pages[page.name] = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return pages


def test_a_cluster_with_postgres_grades_exactly_like_the_local_run(
    graded_course, postgres, tmp_path
):
    reference = graded_course.root
    course = with_test_limits(copy_course(ROOT, tmp_path / "course", LAB))
    with (course / "nbgrader_config.py").open("a") as config:  # the course's own choice
        config.write(f'\nc.CourseDirectory.db_url = "{postgres}"\n')
    released = run_course("release", LAB, cwd=course)
    assert released.returncode == 0, released.stderr
    for student in STUDENTS:  # the very files the local run graded, timestamps included
        shutil.copytree(reference / "submitted" / student, course / "submitted" / student)

    certs = tmp_path / "certs"
    made = run_course("cluster-certs", str(certs), cwd=course)
    assert made.returncode == 0, made.stderr
    cluster = DaskCluster(tmp_path / "cluster", workers=2, env=tool_env(), certs=certs)
    try:
        cluster.wait_for_workers(2)
        grading = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "course",
                "grade",
                LAB,
                "--scheduler",
                cluster.address,
                "--certs",
                str(certs),
                "--student-timeout",
                STUDENT_TIMEOUT,
                "--quiet",
            ],
            cwd=course,
            env=tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not any(marker_path(course, LAB, s).exists() for s in STUDENTS):
            if grading.poll() is not None:
                pytest.fail(
                    "course grade ended before grading anyone: " + grading.communicate()[1][-3000:]
                )
            assert time.monotonic() < deadline, "no student graded in 5 minutes"
            time.sleep(0.05)
        cluster.kill_worker(0)  # mid-batch: its student is handed to the other worker
        _, stderr = grading.communicate(timeout=600)
        # the run is over: the worker that lives on keeps no grading process of it
        survivor = psutil.Process(cluster.workers[1].pid)
        assert [
            p.pid
            for p in survivor.children(recursive=True)
            if "course.grading.worker" in " ".join(p.cmdline())
        ] == []
    finally:
        cluster.stop()
    assert grading.returncode in (0, 1), stderr[-3000:]  # 1: some students need attention
    assert "Traceback" not in stderr, stderr[-3000:]

    expected = {s: v for s, v in grade_ids_by_student(reference).items() if s in STUDENTS}
    assert grade_ids_by_student(course) == expected  # same cells, same scores
    ours, theirs = recorded_outcomes(course), recorded_outcomes(reference)
    assert sorted(ours) == sorted(STUDENTS)
    for student in STUDENTS:
        assert (ours[student]["status"], ours[student]["reason"]) == (
            theirs[student]["status"],
            theirs[student]["reason"],
        ), student
        assert _feedback(course, student) == _feedback(reference, student), student
    # each student judged on their own hidden cases, the same on the cluster's workers
    cases = [
        {s: judged.get("cases_digest") for s, judged in judged_notebooks(c, LAB) if s in STUDENTS}
        for c in (course, reference)
    ]
    assert cases[0] == cases[1] and len(set(cases[0].values())) > 1, cases
    with make_api(course).gradebook as gradebook:  # nothing doubled, on PostgreSQL
        assert gradebook.db.bind.dialect.name == "postgresql"
        submissions = [s.student.id for s in gradebook.find_assignment(LAB).submissions]
        assert sorted(submissions) == sorted(set(submissions))
        flagged = {
            s.student.id
            for s in gradebook.find_assignment(LAB).submissions
            if any(n.flagged for n in s.notebooks)
        }
    assert flagged == {"fair_oracle"}

    # what instructors do next works on the PostgreSQL gradebook too
    assert run_course("report", LAB, cwd=course).returncode == 1  # students need attention
    assert (course / "reports" / LAB / "report.html").is_file()
    run_nbgrader("export", "--to", str(tmp_path / "grades.csv"), cwd=course)
    assert (tmp_path / "grades.csv").read_text().count("\n") == len(STUDENTS) + 1
    formgrader = make_api(course).get_submissions(LAB)  # what the formgrader lists
    assert sorted(s["student"] for s in formgrader) == sorted(STUDENTS)
