"""What a student installs (``pip install .`` of this repository) holds no solution and no
hidden test: every such line of every lab's instructor notebook is looked for in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.regions import hidden_test_delimiters, region_lines, solution_delimiters
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "build", "autograded", "submitted",
                                    "feedback", "reports", "*.egg-info", "__pycache__")


def protected_lines(notebook: Path, shortest: int = 12) -> set[str]:
    """Lines inside the solution and hidden-test regions of ``notebook`` (at least
    ``shortest`` characters, so that ``return x`` alone does not count)."""
    return {line for cell in nbformat.read(notebook, as_version=4).cells
            for delimiters in (solution_delimiters(), hidden_test_delimiters())
            for line in region_lines(cell.source, delimiters) if len(line) >= shortest}


def test_the_wheel_students_install_holds_no_solution_or_hidden_test(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=NOT_COPIED)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--quiet", "-w", str(tmp_path), str(project)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    secrets = set().union(*(protected_lines(nb) for nb in ROOT.glob("source/*/*.ipynb")))
    assert len(secrets) >= 10  # the regions were found
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        # every module of both packages, subpackages included (an installed worker has
        # nothing else to import them from)
        modules = {path.relative_to(ROOT).as_posix() for package in ("course", "helpers")
                   for path in (ROOT / package).rglob("*.py")}
        assert modules <= set(names), sorted(modules - set(names))
        # and what an installed `course` needs besides code (a worker without the repository)
        assert "course/templates/course_feedback/index.html.j2" in names
        leaks = [(name, line) for name in names
                 for line in secrets if line in archive.read(name).decode(errors="replace")]
    assert not leaks
