"""The version of what judges a lab: every file a verdict depends on, and the course secret.

Each grade records the version it was judged with (``Outcome.version``). When the judge, a
hidden-case generator, a tolerance, a misconception or the instructor's notebook changes, the
version changes with it: ``course grade`` says who was graded with an older one, and ``course
grade LAB --diff`` (course.grading.regrade) shows what a regrade would change, by cause: the
files that changed, which ``reports/<lab>/versions.json`` lets it name.

Of the settings, those that can change a verdict are part of it (the judge's budgets, the cell
limit, whether work not the student's own earns points); the others bound how grading runs,
and the late penalty is applied again without regrading. So is only the code that judges, not
the rest of the course's tools (a report's layout changes no grade).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course import layout
from course.case_keys import secret_fingerprint
from course.files import write_atomic
from course.grading.kit import grading_kit
from course.nbgrader_setup import CONFIG_FILE, load_config
from course.sandbox.command import STUDENT_PACKAGES

VERSIONS_FILE = "versions.json"
SECRET = "(the course secret)"  # its entry in a manifest: its fingerprint, never the secret
CODE_SUFFIXES = (".py", ".j2", ".c")
TOOLS = Path(__file__).resolve().parents[1]  # the course package
# The course's code that takes part in a verdict: the judge, the nbgrader steps around it, the
# kinds and messages of outcomes, the notebooks' regions; the rest (reports, the LMS, the
# command line, grading's plumbing) decides no point.
VERDICT_CODE = (
    "judge",
    "nbgrader_ext",
    "sandbox",
    "diagnosis.py",
    "misconceptions.py",
    "notebooks.py",
    "outcomes.py",
    "regions.py",
)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def manifest(root: Path, lab: str) -> dict[str, str]:
    """Each file that judging ``lab`` depends on, by name, with a digest of its content: the
    lab's source notebooks (without their outputs) and instructor-only material, and the code
    of the students' packages and of the course tools; and the course secret's fingerprint."""
    files = {
        name: _digest(content)
        for name, content in grading_kit(root, lab).items()
        if name != CONFIG_FILE
    }
    places = [(package, package.parent) for package in STUDENT_PACKAGES]
    places += [(TOOLS / name, TOOLS.parent) for name in VERDICT_CODE]
    for place, base in places:
        for path in sorted(place.rglob("*")) if place.is_dir() else [place]:
            if path.suffix in CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(base).as_posix()] = _digest(path.read_bytes())
    files.update(verdict_settings(root))
    files[SECRET] = secret_fingerprint(root)
    return dict(sorted(files.items()))


def verdict_settings(root: Path) -> dict[str, str]:
    """The settings of the course at ``root`` that can change a verdict, by name, each with
    a digest of its value."""
    from course.nbgrader_ext.judge_cells import JudgeGradeCells
    from course.settings import from_config

    config = load_config(root)
    settings = from_config(config)
    judge = JudgeGradeCells(config=config)
    values = {
        "c.JudgeBudgets": settings.judge_budgets,
        "c.Execute.timeout": settings.cell_seconds,
        **{
            f"c.JudgeGradeCells.{name}": getattr(judge, name)
            for name, trait in JudgeGradeCells.class_traits(config=True).items()
            if trait.this_class is JudgeGradeCells and not trait.metadata.get("set_by_grading")
        },
    }
    return {name: _digest(repr(value).encode()) for name, value in values.items()}


def version_of(files: dict[str, str]) -> str:
    """The version a :func:`manifest` names."""
    return _digest(json.dumps(files, sort_keys=True).encode())


def record_version(root: Path, lab: str, files: dict[str, str]) -> str:
    """Keep ``files`` in ``reports/<lab>/versions.json`` (so that a later change can be named)
    and return its version."""
    version = version_of(files)
    known = known_versions(root, lab)
    if version not in known:
        known[version] = files
        write_atomic(layout.reports(root, lab) / VERSIONS_FILE, json.dumps(known, indent=1))
    return version


def known_versions(root: Path, lab: str) -> dict[str, dict[str, str]]:
    """Every version ``lab`` was graded with, and its manifest."""
    path = layout.reports(root, lab) / VERSIONS_FILE
    try:
        known = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        raise ValueError(
            f"{layout.shown(root, path)} is not readable JSON: restore it from a backup, or "
            "delete it (regrades then cannot name what changed)"
        ) from None
    return known if isinstance(known, dict) else {}


def changed_files(root: Path, lab: str, old: str, current: dict[str, str]) -> list[str]:
    """The files that differ between version ``old`` and the ``current`` manifest (added,
    removed or changed); ``["(unknown: graded before versions were kept)"]`` when ``old`` is
    not known."""
    before = known_versions(root, lab).get(old)
    if before is None:
        return ["(a version not recorded)" if old else "(graded before versions were kept)"]
    return sorted(
        name for name in set(before) | set(current) if before.get(name) != current.get(name)
    )


def cause(changed: list[str], shown: int = 3) -> str:
    """``changed`` (file names) as a short cause: the first ``shown`` and how many more."""
    if not changed:
        return "(no change)"
    more = len(changed) - shown
    return ", ".join(changed[:shown]) + (f" and {more} more" if more > 0 else "")
