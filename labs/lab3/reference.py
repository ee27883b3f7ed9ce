"""Lab 3's answers: the graders' own layers and network, instructor-only (never installed for
students). The judge computes every true value with them in the grading process; and it sends
this file's code to the sandboxes that need it, where it runs as trusted code before the
student's: the network's (its layers stand in for the student's, so one mistake in a layer
does not cost the network's test too) and training's (its network is the one the student's
``train`` trains). Nothing else of the lab reaches a sandbox.

Self-contained (numpy only): it is sent as text. Conventions (Lab 2's): rows are samples; a
weight matrix ``W`` has shape ``(outputs, inputs)`` and a layer computes ``X @ W.T + b``.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

# How often each layer function has been called in this process: a network whose loss calls
# the loss function many times in one call is differentiating numerically.
CALLS: Counter[str] = Counter()


def affine_forward(X, W, b):
    """``X @ W.T + b`` for a batch ``X`` (n, d), ``W`` (m, d), ``b`` (m,); returns ``(out,
    cache)`` with ``out`` (n, m) and ``cache = (X, W, b)``."""
    CALLS["affine_forward"] += 1
    return X @ W.T + b, (X, W, b)


def affine_backward(dout, cache):
    """The gradients ``(dX, dW, db)`` of an affine layer, from the upstream ``dout`` (n, m)
    and the forward pass's ``cache = (X, W, b)``."""
    X, W, _ = cache
    return dout @ W, dout.T @ X, dout.sum(axis=0)


def relu_forward(A):
    """``max(A, 0)`` element-wise; returns ``(out, cache)`` with ``cache = A`` (its input)."""
    return np.maximum(A, 0.0), A


def relu_backward(dout, cache):
    """The gradient with respect to ReLU's input ``A = cache``: ``dout`` where ``A > 0``, 0
    elsewhere (the slope at the kink, ``A == 0``, is taken as 0)."""
    return dout * (cache > 0)


def logistic_forward(A):
    """``1 / (1 + exp(-A))`` element-wise, without overflow; returns ``(out, cache)`` with
    ``cache = out`` (its output, from which its slope follows)."""
    H = np.exp(-np.logaddexp(0.0, -A))
    return H, H


def logistic_backward(dout, cache):
    """The gradient with respect to the logistic's input, from its output ``H = cache``:
    ``dout * H * (1 - H)``."""
    return dout * cache * (1.0 - cache)


def softmax_cross_entropy(scores, T):
    """The mean categorical cross-entropy of the row-wise softmax of ``scores`` (n, k) against
    one-hot targets ``T`` (n, k), and its gradient ``dscores`` (n, k): ``(loss, dscores)``."""
    CALLS["softmax_cross_entropy"] += 1
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = float(-np.sum(T * log_probabilities) / n)
    return loss, (np.exp(log_probabilities) - T) / n


def weight_names(params: dict) -> list[str]:
    """The names of the weight matrices among ``params`` (``W1``, ``W2``, ...), not biases."""
    return [name for name in params if name.startswith("W")]


def l2_penalty(params, reg):
    """``½ · reg · Σ ‖W‖²`` over the weight matrices of ``params`` (by name; biases are not
    regularised), and its gradient for every parameter: ``(penalty, grads)``, ``grads[name]``
    being ``reg · W`` for a weight matrix and zeros for a bias."""
    penalty = 0.5 * reg * sum(float(np.sum(params[name] ** 2)) for name in weight_names(params))
    grads = {
        name: reg * value if name.startswith("W") else np.zeros_like(value)
        for name, value in params.items()
    }
    return penalty, grads


# What the judge of a network substitutes for the student's layers, by name.
LAYERS = (
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "logistic_forward",
    "logistic_backward",
    "softmax_cross_entropy",
    "l2_penalty",
)


ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "logistic": (logistic_forward, logistic_backward),
}


def initial_parameters(sizes, seed: int) -> dict[str, np.ndarray]:
    """The notebook's starting parameters of a network of layer ``sizes`` (inputs first,
    classes last): ``W1`` (sizes[1], sizes[0]) drawn with He scaling, ``b1`` zeros, and so on."""
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (inputs, outputs) in enumerate(itertools.pairwise(sizes), 1):
        params[f"W{layer}"] = rng.normal(scale=np.sqrt(2.0 / inputs), size=(outputs, inputs))
        params[f"b{layer}"] = np.zeros(outputs)
    return params


def network_scores(params: dict, activation: str, X) -> tuple[np.ndarray, list]:
    """The output layer's scores (n, k) of the network ``params`` on ``X`` (n, d), and each
    layer's caches, in order."""
    forward, _ = ACTIVATIONS[activation]
    layer_count = len(params) // 2
    out, caches = X, []
    for number in range(1, layer_count + 1):
        out, affine_cache = affine_forward(out, params[f"W{number}"], params[f"b{number}"])
        activation_cache = None
        if number < layer_count:
            out, activation_cache = forward(out)
        caches.append((affine_cache, activation_cache))
    return out, caches


def network_loss(params: dict, activation: str, reg: float, X, T) -> tuple[float, dict]:
    """The regularised mean loss of the network ``params`` on ``X`` (n, d), ``T`` (n, k), and
    its gradient for every parameter, by name: ``(loss, grads)``."""
    _, backward = ACTIVATIONS[activation]
    scores, caches = network_scores(params, activation, X)
    loss, dout = softmax_cross_entropy(scores, T)
    grads = {}
    for number in range(len(caches), 0, -1):
        affine_cache, activation_cache = caches[number - 1]
        if activation_cache is not None:
            dout = backward(dout, activation_cache)
        dout, grads[f"W{number}"], grads[f"b{number}"] = affine_backward(dout, affine_cache)
    penalty, penalty_grads = l2_penalty(params, reg)
    return loss + penalty, {name: grads[name] + penalty_grads[name] for name in params}


def accuracy(params: dict, activation: str, X, T) -> float:
    """The share of the samples ``X`` (n, d) whose highest score is their target's class."""
    scores, _ = network_scores(params, activation, X)
    return float(np.mean(scores.argmax(axis=1) == np.asarray(T).argmax(axis=1)))


class ReferenceNetwork:
    """The notebook's ``Network``, as the graders write it: ``params`` (by name), ``forward(X)
    -> (scores, caches)``, ``loss(X, T) -> (loss, grads)`` and ``predict(X)`` (each sample's
    class)."""

    def __init__(self, sizes, activation="relu", reg=0.0, seed=0):
        self.sizes = list(sizes)
        self.activation = activation
        self.reg = reg
        self.params = initial_parameters(self.sizes, seed)

    def forward(self, X):
        """The scores (n, k) of ``X`` (n, d) and each layer's caches, in order."""
        return network_scores(self.params, self.activation, X)

    def loss(self, X, T):
        """The regularised mean loss on ``X`` (n, d), ``T`` (n, k) and its gradients."""
        return network_loss(self.params, self.activation, self.reg, X, T)

    def predict(self, X):
        """Each sample's class: the index of its highest score."""
        return network_scores(self.params, self.activation, X)[0].argmax(axis=1)
