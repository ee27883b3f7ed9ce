"""Lab 1's instructor notebook and its committed student version, checked with nbgrader.

(nbval separately executes the source notebook and compares its stored outputs: it is
collected from source/ by the options in pyproject.toml.)
"""

from __future__ import annotations

import re

from nbgrader.validator import Validator

from course.nbgrader_setup import load_config
from course.notebooks import cell_by_grade_id
from course.regions import region_lines, solution_delimiters
from course.release import release_differences
from labs.lab1.cohort import ALL_TESTS
from tests.support.paths import LAB, RELEASE_NOTEBOOK, ROOT, SOURCE_NOTEBOOK


def nbgrader_cells(nb):
    return [cell for cell in nb.cells if "nbgrader" in cell.metadata]


def test_test_cells_are_the_documented_ones_with_docstrings(source_nb):
    graded = [
        c
        for c in nbgrader_cells(source_nb)
        if c.metadata.nbgrader.get("grade") and not c.metadata.nbgrader.get("solution")
    ]
    assert tuple(c.metadata.nbgrader.grade_id for c in graded) == ALL_TESTS
    for cell in graded:
        assert re.match(r'"""[^\n]+"""\n', cell.source), "a test starts with a one-line docstring"


def test_every_step_has_its_own_blank_named_in_a_surviving_comment(release_nb):
    backprop = cell_by_grade_id(release_nb, "backprop")
    assert backprop.source.count("raise NotImplementedError()") == 8
    for step in (
        "dloss_dy",
        "dloss_dbeta",
        "dloss_dW2",
        "dloss_db2",
        "dloss_dh",
        "dloss_dalpha",
        "dloss_dW1",
        "dloss_db1",
    ):
        assert re.search(
            rf"# {step}: gradient of the loss with respect to \w+, shape", backprop.source
        ), step
    assert "alpha = W1 @ x + b1" in backprop.source  # the forward pass is given


def test_release_holds_no_solution_hidden_test_or_output(source_nb, release_nb):
    text = RELEASE_NOTEBOOK.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "on_hidden_cases"):
        assert marker not in text
    lines_of = {
        cell.metadata.nbgrader["grade_id"]: region_lines(cell.source, solution_delimiters())
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    }
    assert set(lines_of) == {"backprop", "numerical_gradient"}
    assert len(lines_of["backprop"]) == 8  # one line a step
    solution_lines = [line for lines in lines_of.values() for line in lines]
    release_code = "\n".join(c.source for c in release_nb.cells)
    for line in solution_lines:
        assert line not in release_code
    assert all(not c.get("outputs") for c in release_nb.cells if c.cell_type == "code")


WRITTEN_ANSWERS = ("answer_dloss_dh", "answer_dloss_dW1")


def test_the_derived_steps_have_written_answers_graded_by_hand(source_nb, release_nb):
    """Each derived step has a markdown answer cell graded by hand: in the source, a model
    answer with its rubric; in the student version, nothing of either."""
    for grade_id in WRITTEN_ANSWERS:
        source, release = (
            cell_by_grade_id(source_nb, grade_id),
            cell_by_grade_id(release_nb, grade_id),
        )
        meta = source.metadata.nbgrader
        assert source.cell_type == "markdown" and meta["grade"] and meta["solution"]
        assert meta["points"] == 1 and "*Rubric" in source.source
        assert release.source == "YOUR ANSWER HERE"
    assert "Rubric" not in RELEASE_NOTEBOOK.read_text()


def test_committed_release_equals_a_fresh_generation():
    assert release_differences(ROOT, LAB) == []


def validate(path, invert=False):
    validator = Validator(config=load_config(ROOT))
    validator.invert = invert
    return validator.validate(str(path))


def test_nbgrader_validates_the_source_notebook():
    assert validate(SOURCE_NOTEBOOK) == {}


def test_every_test_cell_of_the_student_version_fails_until_filled_in():
    assert "passed" not in validate(RELEASE_NOTEBOOK, invert=True)
    failed = validate(RELEASE_NOTEBOOK)["failed"]
    unanswered = [f for f in failed if f["error"] == "You did not provide a response."]
    assert len(unanswered) == len(WRITTEN_ANSWERS)  # Validate asks for the written answers too
    tests = [f for f in failed if f not in unanswered]
    assert len(tests) == len(ALL_TESTS)
    assert all("NotImplementedError" in f["raw_error"] for f in tests)
