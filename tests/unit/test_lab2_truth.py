"""helpers.lab2: the batched forward pass is Lab 1's row by row, and each step's true value is
the gradient of the batch's mean loss (checked against central differences)."""

from __future__ import annotations

import numpy as np

from helpers import lab2, network
from helpers.gradcheck import numerical_gradient, rel_error


def _batch(n: int = 6, d: int = 2, m: int = 5, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = network.init_parameters(d, m, k, rng)
    params["b1"], params["b2"] = rng.normal(size=m), rng.normal(size=k)
    X = rng.normal(size=(n, d))
    T = np.eye(k)[rng.integers(0, k, size=n)]
    return X, T, params


def test_the_batched_forward_pass_is_lab1_s_row_by_row():
    X, _, p = _batch()
    batch = lab2.forward_batch(X, **p)
    for i, x in enumerate(X):
        single = network.forward(x, **p)
        for batched, name in (("A", "alpha"), ("H", "h"), ("B", "beta"), ("Y", "y")):
            assert np.allclose(batch[batched][i], single[name], rtol=0, atol=1e-12)


def test_parameter_steps_are_the_gradients_of_the_mean_loss():
    X, T, p = _batch()
    truth = lab2.true_batch_steps(X, T, **p)
    for step, name in (
        ("dloss_dW1", "W1"),
        ("dloss_db1", "b1"),
        ("dloss_dW2", "W2"),
        ("dloss_db2", "b2"),
    ):
        numerical = numerical_gradient(lambda _: network.mean_loss(X, T, **p), p[name])
        assert truth[step].shape == p[name].shape
        assert rel_error(truth[step], numerical) < 1e-6, step


def test_row_steps_are_the_gradients_of_the_mean_loss_through_each_variable():
    X, T, p = _batch()
    truth = lab2.true_batch_steps(X, T, **p)
    forward = lab2.forward_batch(X, **p)
    n = len(X)

    def from_B(B):
        return network.categorical_ce(network.softmax(B), T) / n

    def from_H(H):
        return from_B(H @ p["W2"].T + p["b2"])

    checks = {
        "dloss_dB": (from_B, forward["B"]),
        "dloss_dH": (from_H, forward["H"]),
        "dloss_dA": (lambda A: from_H(network.logistic(A)), forward["A"]),
        "dloss_dY": (lambda Y: network.categorical_ce(Y, T) / n, forward["Y"]),
    }
    for step, (loss, at) in checks.items():
        point = at.copy()
        numerical = numerical_gradient(lambda _, f=loss, x=point: f(x), point)
        assert truth[step].shape == at.shape
        assert rel_error(truth[step], numerical) < 1e-6, step
