"""What a grading task carries, as data: the course files that grading a lab needs, and one
student's submission. Grading workers share no filesystem with the course: they get these,
grade in a scratch course of their own, and send the results back (``course.remote``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from course.nbgrader_setup import CONFIG_FILE

SKIPPED = ("__pycache__", ".ipynb_checkpoints")
# A scratch course keeps its own gradebook, whatever the course's configuration names (a
# PostgreSQL server, say): appended to the copied configuration.
OWN_GRADEBOOK = ("\n# A scratch copy (course.kit): its own gradebook, never the course's.\n"
                 'c.CourseDirectory.db_url = "sqlite:///" + __import__("os").path.join('
                 '__import__("os").path.dirname(__file__), "gradebook.db")\n')


def lab_files(root: Path, lab: str) -> list[str]:
    """The course files grading ``lab`` needs, relative to ``root`` (POSIX paths): the
    configuration, the lab's source and (when present) release folders, and the instructor-only
    material of ``labs/`` (what every lab shares, and the lab's own folder)."""
    found = [CONFIG_FILE]
    for folder in (root / "source" / lab, root / "release" / lab, root / "labs" / lab):
        if folder.is_dir():
            found += [p.relative_to(root).as_posix() for p in sorted(folder.rglob("*"))
                      if p.is_file() and not set(SKIPPED) & set(p.relative_to(root).parts)]
    found += [p.relative_to(root).as_posix() for p in sorted((root / "labs").glob("*.py"))]
    return found


def grading_kit(root: Path, lab: str) -> dict[str, bytes]:
    """:func:`lab_files` with their contents, by relative path."""
    return {name: (root / name).read_bytes() for name in lab_files(root, lab)}


def kit_digest(kit: dict[str, bytes]) -> str:
    """SHA-256 over a kit's names and contents: the same kit, the same scratch course."""
    digest = hashlib.sha256()
    for name in sorted(kit):
        digest.update(name.encode() + b"\0" + hashlib.sha256(kit[name]).digest())
    return digest.hexdigest()


def unpack(files: dict[str, bytes], target: Path) -> Path:
    """Write ``files`` (relative POSIX paths: contents) under ``target``; refuse a path that
    would leave it. Returns ``target``."""
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"{name!r} is not a path inside the course")
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return target


def scratch_course(kit: dict[str, bytes], target: Path) -> Path:
    """A scratch course at ``target`` from a kit, with a gradebook of its own."""
    unpack(kit, target)
    config = target / CONFIG_FILE
    if not config.read_text().endswith(OWN_GRADEBOOK):  # the last word on the gradebook
        config.write_text(config.read_text() + OWN_GRADEBOOK)
    return target


def submission_files(root: Path, lab: str, student: str) -> dict[str, bytes]:
    """The files of ``submitted/<student>/<lab>/``, by path relative to it (checked for
    links and sizes before, by course.submissions)."""
    folder = root / "submitted" / student / lab
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}
