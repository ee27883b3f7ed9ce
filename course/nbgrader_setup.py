"""nbgrader's API, configured for a course directory exactly as the nbgrader CLI would be."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding nbgrader_config.py."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise FileNotFoundError(
        f"no {CONFIG_FILE} in {start} or above: run this from inside the course directory"
    )


def load_config(root: Path, **overrides) -> Config:
    """The course's nbgrader configuration, rooted at ``root``.

    ``overrides`` are extra settings as ``{"Section": {"trait": value}}``.
    """
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for section, traits in overrides.items():
        for trait, value in traits.items():
            config[section][trait] = value
    return config


def put_environment_on_path() -> None:
    """Make this Python environment's scripts findable: nbgrader runs ``alembic`` by name
    when it creates a gradebook, which fails from an un-activated virtualenv."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def make_api(root: Path, **overrides) -> NbGraderAPI:
    """An ``NbGraderAPI`` for the course at ``root`` (see :func:`load_config`)."""
    put_environment_on_path()
    config = load_config(root, **overrides)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
