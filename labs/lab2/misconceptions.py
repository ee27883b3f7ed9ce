"""Lab 2's named misconceptions: the mistakes of batching (see course.misconceptions). Each
formula gets the step's inputs: the arguments and the true values of everything upstream."""

from __future__ import annotations

import numpy as np

from course.misconceptions import Misconception


def _n(v) -> int:
    return len(v["X"])


def _row_sums_flat(v):
    """The softmax's Jacobian product with the row sums left flat, (n,): numpy lines them up
    with the classes (n = k) instead of with the samples."""
    return v["Y"] * (v["dloss_dY"] - np.sum(v["dloss_dY"] * v["Y"], axis=1))


MISCONCEPTIONS = (
    Misconception(
        "flat_against_rows",
        "",
        lambda v: None,
        "An (n,) array met an (n, k) one: numpy lines up their last axes, so the "
        "n values follow the columns, not the rows. Which axis should they follow?",
        crash=r"could not be broadcast together with shapes \((\d+),\d+\) \(\1,\)",
    ),
    Misconception(
        "A_transposed",
        "A",
        lambda v: v["W1"] @ v["X"].T + v["b1"][:, None],
        "Rows are samples: which shape should A have, (n, m) or (m, n)?",
    ),
    Misconception(
        "dY_not_averaged",
        "dloss_dY",
        lambda v: -v["T"] / v["Y"],
        "The loss is the mean over the batch: where does the 1/n go?",
    ),
    Misconception(
        "dY_sign",
        "dloss_dY",
        lambda v: v["T"] / v["Y"] / _n(v),
        "Check the sign: the loss is minus the mean of sum(T log Y).",
    ),
    Misconception(
        "dY_is_dB",
        "dloss_dY",
        lambda v: (v["Y"] - v["T"]) / _n(v),
        "This step differentiates the mean loss with respect to Y itself, the "
        "softmax's output: what is the derivative of -t log y?",
    ),
    Misconception(
        "dB_row_sums_flat",
        "dloss_dB",
        _row_sums_flat,
        "Each row's sum is one number per sample, shape (n,): against an (n, k) "
        "array, which axis does numpy line it up with? (keepdims)",
    ),
    Misconception(
        "dB_summed_over_batch",
        "dloss_dB",
        lambda v: v["Y"] * (v["dloss_dY"] - np.sum(v["dloss_dY"] * v["Y"])),
        "The softmax couples the outputs of one sample: should its sum run over the whole batch?",
    ),
    Misconception(
        "dB_diagonal_only",
        "dloss_dB",
        lambda v: v["dloss_dY"] * v["Y"] * (1 - v["Y"]),
        "Does Y[i, j] depend only on B[i, j]? The softmax couples the outputs of each sample.",
    ),
    Misconception(
        "dW2_transposed",
        "dloss_dW2",
        lambda v: v["H"].T @ v["dloss_dB"],
        "A transposed product: which index of W2 belongs to the output and which "
        "to the hidden unit?",
    ),
    Misconception(
        "dW2_averaged_twice",
        "dloss_dW2",
        lambda v: v["dloss_dB"].T @ v["H"] / _n(v),
        "The 1/n of the mean is already in dloss_dB: how many times is it applied here?",
    ),
    Misconception(
        "db2_wrong_axis",
        "dloss_db2",
        lambda v: v["dloss_dB"].sum(axis=1),
        "The bias is added to every sample's row: sum over the samples, not over the classes.",
    ),
    Misconception(
        "db2_averaged_twice",
        "dloss_db2",
        lambda v: v["dloss_dB"].mean(axis=0),
        "The 1/n of the mean is already in dloss_dB: how many times is it applied here?",
    ),
    Misconception("dH_sign", "dloss_dH", lambda v: -(v["dloss_dB"] @ v["W2"]), "Check the sign."),
    Misconception(
        "dA_sigma_not_slope",
        "dloss_dA",
        lambda v: v["dloss_dH"] * v["H"],
        "Is that the logistic itself, or its derivative?",
    ),
    Misconception(
        "dW1_transposed",
        "dloss_dW1",
        lambda v: v["X"].T @ v["dloss_dA"],
        "A transposed product: which index of W1 belongs to the hidden unit and "
        "which to the input?",
    ),
    Misconception(
        "dW1_averaged_twice",
        "dloss_dW1",
        lambda v: v["dloss_dA"].T @ v["X"] / _n(v),
        "The 1/n of the mean is already in dloss_dA: how many times is it applied here?",
    ),
    Misconception(
        "db1_wrong_axis",
        "dloss_db1",
        lambda v: v["dloss_dA"].sum(axis=1),
        "The bias is added to every sample's row: sum over the samples, not over the hidden units.",
    ),
    Misconception(
        "db1_averaged_twice",
        "dloss_db1",
        lambda v: v["dloss_dA"].mean(axis=0),
        "The 1/n of the mean is already in dloss_dA: how many times is it applied here?",
    ),
)
