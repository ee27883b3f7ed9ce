"""course.regions: the feedback hides exactly what nbgrader's release hides, however the
markers are written; the synthetic students' solutions are read with the same rule."""

from __future__ import annotations

import copy

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from course.nbgrader_ext.hide_hidden_tests import HideHiddenTests
from course.regions import (
    hidden_test_delimiters,
    region_lines,
    solution_delimiters,
    without_delimiters,
)

GRADE = {
    "nbgrader": {
        "grade": True,
        "grade_id": "test_it",
        "points": 1,
        "solution": False,
        "locked": True,
        "schema_version": 3,
    }
}


@pytest.mark.parametrize(
    "begin, end",
    [
        ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
        ("## BEGIN HIDDEN TESTS", "# END HIDDEN TESTS"),  # hidden by nbgrader all the same
        ("    # BEGIN HIDDEN TESTS (more cases)", "  ####  END HIDDEN TESTS"),
    ],
)
def test_feedback_hides_what_the_release_hides(begin, end):
    source = f"visible()\n{begin}\nsecret_check(seed=7)\n{end}\nalso_visible()"
    released = (
        ClearHiddenTests()
        .preprocess_cell(new_code_cell(source, metadata=copy.deepcopy(GRADE)), {}, 0)[0]
        .source
    )
    cell = new_code_cell(
        source,
        metadata=copy.deepcopy(GRADE),
        outputs=[new_output("stream", name="stdout", text="I read: secret_check(seed=7)\n")],
    )
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    shown = nb.cells[0]
    assert "secret_check" not in released and "secret_check" not in shown.source
    assert [line for line in shown.source.splitlines() if line] == [
        line for line in released.splitlines() if line
    ]
    assert "secret_check" not in shown.outputs[0]["text"]


def test_configured_delimiters_are_the_ones_read():
    config = Config()
    config.ClearHiddenTests.begin_test_delimiter = "x"  # a misspelt option changes nothing
    config.ClearHiddenTests.begin_test_delimeter = "START SECRET"
    config.ClearHiddenTests.end_test_delimeter = "STOP SECRET"
    delimiters = hidden_test_delimiters(config)
    assert region_lines("a\n# START SECRET\nb\n# STOP SECRET\nc", delimiters) == ["b"]


def test_a_solution_keeps_its_code_without_the_markers():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert without_delimiters(source, solution_delimiters()) == "def f():\n    return 1"
