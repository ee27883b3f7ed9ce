"""course.diagnosis: the one line that says why a student got (almost) nothing."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_notebook, new_output

from course.diagnosis import BLANK, CRASHED, NOT_GRADED, WRONG, classify_failure, explain_low_score


def _test(grade_id: str, message: str | None, ename: str = "AssertionError"):
    meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": 2}}
    outputs = [] if message is None else [new_output("error", ename=ename, evalue=message,
                                                     traceback=[])]
    return new_code_cell("check()", metadata=meta, outputs=outputs)


def _solution(*outputs):
    meta = {"nbgrader": {"grade": False, "solution": True, "grade_id": "backprop"}}
    return new_code_cell("def backprop(): ...", metadata=meta, outputs=list(outputs))


def test_failures_are_classified_by_what_happened():
    assert classify_failure({"ename": "AssertionError", "evalue": "dloss_dy is wrong"}) == WRONG
    assert classify_failure({"ename": "NotImplementedError", "evalue": ""}) == BLANK
    assert classify_failure({"ename": "AssertionError",
                             "evalue": "your code for this step raised KeyError"}) == CRASHED
    assert classify_failure({"ename": "AssertionError",
                             "evalue": "Not graded: the re-check ran past its 30 s budget."}
                            ) == NOT_GRADED


def test_the_kind_most_failed_tests_share_is_named():
    nb = new_notebook(cells=[_solution(), *(_test(f"test_{i}", "dloss is wrong") for i in range(9)),
                             _test("test_9", "raised NotImplementedError")])
    assert explain_low_score(nb, 0, 20) == (
        "scored 0/20: wrong values in 9 of 10 tests (first: test_0)")


def test_a_syntax_error_is_named_with_its_line_and_a_debugging_line_is_not_blamed():
    syntax = new_output("error", ename="SyntaxError",
                        evalue="unmatched ')' (624334389.py, line 22)", traceback=[])
    nb = new_notebook(cells=[_solution(syntax), _test("test_a", "Not run")])
    assert explain_low_score(nb, 0, 20) == (
        "scored 0/20: syntax error at line 22 of the backprop cell: unmatched ')'")
    debugging = new_output("error", ename="AttributeError", evalue="'tuple' has no 'shape'",
                           traceback=[])
    nb = new_notebook(cells=[_solution(debugging), _test("test_a", "dloss_dy is wrong")])
    assert "wrong values" in explain_low_score(nb, 0, 20)


def test_a_score_above_a_quarter_needs_no_explanation():
    nb = new_notebook(cells=[_solution(), _test("test_a", "dloss_dy is wrong")])
    assert explain_low_score(nb, 6, 20) == ""
    assert explain_low_score(nb, 5, 20).startswith("scored 5/20")
