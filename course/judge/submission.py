"""What the judge takes from a submitted notebook: the definitions of the student's own
cells and the graded cell, as plain Python, and the request its runner is sent."""

from __future__ import annotations

import ast
from collections.abc import Collection

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from course.judge.api import CheckPlan

# What runs before the student's cells: the instructor's provided functions, with the modules
# they and the graded functions use. Not the whole imports cell: plotting is never needed here, and
# loading matplotlib would cost more than the judging itself.
TRUSTED_PRELUDE = (
    "import os\n\nimport numpy as np\n"
    + '''

class _NotIPython:
    """Outside IPython, a student's cell that talks to IPython (hooks, magics) still runs:
    its calls reach this object, which does nothing, except that a cell under a magic that
    only measures or captures it (%%time, %%capture...) is run as it would be there."""

    RUNS_ITS_CELL = ("time", "timeit", "capture", "prun")

    def run_cell_magic(self, magic, line, cell):
        if magic in self.RUNS_ITS_CELL:
            exec(cell, globals())

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


def get_ipython():
    return _NotIPython()

'''
)


STUDENT_STATEMENTS = (  # what the judge takes from a student's own cells: definitions only
    "Import",
    "ImportFrom",
    "FunctionDef",
    "ClassDef",
    "Assign",
    "AnnAssign",
    "AugAssign",
)


def _definitions_only(source: str) -> str | None:
    """The top-level definitions of a student's cell (imports, functions, classes,
    assignments), without calls, loops or plots; None when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    kept = [node for node in tree.body if type(node).__name__ in STUDENT_STATEMENTS]
    return "\n".join(ast.get_source_segment(source, node) or "" for node in kept)


def as_python(source: str) -> str:
    """A cell's source with IPython's syntax (magics, ``!`` commands) turned into the calls
    IPython itself makes of it."""
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # whatever IPython cannot read, Python will report
        return source


def student_setup(
    source_nb: nbformat.NotebookNode,
    submitted: nbformat.NotebookNode,
    graded_cell: str,
    tests: Collection[str] = (),
) -> tuple[list[list[str]], str | None]:
    """The student's own code cells up to the graded one, as ``[label, code]`` pairs, and the
    graded cell's source (None when there is none). A cell counts as the student's own when it
    is a solution cell or a code cell the instructor's notebook does not have; of those other
    than the graded cell only definitions are kept. With the grade ids of the function's
    ``tests``, the definitions of the student's cells after the graded one and above its first
    test are kept too: the kernel had them when the test ran (a helper written further down)."""
    given = {cell.source.strip() for cell in source_nb.cells if cell.cell_type == "code"}
    setup, graded = [], None
    for number, cell in enumerate(submitted.cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if graded is not None and (meta.get("grade_id") in tests or not tests):
            break
        if meta.get("grade_id") == graded_cell and graded is None:
            graded = as_python(cell.source)
            setup.append([f"<your {graded_cell} cell>", graded])
            continue
        if meta.get("grade") or meta.get("locked"):
            continue
        if meta.get("solution") or cell.source.strip() not in given:
            code = _definitions_only(as_python(cell.source))
            if code:
                setup.append([f"<your cell {number}>", code])
    return setup, graded


def build_request(plan: CheckPlan, setup: list[list[str]], graded: str) -> dict:
    """The runner's request: the trusted code and the student's cells to set up, the graded
    function, and the lab's part (its cases, step plan, training: LabJudge.request)."""
    return {
        "setup": [["<provided functions>", plan.trusted_code], *setup],
        "graded_label": f"<your {plan.judge.graded_cell} cell>",
        "function": plan.judge.function,
        "withheld": list(plan.judge.withheld_helpers),
        **plan.judge.request(plan, graded),
    }
