"""The visible checks students run: same runner and verdicts as the judge, on one sample."""

from __future__ import annotations

import numpy as np

from helpers import backprop_spec, lab1, step_verdicts

X = np.ones((5, 2))


def reads_notebook_data(x, t, W1, b1, W2, b2):
    alpha = W1 @ X[0] + b1  # the notebook's X, not the argument
    return alpha, [v * 2 for v in X.T[0]]


def uses_only_its_arguments(x, t, W1, b1, W2, b2):
    return W2.T @ (W1 @ x + b1), np.outer(t, x)


def test_backprop_reading_notebook_variables_is_named():
    assert step_verdicts.notebook_variables_read(reads_notebook_data) == ["X"]


def test_attributes_and_functions_are_not_taken_for_notebook_variables():
    assert step_verdicts.notebook_variables_read(uses_only_its_arguments) == []


def _whole_verdict(returned_order, failing_steps=()):
    """returns_verdict for a backprop that returns the true gradients in ``returned_order``."""
    rng = np.random.default_rng(0)
    x, t, W1, b1, W2, b2 = backprop_spec.random_case(rng)
    truth = backprop_spec.true_gradients(
        x, t, W1, b1, W2, b2, lab1.network.forward(x, W1, b1, W2, b2)
    )
    run = {"full": {"returned": [truth[name].tolist() for name in returned_order]}}
    return step_verdicts.returns_verdict([run], [truth], list(failing_steps), "")


def test_the_return_order_hint_is_given_only_when_the_order_is_the_likely_cause():
    swapped = ("dloss_dW2", "dloss_db2", "dloss_dW1", "dloss_db1")
    passed, message = _whole_verdict(swapped)
    assert not passed and "in that order" in message
    passed, message = _whole_verdict(backprop_spec.RETURNED)
    assert passed, message
    passed, message = _whole_verdict(swapped, failing_steps=["dloss_dbeta"])
    assert not passed and "in that order" not in message
    assert "The earliest failing step is dloss_dbeta" in message
