"""Every helpers module a student's code could get answers from is withheld while grading, in
every lab: the modules that compute true or numerical gradients, and every module that imports
one of them (its functions reach them)."""

from __future__ import annotations

import ast

import pytest

from course.grading.admission import labs_of
from course.labs import load_lab
from tests.support.paths import ROOT

HELPERS = ROOT / "helpers"
# Where answers are computed: the finite-difference truth and the numerical gradients.
ANSWERS = {"backprop_spec", "gradcheck"}


def _helpers_imported(module: str) -> set[str]:
    """The helpers modules ``module``'s file imports, by name."""
    tree = ast.parse((HELPERS / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "helpers":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
    return {name for name in found if (HELPERS / f"{name}.py").exists()}


def answer_bearing() -> set[str]:
    """The helpers modules that compute answers or import (directly or not) one that does."""
    modules = {path.stem for path in HELPERS.glob("*.py") if path.stem != "__init__"}
    bearing = set(ANSWERS)
    while True:
        more = {m for m in modules - bearing if _helpers_imported(m) & bearing}
        if not more:
            return bearing
        bearing |= more


def test_the_answer_modules_are_found():
    assert {"backprop_spec", "step_verdicts", "gradcheck", "lab1", "lab2"} <= answer_bearing()
    assert not {"network", "datasets", "plotting"} & answer_bearing()


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_every_lab_withholds_every_module_that_gives_answers(lab):
    withheld = {name.removesuffix(".py") for name in load_lab(ROOT, lab).judge.withheld_helpers}
    assert answer_bearing() <= withheld, sorted(answer_bearing() - withheld)
