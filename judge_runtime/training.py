"""Gradient descent with a graded function that returns one gradient per parameter (called
``gradients_of(X, T, *params)``): the one loop a lab's training checks and the judge use.
Full-batch, so that it gives away nothing of a notebook's own exercise (mini-batch SGD with
shuffling). The lab names the function and the parameters; nothing here knows a network.

The loop is a conversation (:func:`descent`): it hands out each epoch's parameters and is given
what the function returned for them, summed. In a notebook, :func:`train` answers it by calling
the function there; the judge answers it with the sums of the calls its sandboxed runner made
(``judge_runtime.runner``), so the parameters, the training and its verdict stay with the grader,
where no student code runs. The arithmetic is the same code on both sides: the judge's training
ends where the notebook's does, to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np


class WrongReturn(ValueError):
    """The function returned something other than one gradient per parameter."""


def returned_gradients(result, names) -> list:
    """What the function returned, as a list of one gradient per parameter of ``names`` (in
    order); WrongReturn if it is not as many (its message says what it must return, for the
    caller to put the function's name before)."""
    names = tuple(names)
    try:
        returned = list(result)
    except TypeError:
        returned = []
    if len(returned) != len(names):
        raise WrongReturn(
            f"must return {len(names)} gradients, one per parameter "
            f"({', '.join(f'dloss_d{name}' for name in names)}); "
            f"it returned {type(result).__name__}"
            + (f" of length {len(returned)}" if returned else "")
        )
    return returned


def descent(
    params: dict, n_epochs: int, rate: float, reached: Callable[[dict], bool] | None = None
) -> Generator[dict, tuple[dict, int], dict]:
    """At most ``n_epochs`` steps of full-batch gradient descent, as a generator: it yields
    each epoch's parameters by name (fresh copies) and is sent what the function returned for them,
    summed (:func:`summed`) with the number of calls (one call on the whole set, or one per
    sample); each parameter moves against the mean gradient, scaled by ``rate``. Stops early
    once ``reached(params)`` is true of the parameters after an epoch (what the training is
    judged on, reached: more epochs would only cost time). Returns (as StopIteration's value)
    the trained parameters. Raises ValueError or TypeError when a sum is not numbers."""
    params = {name: np.array(p, dtype=np.float64) for name, p in params.items()}
    for _ in range(n_epochs):
        totals, calls = yield {name: p.copy() for name, p in params.items()}
        with np.errstate(all="ignore"):
            params = {
                name: p - rate * np.asarray(totals[name], dtype=np.float64) / calls
                for name, p in params.items()
            }
        if reached is not None and reached({name: p.copy() for name, p in params.items()}):
            break
    return params


def summed(calls: list, params: dict) -> dict:
    """The gradients of ``calls`` (what the function returned, one item per call) added up, by
    the name of the parameter ``params`` has in the same place. Raises WrongReturn when a call's
    answer is not one gradient per parameter, and ValueError or TypeError when one is not
    numbers."""
    totals = {name: np.zeros_like(np.asarray(p, dtype=np.float64)) for name, p in params.items()}
    with np.errstate(all="ignore"):
        for returned in calls:
            for name, gradient in zip(params, returned_gradients(returned, params), strict=True):
                totals[name] = totals[name] + np.asarray(gradient, dtype=np.float64)
    return totals


def epoch_calls(gradients_of: Callable, X, T, params: dict, batched: bool) -> list:
    """What ``gradients_of`` returns for one epoch at ``params``: one call on the whole set
    ``X (n, d)``, ``T (n, k)`` when ``batched``, else one per sample; each gets copies."""
    X, T = np.asarray(X, dtype=np.float64), np.asarray(T, dtype=np.float64)
    with np.errstate(all="ignore"):
        if batched:
            return [gradients_of(X.copy(), T.copy(), *(p.copy() for p in params.values()))]
        return [
            gradients_of(x.copy(), t.copy(), *(p.copy() for p in params.values()))
            for x, t in zip(X, T, strict=True)
        ]


def train(
    gradients_of: Callable,
    X,
    T,
    params: dict,
    n_epochs: int,
    rate: float,
    batched: bool,
    reached: Callable[[dict], bool] | None = None,
) -> dict:
    """:func:`descent` answered by calling ``gradients_of`` here (:func:`epoch_calls`). Returns the
    trained parameters by name (``params`` and the data are not changed)."""
    conversation = descent(params, n_epochs, rate, reached)
    current = next(conversation)
    try:
        while True:
            calls = epoch_calls(gradients_of, X, T, current, batched)
            current = conversation.send((summed(calls, current), len(calls)))
    except StopIteration as done:
        return done.value


def gradient_descent(
    gradients_of: Callable,
    X,
    T,
    params: dict,
    n_epochs: int,
    rate: float,
    reached: Callable[[dict], bool] | None = None,
) -> dict:
    """At most ``n_epochs`` steps of full-batch gradient descent with a batched
    ``gradients_of(X, T, *params)`` (until ``reached``, as :func:`descent`). Returns the trained
    parameters."""
    return train(gradients_of, X, T, params, n_epochs, rate, batched=True, reached=reached)


def same_returns(one, other) -> bool:
    """Whether two results of one call agree, array by array (NaN equal to NaN; arrays as
    nested lists too)."""
    try:
        if len(one) != len(other):
            return False
        for a, b in zip(one, other, strict=True):
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            if a.shape != b.shape:
                return False
            scale = float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0))
            if not np.allclose(a, b, rtol=1e-6, atol=1e-9 * (1.0 + scale), equal_nan=True):
                return False
    except Exception:  # not a sequence of arrays: the same only when equal as objects
        try:
            return bool(one == other)
        except Exception:
            return False
    return True
