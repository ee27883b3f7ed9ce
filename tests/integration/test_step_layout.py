"""Steps are found by what the code assigns, not by its layout.

Submissions are derived from each lab's solution by its syntax tree (course.audit.layouts): without
comments, compacted, reordered, two steps a line, tuple assignments. Each earns full marks from
the judge. Each named misconception, planted in a comment-free solution, fails its own step's
visible check and no other step's; single mistakes of the kinds students make, graded by the
judge, cost their own step (and only the whole-function and training tests besides).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re

import numpy as np
import pytest

from course.audit.layouts import LAYOUTS, without_comments
from course.notebooks import cell_by_grade_id
from helpers import backprop_spec, lab1, lab2
from tests.support.judged import JUDGES, TRAINING, WHOLE, judged, notebooks, solution
from tests.support.paths import ROOT
from tests.support.student_code import CENTRAL_DIFFERENCES


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("lab", sorted(JUDGES))
def test_the_solution_in_any_layout_earns_full_marks_unflagged(lab, layout):
    cell = LAYOUTS[layout](solution(lab), "backprop")
    assert cell != solution(lab)
    judgement = judged(lab, cell)
    assert {g: v.message for g, v in judgement.verdicts.items() if not v.passed} == {}
    assert judgement.problems == []


def _with_step(code: str, step: str, expression: str) -> str:
    """``code`` with the last statement assigning ``step`` in ``backprop`` replaced by
    ``step = expression`` (written on that statement's lines)."""
    tree = ast.parse(code)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    statement = [
        s
        for s in function.body
        if isinstance(s, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == step for t in s.targets)
    ][-1]
    lines = code.splitlines()
    indent = lines[statement.lineno - 1][: statement.col_offset]
    lines[statement.lineno - 1 : statement.end_lineno] = [f"{indent}{step} = {expression}"]
    return "\n".join(lines) + "\n"


def _kernel_backprop(tmp_path, lab: str, code: str, formula):
    """``backprop`` from ``code``, defined in a module as a notebook defines it (its source
    readable), with ``_misconception`` in its namespace."""
    source, _ = notebooks(lab)
    path = tmp_path / f"{lab}_derived.py"
    path.write_text(
        "import numpy as np\n\n"
        + cell_by_grade_id(source, "provided_functions").source
        + "\n\n"
        + code
    )
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    module._misconception = formula
    spec.loader.exec_module(module)
    return module.backprop


def _visible_failures(lab: str, backprop, seed: int) -> set[str]:
    helpers = {"lab1": lab1, "lab2": lab2}[lab]
    rng = np.random.default_rng(seed)
    case = backprop_spec.random_case(rng) if lab == "lab1" else lab2.random_batch(rng, 6)
    failed = set()
    for name in JUDGES[lab].spec.step_names:
        try:
            helpers.check_step(name, backprop, *case)
        except AssertionError:
            failed.add(name)
    return failed


MISCONCEPTIONS = [
    (lab, m) for lab in sorted(JUDGES) for m in JUDGES[lab].misconceptions if m.step and not m.crash
]


@pytest.mark.parametrize(
    ("lab", "misconception"), MISCONCEPTIONS, ids=[f"{lab}-{m.key}" for lab, m in MISCONCEPTIONS]
)
def test_a_misconception_without_comments_fails_its_own_step_only(tmp_path, lab, misconception):
    code = _with_step(
        without_comments(solution(lab)), misconception.step, "_misconception(locals())"
    )
    assert "#" not in code
    backprop = _kernel_backprop(tmp_path, lab, code, lambda v: misconception.formula(dict(v)))
    assert _visible_failures(lab, backprop, seed=3) == {misconception.step}


# Single mistakes as students write them, in a comment-free solution: (old, new) edits.
LAB1_MISTAKES = {
    "dloss_dy": ("categorical_ce_grad(y, t)", "-categorical_ce_grad(y, t)"),
    "dloss_dbeta": ("y * (dloss_dy - dloss_dy @ y)", "dloss_dy * y * (1 - y)"),
    "dloss_dh": ("W2.T @ dloss_dbeta", "W2.T @ dloss_dy"),
    "dloss_dalpha": ("dloss_dh * h * (1.0 - h)", "dloss_dh"),
    "dloss_dW1": ("dloss_dalpha[:, None] * x", "dloss_dalpha[:, None] * x * 2"),
}


@pytest.mark.parametrize("step", sorted(LAB1_MISTAKES))
def test_one_mistake_without_comments_costs_its_step_alone(step):
    old, new = LAB1_MISTAKES[step]
    code = without_comments(solution("lab1"))
    assert code.count(old) == 1
    judgement = judged("lab1", code.replace(old, new))
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert f"test_{step}" in failed
    assert failed <= {f"test_{step}", WHOLE, TRAINING}, failed
    assert judgement.problems == []


def test_a_step_that_raises_costs_that_step_and_names_only_the_arrays_it_reads():
    code = without_comments(solution("lab2")).replace("dloss_dB @ W2", "dloss_dB @ W2.T")
    judgement = judged("lab2", code)
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert failed <= {"test_dloss_dH", WHOLE, TRAINING, "test_no_loop_over_samples"}
    assert "test_dloss_dH" in failed
    message = judgement.verdicts["test_dloss_dH"].message
    assert "W2 has shape" in message and "dloss_dB has shape" in message
    assert "T has shape" not in message  # W2.T is W2 transposed, not the targets


# An array reused in place for the next step, either way round, in a comment-free solution.
REUSED = {
    "later_step_takes_the_array": "dloss_dalpha = dloss_dh\n    dloss_dalpha *= h * (1 - h)",
    "array_changed_then_handed_on": "dloss_dh *= h * (1.0 - h)\n    dloss_dalpha = dloss_dh",
}


@pytest.mark.parametrize("reuse", sorted(REUSED))
def test_an_array_reused_in_place_for_the_next_step_costs_nothing(reuse):
    """Each step is judged as it was when complete, not after the array was changed for the
    next step (``dloss_db1 = dloss_dalpha`` also hands ``dloss_dalpha``'s array on)."""
    code = without_comments(solution("lab1")).replace(
        "dloss_dalpha = dloss_dh * h * (1.0 - h)", REUSED[reuse]
    )
    judgement = judged("lab1", code)
    assert all(v.passed for v in judgement.verdicts.values()), judgement.verdicts


def test_a_mistake_after_an_array_is_handed_on_costs_that_step_alone():
    code = without_comments(solution("lab1")).replace(
        "dloss_dalpha = dloss_dh * h * (1.0 - h)", "dloss_dh *= h\n    dloss_dalpha = dloss_dh"
    )
    judgement = judged("lab1", code)
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert "test_dloss_dalpha" in failed and failed <= {"test_dloss_dalpha", WHOLE, TRAINING}


def test_a_gradient_checker_of_the_students_own_costs_nothing_and_is_not_flagged():
    """CS231n's eval_numerical_gradient in a cell of the student's own, run there on their
    own function, never called by backprop."""
    bench = importlib.util.spec_from_file_location(
        "bench_gradcheck", ROOT / "bench" / "gradcheck.py"
    )
    module = importlib.util.module_from_spec(bench)
    bench.loader.exec_module(module)
    checker = (
        inspect.getsource(module.cs231n_numerical_gradient).replace(
            "cs231n_numerical_gradient", "eval_numerical_gradient"
        )
        + """

print(eval_numerical_gradient(lambda w: float(np.sum(w ** 2)), np.ones(3)))
"""
    )
    judgement = judged("lab2", solution("lab2"), own_cell=checker)
    assert all(v.passed for v in judgement.verdicts.values()), judgement.verdicts
    assert judgement.problems == []


def test_a_backprop_that_differentiates_numerically_is_flagged_naming_the_call():
    checker = """
def numeric(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        up = f()
        x[ix] = old - h
        down = f()
        x[ix] = old
        grad[ix] = (up - down) / (2 * h)
    return grad
"""
    cell = """
def backprop(x, t, W1, b1, W2, b2):
    def loss():
        return categorical_ce(softmax(W2 @ logistic(W1 @ x + b1) + b2), t)
    W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    return numeric(loss, W1), numeric(loss, b1), numeric(loss, W2), numeric(loss, b2)
"""
    judgement = judged("lab1", cell, own_cell=checker)
    (problem,) = [p for p in judgement.problems if "may not be the student's own work" in p]
    assert re.search(
        r"it called (logistic|softmax|categorical_ce) \d{3,} times in one call", problem
    ), problem


# A numerical differentiation that calls none of the graders' forward functions: the loss
# written out in the student's own code, or the provided functions reached around the
# judge's counting wrapper.
OWN_LOSS = {
    "own_forward": "-np.sum(T * np.log(np.exp(B) / np.sum(np.exp(B), axis=1, keepdims=True)))",
    "around_the_counter": "-np.sum(T * np.log(_raw(B)))",
}


@pytest.mark.parametrize("how", sorted(OWN_LOSS))
def test_numerical_differentiation_with_a_loss_of_its_own_is_flagged_for_review(how):
    """Not the graders' functions, so no points are withheld on a name: the instructor sees
    the count of calls of the student's own loss, more than one per parameter entry (Lab 2,
    whose training calls backprop once an epoch)."""
    cell = (
        f"""
def backprop(X, T, W1, b1, W2, b2):
    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
    cells = softmax.__closure__ or ()
    _raw = ([c.cell_contents for c in cells if callable(c.cell_contents)] or [softmax])[0]

    def loss():
        H = 1.0 / (1.0 + np.exp(-(X @ params[0].T + params[1])))
        B = H @ params[2].T + params[3]
        return {OWN_LOSS[how]} / len(X)

"""
        + CENTRAL_DIFFERENCES
    )
    judgement = judged("lab2", cell)
    assert any(
        re.search(
            r"for review, backprop called its own loss\(\) \d{2,} times in one "
            r"call, more than once for each of the \d+ parameter entries",
            p,
        )
        for p in judgement.problems
    ), judgement.problems
    assert any("inspects its callers or the interpreter" in p for p in judgement.problems)


def test_the_mean_taken_at_the_end_costs_one_step_and_says_where_the_notebook_puts_it(tmp_path):
    """Lab 2 with the 1/n applied to the four parameter gradients instead of dloss_dY: the
    returned gradients are exact, so it is one deviation from the notebook's convention."""
    code = without_comments(solution("lab2"))
    code = code.replace(
        "-T / np.maximum(Y, PROBABILITY_FLOOR) / n", "-T / np.maximum(Y, PROBABILITY_FLOOR)"
    )
    for product in (
        "dloss_dB.T @ H",
        "dloss_dB.sum(axis=0)",
        "dloss_dA.T @ X",
        "dloss_dA.sum(axis=0)",
    ):
        code = code.replace(product, f"{product} / n")
    judgement = judged("lab2", code)
    failed = {g: v.message for g, v in judgement.verdicts.items() if not v.passed}
    assert set(failed) == {"test_dloss_dY"}, failed
    assert "The notebook puts this factor in dloss_dY" in failed["test_dloss_dY"]
    assert "averaged twice" not in " ".join(v.message for v in judgement.verdicts.values())
    backprop = _kernel_backprop(tmp_path, "lab2", code, None)
    assert _visible_failures("lab2", backprop, seed=5) == {"dloss_dY"}


# Found by a hostile review: each is (lab, old, new) on a comment-free solution, and the test
# cells that must fail (the whole-function and training tests may fail besides).
REVIEWED = {
    # a change after the assignment, to an array a later step takes: charged to that step
    "changed_after_it_is_handed_on": (
        "lab1",
        "dloss_dbeta = y * (dloss_dy - dloss_dy @ y)",
        "dloss_dbeta = y * (dloss_dy - dloss_dy @ y)\n    dloss_dbeta *= 3.0",
        {"test_dloss_dbeta"},
    ),
    "global_declaration": (
        "lab1",
        "    dloss_dy = ",
        "    global dloss_dbeta\n    dloss_dy = ",
        set(),
    ),
    "copy_after_an_in_place_change": (
        "lab1",
        "dloss_dalpha = dloss_dh * h * (1.0 - h)",
        "dloss_dh *= h * (1.0 - h)\n    dloss_dalpha = dloss_dh.copy()",
        set(),
    ),
    "deleted_after_its_last_use": (
        "lab2",
        "    dloss_dW1 = ",
        "    del dloss_dY\n    dloss_dW1 = ",
        set(),
    ),
}


@pytest.mark.parametrize("case", sorted(REVIEWED))
def test_reviewed_forms_are_charged_to_their_own_step(case):
    lab, old, new, must_fail = REVIEWED[case]
    code = without_comments(solution(lab))
    assert code.count(old) == 1
    judgement = judged(lab, code.replace(old, new))
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert must_fail <= failed <= must_fail | {WHOLE, TRAINING}, failed
    assert judgement.problems == []


def _indented_under(line: str, code: str) -> str:
    """``code``'s backprop with its body under ``line`` (a ``with`` or a decorator)."""
    head, body = code.split('    """', 1)[0], code.split('    """', 2)[2]
    body = body.split("\n", 1)[1]
    if line.startswith("@"):
        return f"{line}\n{head}{body}"
    return (
        head
        + f"    {line}\n"
        + "\n".join(f"    {row}" if row else row for row in body.splitlines())
        + "\n"
    )


@pytest.mark.parametrize(
    "wrapper", ["with np.errstate(all='ignore'):", "@np.errstate(divide='ignore')"]
)
def test_a_body_under_a_with_block_or_a_decorator_keeps_its_steps_apart(wrapper):
    code = without_comments(solution("lab2")).replace("dloss_dB @ W2", "dloss_dB @ W2 * 2")
    judgement = judged("lab2", _indented_under(wrapper, code))
    failed = {g for g, v in judgement.verdicts.items() if not v.passed}
    assert "test_dloss_dH" in failed and failed <= {"test_dloss_dH", WHOLE, TRAINING}, failed


def test_a_loss_written_as_a_lambda_is_counted_as_a_function_of_the_students_own():
    cell = (
        """
def backprop(X, T, W1, b1, W2, b2):
    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
    loss = lambda: -np.sum(T * np.log(np.exp(
        (1.0 / (1.0 + np.exp(-(X @ params[0].T + params[1])))) @ params[2].T + params[3])
        / np.sum(np.exp((1.0 / (1.0 + np.exp(-(X @ params[0].T + params[1])))) @ params[2].T
                        + params[3]), axis=1, keepdims=True))) / len(X)
"""
        + CENTRAL_DIFFERENCES
    )
    judgement = judged("lab2", cell)
    assert any(
        p.startswith("for review, backprop called its own function ") for p in judgement.problems
    ), judgement.problems
