"""What a grading task carries, as data: the course files that grading a lab needs, and one
student's submission. Grading workers share no filesystem with the course: they get these,
grade in a scratch course of their own, and send the results back (``course.grading.remote``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from pathlib import Path, PurePosixPath

from course import layout
from course.nbgrader_setup import CONFIG_FILE

SKIPPED = ("__pycache__", ".ipynb_checkpoints")
# A scratch course keeps its own gradebook, whatever the course's configuration names (a
# PostgreSQL server, say): appended to the copied configuration.
# The temporary folder a grading process's scratch course is made in (course.grading.remote);
# course.grading.worker, which removes what it grades, grades nowhere else.
SCRATCH_PREFIX = "course-worker-"
OWN_GRADEBOOK = (
    "\n# A scratch copy (course.grading.kit): its own gradebook, never the course's.\n"
    'c.CourseDirectory.db_url = "sqlite:///" + __import__("os").path.join('
    '__import__("os").path.dirname(__file__), "gradebook.db")\n'
)


def lab_files(root: Path, lab: str) -> list[str]:
    """The course files grading ``lab`` needs, relative to ``root`` (POSIX paths): the
    configuration, the lab's source folder (its release is generated from it), and the
    instructor-only material of ``labs/`` (what every lab shares, and the lab's own folder)."""
    found = [CONFIG_FILE]
    for folder in (layout.source(root, lab), root / "labs" / lab):
        if folder.is_dir():
            found += [
                p.relative_to(root).as_posix()
                for p in sorted(folder.rglob("*"))
                if p.is_file() and not set(SKIPPED) & set(p.relative_to(root).parts)
            ]
    found += [p.relative_to(root).as_posix() for p in sorted((root / "labs").glob("*.py"))]
    return found


def grading_kit(root: Path, lab: str) -> dict[str, bytes]:
    """:func:`lab_files` with their contents, by relative path; notebooks without their stored
    outputs (plots, mostly: grading runs every cell afresh and reads none of them)."""
    kit = {
        name: _without_outputs((root / name).read_bytes())
        if name.endswith(".ipynb")
        else (root / name).read_bytes()
        for name in lab_files(root, lab)
    }
    # A scratch copy's configuration is the course's, its own gradebook aside (which every
    # scratch course gets anyway): the same kit, so workers reuse their grading processes.
    kit[CONFIG_FILE] = kit[CONFIG_FILE].removesuffix(OWN_GRADEBOOK.encode())
    return kit


def _without_outputs(notebook: bytes) -> bytes:
    content = json.loads(notebook)
    for cell in content.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(content, indent=1, ensure_ascii=False).encode() + b"\n"


def pack(kit: dict[str, bytes]) -> bytes:
    """A kit as one compressed blob, for a task to carry (notebooks compress about fivefold)."""
    return zlib.compress(
        json.dumps({name: base64.b64encode(data).decode() for name, data in kit.items()}).encode(),
        6,
    )


def unpack_kit(blob: bytes) -> dict[str, bytes]:
    """The kit :func:`pack` made ``blob`` of."""
    return {
        name: base64.b64decode(data) for name, data in json.loads(zlib.decompress(blob)).items()
    }


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


def files_digest(files: dict[str, bytes]) -> str:
    """SHA-256 over the names (paths relative to the submission's folder) and contents of a
    submission's files: what the markers of course.grading.admission compare."""
    digest = hashlib.sha256()
    for name, content in sorted(files.items(), key=lambda item: Path(item[0])):
        digest.update(name.encode() + b"\0")
        digest.update(content)
    return digest.hexdigest()


def submission_files(root: Path, lab: str, student: str) -> dict[str, bytes]:
    """The files of ``submitted/<student>/<lab>/``, by path relative to it (checked for
    links and sizes before, by course.submissions)."""
    folder = layout.submitted(root, student, lab)
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
