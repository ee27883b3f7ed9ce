"""helpers.backprop_spec.true_gradients: the finite-difference truth every step is judged against,
computed only as far as asked and kept per sample for the rest of a grading batch."""

import numpy as np
import pytest

from helpers import backprop_spec, network


@pytest.fixture(autouse=True)
def empty_memory(monkeypatch):
    monkeypatch.setattr(backprop_spec, "_TRUTH_BY_CASE", {})


def case(seed):
    x, t, W1, b1, W2, b2 = backprop_spec.random_case(np.random.default_rng(seed))
    return (x, t, W1, b1, W2, b2, network.forward(x, W1, b1, W2, b2))


def test_the_truth_is_the_analytic_gradient():
    x, t, W1, b1, W2, b2, forward = case(1)  # odd seed: one-hot target
    truth = backprop_spec.true_gradients(x, t, W1, b1, W2, b2, forward)
    assert np.max(np.abs(truth["dloss_dbeta"] - (forward["y"] - t))) < 1e-7
    assert np.max(np.abs(truth["dloss_dW2"] - np.outer(forward["y"] - t, forward["h"]))) < 1e-7


def test_only_the_steps_asked_for_are_computed():
    sample = case(3)
    assert list(backprop_spec.true_gradients(*sample, through="dloss_dbeta")) == [
        "dloss_dy",
        "dloss_dbeta",
    ]
    assert list(backprop_spec.true_gradients(*sample)) == [
        step.name for step in backprop_spec.STEPS
    ]


def test_a_sample_seen_before_gets_the_same_values_without_recomputing(monkeypatch):
    sample = case(5)
    first = backprop_spec.true_gradients(*sample)
    monkeypatch.setattr(backprop_spec, "_chain_step", lambda *a, **k: pytest.fail("computed again"))
    again = backprop_spec.true_gradients(*sample)
    assert again.keys() == first.keys()
    assert all(np.array_equal(again[name], first[name]) for name in first)


def test_callers_cannot_change_what_the_next_caller_gets():
    sample = case(7)
    first = backprop_spec.true_gradients(*sample)
    expected = first["dloss_dh"].copy()
    first.pop("dloss_dh")
    with pytest.raises(ValueError):
        first["dloss_dy"][0] = 1.0  # read-only
    assert np.array_equal(backprop_spec.true_gradients(*sample)["dloss_dh"], expected)


def test_only_the_most_recent_samples_are_kept(monkeypatch):
    monkeypatch.setattr(backprop_spec, "TRUTH_CASES_KEPT", 2)
    for seed in (11, 12, 13):
        backprop_spec.true_gradients(*case(seed), through="dloss_dy")
    assert len(backprop_spec._TRUTH_BY_CASE) == 2
    monkeypatch.setattr(backprop_spec, "_chain_step", lambda *a, **k: pytest.fail("computed again"))
    for seed in (12, 13):  # the two most recent are the ones kept
        backprop_spec.true_gradients(*case(seed), through="dloss_dy")
