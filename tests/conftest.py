"""The tests' fixtures, their order and their process groups. What the tests share besides
fixtures is in ``tests/support``; the level of a test is the folder it is in
(docs/testing.md)."""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from tests.support.cohort import graded_course  # noqa: F401 (a fixture)
from tests.support.paths import RELEASE_NOTEBOOK, SOURCE_NOTEBOOK

# Passed canaries are remembered machine-wide (course.grading.canary.passes_folder): the tests share
# a folder of their own, never the user's, so that one session's passes serve its other courses.
if "COURSE_CACHE_DIR" not in os.environ:
    os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="course-test-cache-")
    atexit.register(shutil.rmtree, os.environ["COURSE_CACHE_DIR"], True)
# The course secret (course.case_keys) too: the tests' courses draw their students' hidden cases
# from one of their own, made when first graded, never from the user's.
if "COURSE_SECRET_DIR" not in os.environ:
    os.environ["COURSE_SECRET_DIR"] = tempfile.mkdtemp(prefix="course-test-secret-")
    atexit.register(shutil.rmtree, os.environ["COURSE_SECRET_DIR"], True)

TESTS = Path(__file__).resolve().parent
LEVELS = ("unit", "integration", "e2e", "browser")


@pytest.hookimpl(tryfirst=True)  # before -m reads the levels
def pytest_collection_modifyitems(config, items):
    """Mark each test with its level (the folder under tests/ it is in) and its xdist group
    (:func:`_process_group`); order them so that two processes finish together: the longest
    group first, then the slower levels before the faster. The browser tests run last:
    pytest-playwright's sync API keeps an asyncio event loop running in the main thread until
    the session ends, and a test that calls asyncio.run() after it would fail for that alone
    (``make test`` runs them in a pytest of their own)."""
    groups = {item: _process_group(item) for item in items}
    # a module with a test on the shared cohort runs there whole: its module's fixtures too
    with_cohort = {_module(item) for item, group in groups.items() if group == SHARED_COHORT}
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(TESTS.parent).parts
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in LEVELS:
            item.add_marker(parts[1])
        if _module(item) in with_cohort:
            groups[item] = SHARED_COHORT
        if groups[item]:
            item.add_marker(pytest.mark.xdist_group(groups[item]))
            if hasattr(config, "workerinput"):  # a pytest-xdist process
                _join_group(item, groups[item])
    items.sort(key=lambda item: _running_order(item, groups[item]))


def _join_group(item, group: str) -> None:
    """Send ``item`` to its group's process: pytest-xdist's loadgroup reads the group from a
    node id ending in "@group", which pytest-xdist 3.8 writes to ``item._nodeid``, a name
    pytest 9 no longer reads (its node id is ``str(item._id)``)."""
    identity = dataclasses.replace(item._id)
    object.__setattr__(identity, "_str_cache", f"{item._id}@{group}")  # a frozen dataclass
    item._id = identity


SHARED_COHORT = "graded_course"  # tests.support.cohort's fixture: graded once per run
ORDER = (SHARED_COHORT, "e2e", "integration", "notebook", "unit", "browser")


def _level(item) -> str:
    if "page" in getattr(item, "fixturenames", ()):
        return "browser"
    marks = {mark.name for mark in item.iter_markers()}
    return next((level for level in LEVELS if level in marks), "notebook")


def _module(item) -> str:
    return str(item.path.relative_to(TESTS.parent))


def _running_order(item, group: str | None) -> int:
    if group == SHARED_COHORT and _level(item) != "browser":
        return 0
    return ORDER.index(_level(item))


def _process_group(item) -> str | None:
    """The tests that must share one process under ``pytest -n`` (--dist loadgroup): the ones
    using the graded cohort (the longest fixture there is, and one the tests change in turn);
    a module's tests, when they share a module-scoped fixture; a notebook's cells (nbval runs
    them in order in one kernel). Other tests go to whichever process is free."""
    names = getattr(item, "fixturenames", ())
    if SHARED_COHORT in names:
        return SHARED_COHORT
    module = _module(item)
    if item.path.suffix == ".ipynb":
        return module
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    for name in names:
        for definition in definitions.get(name, ()):
            if definition.scope in ("module", "class", "package") and definition.baseid:
                return module
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's browser, launched from Debian's Chromium (``make`` installs it)."""
    from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    from tests.support.browser import VIEWPORT

    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


@pytest.fixture(scope="session")
def release_nb() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE_NOTEBOOK, as_version=4)
