"""course.diagnosis: the one line that says why a student got (almost) nothing."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_notebook, new_output

from course.diagnosis import (
    BLANK,
    CORRECT,
    CRASHED,
    NOT_GRADED,
    WRONG,
    classify_failure,
    explain_low_score,
    judged_outcomes,
    outcome_of_test,
)
from course.outcomes import JUDGE_METADATA


def _test(grade_id: str, message: str | None, ename: str = "AssertionError"):
    meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": 2}}
    outputs = (
        [] if message is None else [new_output("error", ename=ename, evalue=message, traceback=[])]
    )
    return new_code_cell("check()", metadata=meta, outputs=outputs)


def _solution(*outputs):
    meta = {"nbgrader": {"grade": False, "solution": True, "grade_id": "backprop"}}
    return new_code_cell("def backprop(): ...", metadata=meta, outputs=list(outputs))


def _judged(nb, kinds: dict[str, str]):
    """``nb`` as the judge leaves it: each test's kind recorded in its metadata."""
    nb.metadata[JUDGE_METADATA] = {"outcomes": kinds}
    return nb


def test_a_judged_test_is_counted_as_the_judge_recorded_it_whatever_its_message_says():
    for kind in (WRONG, CRASHED, BLANK, NOT_GRADED):
        for message in (
            "dloss_dy is wrong",
            "your code for this step raised KeyError",
            "Not graded: the re-check ran past its budget.",
            "anything at all",
        ):
            cell = _test("test_a", message)
            nb = _judged(new_notebook(cells=[cell]), {"test_a": kind.value})
            assert outcome_of_test(cell, 0, 2, judged_outcomes(nb).get("test_a")) == kind
    cell = _test("test_a", "dloss_dy is wrong")
    assert outcome_of_test(cell, 2, 2, CRASHED.value) == CORRECT  # full marks are full marks


def test_a_test_no_judge_judged_is_counted_by_the_type_of_its_error():
    """A trusted run (the kernel's own tests count): the error's type, never its words."""
    assert classify_failure({"ename": "AssertionError", "evalue": "dloss_dy is wrong"}) == WRONG
    assert (
        classify_failure(
            {"ename": "AssertionError", "evalue": "your code for this step raised KeyError"}
        )
        == WRONG
    )
    assert classify_failure({"ename": "NotImplementedError", "evalue": ""}) == BLANK
    assert classify_failure({"ename": "KeyError", "evalue": "'W1'"}) == CRASHED


def test_a_kind_the_judge_never_writes_is_ignored():
    nb = _judged(
        new_notebook(cells=[_test("test_a", "wrong")]),
        {"test_a": "perfect", "test_b": CRASHED.value},
    )
    assert judged_outcomes(nb) == {"test_b": CRASHED.value}


def test_the_kind_most_failed_tests_share_is_named():
    nb = new_notebook(
        cells=[
            _solution(),
            *(_test(f"test_{i}", "dloss is wrong") for i in range(9)),
            _test("test_9", "raised NotImplementedError"),
        ]
    )
    kinds = {f"test_{i}": WRONG.value for i in range(9)} | {"test_9": BLANK.value}
    assert explain_low_score(_judged(nb, kinds), 0, 20) == (
        "scored 0/20: wrong values in 9 of 10 tests (first: test_0)"
    )
    kinds = {f"test_{i}": BLANK.value for i in range(9)} | {"test_9": WRONG.value}
    assert explain_low_score(_judged(nb, kinds), 0, 20).startswith("scored 0/20: blank: 9 of 10")
    # what a student's notebook says of itself counts only where the judge ran
    assert "wrong values" in explain_low_score(_judged(nb, kinds), 0, 20, judged=False)


def test_a_syntax_error_is_named_with_its_line_and_a_debugging_line_is_not_blamed():
    syntax = new_output(
        "error", ename="SyntaxError", evalue="unmatched ')' (624334389.py, line 22)", traceback=[]
    )
    nb = new_notebook(cells=[_solution(syntax), _test("test_a", "Not run")])
    assert explain_low_score(nb, 0, 20) == (
        "scored 0/20: syntax error at line 22 of the backprop cell: unmatched ')'"
    )
    debugging = new_output(
        "error", ename="AttributeError", evalue="'tuple' has no 'shape'", traceback=[]
    )
    nb = new_notebook(cells=[_solution(debugging), _test("test_a", "dloss_dy is wrong")])
    assert "wrong values" in explain_low_score(nb, 0, 20)


def test_a_score_above_a_quarter_needs_no_explanation():
    nb = new_notebook(cells=[_solution(), _test("test_a", "dloss_dy is wrong")])
    assert explain_low_score(nb, 6, 20) == ""
    assert explain_low_score(nb, 5, 20).startswith("scored 5/20")
