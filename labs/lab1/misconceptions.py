"""Lab 1's named misconceptions, step by step (see course.misconceptions)."""

from __future__ import annotations

import numpy as np

from course.misconceptions import Misconception
from helpers import network


def _sigma_prime(z):
    s = network.logistic(z)
    return s * (1 - s)


MISCONCEPTIONS = (
    Misconception(
        "dy_sign",
        "dloss_dy",
        lambda v: v["t"] / v["y"],
        "Check the sign: the loss is minus the sum of t log y.",
    ),
    Misconception(
        "dy_no_division",
        "dloss_dy",
        lambda v: -v["t"],
        "What is the derivative of log(y) with respect to y?",
    ),
    Misconception(
        "dy_is_dbeta",
        "dloss_dy",
        lambda v: v["y"] - v["t"],
        "This step differentiates the loss with respect to y itself, the softmax's "
        "output: what is the derivative of -t log y?",
    ),
    Misconception(
        "dbeta_diagonal_only",
        "dloss_dbeta",
        lambda v: v["dloss_dy"] * v["y"] * (1 - v["y"]),
        "Does y_j depend only on beta_j? The softmax couples every output to every input.",
    ),
    Misconception(
        "dbeta_sign",
        "dloss_dbeta",
        lambda v: -(v["y"] * (v["dloss_dy"] - v["dloss_dy"] @ v["y"])),
        "Check the sign of the softmax's Jacobian product.",
    ),
    Misconception(
        "dbeta_softmax_of_y",
        "dloss_dbeta",
        lambda v: (
            network.softmax(v["y"]) * (v["dloss_dy"] - v["dloss_dy"] @ network.softmax(v["y"]))
        ),
        "The softmax's Jacobian is taken at beta: is softmax applied to y here?",
    ),
    Misconception(
        "dW2_transposed",
        "dloss_dW2",
        lambda v: np.outer(v["h"], v["dloss_dbeta"]),
        "Which index of W2 belongs to the output and which to the hidden unit?",
    ),
    Misconception(
        "dW2_alpha_for_h",
        "dloss_dW2",
        lambda v: np.outer(v["dloss_dbeta"], v["alpha"]),
        "What does W2 multiply in the forward pass: alpha, or h?",
    ),
    Misconception(
        "dW2_sign", "dloss_dW2", lambda v: -np.outer(v["dloss_dbeta"], v["h"]), "Check the sign."
    ),
    Misconception(
        "dh_sign", "dloss_dh", lambda v: -(v["W2"].T @ v["dloss_dbeta"]), "Check the sign."
    ),
    Misconception(
        "dalpha_sigma_not_slope",
        "dloss_dalpha",
        lambda v: v["dloss_dh"] * network.logistic(v["alpha"]),
        "Is that the logistic itself, or its derivative?",
    ),
    Misconception(
        "dalpha_slope_forgotten",
        "dloss_dalpha",
        lambda v: v["dloss_dh"],
        "h = sigma(alpha): has the gradient been through the logistic's slope?",
    ),
    Misconception(
        "dalpha_slope_of_h",
        "dloss_dalpha",
        lambda v: v["dloss_dh"] * _sigma_prime(v["h"]),
        "The logistic's derivative is taken at which tensor: alpha, or h?",
    ),
    Misconception(
        "dalpha_slope_of_alpha_as_output",
        "dloss_dalpha",
        lambda v: v["dloss_dh"] * v["alpha"] * (1 - v["alpha"]),
        "sigma'(z) = sigma(z)(1 - sigma(z)): which value plays sigma(z)?",
    ),
    Misconception(
        "dW1_transposed",
        "dloss_dW1",
        lambda v: np.outer(v["x"], v["dloss_dalpha"]),
        "Which index of W1 belongs to the hidden unit and which to the input?",
    ),
    Misconception(
        "dW1_h_for_x",
        "dloss_dW1",
        lambda v: np.outer(v["dloss_dalpha"], v["h"]),
        "What does W1 multiply in the forward pass?",
    ),
    Misconception(
        "db1_before_logistic",
        "dloss_db1",
        lambda v: v["dloss_dh"],
        "b1 is added before the logistic: has the gradient been through it yet?",
    ),
    Misconception(
        "db2_summed",
        "dloss_db2",
        lambda v: np.sum(v["dloss_dbeta"]),
        "b2 has one entry per class: should its gradient be summed to one number?",
    ),
)
