"""The import contracts `make lint` checks (``lint-imports``, pyproject.toml) keep up with the
code: a new module of ``course`` is out of the labs' reach until it is made part of the plug-in
API on purpose."""

from __future__ import annotations

import tomllib

from tests.support.paths import ROOT

# What a lab may import of course: the plug-in API, and the notebook tools its demo cohort uses.
LAB_API = {
    "course.judge.api",
    "course.labs",
    "course.misconceptions",
    "course.outcomes",
    "course.audit.derived",
    "course.notebooks",
    "course.regions",
}


def _contract(name_start: str) -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    (contract,) = [c for c in contracts if c["name"].startswith(name_start)]
    return contract


def test_every_course_module_outside_the_plug_in_api_is_forbidden_to_labs():
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "course").rglob("*.py")
        if path.stem not in ("__init__", "__main__")
    }
    forbidden = set(_contract("labs import of course only")["forbidden_modules"])
    assert forbidden == modules - LAB_API


def test_the_judge_runtime_is_the_lowest_layer():
    assert _contract("labs build on course")["layers"][-2:] == ["helpers", "judge_runtime"]


def test_loading_another_courses_lab_leaves_the_import_path_as_it_was(tmp_path):
    """A lab read from another course folder (a clone, say) must not put that folder's
    helpers and judge runtime first for processes started later."""
    import sys

    from course.labs import import_lab_module

    before = list(sys.path)
    import_lab_module(tmp_path, "lab1", "lab")
    assert sys.path == before
