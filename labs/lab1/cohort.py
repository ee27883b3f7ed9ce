"""A synthetic cohort for Lab 1: correct, blank and typically-wrong submissions.

Each submission is the student version of the notebook with the backprop cell filled in from
the instructor's solution, optionally with one planted mistake. Used by ``make demo``, the
tests and the benchmarks; ``expected_failures`` says which grade cells each one must fail.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.notebooks import cell_by_grade_id

BACKPROP_CELL = "backprop"
STEP_TESTS = tuple(
    f"test_{name}" for name in ("dloss_dy", "dloss_dbeta", "dloss_dW2", "dloss_db2", "dloss_dh",
                                "dloss_dalpha", "dloss_dW1", "dloss_db1")
)
WHOLE_TEST = "test_backprop_returns_parameter_gradients"
TRAINING_TEST = "test_training_lowers_loss"
ALL_TESTS = (*STEP_TESTS, WHOLE_TEST, TRAINING_TEST)


@dataclass(frozen=True)
class Submission:
    """One synthetic student: how their backprop differs from the solution, and the grade
    cells that must therefore score zero (all others full marks)."""

    student: str
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    expected_failures: frozenset[str] = field(default_factory=frozenset)
    blank: bool = False
    corrupt: bool = False  # not even valid JSON: grading must report it, not crash
    expected_status: str = "graded"  # what `course grade` reports (see course.grade.Outcome)


def _fails(*names: str) -> frozenset[str]:
    return frozenset(names)


LAB1_COHORT = (
    Submission("correct", "the instructor's solution"),
    Submission(
        "alternative_forms",
        "correct in other words: y - t, einsum, copies, dloss_dbeta @ W2, a list",
        edits=(
            ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = y - t"),
            ("dloss_dW2 = dloss_dbeta[:, None] * h",
             "dloss_dW2 = np.einsum('k,j->kj', dloss_dbeta, h)"),
            ("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta.copy()"),
            ("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = dloss_dbeta @ W2"),
            ("dloss_dalpha = dloss_dh * h * (1.0 - h)",
             "dloss_dalpha = dloss_dh * logistic_grad(alpha)"),
            ("dloss_dW1 = dloss_dalpha[:, None] * x", "dloss_dW1 = np.outer(dloss_dalpha, x)"),
            ("return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
             "return [dloss_dW1, dloss_db1, dloss_dW2, dloss_db2]"),
        ),
    ),
    Submission("blank", "submitted the student version untouched", blank=True,
               expected_failures=frozenset(ALL_TESTS)),
    Submission(
        "wrong_dy_sign", "dloss_dy with the sign flipped",
        edits=(("dloss_dy = categorical_ce_grad(y, t)", "dloss_dy = t / y"),),
        expected_failures=_fails("test_dloss_dy", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "wrong_dy_right_dbeta", "a wrong dloss_dy, then dloss_dbeta = y - t (right after all)",
        edits=(("dloss_dy = categorical_ce_grad(y, t)", "dloss_dy = -t * y"),
               ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = y - t")),
        expected_failures=_fails("test_dloss_dy"),
    ),
    Submission(
        "wrong_dbeta", "the softmax's Jacobian without its off-diagonal part",
        edits=(("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)",
                "dloss_dbeta = dloss_dy * y * (1 - y)"),),
        expected_failures=_fails("test_dloss_dbeta", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "transposed_dW2", "dloss_dW2 transposed",
        edits=(("dloss_dW2 = dloss_dbeta[:, None] * h",
                "dloss_dW2 = np.outer(h, dloss_dbeta)"),),
        expected_failures=_fails("test_dloss_dW2", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "wrong_db2", "dloss_db2 summed to a scalar",
        edits=(("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta.sum()"),),
        expected_failures=_fails("test_dloss_db2", WHOLE_TEST),
    ),
    Submission(
        "wrong_dh", "dloss_dh with the sign flipped",
        edits=(("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = -(W2.T @ dloss_dbeta)"),),
        expected_failures=_fails("test_dloss_dh", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "wrong_dalpha", "the logistic itself instead of its derivative",
        edits=(("dloss_dalpha = dloss_dh * h * (1.0 - h)", "dloss_dalpha = dloss_dh * h"),),
        expected_failures=_fails("test_dloss_dalpha", WHOLE_TEST),
    ),
    Submission(
        "transposed_dW1", "dloss_dW1 transposed",
        edits=(("dloss_dW1 = dloss_dalpha[:, None] * x",
                "dloss_dW1 = np.outer(x, dloss_dalpha)"),),
        expected_failures=_fails("test_dloss_dW1", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "wrong_db1", "dloss_db1 taken before the logistic",
        edits=(("dloss_db1 = dloss_dalpha", "dloss_db1 = dloss_dh"),),
        expected_failures=_fails("test_dloss_db1", WHOLE_TEST),
    ),
    Submission(
        "swapped_return", "every step right, gradients returned in the wrong order",
        edits=(("return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
                "return dloss_dW2, dloss_db2, dloss_dW1, dloss_db1"),),
        expected_failures=_fails(WHOLE_TEST, TRAINING_TEST),
    ),
)


BROKEN_AND_LOOPING = (
    Submission("broken_notebook", "a notebook cut off halfway through (invalid JSON)",
               corrupt=True, expected_status="failed"),
    Submission(
        "loops_forever", "backprop starts with a loop that never ends",
        edits=(("    # Forward pass (given)",
                "    while True:  # waiting for something that never happens\n"
                "        pass\n    # Forward pass (given)"),),
        expected_status="timeout",
    ),
)
DEMO_COHORT = (*LAB1_COHORT, *BROKEN_AND_LOOPING)


def solution_code(source_cell: str) -> str:
    """The solution cell's code as a student would have written it (markers removed)."""
    return "\n".join(
        line for line in source_cell.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def apply_edits(code: str, edits: tuple[tuple[str, str], ...]) -> str:
    """Replace each ``old`` line fragment of ``code`` by ``new``; each must occur once."""
    for old, new in edits:
        if code.count(old) != 1:
            raise ValueError(f"the solution must contain {old!r} exactly once to plant a mistake")
        code = code.replace(old, new)
    return code


def build_submission(source: nbformat.NotebookNode, release: nbformat.NotebookNode,
                     submission: Submission) -> nbformat.NotebookNode:
    """The notebook ``submission.student`` hands in: the release with backprop filled in."""
    nb = copy.deepcopy(release)
    if not submission.blank:
        code = solution_code(cell_by_grade_id(source, BACKPROP_CELL).source)
        cell_by_grade_id(nb, BACKPROP_CELL).source = apply_edits(code, submission.edits)
    return nb


def write_cohort(root: Path, lab: str, target: Path,
                 cohort: tuple[Submission, ...] = LAB1_COHORT, flat: bool = False) -> list[Path]:
    """Write every submission of a one-notebook lab and return the paths.

    Layout: nbgrader's ``target/<student>/<lab>/<notebook>.ipynb``, or with ``flat``
    ``target/<student>.ipynb`` (a folder of notebooks for ``course collect``).
    """
    (source_path,) = sorted((root / "source" / lab).glob("*.ipynb"))
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(root / "release" / lab / source_path.name, as_version=4)
    paths = []
    for submission in cohort:
        if flat:
            path = target / f"{submission.student}.ipynb"
        else:
            path = target / submission.student / lab / source_path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(build_submission(source, release, submission))
        path.write_text(text[: len(text) // 2] if submission.corrupt else text)
        paths.append(path)
    return paths
