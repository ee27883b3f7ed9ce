"""`course audit`: submissions derived from each lab's solution, and the audit's own soundness.

The derivations are checked apart from the judge (a rewrite computes the solution's gradients;
a mutant changes its step or is called equivalent), faults planted in the judge are found and
named, and the command writes its report. The audit of every lab, in full, is in
``test_lab_contract.py``.
"""

from __future__ import annotations

import ast
import csv
import re

import numpy as np
import pytest

import course.judge.review
import helpers.step_verdicts
from course.audit import audit
from course.audit.derived import MUTANT, REWRITE, Derived
from course.audit.findings import FLAGGED, MISSED, changed_steps, step_differs
from course.audit.layouts import reordered
from course.audit.report import table
from course.audit.subject import load_subject
from tests.support.commands import run_course
from tests.support.paths import ROOT

LABS = ("lab1", "lab2")


@pytest.fixture(scope="module", params=LABS)
def subject(request):
    return load_subject(ROOT, request.param)


def _returned(subject, code: str, own_cell: str = ""):
    namespace = dict(subject.solution.globals_)
    if own_cell:
        exec(own_cell, namespace)
    exec(code, namespace)
    arguments, _ = subject.plan.judge.cases(subject.plan.seeds[0])[0]
    return namespace[subject.solution.function](**{k: v.copy() for k, v in arguments.items()})


def test_every_rewrite_computes_the_solutions_gradients(subject):
    expected = _returned(subject, subject.solution.code)
    rewrites = [d for d in subject.derive() if d.kind == REWRITE]
    assert len(rewrites) >= 80
    for derived in rewrites:
        got = _returned(subject, derived.code, derived.own_cell)
        float32 = derived.operator == "float32_inputs"
        for mine, theirs in zip(got, expected, strict=True):
            np.testing.assert_allclose(
                mine,
                theirs,
                rtol=1e-4 if float32 else 1e-10,
                atol=1e-6 if float32 else 1e-12,
                err_msg=derived.name,
            )


def test_mutants_change_their_step_apart_from_a_few_equivalent_ones(subject):
    mutants = [d for d in subject.derive() if d.kind == MUTANT]
    assert len(mutants) >= 110
    assert len({d.operator for d in mutants}) >= 10
    equivalent = [d for d in mutants if not changed_steps(subject, d)]
    assert len(equivalent) <= len(mutants) // 20, [d.name for d in equivalent]


@pytest.mark.parametrize(("factor", "differs"), [("1.0", False), ("(1.0 + 1e-6)", True)])
def test_the_mutant_check_tells_a_changed_step_from_the_same_value(subject, factor, differs):
    """Apart from the judge: each step's value scaled by exactly one is the same; scaled by
    one part in a million, it is another (the equivalence check is that strict)."""
    for index, (step, *_) in subject.solution.step_statements():
        tree = subject.solution.tree
        statement = subject.solution.body(tree)[index]
        statement.value = ast.parse(
            f"{factor} * ({ast.unparse(statement.value)})", mode="eval"
        ).body
        derived = Derived(MUTANT, "scaled", "", ast.unparse(tree), steps=(step,))
        assert step_differs(subject, derived, step) == differs, step


def test_a_planted_loose_tolerance_is_caught_and_each_mutant_it_lets_through_named(monkeypatch):
    """A judge that would accept any value of the right shape: the audit fails, naming the
    mutants whose step it let through."""
    monkeypatch.setattr(helpers.step_verdicts, "TOLERANCE", 10.0)
    report = audit(ROOT, "lab1", workers=1, operators=("scaled_by_n",))
    missed = [f for f in report.faults if f.outcome == MISSED]
    assert missed and not report.passed
    assert {f.derived.operator for f in missed} == {"scaled_by_n"}
    printed = table(report)
    for finding in missed:
        assert finding.derived.name in printed
        assert f"{finding.derived.step} changed, and its check passed" in printed


def test_a_planted_text_pattern_that_flags_correct_code_is_caught(monkeypatch):
    """A review pattern that reads correct code as suspicious (``np.transpose``): each
    rewrite that spells it is reported as flagged, and no other."""
    pattern = (re.compile(r"np\.transpose"), "it transposes suspiciously")
    monkeypatch.setattr(
        course.judge.review, "REVIEW_PATTERNS", (*course.judge.review.REVIEW_PATTERNS, pattern)
    )
    report = audit(ROOT, "lab2", workers=1, operators=("T_as_np_transpose", "T_as_method"))
    flagged = {f.derived.name for f in report.faults if f.outcome == FLAGGED}
    spelled = {f.derived.name for f in report.findings if "np.transpose" in f.derived.code}
    assert flagged == spelled and flagged
    assert "it transposes suspiciously" in table(report)


def test_course_audit_prints_the_table_and_writes_its_reports(tmp_path):
    from course.labs import copy_course
    from course.release import generate_release

    course = copy_course(ROOT, tmp_path / "course", "lab1")
    generate_release(course, "lab1")
    done = run_course("audit", "lab1", "--n", "12", "--seed", "3", "--pipeline", "2", cwd=course)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 derived" in done.stdout and "0 faults" in done.stdout
    assert "2 of them graded through `course grade` as well: 0 differ" in done.stdout
    with (course / "reports" / "lab1" / "audit.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and {r["outcome"] for r in rows} <= {"as implied", "equivalent"}
    assert sum(r["pipeline"] == "same" for r in rows) == 2
    assert "<table>" in (course / "reports" / "lab1" / "audit.html").read_text()
    wrong = run_course("audit", "lab9", cwd=course)
    assert wrong.returncode == 2 and "lab9" in wrong.stderr


def test_a_reordered_layout_never_moves_a_statement_past_an_element_write():
    """``b[a < 0] = 0`` writes ``b``: the statement reading ``b`` after it stays after it."""
    code = (
        "def f(a):\n    b = a.copy()\n    b[a < 0] = 0\n    c = b * 2\n    d = a + 1\n"
        "    return c, d\n"
    )
    namespace: dict = {}
    exec(reordered(code, "f"), namespace)
    c, _ = namespace["f"](np.array([-1.0, 2.0]))
    assert c.tolist() == [0.0, 4.0]


def test_a_mutant_of_a_statement_writing_two_steps_is_judged_on_the_step_it_changes():
    lab2 = load_subject(ROOT, "lab2")
    code = lab2.solution.code.replace(
        "dloss_dW2 = dloss_dB.T @ H", "dloss_dW2, dloss_db2 = dloss_dB.T @ H, dloss_dB.sum(axis=0)"
    ).replace("dloss_db2 = dloss_dB.sum(axis=0)\n", "")
    wrong = code.replace("dloss_dB.T @ H,", "dloss_dB.T @ (H * 2),")
    derived = Derived(MUTANT, "scaled", "", wrong, steps=("dloss_dW2", "dloss_db2"))
    assert changed_steps(lab2, derived) == ["dloss_dW2"]
