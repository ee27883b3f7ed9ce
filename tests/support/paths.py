"""The repository the tests run in, and the lab most of them grade."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab1"
NOTEBOOK = "classification"
SOURCE_NOTEBOOK = ROOT / "source" / LAB / f"{NOTEBOOK}.ipynb"
RELEASE_NOTEBOOK = ROOT / "release" / LAB / f"{NOTEBOOK}.ipynb"
SCRIPTS = Path(sys.executable).parent  # this Python environment's commands (nbgrader, jupyter)
