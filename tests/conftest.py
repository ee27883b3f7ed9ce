"""Shared fixtures: the repository, and scratch nbgrader courses graded with the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab1"
NOTEBOOK = "classification"
SOURCE_NOTEBOOK = ROOT / "source" / LAB / f"{NOTEBOOK}.ipynb"
RELEASE_NOTEBOOK = ROOT / "release" / LAB / f"{NOTEBOOK}.ipynb"
SCRIPTS = Path(sys.executable).parent


def run_nbgrader(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``nbgrader`` command of this environment in ``cwd``; fail on non-zero."""
    env = {**os.environ, "PATH": f"{SCRIPTS}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(SCRIPTS / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env=env,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


def make_scratch_course(folder: Path) -> Path:
    """A copy of the course (config and lab sources) in ``folder``, with the lab generated."""
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / LAB, folder / "source" / LAB)
    run_nbgrader("generate_assignment", LAB, "--force", cwd=folder)
    return folder


def scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    """``{grade_id: (score, max_score)}`` of one student's lab, read from the gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, LAB, student)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


@pytest.fixture(scope="session")
def source_nb() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


@pytest.fixture(scope="session")
def release_nb() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE_NOTEBOOK, as_version=4)
