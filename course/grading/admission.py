"""Which students a lab has, and whether each may be graded at all: their folder's name and
files (read nothing of an unsafe one), their notebooks, and whether this very submission was
graded already (the marker beside the graded copy, with the digest of the submitted files:
an interrupted run, or a resubmission, is graded again; nbgrader's own "skip if the
autograded folder exists" is not relied on, because an interrupted autograde leaves that
folder behind half-written)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from course import layout
from course.grading.kit import files_digest
from course.submissions import name_problem, tree_problem

MARKER = ".course-graded.json"


def labs_of(root: Path) -> list[str]:
    """The labs of the course at ``root``: the folders of ``source/``."""
    folder = layout.folder(root, "source")
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def require_lab(root: Path, lab: str) -> None:
    """Raise ValueError, listing the labs there are, unless ``lab`` is one of them."""
    if lab not in labs_of(root):
        there = ", ".join(labs_of(root)) or "none yet (make one in source/<lab>/)"
        raise ValueError(f"there is no lab called {lab!r} in {root}; the labs are: {there}")


def submitted_students(root: Path, lab: str) -> list[str]:
    """Students with a ``submitted/<student>/<lab>/`` folder, or with notebooks left directly
    in ``submitted/<student>/`` (reported as misplaced, not ignored), sorted. Symbolic links
    are listed too (never followed), so that they are refused with a reason."""
    folder = layout.folder(root, "submitted")
    if not folder.is_dir():
        return []
    students = []
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if entry.is_symlink() or (path / lab).is_symlink():
            students.append(entry.name)
        elif entry.is_dir() and ((path / lab).is_dir() or any(path.glob("*.ipynb"))):
            students.append(entry.name)
    return sorted(students)


def admission_problem(root: Path, student: str) -> str | None:
    """Why nothing of ``submitted/<student>/`` may be read at all (an unsafe folder name, a
    link, a special or oversized file), or None. Checked before any other step reads it."""
    folder = layout.submitted(root, student)
    return name_problem(student) or tree_problem(folder, layout.shown(root, folder)[:-1])


def submission_digest(root: Path, lab: str, student: str) -> str:
    """SHA-256 over the names and contents of a student's submitted files (course.grading.kit)."""
    folder = layout.submitted(root, student, lab)
    return files_digest(
        {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    )


def marker_path(root: Path, lab: str, student: str) -> Path:
    return layout.autograded(root, student, lab) / MARKER


def graded_digest(root: Path, lab: str, student: str) -> str:
    """The digest of the submission last graded to the end ("" when none was)."""
    try:
        return str(json.loads(marker_path(root, lab, student).read_text())["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def is_graded(root: Path, lab: str, student: str) -> bool:
    """True when the student's current submission was graded to the end."""
    graded = graded_digest(root, lab, student)
    return bool(graded) and graded == submission_digest(root, lab, student)


def expected_notebooks(root: Path, lab: str) -> list[str]:
    """The names (without .ipynb) of the lab's notebooks, as released."""
    return sorted(p.stem for p in layout.release(root, lab).glob("*.ipynb"))


def submission_problem(root: Path, lab: str, student: str) -> str | None:
    """Why a submission cannot be graded at all (missing or unreadable notebook), or None."""
    folder = layout.submitted(root, student, lab)
    if not folder.is_dir():
        misplaced = sorted(p.name for p in folder.parent.glob("*.ipynb"))
        return (
            f"{', '.join(misplaced)} is in {layout.shown(root, folder.parent)}, not in "
            f"{layout.shown(root, folder)}; move it there and grade again"
        )
    expected = sorted(p.name for p in layout.release(root, lab).glob("*.ipynb"))
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.ipynb"))
    for name in expected:
        if name not in found:
            return (
                f"no {name} in the submission (found: {', '.join(found) or 'no notebook'}); "
                "was it renamed?"
            )
        try:
            nbformat.read(folder / name, as_version=4)
        except Exception as error:  # any reason a notebook cannot be read
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return (
                f"{name} is not a readable notebook ({type(error).__name__}: "
                f"{first_line[:120]}); ask for a new copy"
            )
    return None
