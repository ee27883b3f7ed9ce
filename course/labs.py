"""Instructor-only material of a lab: ``labs/<lab>/`` in the course folder, never installed."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

from course.nbgrader_setup import CONFIG_FILE


def import_lab_module(root: Path, lab: str, name: str):
    """``labs/<lab>/<name>.py`` of the course at ``root`` (students get ``helpers`` and
    ``course`` only; this is read from the course folder itself)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(f"labs.{lab}.{name}")


def copy_course(root: Path, target: Path, lab: str) -> Path:
    """A scratch copy of what grading ``lab`` needs from the course at ``root``: the config,
    the lab's source and (when present) release notebooks, and its instructor-only material.
    Returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / CONFIG_FILE, target / CONFIG_FILE)
    for folder in ("source", "release", "labs"):
        if (root / folder / lab).is_dir():
            shutil.copytree(root / folder / lab, target / folder / lab, dirs_exist_ok=True)
    if (root / "labs" / "__init__.py").is_file():
        shutil.copy2(root / "labs" / "__init__.py", target / "labs" / "__init__.py")
    return target
