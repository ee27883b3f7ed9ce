"""helpers.sgd_check: a student's mini-batch SGD judged from what it asks of a recording
backprop. Right forms pass on every draw; each single mistake fails naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.failures import CheckFailed
from helpers.network import mean_loss
from helpers.sgd_check import answer_problem, call_train, check_train, sgd_cases

SOLUTION = """
def train(X, T, params, batch_size, rate, n_epochs, rng):
    losses = [mean_loss(X, T, **params)]
    for epoch in range(n_epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            gradients = backprop(X[batch], T[batch], *params.values())
            for name, gradient in zip(params, gradients):
                params[name] -= rate * gradient
        losses.append(mean_loss(X, T, **params))
    return losses
"""
# Right in another form: the data shuffled together, backprop called with the notebook's
# keyword arguments, updates by name.
OTHER_FORM = """
def train(X, T, params, batch_size, rate, n_epochs, rng):
    losses = [mean_loss(X, T, **params)]
    for _ in range(n_epochs):
        shuffled = rng.permutation(np.arange(X.shape[0]))
        Xs, Ts = X[shuffled], T[shuffled]
        for i in range(int(np.ceil(len(X) / batch_size))):
            rows = slice(i * batch_size, (i + 1) * batch_size)
            dW1, db1, dW2, db2 = backprop(X=Xs[rows], T=Ts[rows], **params)
            params["W1"] = params["W1"] - rate * dW1
            params["b1"] -= rate * db1
            params["W2"] -= dW2 * rate
            params["b2"] = -rate * db2 + params["b2"]
        losses.append(mean_loss(X, T, **params))
    return losses
"""


def defined(code: str, edits=()):
    for old, new in edits:
        assert old in code, old
        code = code.replace(old, new)
    namespace = {"np": np, "mean_loss": mean_loss}
    exec(code, namespace)
    return namespace["train"]


def problems(train, seeds=range(5)) -> list[str]:
    found = []
    for seed in seeds:
        for case in sgd_cases(np.random.default_rng(seed)):
            answer = call_train(train, case)
            assert answer["error"] is None, answer["error"]
            if problem := answer_problem(case, answer):
                found.append(problem)
    return found


@pytest.mark.parametrize("code", [SOLUTION, OTHER_FORM], ids=["solution", "another form"])
def test_a_right_train_passes_and_its_own_backprop_is_put_back(code):
    train = defined(code)
    own = train.__globals__["backprop"] = object()
    assert problems(train) == []
    assert train.__globals__["backprop"] is own


@pytest.mark.parametrize(
    ("edits", "said"),
    [
        (
            [
                (
                    "    for epoch in range(n_epochs):\n        order = rng.permutation(len(X))\n",
                    "    order = rng.permutation(len(X))\n    for epoch in range(n_epochs):\n",
                )
            ],
            "same order in two epochs",
        ),
        ([("rng.permutation(len(X))", "np.arange(len(X))")], "their given order"),
        ([("rng.permutation(len(X))", "np.roll(np.arange(len(X)), epoch + 1)")], "fixed order"),
        ([("rng.permutation(len(X))", "np.arange(len(X))[::-1]")], "fixed order"),
        ([("params[name] -= rate", "params[name] += rate")], "with the gradient, not against"),
        ([("-= rate * gradient", "-= rate * batch_size * gradient")], "times as far"),
        ([("T[batch]", "T[start:start + batch_size]")], "targets that are not its samples"),
        ([("range(0, len(X), batch_size)", "range(0, len(X) - batch_size + 1, batch_size)")], ""),
        (
            [
                (
                    "params[name] -= rate * gradient",
                    "params = {**params, name: params[name] - rate * gradient}",
                )
            ],
            "change params in place",
        ),
        (
            [
                (
                    "backprop(X[batch], T[batch], *params.values())",
                    "[np.zeros_like(v) for v in params.values()]",
                )
            ],
            "never called backprop",
        ),
    ],
    ids=[
        "shuffled once",
        "never shuffled",
        "rotated",
        "reversed",
        "sign",
        "times batch size",
        "targets unshuffled",
        "last batch dropped",
        "a new dictionary",
        "no backprop",
    ],
)
def test_each_mistake_fails_saying_what_is_wrong(edits, said):
    found = problems(defined(SOLUTION, edits), seeds=range(2))
    assert found, "the mistake passed"
    assert all(said in problem for problem in found), found


def test_the_visible_check_raises_what_it_found():
    check_train(defined(SOLUTION), seed=0)
    with pytest.raises(CheckFailed, match="not against"):
        check_train(defined(SOLUTION, [("params[name] -= rate", "params[name] += rate")]), 0)
    with pytest.raises(CheckFailed, match="raised NotImplementedError"):
        check_train(defined("def train(*args):\n    raise NotImplementedError()\n"), 0)


def test_right_training_lowers_the_loss_on_every_case():
    """What the check asks of each step is enough for the loss to fall, with right gradients:
    so a train that passes trains."""
    train = defined(SOLUTION)
    for seed in range(20):
        for case in sgd_cases(np.random.default_rng(100 + seed)):
            answer = call_train(train, case)
            names = ("W1", "b1", "W2", "b2")
            before = mean_loss(case["X"], case["T"], **{n: case[n] for n in names})
            after = mean_loss(
                case["X"], case["T"], **{n: np.array(answer["params"][n]) for n in names}
            )
            assert after < before
