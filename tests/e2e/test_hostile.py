"""Hostile and broken submissions, graded in one batch beside the rest of the cohort.

Student code runs sandboxed and every graded function is re-checked in a clean room, so: each
cheat earns nothing for the steps it cheats and is flagged; each broken submission gets its
stated outcome; nobody else's grade changes; the course's files are untouched.
"""

from __future__ import annotations

import json
import re
import statistics

import nbformat
import pytest
from nbgrader.api import MissingEntry

from course.notebooks import cell_by_grade_id
from tests.support.gradebook import (
    grade_ids_by_student,
    recorded_outcomes,
    scores,
    written_answers,
)
from tests.support.hostile import (
    CATALOGUE,
    DUMP_MARK,
    ENCODED_MARK,
    EXIT_HANDLER_MARK,
    NOTEBOOK,
    OUTSIDE_SECRET,
    XSS_MARK,
)
from tests.support.paths import LAB


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 20


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.student)
def test_each_hostile_submission_gets_its_outcome(graded_course, entry):
    outcome = recorded_outcomes(graded_course.root)[entry.student]
    assert outcome["status"] in entry.statuses, outcome
    try:
        total = sum(score for score, _ in scores(graded_course.root, entry.student).values())
    except MissingEntry:  # never graded
        total = 0.0
    assert entry.min_total <= total <= entry.max_total, (entry.what, outcome, total)
    if outcome["status"] != "graded":
        assert outcome["reason"], "every outcome that needs attention says why"


def test_every_file_outside_the_grading_outputs_is_untouched(graded_course):
    """Source, config, release, every submission, and a root-only file beside the course:
    same paths, kinds, modes and bytes after two runs as before the first."""
    files_before, definition_before = graded_course.before
    files_after, definition_after = graded_course.after
    assert files_after.keys() == files_before.keys()
    changed = [path for path in files_before if files_before[path] != files_after[path]]
    assert not changed
    assert definition_after == definition_before  # hidden tests and cells in the gradebook


def test_grading_outputs_hold_no_link_and_nothing_the_student_made(graded_course):
    for folder in ("autograded", "feedback"):
        for path in (graded_course.root / folder).rglob("*"):
            assert not path.is_symlink(), path
            if path.is_file() and folder == "feedback":
                assert path.suffix == ".html", path  # the pages only: no student file
            elif path.is_file():
                assert path.name in {NOTEBOOK, ".course-graded.json", "README.md"}, path


def test_nothing_secret_reached_any_student(graded_course):
    secret = (graded_course.root.parent / OUTSIDE_SECRET).read_bytes()
    for folder in ("autograded", "feedback"):
        for path in (graded_course.root / folder).rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert secret not in content, path
                assert b"SQLite format 3" not in content, path  # the gradebook
                if folder == "feedback":  # graded notebooks hold hidden tests, by nbgrader's design
                    assert b"BEGIN HIDDEN TESTS" not in content, path


@pytest.mark.parametrize("student", ["h_encoded_history", "h_encoded_environment"])
def test_what_student_code_printed_encoded_reaches_no_feedback(graded_course, student):
    graded = (graded_course.root / "autograded" / student / LAB / NOTEBOOK).read_text()
    assert ENCODED_MARK in graded  # it ran, and printed
    page = (graded_course.root / "feedback" / student / LAB / "classification.html").read_text()
    assert ENCODED_MARK not in page


def test_what_a_step_raised_reaches_no_message_page_or_record(graded_course):
    """Each step raised with its inputs encoded: the test cells' outputs (the judge's verdicts),
    the feedback page and the outcome hold none of it (the student's own cells, which ran on
    the notebook's visible data in the kernel, are not the judge's words)."""
    student = "h_exception_dump"
    graded = json.loads((graded_course.root / "autograded" / student / LAB / NOTEBOOK).read_text())
    verdicts = json.dumps(
        [
            cell["outputs"]
            for cell in graded["cells"]
            if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("grade")
        ]
    )
    page = (graded_course.root / "feedback" / student / LAB / "classification.html").read_text()
    reason = recorded_outcomes(graded_course.root)[student]["reason"]
    assert "raised ValueError" in page  # the judge's own words
    for text in (verdicts, page, reason):
        assert DUMP_MARK not in text and "\x1b" not in text and "\\u001b" not in text


def test_a_rerun_changes_no_ones_grade(graded_course):
    assert graded_course.regraded.returncode in (0, 1), graded_course.regraded.stderr
    now, first = grade_ids_by_student(graded_course.root), graded_course.scores_first
    changed = sorted(s for s in now.keys() | first.keys() if now.get(s) != first.get(s))
    assert not changed, {s: graded_course.outcomes_first.get(s) for s in changed}
    score, top = graded_course.scores_first["correct"]["test_dloss_dy"]
    assert score == top > 0


def test_a_rerun_does_not_wait_again_for_a_submission_that_timed_out(graded_course):
    """A timeout is recorded against the submission's digest: the same notebook is not
    run again (only a resubmission, or --force, would be)."""
    first = graded_course.outcomes_first["loops_forever"]
    assert first["status"] == "timeout" and first["digest"]
    assert recorded_outcomes(graded_course.root)["loops_forever"] == first


@pytest.mark.parametrize(
    ("student", "says"),
    [
        ("h_submitted_symlink", "symbolic link"),
        ("h_submitted_hardlink", "hard link"),
        ("*", "letters, digits and . _ - @ + only"),
    ],
)
def test_refused_submissions_say_why_and_what_to_do(graded_course, student, says):
    outcome = recorded_outcomes(graded_course.root)[student]
    assert outcome["status"] == "failed" and says in outcome["reason"], outcome


def test_a_deleted_test_cell_is_restored_and_said_to_be(graded_course):
    outcome = recorded_outcomes(graded_course.root)["h_deleted_cell"]
    assert (
        "test_dloss_dy was deleted; restored from the instructor's notebook" in (outcome["reason"])
    )
    assert "passed in the clean room" not in outcome["reason"]


def test_the_glob_named_folder_was_not_expanded(graded_course):
    """Every student was graded exactly once: nobody's autograded copy is newer than their
    own outcome's end, which a glob expanding to the whole cohort would have rewritten."""
    outcomes = recorded_outcomes(graded_course.root)
    assert not (graded_course.root / "autograded" / "*").exists()
    for student, outcome in outcomes.items():
        notebook = graded_course.root / "autograded" / student / LAB / NOTEBOOK
        if notebook.exists() and outcome["status"] == "graded":
            assert notebook.stat().st_mtime <= outcome["started_at"] + outcome["seconds"] + 1


def test_the_grading_workers_memory_stayed_bounded(graded_course):
    """Floods of output and of clean-room answer included, no worker passed 300 MB."""
    peaks = {
        s: o["worker_peak_mb"]
        for s, o in recorded_outcomes(graded_course.root).items()
        if o["worker_peak_mb"]
    }
    assert peaks and max(peaks.values()) < 300, sorted(peaks.items(), key=lambda p: -p[1])[:3]


def test_a_fork_swarm_slows_no_classmate_graded_beside_it(graded_course):
    outcomes = recorded_outcomes(graded_course.root)
    swarm = outcomes["h_swarm"]
    start, end = swarm["started_at"], swarm["started_at"] + swarm["seconds"]
    written = written_answers(graded_course.root)  # 0 until graded by hand
    full = {
        s
        for s, graded in grade_ids_by_student(graded_course.root).items()
        if all(score == top for g, (score, top) in graded.items() if g not in written)
    }

    def seconds(inside: bool) -> list[float]:
        return [
            o["seconds"]
            for s, o in outcomes.items()
            if s in full
            and s != "h_swarm"
            and (start <= o["started_at"] and o["started_at"] + o["seconds"] <= end) == inside
        ]

    beside, elsewhere = seconds(True), seconds(False)
    assert beside, "no classmate was graded while the swarm ran"
    assert statistics.median(beside) <= 1.5 * statistics.median(elsewhere), (beside, elsewhere)


def test_no_script_of_a_student_reaches_a_page(graded_course):
    student = "h_script_output"
    graded = json.loads((graded_course.root / "autograded" / student / LAB / NOTEBOOK).read_text())
    html_outputs = [
        o["data"]["text/html"]
        for cell in graded["cells"]
        for o in cell.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert html_outputs and all(XSS_MARK in "".join(h) for h in html_outputs)
    live_handler = re.compile(r"<[^>]*\bonerror\s*=")  # escaped text (&lt;img ...) is inert
    for html in map("".join, html_outputs):
        assert "<script" not in html and not live_handler.search(html), html
    page = (graded_course.root / "feedback" / student / LAB / "classification.html").read_text()
    assert f"<script>window.{XSS_MARK}" not in page
    assert not re.search(rf"<[^>]*\bonerror\s*=\s*\"window\.{XSS_MARK}", page)


def test_no_script_of_a_written_answer_reaches_a_page(graded_course):
    """A written answer is shown in the formgrader (from the graded notebook) and in the
    feedback page: neither holds its script or event handler, and it waits to be graded by
    hand without flagging the student."""
    student = "h_script_answer"
    graded = nbformat.read(graded_course.root / "autograded" / student / LAB / NOTEBOOK, 4)
    answer = cell_by_grade_id(graded, "answer_dloss_dh").source
    live_handler = re.compile(r"<[^>]*\bonerror\s*=")
    assert XSS_MARK in answer and "<script" not in answer and not live_handler.search(answer)
    page = (graded_course.root / "feedback" / student / LAB / "classification.html").read_text()
    assert f"<script>window.{XSS_MARK}" not in page
    assert not re.search(rf"<[^>]*\bonerror\s*=\s*\"window\.{XSS_MARK}", page)
    assert recorded_outcomes(graded_course.root)[student]["status"] == "graded"


def test_a_written_answer_deleted_or_written_beside_its_cell_is_flagged_saying_so(
    graded_course,
):
    """Neither scores 0 unseen nor waits for a grade no one can give: the deleted answer is
    put back as released (0 at once, a score box in the formgrader), the one written beside
    its cell is named for the instructor to read."""
    outcomes = recorded_outcomes(graded_course.root)
    deleted, beside = outcomes["h_deleted_answer"], outcomes["h_answer_beside"]
    assert "written answer answer_dloss_dh was deleted" in deleted["reason"], deleted
    assert "answer_dloss_dh was left as released" in beside["reason"], beside
    graded = nbformat.read(
        graded_course.root / "autograded" / "h_deleted_answer" / LAB / NOTEBOOK, 4
    )
    assert cell_by_grade_id(graded, "answer_dloss_dh").source == "YOUR ANSWER HERE"
    for student in ("h_deleted_answer", "h_answer_beside"):
        assert scores(graded_course.root, student)["answer_dloss_dh"][0] == 0


def test_no_sandbox_reached_the_network(graded_course):
    assert graded_course.probe_connections == []


def test_no_huge_file_was_left_behind(graded_course):
    limit = 64 * 1024**2
    big = [p for p in graded_course.root.rglob("*") if p.is_file() and p.stat().st_size > limit]
    assert not big


def test_the_correct_student_keeps_full_marks_beside_them(graded_course):
    graded = scores(graded_course.root, "correct")
    written = written_answers(graded_course.root)  # 0 until graded by hand
    assert all(score == top for g, (score, top) in graded.items() if g not in written)
    assert recorded_outcomes(graded_course.root)["correct"]["status"] == "graded"


def test_student_code_gets_no_turn_after_the_last_cell(graded_course):
    """Each kernel is killed once its cells have run, so exit handlers never run."""
    folder = graded_course.root / "autograded" / "h_exit_handler" / LAB
    assert (folder / NOTEBOOK).is_file()
    assert not (folder / EXIT_HANDLER_MARK).exists()
