"""The judge of a student's mini-batch SGD, ``train(X, T, params, batch_size, rate, n_epochs,
rng)`` (``labs.probe_judge``): called on hidden data sets in the judge's probe with a recording
backprop of the check's own (``helpers.sgd_check``), its record judged here: every sample once
an epoch, ``batch_size`` at a time, in a fresh order, each step ``-rate`` times the gradient."""

from __future__ import annotations

from collections.abc import Callable

from helpers import sgd_check
from labs.backprop_judge import WITHHELD_HELPERS
from labs.probe_judge import ProbeJudge

# What the probe's sandbox needs that a backprop's sandbox withholds: the check's own backprop
# (its gradients by central differences). The train it judges gets nothing of it but its calls.
PROBE_NEEDS = ("sgd_check.py", "gradcheck.py")


def train_judge(hidden_cases: Callable[[int], list[dict]]) -> ProbeJudge:
    """The judge of ``train`` on the hidden cases ``hidden_cases(seed)``
    (``helpers.sgd_check.sgd_cases`` drawn from seeds of the lab's own)."""
    return ProbeJudge(
        "train",
        sgd_check.check_train,
        ("helpers.sgd_check", "call_train"),
        hidden_cases,
        sgd_check.answer_problem,
        lambda case: (
            f"on a hidden data set of {len(case['X'])} samples (batch size {case['batch_size']})"
        ),
        tuple(name for name in WITHHELD_HELPERS if name not in PROBE_NEEDS),
    )
