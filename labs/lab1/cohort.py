"""A synthetic cohort for Lab 1: correct, blank and typically-wrong submissions.

Each submission is the student version of the notebook with the backprop cell filled in from
the instructor's solution, optionally with one planted mistake. Used by ``make demo``, the
tests and the benchmarks; ``expected_failures`` says which grade cells each one must fail.
"""

from __future__ import annotations

import nbformat

from labs import cohorts
from labs.cohorts import Submission, fails

BACKPROP_CELL = "backprop"
STEP_TESTS = tuple(
    f"test_{name}"
    for name in (
        "dloss_dy",
        "dloss_dbeta",
        "dloss_dW2",
        "dloss_db2",
        "dloss_dh",
        "dloss_dalpha",
        "dloss_dW1",
        "dloss_db1",
    )
)
WHOLE_TEST = "test_backprop_returns_parameter_gradients"
TRAINING_TEST = "test_training_lowers_loss"
NUMERICAL_TEST = "test_numerical_gradient"  # the student's own numerical_gradient
BACKPROP_TESTS = (*STEP_TESTS, WHOLE_TEST, TRAINING_TEST)
ALL_TESTS = (NUMERICAL_TEST, *BACKPROP_TESTS)  # in the notebook's order


LAB1_COHORT = (
    Submission("correct", "the instructor's solution"),
    Submission(
        "alternative_forms",
        "correct in other words: y - t, einsum, copies, dloss_dbeta @ W2, a list",
        edits=(
            ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = y - t"),
            (
                "dloss_dW2 = dloss_dbeta[:, None] * h",
                "dloss_dW2 = np.einsum('k,j->kj', dloss_dbeta, h)",
            ),
            ("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta.copy()"),
            ("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = dloss_dbeta @ W2"),
            (
                "dloss_dalpha = dloss_dh * h * (1.0 - h)",
                "dloss_dalpha = dloss_dh * logistic_grad(alpha)",
            ),
            ("dloss_dW1 = dloss_dalpha[:, None] * x", "dloss_dW1 = np.outer(dloss_dalpha, x)"),
            (
                "return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
                "return [dloss_dW1, dloss_db1, dloss_dW2, dloss_db2]",
            ),
        ),
        written=(
            (
                "answer_dloss_dh",
                "Each $\\beta_c$ uses $h_j$ with weight $W_{2,cj}$, so "
                "$\\partial \\beta_c / \\partial h_j = W_{2,cj}$, and I add up over $c$: "
                "`dloss_dh = dloss_dbeta @ W2`, shape $(m,)$.",
            ),
            (
                "answer_dloss_dW1",
                "Only $\\alpha_j$ depends on $W_{1,ji}$, with "
                "$\\partial \\alpha_j / \\partial W_{1,ji} = x_i$, so entry $(j, i)$ is "
                "`dloss_dalpha[j] * x[i]`: the outer product, shape $(m, d)$.",
            ),
        ),
    ),
    Submission(
        "blank",
        "submitted the student version untouched",
        blank=True,
        expected_failures=frozenset(ALL_TESTS),
        expected_reason="scored 0/24: blank: 11 of 11 tests reach code still left as "
        "`raise NotImplementedError()`",
    ),
    Submission(
        "wrong_dy_sign",
        "dloss_dy with the sign flipped",
        edits=(("dloss_dy = categorical_ce_grad(y, t)", "dloss_dy = t / y"),),
        expected_failures=fails("test_dloss_dy", WHOLE_TEST, TRAINING_TEST),
        misconception="dy_sign",
    ),
    Submission(
        "wrong_dy_right_dbeta",
        "a wrong dloss_dy, then dloss_dbeta = y - t (right after all)",
        edits=(
            ("dloss_dy = categorical_ce_grad(y, t)", "dloss_dy = -t * y"),
            ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = y - t"),
        ),
        expected_failures=fails("test_dloss_dy"),
    ),
    Submission(
        "wrong_dbeta",
        "the softmax's Jacobian without its off-diagonal part",
        edits=(
            ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = dloss_dy * y * (1 - y)"),
        ),
        expected_failures=fails("test_dloss_dbeta", WHOLE_TEST, TRAINING_TEST),
        misconception="dbeta_diagonal_only",
    ),
    Submission(
        "transposed_dW2",
        "dloss_dW2 transposed",
        edits=(("dloss_dW2 = dloss_dbeta[:, None] * h", "dloss_dW2 = np.outer(h, dloss_dbeta)"),),
        expected_failures=fails("test_dloss_dW2", WHOLE_TEST, TRAINING_TEST),
        misconception="dW2_transposed",
    ),
    Submission(
        "wrong_db2",
        "dloss_db2 summed to a scalar",
        edits=(("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta.sum()"),),
        expected_failures=fails("test_dloss_db2", WHOLE_TEST),
        misconception="db2_summed",
    ),
    Submission(
        "wrong_dh",
        "dloss_dh with the sign flipped",
        edits=(("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = -(W2.T @ dloss_dbeta)"),),
        expected_failures=fails("test_dloss_dh", WHOLE_TEST, TRAINING_TEST),
        misconception="dh_sign",
    ),
    Submission(
        "wrong_dalpha",
        "the logistic itself instead of its derivative",
        edits=(("dloss_dalpha = dloss_dh * h * (1.0 - h)", "dloss_dalpha = dloss_dh * h"),),
        expected_failures=fails("test_dloss_dalpha", WHOLE_TEST, TRAINING_TEST),
        misconception="dalpha_sigma_not_slope",
    ),
    Submission(
        "transposed_dW1",
        "dloss_dW1 transposed",
        edits=(("dloss_dW1 = dloss_dalpha[:, None] * x", "dloss_dW1 = np.outer(x, dloss_dalpha)"),),
        expected_failures=fails("test_dloss_dW1", WHOLE_TEST, TRAINING_TEST),
        misconception="dW1_transposed",
    ),
    Submission(
        "wrong_db1",
        "dloss_db1 taken before the logistic",
        edits=(("dloss_db1 = dloss_dalpha", "dloss_db1 = dloss_dh"),),
        expected_failures=fails("test_dloss_db1", WHOLE_TEST, TRAINING_TEST),
        misconception="db1_before_logistic",
    ),
    Submission(
        "swapped_return",
        "every step right, gradients returned in the wrong order",
        edits=(
            (
                "return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
                "return dloss_dW2, dloss_db2, dloss_dW1, dloss_db1",
            ),
        ),
        expected_failures=fails(WHOLE_TEST, TRAINING_TEST),
    ),
)


ALL_STEPS = frozenset(STEP_TESTS)
# Correct answers in unusual forms (full marks), and single mistakes of other kinds (that step,
# plus at most the whole-function and training tests), graded with the rest of the cohort.
FAIRNESS = (
    Submission(
        "fair_inplace",
        "dloss_dbeta = y; dloss_dbeta -= t (in place, aliasing y)",
        edits=(
            (
                "dloss_dbeta = y * (dloss_dy - dloss_dy @ y)",
                "dloss_dbeta = y\n    dloss_dbeta -= t",
            ),
        ),
    ),
    Submission(
        "fair_cs231n",
        "the CS231n idiom: dscores = probs; dscores[c] -= 1",
        edits=(
            (
                "dloss_dbeta = y * (dloss_dy - dloss_dy @ y)",
                "dloss_dbeta = y\n    dloss_dbeta[np.argmax(t)] -= 1",
            ),
        ),
    ),
    Submission(
        "fair_scratch_reuse",
        "dloss_dh reused as scratch for dloss_dalpha",
        edits=(
            (
                "dloss_dalpha = dloss_dh * h * (1.0 - h)",
                "dloss_dh *= h * (1.0 - h)\n    dloss_dalpha = dloss_dh",
            ),
        ),
    ),
    Submission(
        "fair_own_helper",
        "calls a helper and a constant from a cell of the student's own",
        own_cell="ONE = 1.0\n\n\ndef sigmoid_slope(h):\n    return h * (ONE - h)\n",
        edits=(
            (
                "dloss_dalpha = dloss_dh * h * (1.0 - h)",
                "dloss_dalpha = dloss_dh * sigmoid_slope(h)",
            ),
        ),
    ),
    Submission(
        "fair_float32",
        "dloss_dy and dloss_dbeta in float32 arithmetic",
        edits=(
            (
                "dloss_dy = categorical_ce_grad(y, t)",
                "dloss_dy = categorical_ce_grad(y.astype(np.float32), t.astype(np.float32))",
            ),
            (
                "dloss_dbeta = y * (dloss_dy - dloss_dy @ y)",
                "dloss_dbeta = (y.astype(np.float32) - t.astype(np.float32))",
            ),
        ),
    ),
    Submission(
        "fair_loops",
        "outer products with Python loops",
        edits=(
            (
                "dloss_dW2 = dloss_dbeta[:, None] * h",
                "dloss_dW2 = np.array([[d * hj for hj in h] for d in dloss_dbeta])",
            ),
            (
                "dloss_dW1 = dloss_dalpha[:, None] * x",
                "dloss_dW1 = np.zeros((len(dloss_dalpha), len(x)))\n"
                "    for j in range(len(dloss_dalpha)):\n"
                "        for i in range(len(x)):\n"
                "            dloss_dW1[j, i] = dloss_dalpha[j] * x[i]",
            ),
        ),
    ),
    Submission(
        "fair_no_intermediates",
        "correct, written without the named intermediates",
        whole_cell=(
            "def backprop(x, t, W1, b1, W2, b2):\n"
            "    h = logistic(W1 @ x + b1)\n"
            "    y = softmax(W2 @ h + b2)\n"
            "    d = y - t\n"
            "    g = (W2.T @ d) * h * (1 - h)\n"
            "    return np.outer(g, x), g, np.outer(d, h), d\n"
        ),
    ),
    Submission(
        "fair_crash_dW2",
        "dloss_dW2 = W2 @ dloss_dbeta (raises): that step fails alone",
        edits=(("dloss_dW2 = dloss_dbeta[:, None] * h", "dloss_dW2 = W2 @ dloss_dbeta"),),
        expected_failures=fails("test_dloss_dW2", WHOLE_TEST, TRAINING_TEST),
    ),
    Submission(
        "fair_column_dbeta",
        "dloss_dbeta as a (k, 1) column: that step fails alone",
        edits=(("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "dloss_dbeta = (y - t)[:, None]"),),
        expected_failures=fails("test_dloss_dbeta", WHOLE_TEST, TRAINING_TEST),
        misconception="column_vector",
    ),
    Submission(
        "fair_all_zeros",
        "every gradient zero: nothing earned",
        edits=tuple(
            (line, f"{line.split(' = ')[0]} = np.zeros_like({wrt})")
            for line, wrt in (
                ("dloss_dy = categorical_ce_grad(y, t)", "y"),
                ("dloss_dbeta = y * (dloss_dy - dloss_dy @ y)", "y"),
                ("dloss_dW2 = dloss_dbeta[:, None] * h", "W2"),
                ("dloss_db2 = dloss_dbeta", "b2"),
                ("dloss_dh = W2.T @ dloss_dbeta", "h"),
                ("dloss_dalpha = dloss_dh * h * (1.0 - h)", "h"),
                ("dloss_dW1 = dloss_dalpha[:, None] * x", "W1"),
                ("dloss_db1 = dloss_dalpha", "b1"),
            )
        ),
        expected_failures=frozenset(BACKPROP_TESTS),
        expected_reason="scored 2/24: wrong values in 10 of 11 tests (first: test_dloss_dy)",
    ),
    Submission(
        "fair_numerical",
        "differentiates the loss numerically: flagged, no step or training "
        "points (the judge ends its training once it sees it)",
        whole_cell=(
            "def backprop(x, t, W1, b1, W2, b2):\n"
            "    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]\n"
            "    def loss():\n"
            "        return categorical_ce(softmax(params[2] @ logistic(params[0] @ x + "
            "params[1]) + params[3]), t)\n"
            "    grads = []\n"
            "    for p in params:\n"
            "        g = np.zeros_like(p)\n"
            "        for i in np.ndindex(p.shape):\n"
            "            old = p[i]\n"
            "            p[i] = old + 1e-5\n"
            "            up = loss()\n"
            "            p[i] = old - 1e-5\n"
            "            down = loss()\n"
            "            p[i] = old\n"
            "            g[i] = (up - down) / 2e-5\n"
            "        grads.append(g)\n"
            "    return tuple(grads)\n"
        ),
        expected_failures=ALL_STEPS | {TRAINING_TEST},
        expected_status="flagged",
    ),
    Submission(
        "fair_oracle",
        "calls the graders' own gradients: flagged, nothing earned (the judge "
        "runs it without them)",
        edits=(
            (
                "    # Forward pass (given)",
                "    from helpers.backprop_spec import true_gradients\n"
                "    from helpers.network import forward\n"
                "    truth = true_gradients(x, t, W1, b1, W2, b2, forward(x, W1, b1, W2, b2))\n"
                "    return (truth['dloss_dW1'], truth['dloss_db1'], truth['dloss_dW2'], "
                "truth['dloss_db2'])\n"
                "    # Forward pass (given)",
            ),
        ),
        expected_failures=frozenset(BACKPROP_TESTS),
        expected_status="flagged",
        expected_reason="may not be the student's own work",
    ),
)


# An unusual correct backprop (an explicit softmax Jacobian, einsum everywhere, copies made by
# list comprehensions), and a near-copy of it: its helper names changed and two of its lines
# swapped. course.similarity must list the two as the most similar pair of the demo cohort.
UNUSUAL = """\
def backprop(x, t, W1, b1, W2, b2):
    \"\"\"Gradients of the loss for one sample x (d,) with target t (k,).

    Returns (dloss_dW1, dloss_db1, dloss_dW2, dloss_db2), each the shape of its parameter.
    \"\"\"
    # Forward pass (given)
    alpha = W1 @ x + b1    # input -> alpha
    h = logistic(alpha)    # alpha -> h
    beta = W2 @ h + b2     # h -> beta
    y = softmax(beta)      # beta -> y

    # dloss_dy: gradient of the loss with respect to y, shape (k,)
    safe_y = np.clip(y, 1e-300, None)
    dloss_dy = -(t / safe_y)

    # dloss_dbeta: gradient of the loss with respect to beta, shape (k,)
    jac_diag = np.diag(y)
    jac_outer = np.outer(y, y)
    jacobian = jac_diag - jac_outer
    dloss_dbeta = np.einsum("ij,i->j", jacobian, dloss_dy)

    # dloss_dW2: gradient of the loss with respect to W2, shape (k, m)
    dloss_dW2 = np.einsum("i,j->ij", dloss_dbeta, h)

    # dloss_db2: gradient of the loss with respect to b2, shape (k,)
    dloss_db2 = np.array([float(g) for g in dloss_dbeta])

    # dloss_dh: gradient of the loss with respect to h, shape (m,)
    dloss_dh = np.einsum("ij,i->j", W2, dloss_dbeta)

    # dloss_dalpha: gradient of the loss with respect to alpha, shape (m,)
    slope = h - np.square(h)
    dloss_dalpha = np.multiply(slope, dloss_dh)

    # dloss_dW1: gradient of the loss with respect to W1, shape (m, d)
    dloss_dW1 = np.einsum("i,j->ij", dloss_dalpha, x)

    # dloss_db1: gradient of the loss with respect to b1, shape (m,)
    dloss_db1 = np.array([float(g) for g in dloss_dalpha])

    return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2
"""
NEAR_COPY = (
    UNUSUAL.replace("safe_y", "clipped")
    .replace("jacobian", "J")
    .replace("slope", "sig_prime")
    .replace("for g in", "for v in")
    .replace("float(g)", "float(v)")
    .replace(
        "    jac_diag = np.diag(y)\n    jac_outer = np.outer(y, y)\n",
        "    yy = np.outer(y, y)\n    diagonal = np.diag(y)\n",
    )
    .replace("jac_diag - jac_outer", "diagonal - yy")
)
NEAR_COPIES = (
    Submission(
        "unusual_jacobian",
        "correct, in an unusual way: the softmax Jacobian, einsum",
        whole_cell=UNUSUAL,
    ),
    Submission(
        "unusual_jacobian_renamed",
        "a near-copy of unusual_jacobian: helpers renamed, "
        "two lines swapped (the similarity report's top pair)",
        whole_cell=NEAR_COPY,
    ),
)


BROKEN_AND_LOOPING = (
    Submission(
        "broken_notebook",
        "a notebook cut off halfway through (invalid JSON)",
        corrupt=True,
        expected_status="failed",
        expected_reason="is not a readable notebook",
    ),
    Submission(
        "loops_forever",
        "backprop starts with a loop that never ends",
        edits=(
            (
                "    # Forward pass (given)",
                "    while True:  # waiting for something that never happens\n"
                "        pass\n    # Forward pass (given)",
            ),
        ),
        expected_status="timeout",
        expected_reason="more than its limit",
    ),
    Submission(
        "stray_parenthesis",
        "one ) too many: the backprop cell does not even compile",
        edits=(("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta)"),),
        expected_failures=frozenset(BACKPROP_TESTS),
        expected_reason="scored 2/24: syntax error at line 22 of the backprop cell: unmatched ')'",
    ),
)
DEMO_COHORT = (*LAB1_COHORT, *FAIRNESS, *NEAR_COPIES, *BROKEN_AND_LOOPING)


def build_submission(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode, submission: Submission
) -> nbformat.NotebookNode:
    """The notebook ``submission.student`` hands in: the release with backprop filled in."""
    return cohorts.build_submission(source, release, submission, BACKPROP_CELL)


write_cohort = cohorts.cohort_writer(LAB1_COHORT, BACKPROP_CELL)


__all__ = ["DEMO_COHORT", "LAB1_COHORT", "Submission", "build_submission", "write_cohort"]
