"""Every student judged on hidden cases of their own (course.case_keys), through `course grade`:
the same notebook earns the same verdicts on other cases, a student's cases are the same at
every regrade and are what `course cases` shows, and the secret they come from reaches neither
the release nor the grading workers."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import nbformat
import pytest

from course.case_keys import case_key, course_secret, secret_path
from course.grading.kit import grading_kit, pack
from course.nbgrader_ext.judge_cells import judged_notebooks
from course.similarity import same_mistakes
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import run_course
from tests.support.gradebook import scores
from tests.support.paths import LAB
from tests.support.scratch import grade_scratch, make_scratch_course

BY_NAME = {submission.student: submission for submission in DEMO_COHORT}
# Two students each of: the solution; one unnamed mistake (dloss_dy alone wrong); one named.
PAIRS = {
    "correct": ("ann", "bob"),
    "wrong_dy_right_dbeta": ("cid", "dee"),
    "wrong_dbeta": ("eve", "fay"),
}


def _grade(course, *extra):
    graded = grade_scratch(course, *extra)
    assert graded.returncode in (0, 1), graded.stdout + graded.stderr
    return {student: metadata for student, metadata in judged_notebooks(course, LAB)}


@pytest.fixture(scope="module")
def own_cases(tmp_path_factory):
    """Six students (three pairs of identical notebooks) graded, then regraded with --force."""
    course = make_scratch_course(tmp_path_factory.mktemp("own-cases") / "course")
    cohort = tuple(
        dataclasses.replace(BY_NAME[name], student=student)
        for name, students in PAIRS.items()
        for student in students
    )
    write_cohort(course, LAB, course / "submitted", cohort)
    first = _grade(course)
    marks = {s.student: scores(course, s.student) for s in cohort}
    again = _grade(course, "--force")
    return SimpleNamespace(root=course, cohort=cohort, first=first, again=again, marks=marks)


def test_each_student_is_judged_on_cases_of_their_own(own_cases):
    digests = {student: judged["cases_digest"] for student, judged in own_cases.first.items()}
    assert len(digests) == 6 and all(digests.values())
    assert len(set(digests.values())) == 6, digests


def test_the_same_notebook_earns_the_same_verdicts_on_other_cases(own_cases):
    for name, (first, second) in PAIRS.items():
        assert own_cases.marks[first] == own_cases.marks[second], name
        outcomes = [own_cases.first[s]["outcomes"] for s in (first, second)]
        assert outcomes[0] == outcomes[1], name
        expected = BY_NAME[name].expected_failures
        assert {g for g, o in outcomes[0].items() if o != "correct"} == set(expected), name
    named = [own_cases.first[s]["misconceptions"] for s in PAIRS["wrong_dbeta"]]
    assert named[0] == named[1] and "dbeta_diagonal_only" in named[0].values()


def test_identical_mistakes_are_still_found_on_different_cases(own_cases):
    groups = {(m.grade_id, m.students): m.misconception for m in same_mistakes(own_cases.root, LAB)}
    assert ("test_dloss_dy", ("cid", "dee")) in groups  # unnamed: found by the common case
    assert groups[("test_dloss_dy", ("cid", "dee"))] == ""
    assert any(students == ("eve", "fay") for _, students in groups)
    assert not any({"ann", "bob"} & set(students) for _, students in groups)
    # different mistakes are not grouped: the unnamed pair never with the named one
    assert not any({"cid", "eve"} <= set(students) for _, students in groups)


def test_a_students_cases_are_the_same_at_every_regrade(own_cases):
    for student, judged in own_cases.first.items():
        assert own_cases.again[student]["cases_digest"] == judged["cases_digest"], student
        assert own_cases.again[student]["outcomes"] == judged["outcomes"], student


def test_course_cases_shows_the_cases_the_student_was_judged_on(own_cases):
    shown = run_course("cases", LAB, "ann", "--json", cwd=own_cases.root)
    assert shown.returncode == 0, shown.stderr
    (notebook,) = json.loads(shown.stdout)
    assert notebook["cases_digest"] == own_cases.first["ann"]["cases_digest"]
    cells = {cell["grade_id"]: cell for cell in notebook["cells"]}
    assert "test_dloss_dW1" in cells and cells["test_dloss_dW1"]["cases"]
    other = json.loads(run_course("cases", LAB, "bob", "--json", cwd=own_cases.root).stdout)
    assert other[0]["cells"][0]["cases"] != notebook["cells"][0]["cases"]
    readable = run_course("cases", LAB, "ann", cwd=own_cases.root)
    assert readable.returncode == 0 and "case 1" in readable.stdout


def test_the_secret_reaches_neither_the_release_nor_the_workers(own_cases):
    root = own_cases.root
    secret = course_secret(root)
    path = secret_path(root)
    assert root.resolve() not in path.resolve().parents
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    texts = (secret.hex().encode(), secret)
    kit = pack(grading_kit(root, LAB))
    released = b"".join(p.read_bytes() for p in (root / "release").rglob("*") if p.is_file())
    for text in texts:
        assert text not in kit and text not in released
    key = case_key(secret, LAB, "ann")  # what a worker gets: one student's key, not the secret
    assert secret.hex() not in key and key != case_key(secret, LAB, "bob")
    assert key != case_key(secret, "lab2", "ann")


def test_a_secret_inside_the_course_or_lost_after_grading_stops_grading(own_cases, tmp_path):
    root = own_cases.root
    config = root / "nbgrader_config.py"
    original = config.read_text()
    try:
        config.write_text(original + '\nc.Course.secret_file = "course.secret"\n')
        inside = run_course("grade", LAB, "--quiet", cwd=root)
        assert inside.returncode == 2 and "inside the course folder" in inside.stderr
        config.write_text(original + f'\nc.Course.secret_file = "{tmp_path / "gone.secret"}"\n')
        lost = run_course("grade", LAB, "--force", "--quiet", cwd=root)
        assert lost.returncode == 2 and "is missing" in lost.stderr, lost.stderr
        assert not (tmp_path / "gone.secret").exists()  # never silently replaced
        shown = run_course("cases", LAB, "ann", cwd=root)
        assert shown.returncode == 2 and "is missing" in shown.stderr
    finally:
        config.write_text(original)
    again = run_course("init-secret", cwd=root)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_without_a_case_key_the_judge_grades_no_one(own_cases):
    """A grading path that lost the student's key must not fall back to the notebook's seeds,
    which every student shares."""
    from course.nbgrader_ext.judge_cells import JudgeGradeCells
    from course.nbgrader_setup import load_config

    source = own_cases.root / "source" / LAB / "classification.ipynb"
    nb = nbformat.read(source, as_version=4)
    judge = JudgeGradeCells(config=load_config(own_cases.root))
    resources = {"nbgrader": {"assignment": LAB, "notebook": "classification", "student": "ann"}}
    with pytest.raises(ValueError, match="no case key for ann"):
        judge.preprocess(nb, resources)
