"""The course's folders are where ``nbgrader_config.py`` puts them: a course that renames
nbgrader's folders is collected, graded, reported and handed back in those folders."""

from __future__ import annotations

import pytest

from course import layout
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from tests.support.commands import run_course
from tests.support.gradebook import scores
from tests.support.paths import LAB
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course

RENAMED = {"submitted": "handins", "autograded": "graded", "feedback": "returned"}
RENAMED_CONFIG = (
    "".join(f'\nc.CourseDirectory.{step}_directory = "{name}"' for step, name in RENAMED.items())
    + "\n"
)


def test_each_folder_is_the_configured_one(tmp_path):
    """The layout follows the configuration, and again after it changes."""
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n")
    assert layout.submitted(tmp_path, "ada", LAB) == tmp_path / "submitted" / "ada" / LAB
    config.write_text("c = get_config()\n" + RENAMED_CONFIG)
    assert layout.submitted(tmp_path, "ada", LAB) == tmp_path / "handins" / "ada" / LAB
    assert layout.autograded(tmp_path, "ada", LAB) == tmp_path / "graded" / "ada" / LAB
    assert layout.feedback(tmp_path, "ada", LAB) == tmp_path / "returned" / "ada" / LAB
    assert layout.source(tmp_path, LAB) == tmp_path / "source" / LAB


def test_a_directory_structure_the_tools_cannot_follow_is_refused_by_name(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        'c.CourseDirectory.directory_structure = "{assignment_id}/{nbgrader_step}/{student_id}"\n'
    )
    with pytest.raises(layout.LayoutError, match=r"directory_structure.*remove that line"):
        layout.folder(tmp_path, "submitted")


def test_a_course_with_renamed_folders_is_graded_in_them(tmp_path):
    """Collected into ``handins/``, graded into ``graded/``, pages in ``returned/``; the
    default folders never appear; a right and a wrong submission get their scores."""
    course = make_scratch_course(tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(RENAMED_CONFIG)
    students = ("correct", "wrong_dbeta")
    write_cohort(
        course,
        LAB,
        course / "incoming",
        tuple(s for s in DEMO_COHORT if s.student in students),
        flat=True,
    )
    for command in (
        ("collect", LAB, "incoming"),
        ("grade", LAB, "--workers", "2", "--student-timeout", STUDENT_TIMEOUT, "--quiet"),
        ("report", LAB),
    ):
        ran = run_course(*command, cwd=course)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    for student in students:
        assert (course / "handins" / student / LAB / "classification.ipynb").is_file()
        assert (course / "graded" / student / LAB / "classification.ipynb").is_file()
        assert (course / "returned" / student / LAB / "classification.html").is_file()
    assert not any((course / step).exists() for step in RENAMED)
    totals = {s: sum(score for score, _ in scores(course, s).values()) for s in students}
    assert totals["correct"] == 22 and totals["wrong_dbeta"] < 22
