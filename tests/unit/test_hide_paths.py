"""course.nbgrader_ext.hide_paths: feedback shows file names and lines, never the grader's
folders."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course.nbgrader_ext.hide_paths import HideGraderPaths, hide_paths

TRACEBACK = (
    "\x1b[0;32m/srv/course/helpers/lab1.py:144\x1b[0m, in \x1b[0;36mcheck_step\x1b[0m\n"
    "File /tmp/ipykernel_812/624334389.py:22, in backprop(x, t)"
)


def test_paths_are_cut_to_their_file_and_cells_are_named():
    text = hide_paths(TRACEBACK)
    assert "/srv" not in text and "/tmp" not in text and "ipykernel" not in text
    assert "lab1.py:144" in text and "this cell:22" in text
    assert hide_paths("invalid syntax (624334389.py, line 22)") == (
        "invalid syntax (this cell, line 22)"
    )


def test_web_addresses_and_plain_words_are_left_alone():
    for text in ("see https://numpy.org/doc/stable/reference/ufuncs.html", "a/b", "1/2 of it"):
        assert hide_paths(text) == text


def test_every_kind_of_output_is_cleaned():
    cell = new_code_cell(
        "backprop()",
        outputs=[
            new_output(
                "error",
                ename="ValueError",
                evalue="bad (/opt/py/lib/site.py)",
                traceback=[TRACEBACK],
            ),
            new_output("stream", name="stderr", text="/usr/lib/python3/warnings.py:1: Warning\n"),
            new_output(
                "execute_result",
                data={"text/plain": "'/home/grader/course/x.txt'"},
                execution_count=1,
            ),
        ],
    )
    nb, _ = HideGraderPaths().preprocess(new_notebook(cells=[cell]), {})
    text = nbformat.writes(nb)
    for folder in ("/opt/py", "/srv/course", "/usr/lib", "/home/grader", "/tmp/ipykernel"):
        assert folder not in text


def test_relative_paths_dates_and_data_are_left_alone():
    for text in ("labs/lab1/judge.py", "2024/01/02", "data:image/png;base64,iVBOR/w0K/Gg=="):
        assert hide_paths(text) == text


def test_a_hidden_line_with_paths_slipped_in_is_still_caught():
    """Paths are cut before hidden lines are looked for (the course's feedback steps, in
    order): a hidden line printed with a path inside it does not reappear whole."""
    from course.nbgrader_setup import load_config
    from tests.support.paths import ROOT

    grade = {
        "nbgrader": {
            "grade": True,
            "grade_id": "test_it",
            "points": 1,
            "solution": False,
            "locked": True,
            "schema_version": 3,
        }
    }
    hidden = "check_it(answer, seed=7)"
    test = new_code_cell(
        f"visible()\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS", metadata=grade
    )
    leak = new_code_cell(
        "print(stolen)",
        outputs=[new_output("stream", name="stdout", text="check_it(/x/answer, seed=7)\n")],
    )
    nb, resources = new_notebook(cells=[test, leak]), {}
    config = load_config(ROOT)
    for step in config.GenerateFeedback.preprocessors:
        if step.__name__ in ("HideGraderPaths", "HideHiddenTests"):
            nb, resources = step(config=config).preprocess(nb, resources)
    assert hidden not in nbformat.writes(nb)
