"""The `course` tool around nbgrader: export, feedback, parallel equivalence, resuming,
the report and collecting LMS downloads. Real commands, kernels and files throughout."""

from __future__ import annotations

import csv
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import nbformat
import psutil
from nbgrader.api import Gradebook

from course.grading.admission import MARKER, submitted_students
from course.regions import hidden_test_delimiters, region_lines
from labs.lab1.cohort import LAB1_COHORT, build_submission, write_cohort
from tests.support.commands import run_course, run_nbgrader, tool_env
from tests.support.gradebook import (
    grade_ids_by_student,
    recorded_outcomes,
    scores,
    written_answers,
)
from tests.support.paths import LAB, SOURCE_NOTEBOOK
from tests.support.scratch import make_scratch_course

SUBSET = ("correct", "blank", "wrong_db2")


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_grades_csv_matches_the_gradebook_and_nbgrader_export(graded_course):
    course = graded_course.root
    run_nbgrader("db", "student", "add", "ghost", cwd=course)  # in the class, submitted nothing
    run_nbgrader("export", "--to", "exported.csv", cwd=course)
    rows = {row["student_id"]: row for row in read_csv(course / "exported.csv")}
    assert rows["ghost"]["total"] == "0.0" and rows["ghost"]["max"] == "24.0"
    for student, graded in grade_ids_by_student(course).items():
        row = rows[student]
        for grade_id, (score, _) in graded.items():
            assert float(row[grade_id]) == score, (student, grade_id)
        assert float(row["total"]) == sum(score for score, _ in graded.values())
    ours = read_csv(course / "reports" / LAB / "grades.csv")
    exported = read_csv(course / "exported.csv")
    assert ours == [row for row in exported if row["student_id"] != "ghost"]


def hidden_test_lines():
    """Every hidden-test line of the source notebook but its imports (visible ones too)."""
    return [
        line
        for cell in nbformat.read(SOURCE_NOTEBOOK, as_version=4).cells
        for line in region_lines(cell.source, hidden_test_delimiters())
        if not line.startswith("from ")
    ]


def test_feedback_shows_each_result_but_no_hidden_test(graded_course):
    feedback = sorted((graded_course.root / "feedback").glob(f"*/{LAB}/*.html"))
    assert {page.parent.parent.name for page in feedback} >= {s.student for s in LAB1_COHORT}
    hidden = hidden_test_lines()
    assert len(hidden) == 9
    for page in feedback:
        text = page.read_text()
        for marker in ("HIDDEN TESTS", *hidden):
            assert marker not in text, (page, marker)
    wrong_db2 = graded_course.root / "feedback" / "wrong_db2" / LAB / "classification.html"
    assert (
        "Step dloss_db2 (gradient of the loss with respect to b2): dloss_db2 has shape (); "
        "expected (3,)"
    ) in wrong_db2.read_text()


def test_graded_kernels_build_figures_without_drawing_them(graded_course):
    """Plotting cells run in full while grading, but no figure is rendered into the notebook,
    and the backend that discards them says nothing on stderr."""

    def outputs(path):
        nb = nbformat.read(path, as_version=4)
        return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]

    def images(path):
        return [o for o in outputs(path) if "image/png" in o.get("data", {})]

    assert len(images(SOURCE_NOTEBOOK)) >= 3  # the notebook does draw figures
    graded = graded_course.root / "autograded" / "correct" / LAB / SOURCE_NOTEBOOK.name
    assert images(graded) == []
    assert not [o for o in outputs(graded) if o.output_type == "error"]
    stderr = "".join(o.text for o in outputs(graded) if o.get("name") == "stderr")
    assert "matplotlib" not in stderr.lower() and "warning" not in stderr.lower(), stderr


def test_one_worker_gives_exactly_the_grades_of_two(graded_course, tmp_path):
    course = make_scratch_course(tmp_path)
    cohort = tuple(s for s in LAB1_COHORT if s.student in SUBSET)
    write_cohort(course, LAB, course / "submitted", cohort)
    result = run_course("grade", LAB, "--workers", "1", "--quiet", cwd=course)
    assert result.returncode == exit_status(cohort), result.stdout + result.stderr
    for student in SUBSET:
        assert scores(course, student) == scores(graded_course.root, student)


def test_a_trusted_run_grades_honest_work_alike(graded_course, tmp_path):
    """`--no-sandbox` (no sandbox, no judge: the kernel's own verdicts) gives honest students
    the grades the sandboxed, judged run gives them."""
    course = make_scratch_course(tmp_path)
    cohort = tuple(s for s in LAB1_COHORT if s.student in SUBSET)
    write_cohort(course, LAB, course / "submitted", cohort)
    result = run_course("grade", LAB, "--no-sandbox", "--quiet", cwd=course)
    assert result.returncode == exit_status(cohort), result.stdout + result.stderr
    for student in SUBSET:
        assert scores(course, student) == scores(graded_course.root, student)


def exit_status(cohort) -> int:
    """`course grade`'s exit status for a cohort graded without trouble: 1 when a student
    scores (almost) nothing, since the grader then says why and lists them for attention."""
    return 1 if any(s.expected_reason for s in cohort) else 0


def worker_processes(parent: psutil.Process) -> list[psutil.Process]:
    """The grading processes under ``parent`` (a `course grade`: they run on its Dask workers)."""
    return [
        p
        for p in parent.children(recursive=True)
        if "course.grading.worker" in " ".join(p.cmdline())
    ]


def _runs_a_kernel(process: psutil.Process) -> bool:
    try:
        return any(
            "ipykernel" in " ".join(child.cmdline()) for child in process.children(recursive=True)
        )
    except psutil.Error:
        return False


def test_an_interrupted_run_resumes_with_nothing_lost_or_duplicated(tmp_path):
    course = make_scratch_course(tmp_path)
    interrupted = LAB1_COHORT[:4]
    write_cohort(course, LAB, course / "submitted", interrupted)
    students = sorted(s.student for s in interrupted)
    grading = subprocess.Popen(
        [sys.executable, "-m", "course", "grade", LAB, "--workers", "2", "--quiet"],
        cwd=course,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=tool_env(),
    )
    deadline = time.monotonic() + 120
    while not list(course.glob(f"autograded/*/{LAB}/{MARKER}")):  # the batch is under way
        assert time.monotonic() < deadline and grading.poll() is None
        time.sleep(0.2)
    victim = None
    while victim is None:  # a grading process in the middle of a student (its kernel runs)
        assert time.monotonic() < deadline and grading.poll() is None
        victim = next(
            (p for p in worker_processes(psutil.Process(grading.pid)) if _runs_a_kernel(p)), None
        )
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    output, _ = grading.communicate(timeout=300)
    assert grading.returncode == 1, output
    assert "the grading process died" in output

    rerun = run_course("grade", LAB, "--workers", "2", "--quiet", cwd=course)
    assert rerun.returncode == exit_status(interrupted), rerun.stdout + rerun.stderr
    graded = grade_ids_by_student(course)
    assert sorted(graded) == students
    written = written_answers(course)  # left as released: 0, and no test's failure
    for submission in interrupted:
        failures = {g for g, (score, _) in graded[submission.student].items() if score == 0}
        assert failures - written == submission.expected_failures, submission.student
    outcomes = recorded_outcomes(course)
    assert sorted(outcomes) == students
    assert all(o["status"] == "graded" for o in outcomes.values())

    again = run_course("grade", LAB, "--quiet", cwd=course)  # nothing left to do
    assert again.returncode == exit_status(interrupted)
    assert f"{len(interrupted)} students" in again.stdout
    assert grade_ids_by_student(course) == graded


def test_a_resubmission_replaces_every_score(tmp_path):
    """Nothing of an earlier grading survives a resubmission: no kept or manual score."""
    course = make_scratch_course(tmp_path)
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / LAB / SOURCE_NOTEBOOK.name, as_version=4)
    by_name = {s.student: s for s in LAB1_COHORT}
    notebook = course / "submitted" / "resubmitter" / LAB / SOURCE_NOTEBOOK.name
    notebook.parent.mkdir(parents=True)
    for version, total in (
        ("blank", 0.0),
        ("correct", 22.0),
        ("wrong_dbeta", 17.0),
        ("blank", 0.0),
    ):
        nbformat.write(build_submission(source, release, by_name[version]), notebook)
        result = run_course("grade", LAB, "--quiet", cwd=course)
        assert result.returncode == exit_status([by_name[version]]), result.stdout + result.stderr
        graded = scores(course, "resubmitter")
        assert sum(score for score, _ in graded.values()) == total, (version, graded)


def test_report_lists_hardest_tests_first_and_who_needs_attention(graded_course):
    result = run_course("report", LAB, cwd=graded_course.root)
    assert result.returncode == 1  # the broken and looping students
    folder = graded_course.root / "reports" / LAB
    per_test = read_csv(folder / "per-test.csv")
    rates = [float(row["pass_rate"]) for row in per_test]
    assert rates == sorted(rates)
    # the tests every wrong gradient fails (the training one also every numerical one's)
    assert per_test[0]["grade_id"] in (
        "test_backprop_returns_parameter_gradients",
        "test_training_lowers_loss",
    )
    attention = {row["student_id"] for row in read_csv(folder / "attention.csv")}
    assert {"broken_notebook", "loops_forever", "h_patches_helpers"} <= attention
    # Of the ordinary cohort, only those who scored (almost) nothing, with the reason why.
    assert attention & {s.student for s in LAB1_COHORT} == {
        s.student for s in LAB1_COHORT if s.expected_reason
    }
    assert (folder / "totals.png").read_bytes().startswith(b"\x89PNG")
    assert f"needs attention ({len(attention)})" in result.stdout


def test_the_report_page_shows_the_cohort_at_a_glance(graded_course):
    """report.html alone: how many were graded, the median, the histogram, each test split
    into correct / wrong value / crashed / blank / not graded, who needs attention and why,
    and links to the CSVs beside it."""
    run_course("report", LAB, cwd=graded_course.root)
    folder = graded_course.root / "reports" / LAB
    page = (folder / "report.html").read_text()
    submitted = len(submitted_students(graded_course.root, LAB))
    graded = len(list(graded_course.root.glob(f"autograded/*/{LAB}/*.ipynb")))
    assert f"{submitted} submitted, {graded} graded; median total " in page
    assert "<img src='totals.png'" in page
    assert "<th>correct</th><th>wrong value</th><th>crashed</th><th>blank</th>" in page
    outcomes = {row["grade_id"]: row for row in read_csv(folder / "step-outcomes.csv")}
    first = outcomes["test_dloss_dy"]
    assert int(first["blank"]) >= 1  # the blank student
    assert int(first["crashed"]) >= 1  # the stray parenthesis
    assert int(first["wrong value"]) >= 1  # the flipped sign, among others
    assert int(first["not graded"]) >= 2  # the unreadable notebook and the endless loop
    with Gradebook(f"sqlite:///{graded_course.root / 'gradebook.db'}") as gradebook:
        # everyone in the class who handed the lab in (not a student added with nothing)
        students = len({s.id for s in gradebook.students} - {"ghost"})
    assert sum(int(v) for k, v in first.items() if k != "grade_id") == students
    assert "stray_parenthesis</td><td>scored 2/24: syntax error at line 22" in page
    for link in re.findall(r"<a href='([^']+)'>", page):
        assert (folder / link).is_file(), link
    assert {"grades.csv", "per-test.csv", "step-outcomes.csv", "attention.csv"} <= set(
        re.findall(r"<a href='([^']+)'>", page)
    )


def test_collect_a_canvas_zip_with_odd_names(tmp_path):
    course = tmp_path
    shutil.copy2(SOURCE_NOTEBOOK.parents[2] / "nbgrader_config.py", course)
    shutil.copytree(SOURCE_NOTEBOOK.parents[2] / "release" / LAB, course / "release" / LAB)
    notebook = (course / "release" / LAB / "classification.ipynb").read_bytes()
    names = {
        "doejane_12345_67890_classification.ipynb": notebook,
        "doejane_LATE_12345_67891_classification-1.ipynb": notebook + b" ",  # newer
        "Ana María O'Neil_22222_assignsubmission_file_classification.ipynb": notebook,
        "smithbob_333_1_homework.ipynb": notebook,
        "readme.txt": b"hello",
        "twin_444_1_classification-2.ipynb": notebook,
        "twin_444_2_classification-2.ipynb": notebook,
    }
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    result = run_course("collect", LAB, str(archive), cwd=course)
    assert result.returncode == 1  # some files were not collected, and it says which
    out = result.stdout
    assert "collected 12345: classification.ipynb" in out
    assert "collected 22222: classification.ipynb" in out
    assert (course / "submitted" / "12345" / LAB / "classification.ipynb").read_bytes() == (
        notebook + b" "
    )
    assert "NOT collected doejane_12345_67890_classification.ipynb: older submission" in out
    assert "NOT collected smithbob_333_1_homework.ipynb: notebook name 'homework'" in out
    assert "NOT collected readme.txt: not a notebook" in out
    assert out.count("nothing says which is newest") == 2
    assert not (course / "submitted" / "444").exists()

    (course / "submitted" / "22222" / LAB / "classification.ipynb").write_text("edited")
    again = run_course("collect", LAB, str(archive), cwd=course)
    assert "22222 already has a different classification" in again.stdout
    assert (course / "submitted" / "22222" / LAB / "classification.ipynb").read_text() == "edited"


def test_a_result_is_recorded_against_the_files_that_were_sent_not_those_there_now(tmp_path):
    """A resubmission collected while its author waited in the cluster's queue must not be
    taken as graded: the marker holds the digest of what was sent."""
    from course.grading.admission import submission_digest
    from course.grading.recorder import record_result
    from course.nbgrader_setup import make_api

    course = make_scratch_course(tmp_path)
    notebook = course / "submitted" / "queued" / LAB / SOURCE_NOTEBOOK.name
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    sent = submission_digest(course, LAB, "queued")
    notebook.write_text('{"resubmitted": true}')  # collected again while it was queued
    outcome = record_result(
        course, LAB, "queued", {"lost": "timeout", "sent_digest": sent}, make_api(course), 10
    )
    assert outcome.digest == sent != submission_digest(course, LAB, "queued")


def test_what_a_students_grading_wrote_to_stderr_is_logged_under_their_name(tmp_path):
    """A kernel writing to its stderr (the descriptor, not IPython's stream): the run's
    grading.log keeps it under the student's name, without its control characters."""
    from labs.cohorts import Submission

    course = make_scratch_course(tmp_path)
    loud = Submission(
        "loud",
        "correct, and writes to file descriptor 2",
        own_cell=("import os\nos.write(2, b'loud-marker \\x1b[2J\\x1b]0;title\\x07 done\\n')\n"),
    )
    write_cohort(
        course,
        LAB,
        course / "submitted",
        (*(s for s in LAB1_COHORT if s.student == "correct"), loud),
    )
    result = run_course("grade", LAB, "--workers", "1", "--quiet", cwd=course)
    assert result.returncode == 0, result.stdout + result.stderr
    log = (course / "reports" / LAB / "grading.log").read_text()
    assert log.startswith(f"##### course grade {LAB}: 2 students")
    section = log.split("===== loud: graded =====\n", 1)[1].split("=====", 1)[0]
    assert "| loud-marker [2J]0;title done\n" in section  # escape and bell characters gone
    assert all(line.startswith("| ") for line in section.strip().splitlines())
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", log)
    assert "loud-marker" not in log.split("===== loud: graded =====")[0]
    assert "loud-marker" not in result.stderr  # the terminal shows it only when asked
    shown = run_course(
        "grade", LAB, "--workers", "1", "--quiet", "--force", "--verbose", cwd=course
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    live = shown.stderr.split("===== loud: graded =====\n", 1)[1]
    assert live.startswith("| ") and "| loud-marker [2J]0;title done\n" in live
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", shown.stderr.replace("\r", ""))
