"""The tests' fixtures and their order. What the tests share besides fixtures is in
``tests/support``; the level of a test is the folder it is in (docs/testing.md)."""

from __future__ import annotations

import atexit
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


def pytest_collection_modifyitems(items):
    """Mark each test with its level (the folder under tests/ it is in), and run the browser
    tests last: pytest-playwright's sync API keeps an asyncio event loop running in the main
    thread until the session ends, and a test that calls asyncio.run() after it would fail for
    that alone."""
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(TESTS.parent).parts
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in LEVELS:
            item.add_marker(parts[1])
    items.sort(key=lambda item: "page" in getattr(item, "fixturenames", ()))


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
