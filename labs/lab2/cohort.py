"""A synthetic cohort for Lab 2: correct answers in other forms, one batching mistake per step,
a blank, and a backprop that loops over the samples. Each is the release with the backprop cell
filled in from the solution, with its planted edits (labs.cohorts)."""

from __future__ import annotations

from labs import cohorts
from labs.cohorts import Submission, fails

BACKPROP_CELL = "backprop"
FORWARD_TESTS = tuple(f"test_{name}" for name in ("A", "H", "B", "Y"))
GRADIENT_TESTS = tuple(
    f"test_{name}"
    for name in (
        "dloss_dY",
        "dloss_dB",
        "dloss_dW2",
        "dloss_db2",
        "dloss_dH",
        "dloss_dA",
        "dloss_dW1",
        "dloss_db1",
    )
)
WHOLE_TEST = "test_backprop_returns_parameter_gradients"
LOOP_TEST = "test_no_loop_over_samples"
TRAINING_TEST = "test_training_lowers_loss"
TRAIN_TEST = "test_train"  # the student's own mini-batch SGD
ALL_TESTS = (*FORWARD_TESTS, *GRADIENT_TESTS, WHOLE_TEST, LOOP_TEST, TRAINING_TEST, TRAIN_TEST)

DY = "dloss_dY = -T / np.maximum(Y, PROBABILITY_FLOOR) / n"
DB = "dloss_dB = Y * (dloss_dY - np.sum(dloss_dY * Y, axis=1, keepdims=True))"
DW2 = "dloss_dW2 = dloss_dB.T @ H"
DB2 = "dloss_db2 = dloss_dB.sum(axis=0)"
DH = "dloss_dH = dloss_dB @ W2"
DA = "dloss_dA = dloss_dH * H * (1.0 - H)"
DW1 = "dloss_dW1 = dloss_dA.T @ X"
DB1 = "dloss_db1 = dloss_dA.sum(axis=0)"

CORRECT = (
    Submission("correct", "the instructor's solution"),
    Submission(
        "alternative_forms",
        "correct in other words: (Y - T) / n, einsum, np.dot, ones @, [:, None], len(X)",
        edits=(
            (DB, "dloss_dB = (Y - T) / len(X)"),
            (DW2, "dloss_dW2 = np.einsum('ik,im->km', dloss_dB, H)"),
            (DB2, "dloss_db2 = np.ones(n) @ dloss_dB"),
            (DH, "dloss_dH = np.dot(dloss_dB, W2)"),
            (DW1, "dloss_dW1 = (dloss_dA[:, :, None] * X[:, None, :]).sum(axis=0)"),
            (DB1, "dloss_db1 = np.sum(dloss_dA, axis=0)"),
            ("A = X @ W1.T + b1", "A = np.matmul(X, W1.T) + b1[None, :]"),
        ),
    ),
    Submission(
        "mean_at_the_end",
        "the row steps of Lab 1 averaged with np.mean, 1/n placed as asked",
        edits=(
            (DY, "dloss_dY = -(T / Y) / X.shape[0]"),
            (
                DB,
                "row_sums = (dloss_dY * Y).sum(axis=1)[:, None]\n"
                "    dloss_dB = Y * (dloss_dY - row_sums)",
            ),
        ),
    ),
)
# Correct answers in forms the solution does not use: full marks.
FAIRNESS = (
    Submission(
        "fair_jacobian_tensor",
        "dloss_dB through each sample's full softmax Jacobian (n, k, k)",
        edits=(
            (
                DB,
                "jacobians = Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])\n"
                "    dloss_dB = np.einsum('ij,ijk->ik', dloss_dY, jacobians)",
            ),
        ),
    ),
    Submission(
        "fair_inplace",
        "dloss_dB = Y; dloss_dB -= T; dloss_dB /= n (in place, aliasing Y)",
        edits=((DB, "dloss_dB = Y\n    dloss_dB -= T\n    dloss_dB /= n"),),
    ),
    Submission(
        "fair_float32",
        "the output steps in float32 arithmetic",
        edits=((DB, "dloss_dB = (Y.astype(np.float32) - T.astype(np.float32)) / np.float32(n)"),),
    ),
    Submission(
        "fair_no_intermediates",
        "correct and vectorized, written without the named steps",
        whole_cell=(
            "def backprop(X, T, W1, b1, W2, b2):\n"
            "    H = logistic(X @ W1.T + b1)\n"
            "    G = (softmax(H @ W2.T + b2) - T) / len(X)\n"
            "    F = (G @ W2) * H * (1 - H)\n"
            "    return F.T @ X, F.sum(0), G.T @ H, G.sum(0)\n"
        ),
    ),
)
MISTAKES = (
    Submission(
        "forward_A_transposed",
        "A computed as W1 @ X.T + b1[:, None], (m, n)",
        edits=(("A = X @ W1.T + b1", "A = W1 @ X.T + b1[:, None]"),),
        expected_failures=fails("test_A", WHOLE_TEST, TRAINING_TEST),
        misconception="A_transposed",
    ),
    Submission(
        "forgot_1_over_n",
        "dloss_dY without the 1/n of the mean",
        edits=((DY, "dloss_dY = -T / np.maximum(Y, PROBABILITY_FLOOR)"),),
        expected_failures=fails("test_dloss_dY", WHOLE_TEST, TRAINING_TEST),
        misconception="dY_not_averaged",
    ),
    Submission(
        "row_sums_flat",
        "the softmax's row sums as (n,), broadcast against (n, k)",
        edits=((DB, "dloss_dB = Y * (dloss_dY - np.sum(dloss_dY * Y, axis=1))"),),
        expected_failures=fails("test_dloss_dB", WHOLE_TEST, TRAINING_TEST),
        misconception="flat_against_rows",
    ),
    Submission(
        "dW2_transposed",
        "a transposed product: H.T @ dloss_dB",
        edits=((DW2, "dloss_dW2 = H.T @ dloss_dB"),),
        expected_failures=fails("test_dloss_dW2", WHOLE_TEST, TRAINING_TEST),
        misconception="dW2_transposed",
    ),
    Submission(
        "db2_wrong_axis",
        "the bias gradient summed over the classes",
        edits=((DB2, "dloss_db2 = dloss_dB.sum(axis=1)"),),
        expected_failures=fails("test_dloss_db2", WHOLE_TEST, TRAINING_TEST),
        misconception="db2_wrong_axis",
    ),
    Submission(
        "dH_sign",
        "dloss_dH with the sign flipped",
        edits=((DH, "dloss_dH = -(dloss_dB @ W2)"),),
        expected_failures=fails("test_dloss_dH", WHOLE_TEST, TRAINING_TEST),
        misconception="dH_sign",
    ),
    Submission(
        "dA_sigma_not_slope",
        "the logistic itself instead of its derivative",
        edits=((DA, "dloss_dA = dloss_dH * H"),),
        expected_failures=fails("test_dloss_dA", WHOLE_TEST, TRAINING_TEST),
        misconception="dA_sigma_not_slope",
    ),
    Submission(
        "dW1_averaged_twice",
        "dloss_dW1 divided by n again",
        edits=((DW1, "dloss_dW1 = dloss_dA.T @ X / n"),),
        expected_failures=fails("test_dloss_dW1", WHOLE_TEST, TRAINING_TEST),
        misconception="dW1_averaged_twice",
    ),
    Submission(
        "db1_wrong_axis",
        "the bias gradient summed over the hidden units",
        edits=((DB1, "dloss_db1 = dloss_dA.sum(axis=1)"),),
        expected_failures=fails("test_dloss_db1", WHOLE_TEST, TRAINING_TEST),
        misconception="db1_wrong_axis",
    ),
)
LOOPED = Submission(
    "looped",
    "right values, one sample at a time: dloss_dB row by row, the bias sums in loops",
    edits=(
        (DB, "dloss_dB = np.array([y * (g - g @ y) for y, g in zip(Y, dloss_dY)])"),
        (
            DB2,
            "dloss_db2 = np.zeros(B.shape[1])\n    for row in dloss_dB:\n        dloss_db2 += row",
        ),
    ),
    expected_failures=fails(LOOP_TEST),
)
BLANK = Submission(
    "blank",
    "submitted the student version untouched",
    blank=True,
    expected_failures=frozenset(ALL_TESTS),
)
DEMO_COHORT = (*CORRECT, *FAIRNESS, *MISTAKES, LOOPED, BLANK)


write_cohort = cohorts.cohort_writer(DEMO_COHORT, BACKPROP_CELL)


__all__ = ["ALL_TESTS", "DEMO_COHORT", "write_cohort"]
