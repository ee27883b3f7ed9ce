"""The graders' own network of Lab 3: layers composed into a network of any depth, as the
notebook's ``Network`` is. The answers to the network's tests, and the network a student's
``train`` is judged with (so a mistake in their ``Network`` costs its tests, not training's).

Withheld from the sandbox that judges a student's ``Network``; present in the one that judges
their ``train``.
"""

from __future__ import annotations

import itertools

import numpy as np

from helpers import layers_reference as layers

ACTIVATIONS = {
    "relu": (layers.relu_forward, layers.relu_backward),
    "logistic": (layers.logistic_forward, layers.logistic_backward),
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
        out, affine_cache = layers.affine_forward(out, params[f"W{number}"], params[f"b{number}"])
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
    loss, dout = layers.softmax_cross_entropy(scores, T)
    grads = {}
    for number in range(len(caches), 0, -1):
        affine_cache, activation_cache = caches[number - 1]
        if activation_cache is not None:
            dout = backward(dout, activation_cache)
        dout, grads[f"W{number}"], grads[f"b{number}"] = layers.affine_backward(dout, affine_cache)
    penalty, penalty_grads = layers.l2_penalty(params, reg)
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
