"""Finite-difference gradient checks that return verdicts instead of printing.

Two numerical tools and two checks built on them:

- :func:`numerical_gradient` -- the gradient of a scalar function, by central differences;
- :func:`numerical_vjp` -- ``upstream . d f / d x`` for an array-valued ``f``: the local check of
  one backprop step;
- :func:`check_gradient` / :func:`check_vjp` -- compare an analytic result with those and return a
  :class:`GradCheck` verdict that can raise an ``AssertionError`` a student can act on.

Every perturbed entry is restored bit for bit, also when ``f`` raises, and no numpy or Python
warning escapes (nbgrader gives zero to a test cell that writes to stderr).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from helpers.failures import CheckFailed

DEFAULT_STEP = 1e-5
DEFAULT_TOLERANCE = 1e-7
RELATIVE_ERROR_FLOOR = 1e-8


@contextmanager
def quiet_numerics() -> Iterator[None]:
    """Silence numpy floating-point warnings and Python warnings inside the block."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _as_float_array(x: object, what: str) -> np.ndarray:
    """Return ``x`` as a float64 ndarray; the same object when it already is one."""
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return x
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be an array of numbers, got {type(x).__name__}") from error


def _perturbed_values(f: Callable, x: np.ndarray, index: tuple, h: float):
    """Return ``(f(x + h e_i), f(x - h e_i))``, restoring ``x[index]`` exactly afterwards."""
    original = x[index]
    try:
        x[index] = original + h
        plus = np.array(f(x), dtype=np.float64, copy=True)
        x[index] = original - h
        minus = np.array(f(x), dtype=np.float64, copy=True)
    finally:
        x[index] = original
    return plus, minus


def _writable_float64(x: object, what: str) -> np.ndarray:
    """``x`` itself when it is a writable float64 array (so closures over it see perturbations),
    otherwise a float64 copy."""
    array = _as_float_array(x, what)
    if not array.flags.writeable:
        array = array.copy()
    return array


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    h: float = DEFAULT_STEP,
    indices: list[tuple] | None = None,
) -> np.ndarray:
    """Gradient of a scalar function by central differences in float64.

    Args:
        f: called as ``f(x)``; returns a scalar (or a size-1 array). It may also ignore its
            argument and read ``x`` through a closure: a float64 ``x`` is perturbed in place.
        x: the point, any shape. Restored exactly afterwards, also when ``f`` raises.
        h: the step.
        indices: entries to differentiate (index tuples); all of them when None. Entries not
            listed are NaN in the result.

    Returns:
        float64 array of ``x``'s shape: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` per entry.
    """
    x = _writable_float64(x, "x")
    grad = np.full(x.shape, np.nan) if indices is not None else np.empty(x.shape)
    with quiet_numerics():
        for index in indices if indices is not None else np.ndindex(x.shape):
            plus, minus = _perturbed_values(f, x, index, h)
            if plus.size != 1:
                raise ValueError(
                    f"numerical_gradient needs a scalar function, but f returned shape "
                    f"{plus.shape}; use numerical_vjp for array-valued functions"
                )
            grad[index] = (plus.item() - minus.item()) / (2.0 * h)
    return grad


def numerical_vjp(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    upstream: np.ndarray,
    h: float = DEFAULT_STEP,
    indices: list[tuple] | None = None,
) -> np.ndarray:
    """Vector-Jacobian product ``sum_k upstream[k] * d f[k] / d x`` by central differences.

    This is what one backprop step computes: given the gradient of the loss with respect to
    ``f``'s output (``upstream``), the gradient with respect to its input ``x``.

    Args:
        f: array-valued function of ``x``; its output has ``upstream``'s shape.
        x: the point, any shape; restored exactly afterwards.
        upstream: gradient of the loss with respect to ``f(x)``, shape of ``f(x)``.
        h: the step.
        indices: entries of ``x`` to differentiate; all when None (others are NaN).

    Returns:
        float64 array of ``x``'s shape.
    """
    upstream = _as_float_array(upstream, "upstream")

    def projected(point: np.ndarray) -> float:
        value = np.asarray(f(point), dtype=np.float64)
        if value.shape != upstream.shape:
            raise ValueError(
                f"f returned shape {value.shape} but upstream has shape {upstream.shape}"
            )
        return float(np.sum(value * upstream))

    return numerical_gradient(projected, x, h=h, indices=indices)


def rel_error(a: np.ndarray, b: np.ndarray, floor: float = RELATIVE_ERROR_FLOOR) -> float:
    """Largest symmetric relative error ``|a - b| / max(|a| + |b|, floor)`` over all entries.

    The floor keeps entries where both values are (nearly) zero from dividing by zero: there
    the error is absolute, scaled by ``1 / floor``. Returns 0.0 for empty arrays and ``inf``
    when either array holds a NaN or infinity.
    """
    return float(np.max(relative_errors(a, b, floor), initial=0.0))


def relative_errors(a: np.ndarray, b: np.ndarray, floor: float = RELATIVE_ERROR_FLOOR):
    """Entry-wise symmetric relative error of two same-shape arrays (see :func:`rel_error`)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with quiet_numerics():
        errors = np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)
    return np.where(np.isfinite(a) & np.isfinite(b), errors, np.inf)


@dataclass(frozen=True)
class GradCheck:
    """The verdict of comparing an analytic gradient with a numerical one.

    ``expected`` is the numerical value and ``actual`` the analytic one being checked;
    ``worst_index`` locates the largest relative error (None when shapes differ).
    """

    name: str
    passed: bool
    tolerance: float
    expected_shape: tuple
    actual_shape: tuple
    max_rel_error: float = float("nan")
    worst_index: tuple | None = None
    expected_value: float = float("nan")
    actual_value: float = float("nan")
    entries_checked: int = 0
    entries_total: int = 0
    hint: str = ""

    @property
    def message(self) -> str:
        """One paragraph a student can act on."""
        if self.expected_shape != self.actual_shape:
            text = f"{self.name}: expected shape {self.expected_shape}, got {self.actual_shape}."
        else:
            verdict = "passed" if self.passed else "is wrong"
            text = (
                f"{self.name} {verdict}: largest relative error {self.max_rel_error:.2e} "
                f"(tolerance {self.tolerance:.0e}) at index {self.worst_index}, where the "
                f"numerical gradient is {self.expected_value:.6g} and yours is "
                f"{self.actual_value:.6g}."
            )
            if self.entries_checked < self.entries_total:
                text += f" Checked {self.entries_checked} of {self.entries_total} entries."
        if self.hint and not self.passed:
            text += f" Hint: {self.hint}"
        return text

    def raise_if_failed(self) -> GradCheck:
        """Raise ``AssertionError(self.message)`` when the check failed; return self otherwise."""
        if not self.passed:
            raise CheckFailed(self.message)
        return self

    def __bool__(self) -> bool:
        return self.passed


def sample_indices(shape: tuple, max_entries: int | None, seed: int = 0) -> list[tuple]:
    """All index tuples of ``shape``, or a seeded random subset of ``max_entries`` of them."""
    size = int(np.prod(shape, dtype=np.int64))
    if max_entries is None or size <= max_entries:
        flat = np.arange(size)
    else:
        flat = np.sort(np.random.default_rng(seed).choice(size, size=max_entries, replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def compare(
    expected: np.ndarray,
    actual: object,
    name: str,
    tolerance: float = DEFAULT_TOLERANCE,
    indices: list[tuple] | None = None,
    hint: str = "",
) -> GradCheck:
    """Compare a reference array with a value under test (any array-like) and give a verdict.

    Args:
        expected: the reference (e.g. a numerical gradient), float64 array.
        actual: what is checked; converted to float64. A value that is not numeric or has
            another shape fails the check with a message saying so.
        name: what the value is called in messages (e.g. ``"dloss_dW2"``).
        tolerance: largest accepted symmetric relative error.
        indices: only compare these entries (the rest of ``expected`` may be NaN).
        hint: appended to the message when the check fails.
    """
    expected = np.asarray(expected, dtype=np.float64)
    try:
        with quiet_numerics():
            actual_array = np.array(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return GradCheck(
            name=name,
            passed=False,
            tolerance=tolerance,
            expected_shape=expected.shape,
            actual_shape=(f"not an array of numbers: {type(actual).__name__}",),
            hint=hint,
        )
    if actual_array.shape != expected.shape:
        return GradCheck(
            name=name,
            passed=False,
            tolerance=tolerance,
            expected_shape=expected.shape,
            actual_shape=actual_array.shape,
            hint=hint,
            entries_total=expected.size,
        )
    if indices is None:
        indices = [tuple(i) for i in np.ndindex(expected.shape)]
    if not indices:
        return GradCheck(
            name=name,
            passed=True,
            tolerance=tolerance,
            expected_shape=expected.shape,
            actual_shape=actual_array.shape,
            max_rel_error=0.0,
            hint=hint,
        )
    selector = tuple(np.array(axis) for axis in zip(*indices, strict=True))
    errors = np.atleast_1d(relative_errors(expected[selector], actual_array[selector]))
    worst = int(np.argmax(errors))
    worst_index = indices[worst]
    max_error = float(errors[worst])
    return GradCheck(
        name=name,
        passed=bool(max_error < tolerance),
        tolerance=tolerance,
        expected_shape=expected.shape,
        actual_shape=actual_array.shape,
        max_rel_error=max_error,
        worst_index=worst_index,
        expected_value=float(expected[worst_index]),
        actual_value=float(actual_array[worst_index]),
        entries_checked=len(indices),
        entries_total=expected.size,
        hint=hint,
    )


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: object,
    name: str = "gradient",
    tolerance: float = DEFAULT_TOLERANCE,
    h: float = DEFAULT_STEP,
    max_entries: int | None = None,
    seed: int = 0,
    raise_on_failure: bool = False,
    hint: str = "",
) -> GradCheck:
    """Check an analytic gradient of scalar ``f`` at ``x`` against central differences.

    Args:
        f: scalar function of ``x`` (see :func:`numerical_gradient`).
        x: the point, float64 array; unchanged afterwards.
        analytic: the gradient under test; should have ``x``'s shape.
        name: what to call it in the message.
        tolerance: largest accepted symmetric relative error.
        h: finite-difference step.
        max_entries: check only a seeded random subset of this many entries of large arrays.
        seed: seed of that subset.
        raise_on_failure: raise ``AssertionError`` with the verdict's message on failure.
        hint: advice appended to a failure message.

    Returns:
        The :class:`GradCheck` verdict.
    """
    x = _writable_float64(x, "x")
    indices = sample_indices(x.shape, max_entries, seed)
    expected = numerical_gradient(f, x, h=h, indices=indices)
    verdict = compare(expected, analytic, name, tolerance, indices, hint)
    return verdict.raise_if_failed() if raise_on_failure else verdict


def check_vjp(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    upstream: np.ndarray,
    analytic: object,
    name: str = "vector-Jacobian product",
    tolerance: float = DEFAULT_TOLERANCE,
    h: float = DEFAULT_STEP,
    max_entries: int | None = None,
    seed: int = 0,
    raise_on_failure: bool = False,
    hint: str = "",
) -> GradCheck:
    """Check one backprop step: ``analytic`` should equal ``upstream . d f / d x`` at ``x``.

    Arguments as :func:`check_gradient`, plus ``upstream``: the gradient of the loss with
    respect to ``f(x)``, shape of ``f(x)``.
    """
    x = _writable_float64(x, "x")
    indices = sample_indices(x.shape, max_entries, seed)
    expected = numerical_vjp(f, x, upstream, h=h, indices=indices)
    verdict = compare(expected, analytic, name, tolerance, indices, hint)
    return verdict.raise_if_failed() if raise_on_failure else verdict


def check_gradients(
    f: Callable[[], float],
    params: dict[str, np.ndarray],
    analytic: dict[str, object],
    tolerance: float = DEFAULT_TOLERANCE,
    h: float = DEFAULT_STEP,
    max_entries: int | None = None,
    min_per_array: int = 3,
    seed: int = 0,
    raise_on_failure: bool = False,
    hint: str = "",
) -> dict[str, GradCheck]:
    """Check the gradients of a scalar ``f()`` with respect to several parameter arrays at once.

    ``f`` takes no argument and reads the arrays in ``params`` (e.g. a loss over ``W1, b1, ...``);
    each is perturbed in place and restored. With ``max_entries``, a seeded random subset of
    about that many entries is checked in all, split by size but never fewer than
    ``min_per_array`` entries from each array.

    Returns:
        ``{name: GradCheck}`` in ``params``' order; with ``raise_on_failure`` the first failing
        verdict raises, its message naming the array.
    """
    total = sum(np.size(p) for p in params.values())
    verdicts = {}
    for position, (name, param) in enumerate(params.items()):
        if not (isinstance(param, np.ndarray) and param.dtype == np.float64):
            raise TypeError(f"parameter {name} must be a float64 numpy array")
        budget = None
        if max_entries is not None:
            budget = max(min_per_array, round(max_entries * param.size / total))
        verdicts[name] = check_gradient(
            lambda _: f(),
            param,
            analytic.get(name),
            name=name,
            tolerance=tolerance,
            h=h,
            max_entries=budget,
            seed=seed + position,
            hint=hint,
        )
    if raise_on_failure:
        for verdict in verdicts.values():
            verdict.raise_if_failed()
    return verdicts
