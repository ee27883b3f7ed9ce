"""Why a student got nothing or almost nothing, in one line an instructor can act on.

A zero with status "graded" and no reason sends the instructor into the notebook; the usual
causes are few and visible in the graded notebook itself: a syntax error in the student's cell
(every test then fails on it), a blank left as released, one crash that every test runs into,
or wrong values throughout. :func:`explain_low_score` names the one that applies.
"""

from __future__ import annotations

import re

from course.outcomes import BLANK_ERROR, JUDGE_METADATA, TEST_OUTCOMES, TestOutcome

LOW_SCORE_FRACTION = 0.25  # at or below this share of the points, a score is explained
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
# "unmatched ')' (624334389.py, line 22)" as Python words a syntax error's message.
SYNTAX_POSITION = re.compile(r"^(?P<what>.*?) \((?P<file>[^()]*), line (?P<line>\d+)\)$")
CORRECT, WRONG, CRASHED = TestOutcome.CORRECT, TestOutcome.WRONG, TestOutcome.CRASHED
BLANK, NOT_GRADED = TestOutcome.BLANK, TestOutcome.NOT_GRADED


def classify_failure(error: dict, kind: str | None = None) -> TestOutcome:
    """How a failed test cell went: the judge's ``kind`` when it judged the cell; else (a
    trusted run, where the kernel's own tests count) from the type of its error output only:
    the released ``raise NotImplementedError()`` (BLANK), a check's AssertionError (WRONG), any
    other exception (CRASHED)."""
    if kind is not None:
        return TestOutcome(kind)
    name = error.get("ename", "")
    if name == BLANK_ERROR:
        return BLANK
    return WRONG if name in ("AssertionError", "CheckFailed") else CRASHED


def judged_outcomes(nb) -> dict[str, str]:
    """The judge's kind of each test cell it judged in the graded notebook ``nb``, by grade
    id (empty for a notebook the judge did not judge)."""
    outcomes = nb.metadata.get(JUDGE_METADATA, {}).get("outcomes")
    if not isinstance(outcomes, dict):
        return {}
    return {grade_id: kind for grade_id, kind in outcomes.items() if kind in TEST_OUTCOMES}


def outcome_of_test(cell, score: float, max_score: float, kind: str | None = None) -> TestOutcome:
    """How one graded test cell went: one of TEST_OUTCOMES, the judge's ``kind`` when it
    judged it (a student with no graded notebook is counted NOT_GRADED by the caller)."""
    if score >= max_score:
        return CORRECT
    errors = _errors(cell)
    if kind is not None or errors:
        return classify_failure(errors[0] if errors else {}, kind)
    return WRONG


def describe_syntax_error(evalue: str, cell: str) -> str:
    """ "syntax error at line N of the <cell> cell: what" from a SyntaxError's message."""
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


def explain_low_score(
    nb, score: float, max_score: float, cause: str = "", judged: bool = True
) -> str:
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
    tests = [
        cell
        for cell in nb.cells
        if cell.cell_type == "code"
        and _nbgrader(cell).get("grade")
        and not _nbgrader(cell).get("solution")
    ]
    failed = [
        (_nbgrader(cell).get("grade_id", "?"), error.get("evalue", ""))
        for cell in tests
        for error in _errors(cell)[:1]
    ]
    if not failed:
        return prefix + "every test ran without an error; see the graded notebook"
    recorded = judged_outcomes(nb) if judged else {}
    kinds = {
        grade_id: classify_failure(error, recorded.get(grade_id))
        for cell in tests
        for grade_id in [_nbgrader(cell).get("grade_id", "?")]
        for error in _errors(cell)[:1]
    }
    # The kind most of the failed tests share (on a tie: blank, then crashed, then wrong).
    count = {
        kind: sum(k == kind for k in kinds.values()) for kind in (BLANK, CRASHED, WRONG, NOT_GRADED)
    }
    most = max(count, key=lambda kind: count[kind])
    if most == BLANK:
        return prefix + (
            f"blank: {count[BLANK]} of {len(tests)} tests reach code still left "
            "as `raise NotImplementedError()`"
        )
    if most == CRASHED:
        grade_id, message = next((g, m) for g, m in failed if kinds[g] == CRASHED)
        return prefix + f"crash in {grade_id}: {_first_sentence(message)}"
    if most == NOT_GRADED:
        grade_id, message = next((g, m) for g, m in failed if kinds[g] == NOT_GRADED)
        return prefix + f"not graded ({grade_id}): {_first_sentence(message)}"
    return prefix + (
        f"wrong values in {count[WRONG]} of {len(tests)} tests (first: "
        f"{next(g for g, _ in failed if kinds[g] == WRONG)})"
    )


def _first_sentence(text: str, limit: int = 200) -> str:
    sentence = text.strip().split(". ")[0]
    return sentence[:limit]
