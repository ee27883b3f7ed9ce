"""The true values Lab 3's visible tests hold a student's answers to, in their own kernel:
forward computations only, every gradient by central differences (as Labs 1 and 2's visible
checks do), so the package students install holds no backward layer, no loss gradient and no
network. The judge's own truths are analytic and instructor-only (``labs/lab3/reference.py``).

Also the layers and the network the visible tests put in place of the student's while they
test the network and ``train`` (as the judge does), built the same way. Withheld from every
sandbox: its forward functions are the answers to the three forward tests.
"""

from __future__ import annotations

import itertools

import numpy as np

from helpers import layer_calls
from helpers.gradcheck import numerical_gradient, quiet_numerics

STEP = 1e-5  # central differences' step (entries of an activation nearer its kink use less)


def affine_forward(X, W, b):
    """``(X @ W.T + b, (X, W, b))``."""
    return X @ W.T + b, (X, W, b)


def relu_forward(A):
    """``(max(A, 0), A)``."""
    return np.maximum(A, 0.0), A


def logistic_forward(A):
    """``(1 / (1 + exp(-A)), A)``: the logistic, without overflow."""
    return np.exp(-np.logaddexp(0.0, -A)), A


def mean_cross_entropy(scores, T) -> float:
    """The mean cross-entropy of the row-wise softmax of ``scores`` against ``T``."""
    top = np.max(scores, axis=1, keepdims=True)
    log_sums = top + np.log(np.sum(np.exp(scores - top), axis=1, keepdims=True))
    return float(np.sum(T * (log_sums - scores)) / len(scores))


def penalty(params: dict, reg: float) -> float:
    """½·reg·Σ‖W‖² over the weight matrices of ``params``."""
    return 0.5 * reg * sum(float(np.sum(v**2)) for k, v in params.items() if k.startswith("W"))


def slope(forward, A) -> np.ndarray:
    """An element-wise ``forward``'s slope at every entry of ``A``, by central differences
    (with a step under half an entry's distance from 0, the kink of a ReLU); 0 at 0 itself for a
    ReLU, as the notebook takes it."""
    A = np.asarray(A, dtype=np.float64)
    h = np.minimum(STEP, np.maximum(np.abs(A) / 2, 1e-12))
    with quiet_numerics():
        found = (forward(A + h)[0] - forward(A - h)[0]) / (2 * h)
    return np.where(A == 0, 0.0, found) if forward is relu_forward else found


def affine_gradients(X, W, b, dout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dX, dW, db)`` of ``sum(dout * affine(X, W, b))``, by central differences."""
    X, W, b = (np.array(a, dtype=np.float64) for a in (X, W, b))

    def f(_):
        return float(np.sum(affine_forward(X, W, b)[0] * dout))

    return numerical_gradient(f, X), numerical_gradient(f, W), numerical_gradient(f, b)


def loss_gradient(scores, T) -> np.ndarray:
    """``dscores`` of the mean cross-entropy, by central differences (at the scores shifted by
    each row's maximum, which changes no softmax and keeps the differences exact)."""
    shifted = np.array(scores, dtype=np.float64)
    shifted -= shifted.max(axis=1, keepdims=True)
    return numerical_gradient(lambda _: mean_cross_entropy(shifted, T), shifted)


def network_loss(params: dict, activation: str, reg: float, X, T) -> float:
    """The regularised mean loss of the network ``params`` (forward only)."""
    forward = {"relu": relu_forward, "logistic": logistic_forward}[activation]
    out = X
    layers = len(params) // 2
    for number in range(1, layers + 1):
        out = affine_forward(out, params[f"W{number}"], params[f"b{number}"])[0]
        if number < layers:
            out = forward(out)[0]
    return mean_cross_entropy(out, T) + penalty(params, reg)


def network_gradients(params: dict, activation: str, reg: float, X, T) -> dict:
    """Every parameter's gradient of :func:`network_loss`, by central differences (a smaller
    step for a ReLU network, so that a unit seldom crosses its kink within it)."""
    at = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    h = STEP / 10 if activation == "relu" else STEP
    return {
        name: numerical_gradient(lambda _: network_loss(at, activation, reg, X, T), at[name], h)
        for name in at
    }


def true_outputs(function: str, case: dict) -> dict:
    """What ``function`` must return on ``case`` (``helpers.layer_calls``), by name."""
    with quiet_numerics():
        if function in ("affine_forward", "affine_backward"):
            X, W, b, dout = (np.asarray(case[k], dtype=np.float64) for k in ("X", "W", "b", "dout"))
            dX, dW, db = affine_gradients(X, W, b, dout)
            return {"out": affine_forward(X, W, b)[0], "dX": dX, "dW": dW, "db": db}
        if function.startswith(("relu", "logistic")):
            forward = relu_forward if function.startswith("relu") else logistic_forward
            A = np.asarray(case["A"], dtype=np.float64)
            return {"out": forward(A)[0], "dA": np.asarray(case["dout"]) * slope(forward, A)}
        if function == "softmax_cross_entropy":
            scores, T = np.asarray(case["scores"]), np.asarray(case["T"])
            return {"loss": mean_cross_entropy(scores, T), "dscores": loss_gradient(scores, T)}
        params = layer_calls.parameters_of(case)
        reg = float(case["reg"])
        if function == "l2_penalty":
            grads = {
                name: numerical_gradient(lambda _: penalty(params, reg), value)
                for name, value in params.items()
            }
            return {"penalty": penalty(params, reg), "grads": grads}
        X, T = np.asarray(case["X"]), np.asarray(case["T"])
        activation = case["activation"]
        return {
            "loss": network_loss(params, activation, reg, X, T),
            "grads": network_gradients(params, activation, reg, X, T),
        }


def affine_backward(dout, cache):
    """The affine layer's gradients, by central differences: the layers that stand in."""
    return affine_gradients(cache[0], cache[1], cache[2], dout)


def relu_backward(dout, cache):
    """ReLU's gradient from its input, by central differences."""
    return dout * slope(relu_forward, cache)


def logistic_backward(dout, cache):
    """The logistic's gradient from its input, by central differences."""
    return dout * slope(logistic_forward, cache)


def softmax_cross_entropy(scores, T):
    """``(loss, dscores)``, the gradient by central differences."""
    return mean_cross_entropy(scores, T), loss_gradient(scores, T)


def l2_penalty(params, reg):
    """``(penalty, grads)``, the gradients by central differences."""
    at = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    grads = {name: numerical_gradient(lambda _: penalty(at, reg), at[name]) for name in at}
    return penalty(at, reg), grads


# What stands in for the student's layers while the visible test checks their network.
STAND_INS = {
    "affine_forward": affine_forward,
    "affine_backward": affine_backward,
    "relu_forward": relu_forward,
    "relu_backward": relu_backward,
    "logistic_forward": logistic_forward,
    "logistic_backward": logistic_backward,
    "softmax_cross_entropy": softmax_cross_entropy,
    "l2_penalty": l2_penalty,
}


class NumericalNetwork:
    """A network as the notebook's ``Network`` is used (``params``, ``forward``, ``loss``,
    ``predict``), its gradients by central differences: what the visible test of ``train``
    trains (a small one: differences cost two forward passes per parameter entry)."""

    def __init__(self, sizes, activation="relu", reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes, self.activation, self.reg = list(sizes), activation, reg
        self.params = {}
        for number, (inputs, outputs) in enumerate(itertools.pairwise(self.sizes), 1):
            self.params[f"W{number}"] = rng.normal(
                scale=np.sqrt(2.0 / inputs), size=(outputs, inputs)
            )
            self.params[f"b{number}"] = np.zeros(outputs)

    def loss(self, X, T):
        """The regularised mean loss on ``X``, ``T`` and every parameter's gradient."""
        with quiet_numerics():
            loss = network_loss(self.params, self.activation, self.reg, X, T)
            return loss, network_gradients(self.params, self.activation, self.reg, X, T)

    def forward(self, X):
        """The scores (n, k) and no caches (nothing is differentiated through them here)."""
        forward = {"relu": relu_forward, "logistic": logistic_forward}[self.activation]
        out, layers = X, len(self.params) // 2
        for number in range(1, layers + 1):
            out = affine_forward(out, self.params[f"W{number}"], self.params[f"b{number}"])[0]
            if number < layers:
                out = forward(out)[0]
        return out, []

    def predict(self, X):
        """Each sample's class: the index of its highest score."""
        return self.forward(X)[0].argmax(axis=1)
