"""A student's session in JupyterLab, in a real browser: open the released lab, write the two
derivations and a numerical gradient, run it, read a failing test and the gradient check, type a
correct backprop into the cell, run again, and press nbgrader's Validate."""

from __future__ import annotations

import re
import shutil

import nbformat

from tests.support.browser import JupyterServer, screenshot
from tests.support.paths import LAB, NOTEBOOK, RELEASE_NOTEBOOK

# What a student might type: the provided gradient functions rather than the solution's
# inline forms. WRONG_DH is a real mistake (skipping the softmax on the way back to h).
ANSWER = """\
def backprop(x, t, W1, b1, W2, b2):
    alpha = W1 @ x + b1
    h = logistic(alpha)
    beta = W2 @ h + b2
    y = softmax(beta)
    dloss_dy = categorical_ce_grad(y, t)
    dloss_dbeta = softmax_grad(beta, dloss_dy)
    dloss_dW2 = np.outer(dloss_dbeta, h)
    dloss_db2 = dloss_dbeta.copy()
    dloss_dh = W2.T @ dloss_dbeta
    dloss_dalpha = logistic_grad(alpha) * dloss_dh
    dloss_dW1 = np.outer(dloss_dalpha, x)
    dloss_db1 = dloss_dalpha
    return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2
"""
WRONG_DH = ANSWER.replace("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = W2.T @ dloss_dy")
# The student's own central differences, written another way than the solution's.
NUMERICAL = """\
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
        it.iternext()
    return grad
"""
# The written derivations of steps 4 and 6, as a student types them (markdown, with LaTeX).
DERIVATIONS = (
    "$\\partial \\beta_c / \\partial h_j = W_{2,cj}$; summing over $c$ gives "
    "`W2.T @ dloss_dbeta`, shape $(m,)$.",
    "Only $\\alpha_j$ depends on $W_{1,ji}$, by $x_i$: the outer product of `dloss_dalpha` "
    "and `x`, shape $(m, d)$.",
)
UNANSWERED = "YOUR ANSWER HERE"

CELLS = ".jp-Notebook .jp-Cell"
ERRORS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
RUNNING = (
    "() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
    ".some(prompt => prompt.textContent.includes('*'))"
)


def run_all_cells(page) -> None:
    """Run > Run All Cells, as from the menu, and wait until no cell is queued or running."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()
    # a kernel still starting on a busy machine can take a while to take the first cell
    page.wait_for_function(RUNNING, polling="raf", timeout=60_000)
    page.wait_for_function(f"() => !({RUNNING})()", timeout=180_000)


def type_into(cell, code: str) -> None:
    """Replace the cell's text through its editor: click, select all, type (as a paste, which
    keeps the editor from indenting each typed line again)."""
    page = cell.page
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")  # leave the editor, as after typing


def test_a_student_fixes_backprop_in_jupyterlab_and_validates(page, tmp_path):
    course = tmp_path / "student"
    (course / LAB).mkdir(parents=True)
    shutil.copy(RELEASE_NOTEBOOK, course / LAB)
    # The lab's own switch for a short training run (3 epochs instead of 500), which nbgrader
    # sets while it validates: the plots are drawn all the same, 10 s sooner.
    with JupyterServer(
        course, tmp_path / "home", environment={"NBGRADER_EXECUTION": "validate"}
    ) as server:
        page.goto(server.login_url(f"lab/tree/{LAB}/{NOTEBOOK}.ipynb"))
        cells = page.locator(CELLS)
        page.wait_for_function(
            f"() => document.querySelectorAll('{CELLS}').length"
            f" === {len(nbformat.read(RELEASE_NOTEBOOK, 4).cells)}"
        )
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        screenshot(page, "student-lab-open")

        assert cells.filter(has_text=UNANSWERED).count() == len(DERIVATIONS)
        for derivation in DERIVATIONS:  # double-click a rendered answer to write in it
            answer = cells.filter(has_text=UNANSWERED).first
            answer.dblclick()
            type_into(answer, derivation)

        type_into(cells.filter(has_text="def numerical_gradient("), NUMERICAL)
        backprop_cell = cells.filter(has_text="def backprop(")
        type_into(backprop_cell, WRONG_DH)
        run_all_cells(page)
        # the rendered derivations, their formulas typeset
        assert cells.filter(has_text=UNANSWERED).count() == 0
        assert page.locator(".jp-MarkdownCell .MathJax, .jp-MarkdownCell mjx-container").count()
        # the gradient check the student runs before the tests blames the hidden layer
        gradcheck = cells.filter(has_text="numerical_gradient(loss_at_params").locator(
            ".jp-OutputArea-output"
        )
        checked = gradcheck.text_content()
        assert re.search(r"W2: largest relative error \S+ \(right\)", checked), checked
        assert re.search(r"W1: .*\(WRONG\)", checked) and re.search(r"b1: .*\(WRONG\)", checked)
        errors = page.locator(ERRORS)
        assert errors.count() == 1
        failing = cells.filter(has=errors)
        assert 'check_step("dloss_dh"' in failing.locator(".cm-content").text_content()
        message = errors.text_content().strip()
        # Our message, on its own: no traceback through the helpers that raised it.
        assert message.startswith("AssertionError: Step dloss_dh"), message
        assert "is wrong for this sample" in message and "Hint:" in message, message
        assert "Traceback" not in message and "helpers" not in message, message
        assert "\n" not in message, message
        failing.evaluate("cell => cell.scrollIntoView({block: 'center'})")
        screenshot(page, "student-failing-test")

        type_into(backprop_cell, ANSWER)
        run_all_cells(page)
        assert gradcheck.text_content().count("(right)") == 4
        code_cells = page.locator(".jp-CodeCell")
        prompts = code_cells.locator(".jp-InputArea-prompt").all_text_contents()
        assert all(p.strip().strip("[]:").strip().isdigit() for p in prompts), prompts
        # The only stderr left is the training loop's progress bar: no test failed.
        assert [e.text_content() for e in errors.all() if "it/s]" not in e.text_content()] == []
        images = page.locator(".jp-OutputArea-output img")
        widths = images.evaluate_all("imgs => imgs.map(img => img.complete && img.naturalWidth)")
        # one figure per cell that shows one (the data, the untrained network, the loss curve,
        # the decision regions), each loaded
        plotting = [
            cell
            for cell in nbformat.read(RELEASE_NOTEBOOK, 4).cells
            if cell.cell_type == "code" and "plt.show()" in cell.source
        ]
        assert len(widths) == len(plotting) and all(width > 100 for width in widths), widths

        page.get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog")
        dialog.get_by_text("Validation Results").wait_for(timeout=180_000)
        assert "Success! Your notebook passes all the tests." in dialog.text_content()
        screenshot(page, "student-validate")
        dialog.get_by_role("button", name="Ok").click()

    saved = nbformat.read(course / LAB / f"{NOTEBOOK}.ipynb", as_version=4)
    typed = [cell.source for cell in saved.cells if cell.source.startswith("def backprop(")]
    assert typed == [ANSWER.rstrip("\n")] or typed == [ANSWER], typed
    written = [c.source for c in saved.cells if c.metadata.get("nbgrader", {}).get("points")]
    written = [source for source in written if source in DERIVATIONS]
    assert written == list(DERIVATIONS)
