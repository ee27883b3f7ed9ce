"""A written answer the student deleted, or left as released while writing beside it, is never
left to score 0 unseen nor to wait for a grade no one can give (course.nbgrader_ext.judge_cells):
a deleted one is put back as released (the stub, never the instructor's answer or rubric),
scoring 0 at once; one left as released with the student's own markdown beside it is named."""

from __future__ import annotations

import copy

import nbformat
from nbgrader.utils import determine_grade

from course.nbgrader_ext.judge_cells import answers_written_elsewhere, restore_deleted_answers
from course.notebooks import cell_by_grade_id
from tests.support.paths import RELEASE_NOTEBOOK, SOURCE_NOTEBOOK

STUB = "YOUR ANSWER HERE"
ANSWER = "answer_dloss_dh"


def _notebooks():
    return nbformat.read(SOURCE_NOTEBOOK, 4), nbformat.read(RELEASE_NOTEBOOK, 4)


def test_a_deleted_answer_is_put_back_as_released_and_scores_0():
    source, release = _notebooks()
    submitted = copy.deepcopy(release)
    index = submitted.cells.index(cell_by_grade_id(submitted, ANSWER))
    del submitted.cells[index]
    assert restore_deleted_answers(submitted, source, STUB) == [ANSWER]
    put_back = submitted.cells[index]
    assert put_back.metadata.nbgrader["grade_id"] == ANSWER and put_back.source == STUB
    assert determine_grade(put_back) == (0, 1)  # at once: nothing waits for a hand
    assert "Rubric" not in nbformat.writes(submitted)
    assert restore_deleted_answers(release, source, STUB) == []  # nothing missing


def test_an_answer_left_as_released_beside_markdown_of_the_students_is_named():
    source, release = _notebooks()
    assert answers_written_elsewhere(release, source, STUB) == []
    beside = copy.deepcopy(release)
    index = beside.cells.index(cell_by_grade_id(beside, ANSWER))
    beside.cells.insert(index + 1, nbformat.v4.new_markdown_cell("dh = W2.T times dbeta"))
    assert answers_written_elsewhere(beside, source, STUB) == [ANSWER]
    cell_by_grade_id(beside, ANSWER).source = "my answer, in its cell"
    assert answers_written_elsewhere(beside, source, STUB) == []
