"""judge_runtime.tracing: a loop over samples is told from vectorized code by the lines it runs and
the arrays it makes, however it is written (numpy's own Python loops and loops driven from C
included), numpy's own planning never counts against vectorized code, and switching the count
off is caught as it is tried."""

from __future__ import annotations

import functools
import os
import sys

import numpy as np
import pytest

from judge_runtime.tracing import CountInterfered, lines_run, loops_over_samples

NOTEBOOK = {"np": np}
exec(
    compile(
        """
def vectorized(X, W):
    Z = X @ W.T
    return Z.mean(axis=0)

def explicit_loop(X, W):
    total = np.zeros(W.shape[0])
    for x in X:
        total += W @ x
    return total / len(X)

def comprehension(X, W):
    return np.mean([W @ x for x in X], axis=0)

def mapped(X, W):
    return np.mean(list(map(lambda x: W @ x, X)), axis=0)

def along_axis(X, W):
    return np.apply_along_axis(lambda x: W @ x, 1, X).mean(axis=0)

def with_vectorize(X, W):
    return np.vectorize(lambda v: v * 2.0)(X).sum()

def via_helper(X, W):
    return helper(X, W)

def builtin_sum(X, W):
    return sum(X @ W.T) / len(X)

def mapped_method(X, W):
    return np.mean(list(map(W.dot, X)), axis=0)

def reduced(X, W):
    return functools.reduce(np.add, X @ W.T) / len(X)

def plain_rows(X, W):
    return sum(np.asarray(X) @ W.T) / len(X)

def listed(X, W):
    return np.mean(np.array(list(X)) @ W.T, axis=0)

def from_iterator(X, W):
    return np.fromiter(map(np.sum, X), dtype=float).sum() * W.sum(axis=1)

def in_a_thread(X, W):
    import _thread, time
    done = []
    _thread.start_new_thread(lambda: done.append(sum(W @ x for x in X)), ())
    while not done:
        time.sleep(0.001)
    return done[0]

def einsum_planned(X, W):
    Z = np.einsum("nd,md->nm", X, W, optimize=True)
    G = np.einsum("nm,md,nd->md", Z, W, X, optimize=True)
    return np.einsum("md,kd,nk->m", G, W, X @ W.T, optimize="greedy")

def printed(X, W):
    Z = X @ W.T
    print("predicted:", Z.argmax(axis=1), repr(Z[:, 0]))
    return Z.mean(axis=0)

def formatted_by_hand(X, W):
    text = np.array2string(X[:, 0], threshold=10**9,
                           formatter={"float_kind": lambda v: f"{v * 2.0:.3f}"})
    return np.full(W.shape[0], len(text))

def over_classes(X, W):
    Z = X @ W.T
    total = np.zeros(W.shape[0])
    for c in range(W.shape[0]):
        total[c] = Z[:, c].mean()
    return total
""",
        "<notebook cell 7>",
        "exec",
    ),
    NOTEBOOK := {**NOTEBOOK, "functools": functools},
)
exec(
    compile(
        """
def helper(X, W):
    rows = []
    i = 0
    while i < len(X):
        rows.append(W @ X[i])
        i += 1
    return np.mean(rows, axis=0)
""",
        "<notebook cell 6>",
        "exec",
    ),
    NOTEBOOK,
)


def batch(n: int):
    rng = np.random.default_rng(n)
    return rng.normal(size=(n, 3)), rng.normal(size=(4, 3))


def test_vectorized_code_runs_the_same_lines_at_any_batch_size():
    grows, small, large = loops_over_samples(NOTEBOOK["vectorized"], batch)
    assert not grows and small[:3] == large[:3]  # the objects it allocates: a few more or less
    assert small.total > 2  # numpy's own Python lines count too (mean is Python code)
    assert small.arrays > 0  # and the arrays made from the arguments


@pytest.mark.parametrize(
    "name",
    [
        "explicit_loop",
        "comprehension",
        "mapped",
        "along_axis",
        "with_vectorize",
        "via_helper",
        "builtin_sum",
        "mapped_method",
        "reduced",
        "listed",
        "from_iterator",
        "formatted_by_hand",
        "plain_rows",
    ],
)
def test_a_loop_over_samples_is_found_however_it_is_written(name):
    grows, small, large = loops_over_samples(NOTEBOOK[name], batch)
    assert grows, (name, small, large)


@pytest.mark.parametrize("sizes", [(16, 240), (20, 250), (16, 1040), (20, 600), (64, 2000)])
@pytest.mark.parametrize("name", ["einsum_planned", "over_classes", "vectorized", "printed"])
def test_numpys_planning_and_fixed_loops_are_no_loop_at_any_sizes(name, sizes):
    """einsum(optimize=True) plans in Python, differently for some shapes, and numpy formats a
    printed array entry by entry in Python: neither is a loop of the function's own."""
    grows, small, large = loops_over_samples(NOTEBOOK[name], batch, sizes)
    assert not grows, (name, sizes, small, large)


def test_a_loop_run_in_another_thread_is_caught_as_it_starts():
    with pytest.raises(CountInterfered, match="start_new_thread"):
        lines_run(NOTEBOOK["in_a_thread"], *batch(4))


def test_the_tracer_before_is_restored_and_errors_propagate():
    def failing(X, W):
        raise ValueError("shapes")

    before = sys.gettrace()
    with pytest.raises(ValueError):
        lines_run(failing, *batch(4))
    assert sys.gettrace() is before


exec(
    compile(
        """
import sys

def tracer_off(X, W):
    quiet = getattr(sys, "set" + "trace")
    quiet(None)
    return sum(float(W @ x @ W @ x) for x in X)

def tracer_off_and_on(X, W):
    saved = sys.gettrace()
    list(map(sys.settrace, [None]))
    total = sum(float(W @ x @ W @ x) for x in X)
    list(map(sys.settrace, [saved]))
    return total

def tracer_off_through_map(X, W):
    list(map(sys.settrace, [None]))
    return sum(float(W @ x @ W @ x) for x in X)

def frame_untraced(X, W):
    sys._getframe().f_trace = None
    return sum(float(W @ x @ W @ x) for x in X)

def profiler_off(X, W):
    list(map(sys.setprofile, [None]))  # called from C: the profiler does not see it
    return sum(float(W @ x @ W @ x) for x in X)

def forged_answer(X, W):
    os.write(-1, b"forged\\n")  # no such descriptor: here the call goes on, and fails
    return X.sum()
""",
        "<notebook cell 9>",
        "exec",
    ),
    NOTEBOOK := {**NOTEBOOK, "os": os},
)


@pytest.mark.parametrize(
    "name",
    [
        "tracer_off",
        "tracer_off_and_on",
        "tracer_off_through_map",
        "frame_untraced",
        "profiler_off",
        "forged_answer",
    ],
)
def test_switching_the_count_off_or_writing_around_it_is_caught(name):
    before = sys.gettrace(), sys.getprofile()
    seen = []
    with pytest.raises(CountInterfered):
        lines_run(NOTEBOOK[name], *batch(4), on_interference=seen.append)
    assert seen  # told as it was tried (the judge's runner ends its process there)
    assert (sys.gettrace(), sys.getprofile()) == before


def test_code_compiled_under_the_counters_own_file_name_is_counted():
    """The counter skips its own frames by their code objects: a loop compiled under its file
    name, to pass for the counter's own code, is counted like any other."""
    import judge_runtime.tracing

    space: dict = {}
    exec(
        compile(
            "def rows(X, W):\n    seen = 0\n    for _ in X:\n        seen += 1\n    return seen\n",
            judge_runtime.tracing.__file__,
            "exec",
        ),
        space,
    )
    small, large = (lines_run(space["rows"], *batch(n)).total for n in (4, 32))
    assert 0 < small < large
