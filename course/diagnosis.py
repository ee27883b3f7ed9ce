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
    "scored 0/20: syntax error at line 22 of the backprop cell: unmatched ')'", "...: blank:
    ...", "...: crash in test_x: ...", or "...: wrong values in N of M tests (first: ...)"."""
    if max_score <= 0 or score > LOW_SCORE_FRACTION * max_score:
        return ""
    prefix = f"scored {score:g}/{max_score:g}: "
    if cause:
        return prefix + cause
    for cell in nb.cells:  # the student's own cells: the first one that could not run
        if cell.cell_type != "code" or not _nbgrader(cell).get("solution"):
            continue
        for error in _errors(cell):
            name = _nbgrader(cell).get("grade_id", "solution")
            if error.get("ename") in SYNTAX_ERRORS:
                return prefix + describe_syntax_error(error.get("evalue", ""), name)
            return prefix + (f"the {name} cell raised {error.get('ename')}: "
                             f"{error.get('evalue', '')}".strip())
    tests = [cell for cell in nb.cells
             if cell.cell_type == "code" and _nbgrader(cell).get("grade")
             and not _nbgrader(cell).get("solution")]
    failed = [(_nbgrader(cell).get("grade_id", "?"), error.get("evalue", ""))
              for cell in tests for error in _errors(cell)[:1]]
    if not failed:
        return prefix + "every test ran without an error; see the graded notebook"
    blank = [grade_id for grade_id, message in failed if BLANK_MARK in message]
    if blank:
        return prefix + (f"blank: {len(blank)} of {len(tests)} tests reach code still left as "
                         "`raise NotImplementedError()`")
    crashed = [(grade_id, message) for grade_id, message in failed if " raised " in message]
    if crashed:
        grade_id, message = crashed[0]
        return prefix + f"crash in {grade_id}: {_first_sentence(message)}"
    return prefix + f"wrong values in {len(failed)} of {len(tests)} tests (first: {failed[0][0]})"


def _first_sentence(text: str, limit: int = 200) -> str:
    sentence = text.strip().split(". ")[0]
    return sentence[:limit]
