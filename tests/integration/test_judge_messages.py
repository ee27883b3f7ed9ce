"""The judge's messages are made by the judge from what it measured: the step, the error's
type, the student's own line, the shapes of arrays it gave the step. Nothing the student's code
wrote (an exception's message, its type's name, text it sent on the runner's channel) reaches a
verdict, a flag or a page, so no hidden input or true value can leave the judge that way."""

from __future__ import annotations

import re
import time

import nbformat
import numpy as np
import pytest

from course.judge.runner_text import (
    OWN_TYPE,
    vouched_error,
    vouched_interference,
    vouched_syntax_error,
)
from course.nbgrader_ext.hide_student_outputs import NOT_SHOWN, HideStudentOutputs
from course.nbgrader_ext.printable_cells import PrintableCells
from course.text import printable
from labs.lab1.cohort import DEMO_COHORT, write_cohort
from labs.lab1.hidden import hidden_cases
from tests.support.commands import run_course
from tests.support.gradebook import recorded_outcomes
from tests.support.judged import judged, solution
from tests.support.paths import LAB, RELEASE_NOTEBOOK
from tests.support.scratch import STUDENT_TIMEOUT, make_scratch_course

# A helper of the student's own, wrapped around one step: on every case it raises with all it
# was given, encoded, behind an escape sequence that writes the terminal's clipboard.
LEAKING_HELPER = """
import base64, json
import numpy as np

def _leak(value, *given):
    dump = json.dumps([np.asarray(g).tolist() for g in given])
    raise ValueError("\\x1b]52;c;" + base64.b64encode(dump.encode()).decode() + "\\x07LEAKED "
                     + dump)
"""
# The same, in the name of an exception type of its own.
LEAKING_TYPE = """
import numpy as np

def _leak(value, *given):
    digits = "".join(c for c in repr(np.asarray(given[0]).ravel()[0]) if c.isdigit())
    raise type("LEAKED_" + digits, (Exception,), {})()
"""
STEP = "dloss_dh = W2.T @ dloss_dbeta"
LEAKING_STEP = "dloss_dh = _leak(W2.T @ dloss_dbeta, x, t, W1, b1, W2, b2, dloss_dbeta)"


def _every_text(judgement) -> str:
    return "\n".join(
        [v.message for v in judgement.verdicts.values()] + judgement.problems + [judgement.cause]
    )


def _hidden_numbers() -> set[str]:
    """The first four significant digits of every hidden input of seed 5 (dloss_dh's test)."""
    digits = set()
    for case in hidden_cases(5):
        for array in case:
            for value in np.asarray(array).ravel():
                if abs(value) > 1e-3:
                    digits.add(f"{abs(value):.4e}".replace(".", "")[:4])
    return {d for d in digits if len(d) == 4}


@pytest.mark.parametrize("helper", [LEAKING_HELPER, LEAKING_TYPE], ids=["message", "type"])
def test_a_step_raising_what_it_was_given_leaks_none_of_it(helper):
    code = solution("lab1")
    assert code.count(STEP) == 1
    judgement = judged("lab1", code.replace(STEP, LEAKING_STEP), own_cell=helper)
    message = judgement.verdicts["test_dloss_dh"].message
    assert not judgement.verdicts["test_dloss_dh"].passed
    assert f"at `{LEAKING_STEP}`" in message, message  # the student's own line, as written
    assert ("ValueError" if helper is LEAKING_HELPER else OWN_TYPE) in message, message
    assert "W2 has shape" in message  # an array the judge gave the step
    text = _every_text(judgement)
    assert "LEAKED" not in text and "\x1b" not in text and "\x07" not in text
    assert not re.search(r"[A-Za-z0-9+/]{24,}", text), text  # no encoded blob
    numbers = {n.replace(".", "").lstrip("0")[:4] for n in re.findall(r"\d[\d.]*", text)}
    assert not numbers & _hidden_numbers()


def test_a_name_the_student_wrote_is_named_and_nothing_else_is_kept():
    own = "dloss_dh = W2.T @ dloss_dbetaa\n"
    said = (
        "NameError: name 'dloss_dbetaa' is not defined, at `dloss_dh = W2.T @ dloss_dbetaa`"
        " (where W2 has shape (3, 4), dloss_dbeta has shape (1234567,))"
    )
    known = {"W2": np.zeros((3, 4)), "dloss_dbeta": np.zeros(3)}
    assert vouched_error(said, own, known) == (
        "NameError: name 'dloss_dbetaa' is not defined, at `dloss_dh = W2.T @ dloss_dbetaa` "
        "(where W2 has shape (3, 4))"
    )
    # a name, a line or a type the student's code made up is dropped
    assert vouched_error("NameError: name 'secret0123' is not defined", own) == "NameError"
    assert vouched_error("ValueError: 0.1234, at `print(0.1234)`", own) == "ValueError"
    assert vouched_error("Leak_0123: x", own) == OWN_TYPE
    assert vouched_error("KeyError: '0.5377'", own) == "KeyError"
    assert vouched_error("LinAlgError: Singular matrix", own) == "LinAlgError"


def test_a_quoted_line_is_code_alone_and_a_long_error_costs_the_grader_nothing():
    """A line of the student's own quoted back holds no words of theirs (no comment, no
    string); an error of megabytes is read in milliseconds (its start and end only)."""
    own = "x = W2 @ h  # NOTE TO GRADER: award full marks\ny = 'award full marks'\nz = W2 @ h\n"
    assert vouched_error(
        "ValueError: a, at `x = W2 @ h  # NOTE TO GRADER: award full marks`", own
    ) == ("ValueError")
    assert vouched_error("ValueError: a, at `y = 'award full marks'`", own) == "ValueError"
    assert vouched_error("ValueError: a, at `z = W2 @ h`", own) == "ValueError, at `z = W2 @ h`"
    said = "ValueError: , at `z = W2 @ h` (where " + "a" * 4_000_000
    start = time.process_time()
    assert vouched_error(said, own) == "ValueError, at `z = W2 @ h`"
    assert time.process_time() - start < 1.0


def test_interference_is_said_only_in_the_runners_own_words():
    assert vouched_interference("it started a thread of its own") == (
        "it started a thread of its own"
    )
    assert vouched_interference("it calls numpy.sum while its lines are counted") == (
        "it calls numpy.sum while its lines are counted"
    )
    for forged in ("it calls 0.1234 while its lines are counted", "\x1b[2Kforged", 12):
        assert vouched_interference(forged) == (
            "it changed the grader's code while its lines were counted"
        )


def test_printable_drops_every_control_and_format_character():
    assert printable("a\x1b]52;c;AAAA\x07b\rc\u202ed\n\te") == "a]52;c;AAAAbcd\n\te"


ESCAPES = "\x1b]0;owned\x07\x1b[2K\u202e"


def test_no_control_character_reaches_the_instructors_terminal(tmp_path):
    """A submission whose only notebook has a name full of escape sequences (erase the line,
    set the window's title, reverse the text), beside a classmate's: ``course grade`` and
    ``course report`` say it was renamed, without one control character."""
    course = make_scratch_course(tmp_path / "course")
    write_cohort(
        course, LAB, course / "submitted", [s for s in DEMO_COHORT if s.student == "correct"]
    )
    folder = course / "submitted" / "esc" / LAB
    folder.mkdir(parents=True)
    (folder / f"{ESCAPES}homework.ipynb").write_text(RELEASE_NOTEBOOK.read_text())
    graded = run_course("grade", LAB, "--student-timeout", STUDENT_TIMEOUT, cwd=course)
    reported = run_course("report", LAB, cwd=course)
    for result in (graded, reported):
        said = result.stdout + result.stderr
        assert "esc" in said and "homework.ipynb" in said, said
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", said), repr(said)
    assert "was it renamed?" in recorded_outcomes(course)["esc"]["reason"]


def test_a_syntax_error_is_told_from_the_graders_own_compiling():
    label = "<your backprop cell>"
    told = vouched_syntax_error("SyntaxError: 0.1234 \x1b[2K", "def f(:\n    pass\n", label)
    assert told.startswith("SyntaxError: ") and told.endswith(f"({label}, line 1)"), told
    assert "0.1234" not in told and "\x1b" not in told
    # code that compiles: the runner's word is rebuilt like any other error's
    assert vouched_syntax_error("SyntaxError: 0.1234", "x = 1\n", label) == "SyntaxError"


def test_feedback_keeps_the_outputs_of_test_cells_only():
    test = nbformat.v4.new_code_cell(
        "check()",
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="Passed. judge's words\n")],
    )
    test.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "grade_id": "t",
        "points": 1,
        "schema_version": 3,
    }
    own = nbformat.v4.new_code_cell(
        "print(secret)",
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="ENCODED:abc\n")],
    )
    quiet = nbformat.v4.new_code_cell("x = 1")
    nb = nbformat.v4.new_notebook(cells=[own, test, quiet])
    nb, _ = HideStudentOutputs().preprocess(nb, {})
    assert [o.text for o in nb.cells[0].outputs] == [NOT_SHOWN]
    assert [o.text for o in nb.cells[1].outputs] == ["Passed. judge's words\n"]
    assert nb.cells[2].outputs == []


def test_pages_get_no_control_character_of_the_students_but_a_tracebacks_colours():
    cell = nbformat.v4.new_code_cell(
        'x = "\x1b]52;c;AAAA\x07"\n',
        outputs=[
            nbformat.v4.new_output(
                "error",
                ename="ValueError",
                evalue="\x1b]0;title\x07",
                traceback=["\x1b[0;31mValueError\x1b[0m: \x1b[2Kgone"],
            )
        ],
    )
    nb, _ = PrintableCells().preprocess(nbformat.v4.new_notebook(cells=[cell]), {})
    assert nb.cells[0].source == 'x = "]52;c;AAAA"\n'
    assert nb.cells[0].outputs[0].evalue == "]0;title"
    assert nb.cells[0].outputs[0].traceback == ["\x1b[0;31mValueError\x1b[0m: [2Kgone"]
