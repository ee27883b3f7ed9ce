"""The graders' own layers of Lab 3 ("Deeper networks from layers"): the answers to its layer
functions, and what the judge puts in place of a student's layers when it judges their network
(so a mistake in one layer costs that layer's tests, not the network's).

Withheld from the sandbox that judges a layer function; present in the one that judges the
network, where these are the layers its code calls. Conventions (Lab 2's): rows are samples;
a weight matrix ``W`` has shape ``(outputs, inputs)`` and a layer computes ``X @ W.T + b``.
"""

from __future__ import annotations

import numpy as np

from helpers.layer_calls import CALLS  # counted there: a network's calls of these, while judged


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
