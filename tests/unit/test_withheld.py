"""Every helpers module a student's code could get answers from is withheld while grading, in
every lab: the modules that compute true or numerical gradients, and every module that imports
one of them (its functions reach them)."""

from __future__ import annotations

import ast
import re

import pytest

from course.grading.admission import labs_of
from course.labs import load_lab
from tests.support.paths import ROOT

HELPERS = ROOT / "helpers"
# Where answers are computed: the finite-difference truth, the numerical gradients, and the
# true gradients a student's numerical gradient is judged against, and Lab 3's visible truths.
ANSWERS = {
    "backprop_spec",
    "gradcheck",
    "numerical_check",
    "layers_numerical",
}


def _helpers_imported(module: str) -> set[str]:
    """The helpers modules ``module``'s file imports, by name: absolute or relative imports, and
    any ``helpers.<name>`` it spells in a string (``importlib.import_module``, ``__import__``)."""
    source = (HELPERS / f"{module}.py").read_text()
    found = set(re.findall(r"\bhelpers\.(\w+)", source))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            within = node.level == 1 or node.module == "helpers"
            if within and node.module in (None, "helpers"):
                found |= {alias.name for alias in node.names}
            elif node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.module and node.module.startswith("helpers."):
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
    assert not {"network", "datasets", "plotting", "smooth_functions"} & answer_bearing()


@pytest.mark.parametrize("lab", labs_of(ROOT))
def test_every_lab_withholds_every_module_that_gives_answers(lab):
    withheld = {name.removesuffix(".py") for name in load_lab(ROOT, lab).judge.withheld_helpers}
    assert answer_bearing() <= withheld, sorted(answer_bearing() - withheld)


def test_helpers_is_flat_and_its_package_file_gives_nothing():
    """Withholding replaces files of helpers/ itself, and its __init__ is never replaced: so no
    subpackage, and an __init__ that imports nothing."""
    assert not [path for path in HELPERS.rglob("*.py") if path.parent != HELPERS]
    tree = ast.parse((HELPERS / "__init__.py").read_text())
    assert all(isinstance(node, ast.Expr) for node in tree.body), (
        "helpers/__init__.py: docstring only"
    )
