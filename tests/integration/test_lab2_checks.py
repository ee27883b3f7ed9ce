"""Lab 2's checks, as students meet them in the kernel and as the judge runs them.

The visible checks (helpers.lab2) on the instructor's solution and on the synthetic cohort's
mistakes; the loop check on loops of every kind; and the judge (sandbox, runner, verdicts,
without nbgrader) on the submissions whose grading depends on the runner's handling of a
batch: a whole number from the given part (``np.ones(n)``), a run that crashes before the
later steps, a broadcast that crashes, and a loop over the samples.
"""

from __future__ import annotations

import importlib.util

import nbformat
import numpy as np
import pytest

from course.judge.verdicts import judge_submission
from course.notebooks import cell_by_grade_id
from helpers import lab2
from labs import cohorts
from labs.lab2.cohort import DEMO_COHORT, LOOP_TEST
from labs.lab2.hidden import LINE_COUNT_SIZES as JUDGE_SIZES
from tests.support.paths import ROOT

SOURCE = ROOT / "source" / "lab2" / "vectorized.ipynb"
RELEASE = ROOT / "release" / "lab2" / "vectorized.ipynb"
BY_NAME = {s.student: s for s in DEMO_COHORT}


def _backprop(tmp_path, submission):
    """The ``backprop`` of a synthetic student, imported from a file (as a notebook's cells
    would define it: its source can be read, so its steps are run one by one)."""
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    nb = cohorts.build_submission(source, release, submission, "backprop")
    code = (
        "import numpy as np\n\n"
        + cell_by_grade_id(source, "provided_functions").source
        + "\n\n"
        + cell_by_grade_id(nb, "backprop").source
        + "\n"
    )
    path = tmp_path / f"{submission.student}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(submission.student, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.backprop


def _batch(n=6, seed=0):
    return lab2.random_batch(np.random.default_rng(seed), n)


def test_the_solution_passes_every_visible_check(tmp_path):
    backprop = _backprop(tmp_path, BY_NAME["correct"])
    for name in lab2.STEP_NAMES:
        lab2.check_step(name, backprop, *_batch())
    lab2.check_backprop_gradients(backprop, *_batch(n=1))
    lab2.check_no_loop_over_samples(backprop)
    lab2.check_training(backprop)


def test_a_step_right_only_for_the_notebooks_batch_size_fails_visibly(tmp_path):
    """The notebook's batch has 5 samples; the grader's have other sizes. A visible check tries
    those kinds of batch too, and says which one the step fails on."""
    hard_coded = cohorts.Submission(
        "hard_coded_n",
        "the batch size written as 5",
        edits=(
            (
                "dloss_dY = -T / np.maximum(Y, PROBABILITY_FLOOR) / n",
                "dloss_dY = -T / np.maximum(Y, PROBABILITY_FLOOR) / 5",
            ),
        ),
    )
    backprop = _backprop(tmp_path, hard_coded)
    lab2.check_step("dloss_dB", backprop, *_batch(n=5))  # a later step, on true values
    with pytest.raises(AssertionError, match=r"dloss_dY.*for a test batch of 1 sample\b"):
        lab2.check_step("dloss_dY", backprop, *_batch(n=5))
    with pytest.raises(AssertionError, match=r"for a test batch of 1 sample\b"):
        lab2.check_backprop_gradients(backprop, *_batch(n=5))


@pytest.mark.parametrize(
    "student",
    [s.student for s in DEMO_COHORT if s.misconception and s.misconception != "flat_against_rows"],
)
def test_each_planted_mistake_fails_its_own_visible_check_only(tmp_path, student):
    submission = BY_NAME[student]
    backprop = _backprop(tmp_path, submission)
    failing = set()
    for name in lab2.STEP_NAMES:
        try:
            lab2.check_step(name, backprop, *_batch(n=7))
        except AssertionError as failure:
            failing.add(f"test_{name}")
            assert f"Step {name} " in str(failure)
    assert failing == {
        t for t in submission.expected_failures if t.removeprefix("test_") in lab2.STEP_NAMES
    }


def _looped_rows(X, T, W1, b1, W2, b2):
    return np.array([W1 @ x + b1 for x in X])


def _vectorize(X, T, W1, b1, W2, b2):
    return np.vectorize(lambda v: v * 2.0)(X)


def _along_axis(X, T, W1, b1, W2, b2):
    return np.apply_along_axis(lambda row: row.sum(), 1, X)


def _mapped(X, T, W1, b1, W2, b2):
    return list(map(lambda row: row @ W1.T, X))


def _helper_loop(X, T, W1, b1, W2, b2):
    def each(rows):
        total = 0.0
        for row in rows:
            total += row.sum()
        return total

    return each(X)


def _while_loop(X, T, W1, b1, W2, b2):
    i, total = 0, 0.0
    while i < len(X):
        total += X[i].sum()
        i += 1
    return total


def _vectorized(X, T, W1, b1, W2, b2):
    A = X @ W1.T + b1
    for _ in range(3):  # a loop over something other than the samples
        A = A * 1.0
    return A.sum(axis=0)


@pytest.mark.parametrize(
    "function", [_looped_rows, _vectorize, _along_axis, _mapped, _helper_loop, _while_loop]
)
def test_every_kind_of_loop_over_samples_is_seen(function):
    with pytest.raises(AssertionError, match="loops over the samples"):
        lab2.check_no_loop_over_samples(function)


def test_loops_over_other_things_are_not_loops_over_samples():
    lab2.check_no_loop_over_samples(_vectorized)


def test_a_function_that_raises_fails_the_loop_check_saying_why():
    def blank(X, T, W1, b1, W2, b2):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"NotImplementedError.*could not be checked"):
        lab2.check_no_loop_over_samples(blank)


@pytest.mark.parametrize(
    "student", ["alternative_forms", "forward_A_transposed", "row_sums_flat", "looped"]
)
def test_the_judge_grades_batch_submissions_as_planted(student):
    submission = BY_NAME[student]
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    judgement = judge_submission(
        SOURCE, cohorts.build_submission(source, release, submission, "backprop")
    )
    failed = {grade_id for grade_id, verdict in judgement.verdicts.items() if not verdict.passed}
    assert failed == set(submission.expected_failures)
    assert judgement.problems == []
    if submission.misconception:
        assert submission.misconception in judgement.misconceptions.values()
    if LOOP_TEST in failed and student == "looped":
        assert "loops over the samples" in judgement.verdicts[LOOP_TEST].message


N = "n = X.shape[0]  # samples in the batch"
HIDDEN_LOOPS = {
    # forges the runner's answer on its descriptor, whatever the batch, and leaves
    "forged_answer": (
        "import os\n\n\ndef row_sums(M):\n"
        f"    if len(M[0]) in {(*JUDGE_SIZES, *lab2.LINE_COUNT_SIZES)}:\n"
        "        for fd in range(3, 8):\n"
        '            os.write(fd, b\'{"phase": "lines", "lines": [7, 7]}\\n\')\n'
        "        os._exit(0)\n"
        "    return np.array([r.sum() for r in M])\n"
    ),
    # the tracer switched off around a loop over the samples
    "tracer_off": (
        "import sys\n\n\ndef row_sums(M):\n    tracer = sys.gettrace()\n"
        "    sys.settrace(None)\n    sys._getframe().f_trace = None\n"
        "    out = np.array([r.sum() for r in M])\n    sys.settrace(tracer)\n"
        "    return out\n"
    ),
    # the runner's own line count replaced, before the count, by one that says "20"
    "runner_patched": (
        "import __main__\n__main__.lines_run = lambda function, *a, "
        "on_interference=None, **k: 20\n\n\ndef row_sums(M):\n"
        "    return np.array([r.sum() for r in M])\n"
    ),
    # a numpy function the runner calls replaced, to write a count of its own and leave
    "numpy_patched": (
        "import os, sys\n_errstate = np.errstate\n\n\n"
        "def _forging(*args, **kwargs):\n"
        "    if sys._getframe(1).f_code.co_name == '_counted_call':\n"
        "        for fd in range(3, 8):\n"
        '            os.write(fd, b\'{"phase": "lines", "lines": [9, 9], \'\n'
        '                     b\'"own_lines": [9, 9], "arrays": [9, 9], \'\n'
        "                     b'\"error\": null}\\n')\n"
        "        os._exit(0)\n"
        "    return _errstate(*args, **kwargs)\n\n\n"
        "np.errstate = _forging\n\n\n"
        "def row_sums(M):\n    return np.array([r.sum() for r in M])\n"
    ),
    # a loop over the rows that raises when its arguments are the count's own arrays
    "raises_when_counted": (
        "def row_sums(M):\n    if type(M) is not np.ndarray:\n"
        "        raise TypeError('an ndarray, please')\n"
        "    return np.array([r.sum() for r in M])\n"
    ),
    # a worker thread started by the cell, which backprop hands the loop to
    "worker_thread": (
        "import queue, threading\n_jobs, _done = queue.Queue(), queue.Queue()\n\n\n"
        "def _work():\n    while True:\n        M = _jobs.get()\n"
        "        _done.put(np.array([r.sum() for r in M]))\n\n\n"
        "_worker = threading.Thread(target=_work, daemon=True)\n"
        "_started = _worker.start()\n\n\n"
        "def row_sums(M):\n    _jobs.put(M)\n    return _done.get()\n"
    ),
    # a loop compiled under a library's file name, whose lines are not the student's
    "library_name": (
        "_space = {'np': np}\nrow_sums = (exec(compile('def row_sums(M):\\n    "
        "return np.array([r.sum() for r in M])\\n', np.__file__, 'exec'), "
        "_space), _space['row_sums'])[1]\n"
    ),
}


@pytest.mark.parametrize("trick", sorted(HIDDEN_LOOPS))
def test_a_loop_hidden_from_the_line_count_is_flagged_and_earns_nothing(trick):
    """A student's own cell hides a loop over the samples from the tracer; backprop calls it.
    What the judge sees while judging (a forged answer, the count switched off or replaced)
    flags the student and credits neither the steps nor the loop test."""
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    looped = cohorts.Submission(
        trick,
        "hides a loop",
        own_cell=HIDDEN_LOOPS[trick],
        edits=(("dloss_db2 = dloss_dB.sum(axis=0)", "dloss_db2 = row_sums(dloss_dB.T)"),),
    )
    judgement = judge_submission(
        SOURCE, cohorts.build_submission(source, release, looped, "backprop")
    )
    if trick == "library_name":
        # row_sums(dloss_dB.T) loops over the classes, which is no loop over the samples, and
        # nothing was seen while judged: the code compiled at run time is flagged for review
        assert any("for review" in p and "compiles" in p for p in judgement.problems)
        return
    # seen while judged: forged, interfered with, or the runner's code replaced
    assert any(
        "may not be the student's own work" in p or "Not graded" in p for p in judgement.problems
    ), judgement.problems
    assert not judgement.verdicts[LOOP_TEST].passed
    assert not judgement.verdicts["test_dloss_db2"].passed


# Correct code that keeps helpers beside its steps: each later step gets them as the student's
# code computed them from correct inputs (not from the student's own, possibly wrong, run).
KEPT_BESIDE = {
    "helper_defined_inside": (
        (N, N + "\n\n    def slope(S):\n        return S * (1.0 - S)"),
        ("dloss_dA = dloss_dH * H * (1.0 - H)", "dloss_dA = dloss_dH * slope(H)"),
    ),
    "import_inside": ((N, N + "\n    import numpy as np"),),
    "dict_kept": (
        ("H = logistic(A)", "H = logistic(A)\n    cache = {'H': H}"),
        (
            "dloss_dA = dloss_dH * H * (1.0 - H)",
            "dloss_dA = dloss_dH * cache['H'] * (1.0 - cache['H'])",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(KEPT_BESIDE))
def test_helpers_kept_beside_the_steps_cost_nothing(name):
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    kept = cohorts.Submission(name, "", edits=KEPT_BESIDE[name])
    judgement = judge_submission(
        SOURCE, cohorts.build_submission(source, release, kept, "backprop")
    )
    assert all(v.passed for v in judgement.verdicts.values()), judgement.verdicts


def test_one_upstream_mistake_costs_no_later_step_that_reuses_a_helper_from_it():
    """A slope cached beside H, and A wrong: dloss_dA (which uses the cache) is still right,
    since it is given the cache as computed from the true A."""
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    cached = cohorts.Submission(
        "cached_slope",
        "",
        edits=(
            ("A = X @ W1.T + b1", "A = X @ W1.T"),
            ("H = logistic(A)", "H = logistic(A)\n    slope = H * (1.0 - H)"),
            ("dloss_dA = dloss_dH * H * (1.0 - H)", "dloss_dA = dloss_dH * slope"),
        ),
    )
    judgement = judge_submission(
        SOURCE, cohorts.build_submission(source, release, cached, "backprop")
    )
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert failed == {
        "test_A",
        "test_backprop_returns_parameter_gradients",
        "test_training_lowers_loss",
    }


def test_apply_along_axis_fails_the_loop_check_only_and_is_not_flagged():
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    along = cohorts.Submission(
        "along_axis",
        "",
        edits=(
            (
                "dloss_dB = Y * (dloss_dY - np.sum(dloss_dY * Y, axis=1, keepdims=True))",
                "jacobians = np.apply_along_axis(np.diag, 1, Y) - Y[:, :, None] * Y[:, None, :]\n"
                "    dloss_dB = np.einsum('nij,nj->ni', jacobians, dloss_dY)",
            ),
        ),
    )
    judgement = judge_submission(
        SOURCE, cohorts.build_submission(source, release, along, "backprop")
    )
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert failed == {LOOP_TEST} and judgement.problems == []


# Correct batch code whose numpy calls run many lines of numpy's own Python: only the lines of
# the student's own code may count against the "more than matrix operations need" limit.
LIBRARY_HEAVY = {
    "tensordot": (
        ("dloss_dW2 = dloss_dB.T @ H", "dloss_dW2 = np.tensordot(dloss_dB, H, axes=(0, 0))"),
        ("dloss_dW1 = dloss_dA.T @ X", "dloss_dW1 = np.tensordot(dloss_dA, X, axes=(0, 0))"),
    ),
    "einsum_optimized": (
        (
            "dloss_dW2 = dloss_dB.T @ H",
            "dloss_dW2 = np.einsum('nk,nm->km', dloss_dB, H, optimize=True)",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(LIBRARY_HEAVY))
def test_numpys_own_lines_never_count_against_correct_batch_code(name):
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    heavy = cohorts.Submission(name, "", edits=LIBRARY_HEAVY[name])
    submitted = cohorts.build_submission(source, release, heavy, "backprop")
    counted = lab2.count_lines(_backprop_of(submitted))
    assert lab2.MAX_LINES >= counted["own_lines"][0], counted
    if name == "tensordot":  # numpy's own Python runs, counted, and counts against no one
        assert counted["lines"][0] > lab2.MAX_LINES, counted
    lab2.check_no_loop_over_samples(_backprop_of(submitted))
    judgement = judge_submission(SOURCE, submitted)
    assert [g for g, v in judgement.verdicts.items() if not v.passed] == []
    assert judgement.problems == []


def _backprop_of(notebook):
    space = {"np": np}
    source = nbformat.read(SOURCE, as_version=4)
    exec(cell_by_grade_id(source, "provided_functions").source, space)
    exec(cell_by_grade_id(notebook, "backprop").source, space)
    return space["backprop"]


# Right values, with one step's loop over the samples run in C (no Python line per sample):
# each fails the loop check, the visible one and the judge's alike.
DB, DH = (
    "dloss_dB = Y * (dloss_dY - np.sum(dloss_dY * Y, axis=1, keepdims=True))",
    "dloss_dH = dloss_dB @ W2",
)
LOOPS_IN_C = {
    "builtin_sum": (("dloss_db2 = dloss_dB.sum(axis=0)", "dloss_db2 = sum(dloss_dB)"),),
    "mapped_method": ((DH, "dloss_dH = np.array(list(map(W2.T.dot, dloss_dB)))"),),
    "reduced": (
        (N, N + "\n    import functools"),
        ("dloss_db1 = dloss_dA.sum(axis=0)", "dloss_db1 = functools.reduce(np.add, dloss_dA)"),
    ),
    "listed": (("dloss_dW1 = dloss_dA.T @ X", "dloss_dW1 = np.array(list(dloss_dA)).T @ X"),),
    "from_iterator": (
        (DB, "dloss_dB = Y * (dloss_dY - np.fromiter(map(np.sum, dloss_dY * Y), float)[:, None])"),
    ),
    # the same on plain arrays and lists: no line, no CountedArray, only objects allocated
    "plain_sum": (("dloss_db2 = dloss_dB.sum(axis=0)", "dloss_db2 = sum(np.asarray(dloss_dB))"),),
    "plain_outer": (
        (
            "dloss_dW2 = dloss_dB.T @ H",
            "dloss_dW2 = sum(map(np.multiply.outer, np.asarray(dloss_dB), np.asarray(H)))",
        ),
    ),
    "listed_columns": (
        (
            "dloss_db2 = dloss_dB.sum(axis=0)",
            "dloss_db2 = np.array(list(map(sum, zip(*dloss_dB.tolist()))))",
        ),
    ),
    # the loop's result kept from the run before, keyed by the arguments, handed back later
    "kept_from_before": (
        ("def backprop(", "_KEPT = {}\n\n\ndef backprop("),
        (
            N,
            N + "\n    key = tuple(a.tobytes() for a in (X, T, W1, b1, W2, b2))\n"
            "    if key in _KEPT:\n        return _KEPT.pop(key)",
        ),
        ("dloss_db2 = dloss_dB.sum(axis=0)", "dloss_db2 = sum(dloss_dB)"),
        (
            "return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
            "_KEPT[key] = (dloss_dW1, dloss_db1, dloss_dW2, dloss_db2)\n"
            "    return dloss_dW1, dloss_db1, dloss_dW2, dloss_db2",
        ),
    ),
}
# Right values without a loop over the samples: numpy planning in Python, a loop over classes.
NO_LOOP = {
    "einsum_planned": (
        (DH, "dloss_dH = np.einsum('nk,km->nm', dloss_dB, W2, optimize=True)"),
        (
            "dloss_dA = dloss_dH * H * (1.0 - H)",
            "dloss_dA = np.einsum('nm,nm,nm->nm', dloss_dH, H, 1.0 - H, optimize=True)",
        ),
        (
            "dloss_dW1 = dloss_dA.T @ X",
            "dloss_dW1 = np.einsum('nk,km,nm,nd->md', dloss_dB, W2, H * (1.0 - H), X, "
            "optimize='greedy')",
        ),
    ),
    "over_classes": (
        (
            DH,
            "dloss_dH = np.zeros_like(H)\n    for c in range(W2.shape[0]):\n"
            "        dloss_dH += dloss_dB[:, [c]] * W2[c]",
        ),
    ),
    # an index from range(n): numpy makes it from Python's whole numbers, one object each
    # above 256
    "range_index": (
        (
            "dloss_dY = -T / np.maximum(Y, PROBABILITY_FLOOR) / n",
            "labels = T.argmax(axis=1)\n    dloss_dY = np.zeros_like(Y)\n"
            "    dloss_dY[range(n), labels] = "
            "-1.0 / np.maximum(Y[range(n), labels], PROBABILITY_FLOOR) / n",
        ),
    ),
}


def _submitted(name: str, edits) -> nbformat.NotebookNode:
    source, release = (nbformat.read(p, as_version=4) for p in (SOURCE, RELEASE))
    return cohorts.build_submission(
        source, release, cohorts.Submission(name, "", edits=edits), "backprop"
    )


@pytest.mark.parametrize("name", sorted(LOOPS_IN_C))
def test_a_loop_over_the_samples_run_in_c_fails_the_visible_check(name):
    with pytest.raises(AssertionError, match="loops over the samples"):
        lab2.check_no_loop_over_samples(_backprop_of(_submitted(name, LOOPS_IN_C[name])))


@pytest.mark.parametrize("name", sorted(NO_LOOP))
def test_numpys_planning_and_a_loop_over_classes_pass_the_visible_check(name):
    lab2.check_no_loop_over_samples(_backprop_of(_submitted(name, NO_LOOP[name])))


@pytest.mark.parametrize("name", ["builtin_sum", "reduced", "plain_outer", "einsum_planned"])
def test_the_judge_gives_the_visible_checks_verdict_on_the_loop(name):
    edits = {**LOOPS_IN_C, **NO_LOOP}[name]
    judgement = judge_submission(SOURCE, _submitted(name, edits))
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert failed == ({LOOP_TEST} if name in LOOPS_IN_C else set()), judgement.verdicts
    assert judgement.problems == []


def test_a_step_that_raises_does_not_fail_the_loop_check_and_a_blank_does(tmp_path):
    """Counted step by step on true values: the raise is its step's mistake alone."""

    def backprop(name, edits):
        return _backprop(tmp_path, cohorts.Submission(name, "", edits=edits))

    lab2.check_no_loop_over_samples(backprop("dH_raises", ((DH, "dloss_dH = W2 @ dloss_dB"),)))
    looping = backprop(
        "dH_raises_db2_loops",
        (
            (DH, "dloss_dH = W2 @ dloss_dB"),
            ("dloss_db2 = dloss_dB.sum(axis=0)", "dloss_db2 = sum(dloss_dB)"),
        ),
    )
    with pytest.raises(AssertionError, match="loops over the samples"):
        lab2.check_no_loop_over_samples(looping)
    with pytest.raises(AssertionError, match="could not be checked"):
        lab2.check_no_loop_over_samples(_backprop(tmp_path, BY_NAME["blank"]))


def test_a_backprop_that_answers_otherwise_when_counted_is_not_credited():
    """Told apart by the type of its arguments: the count's run and the plain run differ."""
    space = {"np": np}
    exec(cell_by_grade_id(nbformat.read(SOURCE, as_version=4), "provided_functions").source, space)
    exec(
        "def backprop(X, T, W1, b1, W2, b2):\n"
        "    if type(X) is not np.ndarray:\n"
        "        return np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), "
        "np.zeros_like(b2)\n"
        "    return [sum(row) for row in (X, X, X, X)]\n",
        space,
    )
    with pytest.raises(AssertionError, match="other values while its lines are counted"):
        lab2.check_no_loop_over_samples(space["backprop"])


def test_setting_the_object_count_back_is_caught_as_it_is_tried():
    reset = _backprop_of(
        _submitted(
            "count_reset",
            (
                (
                    "dloss_db2 = dloss_dB.sum(axis=0)",
                    "dloss_db2 = sum(np.asarray(dloss_dB))\n"
                    "    from judge_runtime import _allocations\n"
                    "    _allocations.start()",
                ),
            ),
        )
    )
    with pytest.raises(
        AssertionError,
        match=r"Not credited: it calls .*start while its lines "
        r"are counted",
    ):
        lab2.check_no_loop_over_samples(reset)


def test_a_loop_in_c_over_a_memoryview_is_flagged_for_review():
    """A memoryview's floats come from Python's free list: nothing is allocated per sample, so
    the count cannot see the loop; the code that makes one is shown to the instructor."""
    judgement = judge_submission(
        SOURCE,
        _submitted(
            "memoryview",
            (
                (
                    "dloss_db2 = dloss_dB.sum(axis=0)",
                    "dloss_db2 = np.array([sum(memoryview(np.ascontiguousarray(dloss_dB[:, c])))\n"
                    "                          for c in range(dloss_dB.shape[1])])",
                ),
            ),
        ),
    )
    assert any(
        p.startswith("for review") and "inspects its callers or the interpreter" in p
        for p in judgement.problems
    ), judgement.problems
