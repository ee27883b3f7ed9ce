"""judge_runtime.grading_backend, the matplotlib backend of graded kernels: figures are built, never
drawn unless asked, closed by show() and after every cell, and nothing goes to stderr."""

import os
import subprocess
import sys

from course.grading.kernels import GRADING_BACKEND

PLOT_SHOW_SAVE = """
import io
import matplotlib.pyplot as plt
from helpers.datasets import Annuli

ax = Annuli(n=50, seed=0).plot()
assert plt.get_fignums() == [1]
buffer = io.BytesIO()
ax.figure.savefig(buffer, format="png")  # drawing on request still works
assert buffer.getvalue().startswith(b"\\x89PNG")
plt.show()
assert plt.get_fignums() == [], plt.get_fignums()
print("ok")
"""

FIGURE_LEFT_OPEN_IN_A_CELL = """
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
cell = "import matplotlib.pyplot as plt\\nplt.plot([1, 2])\\nopen_after = plt.get_fignums()"
shell.run_cell(cell).raise_error()
assert shell.user_ns["open_after"] == [1]
shell.run_cell("still_open = plt.get_fignums()").raise_error()
assert shell.user_ns["still_open"] == [], shell.user_ns["still_open"]
print("ok")
"""


def run_with_backend(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": GRADING_BACKEND}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_show_closes_figures_without_drawing_and_savefig_still_draws():
    result = run_with_backend(PLOT_SHOW_SAVE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n" and result.stderr == ""


def test_figures_left_open_are_closed_after_the_cell():
    result = run_with_backend(FIGURE_LEFT_OPEN_IN_A_CELL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n" and result.stderr == ""
