"""Which student folders may be read at all, and what grading says when one may not."""

from __future__ import annotations

import os

import pytest

from course.grading.student import _error_lines
from course.submissions import MAX_FILES, name_problem, tree_problem


@pytest.mark.parametrize("name", ["12345", "doejane", "Élodie", "jane.doe@uni.edu", "a_b-c+d"])
def test_ordinary_student_ids_are_safe(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["*", "a?b", "[ab]", "..", ".hidden", "a/b", "a b", "a\nb", ""])
def test_glob_characters_separators_and_dot_names_are_refused_saying_what_is_allowed(name):
    problem = name_problem(name)
    assert problem and "letters, digits and . _ - @ + only" in problem


def _folder(tmp_path):
    folder = tmp_path / "submitted" / "s1"
    (folder / "lab1").mkdir(parents=True)
    (folder / "lab1" / "classification.ipynb").write_text("{}")
    return folder


def test_a_folder_of_plain_files_is_accepted(tmp_path):
    assert tree_problem(_folder(tmp_path), "submitted/s1") is None


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda f, o: (f / "lab1" / "x.txt").symlink_to(o), "symbolic link"),
        (lambda f, o: (f / "lab1" / "x.txt").hardlink_to(o), "hard link"),
        (lambda f, o: os.mkfifo(f / "lab1" / "x.txt"), "named pipe"),
        (
            lambda f, o: [(f / "lab1" / f"{i}.txt").write_text("") for i in range(MAX_FILES + 1)],
            "more than",
        ),
    ],
)
def test_links_special_files_and_floods_are_refused_with_the_reason(tmp_path, make, says):
    folder = _folder(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("not theirs")
    make(folder, outside)
    problem = tree_problem(folder, "submitted/s1")
    assert problem and says in problem and problem.startswith("submitted/s1")


def test_a_linked_lab_folder_is_refused(tmp_path):
    folder = tmp_path / "submitted" / "s1"
    folder.mkdir(parents=True)
    (folder / "lab1").symlink_to(tmp_path)
    assert "symbolic link" in tree_problem(folder, "submitted/s1")


NBGRADER_LOG = """\
[WARNING] Attribute 'checksum' for cell test_dloss_dy has changed! (should be: 5a, got: ff)
[WARNING] Checksum for grade cell test_dloss_dbeta has changed!
[ERROR] There was an error processing assignment: /course/submitted/s1/lab1
[ERROR] Traceback (most recent call last):
      File "nbclient/client.py", line 791, in _async_poll_for_reply
    nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed.
[WARNING] Removing failed assignment: /course/autograded/s1/lab1
[ERROR] Please see the the above traceback for details on the specific errors on the above failures.
"""


def test_failure_reasons_put_the_real_error_first_without_checksum_noise():
    lines = _error_lines(NBGRADER_LOG)
    assert lines[0].startswith("CellTimeoutError: A cell timed out")
    assert not any("checksum" in line.lower() or "Removing failed" in line for line in lines)
