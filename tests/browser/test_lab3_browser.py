"""A student's session with Lab 3 in JupyterLab, in a real browser: the layers written but
ReLU's slope at its kink taken as 1, run all, read the failing test's question, fix the one
line, run again (the network's and training's tests passed all along, with the graders'
layers), and press nbgrader's Validate."""

from __future__ import annotations

import nbformat

from labs import cohorts
from labs.lab3.cohort import DEMO_COHORT
from tests.browser.test_student_browser import CELLS, ERRORS, run_all_cells, type_into
from tests.support.browser import JupyterServer, screenshot
from tests.support.judged import NOTEBOOKS, notebooks

LAB = "lab3"
KINK = next(s for s in DEMO_COHORT if s.student == "relu_slope_at_kink")
RIGHT_RELU_BACKWARD = """\
def relu_backward(dout, cache):
    return dout * (cache > 0)
"""


def test_a_student_reads_a_layer_s_question_fixes_it_and_validates(page, tmp_path):
    source, release = notebooks(LAB)
    course = tmp_path / "student"
    (course / LAB).mkdir(parents=True)
    path = course / LAB / NOTEBOOKS[LAB]
    nbformat.write(cohorts.build_submission(source, release, KINK, "relu_backward"), path)
    with JupyterServer(course, tmp_path / "home") as server:
        page.goto(server.login_url(f"lab/tree/{LAB}/{NOTEBOOKS[LAB]}"))
        cells = page.locator(CELLS)
        page.wait_for_function(
            f"() => document.querySelectorAll('{CELLS}').length === {len(release.cells)}"
        )
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        run_all_cells(page)
        errors = page.locator(ERRORS)
        assert errors.count() == 1, [e.text_content() for e in errors.all()]
        failing = cells.filter(has=errors)
        assert "check_relu_backward(" in failing.locator(".cm-content").text_content()
        message = errors.text_content().strip()
        assert message.startswith("AssertionError: relu_backward's dA"), message
        assert "what slope does the notebook take for ReLU at its kink?" in message, message
        assert "Traceback" not in message and "helpers" not in message, message
        failing.evaluate("cell => cell.scrollIntoView({block: 'center'})")
        screenshot(page, "student-lab3-failing-layer")

        type_into(cells.filter(has_text="def relu_backward("), RIGHT_RELU_BACKWARD)
        run_all_cells(page)
        assert errors.count() == 0, [e.text_content() for e in errors.all()]
        widths = page.locator(".jp-OutputArea-output img").evaluate_all(
            "imgs => imgs.map(img => img.complete && img.naturalWidth)"
        )
        assert len(widths) == 2 and all(width > 100 for width in widths), widths
        page.get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog")
        dialog.get_by_text("Validation Results").wait_for(timeout=180_000)
        assert "Success! Your notebook passes all the tests." in dialog.text_content()
        dialog.get_by_role("button", name="Ok").click()
    saved = nbformat.read(path, as_version=4)
    assert any(cell.source.strip() == RIGHT_RELU_BACKWARD.strip() for cell in saved.cells)
