"""Why a student got nothing or almost nothing, in one line an instructor can act on.

A zero with status "graded" and no reason sends the instructor into the notebook; the usual
causes are few and visible in the graded notebook itself: a syntax error in the student's cell
(every test then fails on it), a blank left as released, one crash that every test runs into,
or wrong values throughout. :func:`explain_low_score` names the one that applies.
"""

from __future__ import annotations

import re

LOW_SCORE_FRACTION = 0.25  # at or below this share of the points, a score is explained
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
# "unmatched ')' (624334389.py, line 22)" as Python words a syntax error's message.
SYNTAX_POSITION = re.compile(r"^(?P<what>.*?) \((?P<file>[^()]*), line (?P<line>\d+)\)$")
BLANK_MARK = "NotImplementedError"


CORRECT, WRONG, CRASHED, BLANK, NOT_GRADED = (
    "correct", "wrong value", "crashed", "blank", "not graded")
TEST_OUTCOMES = (CORRECT, WRONG, CRASHED, BLANK, NOT_GRADED)  # how a test went, for the report


def classify_failure(error: dict) -> str:
    """BLANK, CRASHED, WRONG or NOT_GRADED for a failed test cell's error output: still the
    released ``raise NotImplementedError()``, code that raised (or could not run at all), a
    value the test found wrong, or no verdict (the judge could not finish)."""
    message = error.get("evalue", "")
    if BLANK_MARK in message or error.get("ename") == BLANK_MARK:
        return BLANK
    if message.startswith("Not graded"):  # the judge could not finish: no verdict on the code
        return NOT_GRADED
    if (error.get("ename") != "AssertionError" or " raised " in message
            or "could not be run" in message or message.startswith("Not run")):
        return CRASHED
    return WRONG


def outcome_of_test(cell, score: float, max_score: float) -> str:
    """How one graded test cell went: one of TEST_OUTCOMES (NOT_GRADED when the judge could
    not finish; a student with no graded notebook is counted as such by the caller)."""
    if score >= max_score:
        return CORRECT
    errors = _errors(cell)
    return classify_failure(errors[0]) if errors else WRONG


def describe_syntax_error(evalue: str, cell: str) -> str:
    """"syntax error at line N of the <cell> cell: what" from a SyntaxError's message."""
    match = SYNTAX_POSITION.match(evalue.strip())
    if not match:
        return f"syntax error in the {cell} cell: {evalue.strip()}"
    return f"syntax error at line {match['line']} of the {cell} cell: {match['what']}"


def _errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def describe_definition_error(error: str, cell: str) -> str:
    """The judge's "Name: message" for a cell that could not be run, as a cause."""
    name, _, message = error.partition(": ")
    if name in SYNTAX_ERRORS:
        return describe_syntax_error(message, cell)
    return f"the {cell} cell could not be run: {error}"


def explain_low_score(nb, score: float, max_score: float, cause: str = "") -> str:
    """Why the graded notebook ``nb`` scored ``score`` of ``max_score``, when that is at most
    LOW_SCORE_FRACTION of it ("" otherwise): the judge's ``cause`` when it found one, else
    "scored 0/20: syntax error at line 22 of the <graded> cell: unmatched ')'", "...: blank:
    ...", "...: crash in test_x: ...", or "...: wrong values in N of M tests (first: ...)"."""
    if max_score <= 0 or score > LOW_SCORE_FRACTION * max_score:
        return ""
    prefix = f"scored {score:g}/{max_score:g}: "
    if cause:
        return prefix + cause
    for cell in nb.cells:  # the student's own cells: one that does not even compile
        if cell.cell_type != "code" or not _nbgrader(cell).get("solution"):
            continue
        for error in _errors(cell):  # (other errors there may be a stray debugging line)
            if error.get("ename") in SYNTAX_ERRORS:
                name = _nbgrader(cell).get("grade_id", "solution")
                return prefix + describe_syntax_error(error.get("evalue", ""), name)
    tests = [cell for cell in nb.cells
             if cell.cell_type == "code" and _nbgrader(cell).get("grade")
             and not _nbgrader(cell).get("solution")]
    failed = [(_nbgrader(cell).get("grade_id", "?"), error.get("evalue", ""))
              for cell in tests for error in _errors(cell)[:1]]
    if not failed:
        return prefix + "every test ran without an error; see the graded notebook"
    kinds = {grade_id: classify_failure(error) for cell in tests
             for grade_id in [_nbgrader(cell).get("grade_id", "?")] for error in _errors(cell)[:1]}
    # The kind most of the failed tests share (on a tie: blank, then crashed, then wrong).
    count = {kind: sum(k == kind for k in kinds.values()) for kind in (BLANK, CRASHED, WRONG,
                                                                       NOT_GRADED)}
    most = max(count, key=lambda kind: count[kind])
    if most == BLANK:
        return prefix + (f"blank: {count[BLANK]} of {len(tests)} tests reach code still left "
                         "as `raise NotImplementedError()`")
    if most == CRASHED:
        grade_id, message = next((g, m) for g, m in failed if kinds[g] == CRASHED)
        return prefix + f"crash in {grade_id}: {_first_sentence(message)}"
    if most == NOT_GRADED:
        grade_id, message = next((g, m) for g, m in failed if kinds[g] == NOT_GRADED)
        return prefix + f"not graded ({grade_id}): {_first_sentence(message)}"
    return prefix + (f"wrong values in {count[WRONG]} of {len(tests)} tests (first: "
                     f"{next(g for g, _ in failed if kinds[g] == WRONG)})")


def _first_sentence(text: str, limit: int = 200) -> str:
    sentence = text.strip().split(". ")[0]
    return sentence[:limit]
