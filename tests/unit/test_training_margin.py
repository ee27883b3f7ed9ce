"""The training test tells a working backprop from a broken hidden layer, whatever the seed of
its problem: with right gradients it passes, with each named misconception of the hidden layer
(labs.lab1.broken_training) it fails, on every one of 20 seeds (bench/training_margin.py
measures the margin)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import lab1
from helpers.failures import CheckFailed
from judge_runtime.training import train
from labs.lab1.broken_training import BROKEN, batched_backprop

SEEDS = range(20)


def _trained(misconception: str | None, seed: int) -> lab1.TrainingResult:
    X, T, params = lab1.training_problem(seed=seed)
    with np.errstate(all="ignore"):
        trained = train(
            batched_backprop(misconception),
            X,
            T,
            params,
            lab1.TRAINING_EPOCHS,
            lab1.TRAINING_RATE,
            batched=True,
            reached=lab1.training_reached(X, T),
        )
        return lab1.training_result(X, T, params, trained)


def test_the_hidden_layer_misconceptions_are_all_there():
    assert {
        "dalpha_slope_forgotten",
        "dalpha_sigma_not_slope",
        "dalpha_slope_of_h",
        "db1_before_logistic",
    } <= set(BROKEN)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_gradients_pass_and_every_broken_hidden_layer_fails(seed):
    lab1.judge_training(_trained(None, seed))
    for misconception in BROKEN:
        with pytest.raises(CheckFailed, match="did not lower the loss enough"):
            lab1.judge_training(_trained(misconception, seed))


def test_a_loss_stuck_at_the_prior_is_explained():
    stuck = lab1.TrainingResult(3.2, float(np.log(3)), 0.3, 0.45, 3)
    with pytest.raises(CheckFailed, match=r"stays near 1\.10 \(ln 3.*hidden layer is not "):
        lab1.judge_training(stuck)
