"""Code no test runs end to end still imports what exists: every ``import`` and ``from ... import``
of the benchmarks and scripts names a module that is there and, for ``from``, a name it defines
(so that moving a module cannot break ``make bench`` unnoticed)."""

from __future__ import annotations

import ast
import importlib
import importlib.util

import pytest

from tests.support.paths import ROOT

FILES = sorted((*(ROOT / "bench").glob("*.py"), *(ROOT / "scripts").glob("*.py")))


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.module, alias.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_import_names_what_exists(path):
    missing = []
    for module, name in _imports(path):
        if (path.parent / f"{module}.py").exists():  # a sibling: run as a script, it is found
            continue
        if importlib.util.find_spec(module) is None:
            missing.append(module)
        elif name is not None and name != "*":
            loaded = importlib.import_module(module)
            if not hasattr(loaded, name) and importlib.util.find_spec(f"{module}.{name}") is None:
                missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} imports what does not exist: {missing}"
