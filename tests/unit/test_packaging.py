"""What ``pip install`` of the course gives each audience: every package the student-facing
``helpers`` and ``judge_runtime`` import is a base dependency, every one the grader (``course``)
imports is a base or ``grader`` dependency, and the grader without its packages says how to install
them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib

import pytest

from tests.support.paths import ROOT

OWN = {"helpers", "judge_runtime", "course", "labs", "tests"}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {_normalised(re.split(r"[<>=!~\[ ;]", d)[0]) for d in project["dependencies"]}
    grader = {
        _normalised(re.split(r"[<>=!~\[ ;]", d)[0])
        for d in project["optional-dependencies"]["grader"]
    }
    return base, grader


def _imported_distributions(package: str) -> dict[str, set[str]]:
    """The distributions providing each third-party module ``package`` imports, by module."""
    modules = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    return {
        module: {_normalised(d) for d in providers.get(module, [module])}
        for module in modules - OWN - set(sys.stdlib_module_names)
    }


@pytest.mark.parametrize(
    ("package", "extras"), [("helpers", ()), ("judge_runtime", ()), ("course", ("grader",))]
)
def test_every_package_imported_is_declared_for_its_audience(package, extras):
    base, grader = _declared()
    allowed = base | (grader if "grader" in extras else set())
    undeclared = {
        module: distributions
        for module, distributions in _imported_distributions(package).items()
        if not distributions & allowed
    }
    assert undeclared == {}


def test_the_grader_without_its_packages_says_how_to_install_them():
    blocked = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['distributed'] = None; import course"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert blocked.returncode != 0
    assert "need distributed" in blocked.stderr and "pip install '.[grader]'" in blocked.stderr
