"""What a student installs (``pip install .`` of this repository) holds no solution and no
hidden test: every such line of every lab's instructor notebook is looked for in the wheel.
An environment with only that install (and its pinned dependencies) runs both labs, and holds
none of the grader's packages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from course.regions import hidden_test_delimiters, region_lines, solution_delimiters
from tests.support.paths import ROOT

NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "autograded",
    "submitted",
    "feedback",
    "reports",
    "*.egg-info",
    "__pycache__",
)


def protected_lines(notebook: Path, shortest: int = 12) -> set[str]:
    """Lines inside the solution and hidden-test regions of ``notebook`` (at least
    ``shortest`` characters, so that ``return x`` alone does not count)."""
    return {
        line
        for cell in nbformat.read(notebook, as_version=4).cells
        for delimiters in (solution_delimiters(), hidden_test_delimiters())
        for line in region_lines(cell.source, delimiters)
        if len(line) >= shortest
    }


def build_wheel(folder: Path) -> Path:
    """The wheel ``pip install .`` would install, built from a copy of the repository."""
    project = folder / "project"
    shutil.copytree(ROOT, project, ignore=NOT_COPIED)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(folder),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = folder.glob("*.whl")
    return wheel


def test_the_wheel_students_install_holds_no_solution_or_hidden_test(tmp_path):
    wheel = build_wheel(tmp_path)
    secrets = set().union(*(protected_lines(nb) for nb in ROOT.glob("source/*/*.ipynb")))
    assert len(secrets) >= 10  # the regions were found
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        # every module of both packages, subpackages included (an installed worker has
        # nothing else to import them from)
        modules = {
            path.relative_to(ROOT).as_posix()
            for package in ("course", "helpers", "judge_runtime")
            for path in (ROOT / package).rglob("*.py")
        }
        assert modules <= set(names), sorted(modules - set(names))
        # and what an installed `course` needs besides code (a worker without the repository)
        assert "course/nbgrader_ext/templates/course_feedback/index.html.j2" in names
        leaks = [
            (name, line)
            for name in names
            for line in secrets
            if line in archive.read(name).decode(errors="replace")
        ]
    assert not leaks


RUN_NOTEBOOK = """import json, sys
import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(new_code_cell("import sys; print(sys.prefix)"))
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
errors = [o.get("ename") for c in nb.cells if c.cell_type == "code"
          for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(json.dumps({"errors": errors, "prefix": nb.cells[-1].outputs[0]["text"].strip()}))
"""
GRADER_ONLY = ("dask", "distributed", "copydetect", "psycopg2", "playwright", "pytest", "ruff")
# What a released notebook's cells may raise before the blanks are filled: the blanks
# themselves, the visible checks that find them blank, and what follows from a missing result.
BLANK_ERRORS = {"NotImplementedError", "AssertionError", "CheckFailed", "NameError", "RuntimeError"}


def test_a_student_environment_runs_both_labs_and_holds_no_grader(tmp_path):
    """``pip install`` of the wheel into a fresh environment, pinned by requirements.txt: the
    instructor's notebooks (every blank filled) run top to bottom without an error in its own
    kernel, the released ones fail only where a blank is left, and nothing of the grader's or
    the developers' is installed."""
    wheel = build_wheel(tmp_path)
    env = tmp_path / "student-env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(ROOT / "requirements.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u, sys; print([m for m "
            f"in {GRADER_ONLY!r} if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]"
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "run_notebook.py"
    script.write_text(RUN_NOTEBOOK)
    for folder in ("source", "release"):
        for notebook in sorted(ROOT.glob(f"{folder}/*/*.ipynb")):
            copy = work / f"{folder}-{notebook.name}"
            shutil.copy(notebook, copy)
            ran = subprocess.run(
                [str(python), str(script), str(copy), str(work)],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=work,
            )
            assert ran.returncode == 0, ran.stderr[-3000:]
            result = json.loads(ran.stdout.strip().splitlines()[-1])
            assert Path(result["prefix"]) == env, notebook  # the environment's own kernel
            if folder == "source":
                assert result["errors"] == [], (notebook, result["errors"])
            else:
                assert "NotImplementedError" in result["errors"], notebook
                assert set(result["errors"]) <= BLANK_ERRORS, (notebook, result["errors"])
