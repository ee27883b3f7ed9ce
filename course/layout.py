"""Where a course keeps things: the one owner of its paths.

nbgrader's folders (source, release, submitted, autograded, feedback) are where the course's
``nbgrader_config.py`` puts them (``CourseDirectory``'s ``*_directory`` settings, read once per
version of that file), each holding ``<student>/<lab>/`` (``.`` for the student in source and
release), as nbgrader's default ``directory_structure`` has it; the course's own folder,
``reports/<lab>/``, is named here.
"""

from __future__ import annotations

import functools
from pathlib import Path

STEPS = ("source", "release", "submitted", "autograded", "feedback")
DEFAULT_STRUCTURE = "{nbgrader_step}/{student_id}/{assignment_id}"
REPORTS = "reports"


class LayoutError(ValueError):
    """The course's configuration sets a layout the course tools cannot follow."""


@functools.lru_cache(maxsize=64)
def _folders(root: Path, version: tuple[int, int]) -> dict[str, str]:
    from nbgrader.coursedir import CourseDirectory

    from course.nbgrader_setup import load_config  # it imports nbgrader's apps: only when read

    coursedir = CourseDirectory(config=load_config(root))
    if coursedir.directory_structure != DEFAULT_STRUCTURE:
        raise LayoutError(
            f"{root / 'nbgrader_config.py'} sets c.CourseDirectory.directory_structure to "
            f"{coursedir.directory_structure!r}; the course tools need nbgrader's default, "
            f"{DEFAULT_STRUCTURE!r}: remove that line (the folders' names may change)"
        )
    return {step: getattr(coursedir, f"{step}_directory") for step in STEPS}


def folder(root: Path, step: str) -> Path:
    """The course's folder for nbgrader's ``step`` (one of STEPS), e.g. ``root/submitted``."""
    config = root / "nbgrader_config.py"
    try:
        info = config.stat()
    except OSError:
        return root / step  # no configuration: nbgrader's defaults
    return root / _folders(root, (info.st_mtime_ns, info.st_size))[step]


def source(root: Path, lab: str) -> Path:
    """``source/<lab>/``: the instructor's notebooks."""
    return folder(root, "source") / lab


def release(root: Path, lab: str) -> Path:
    """``release/<lab>/``: the student version."""
    return folder(root, "release") / lab


def submitted(root: Path, student: str, lab: str | None = None) -> Path:
    """``submitted/<student>/`` or, with ``lab``, ``submitted/<student>/<lab>/``."""
    path = folder(root, "submitted") / student
    return path / lab if lab is not None else path


def autograded(root: Path, student: str, lab: str) -> Path:
    """``autograded/<student>/<lab>/``: nbgrader's graded notebooks."""
    return folder(root, "autograded") / student / lab


def feedback(root: Path, student: str, lab: str) -> Path:
    """``feedback/<student>/<lab>/``: the pages handed back."""
    return folder(root, "feedback") / student / lab


def reports(root: Path, lab: str) -> Path:
    """``reports/<lab>/``: what the course tools write for the instructor."""
    return root / REPORTS / lab


def shown(root: Path, path: Path) -> str:
    """``path`` as the instructor would type it from the course folder."""
    try:
        return f"{path.relative_to(root).as_posix()}/"
    except ValueError:
        return str(path)
