"""Files every sandbox starts from, made once per process: matplotlib's font list and the
module that stands in for a withheld helpers file."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FONT_CACHE_VARIABLE = "COURSE_MATPLOTLIB_FONT_CACHE"
_FONT_CACHE: Path | None = None


def build_matplotlib_font_cache(folder: Path) -> Path:
    """Build matplotlib's font list in ``folder`` and return the folder. A sandbox starts with
    an empty /tmp, where matplotlib would rebuild the list at every kernel's first plot."""
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"],
        env={**os.environ, "MPLCONFIGDIR": str(folder)},
        capture_output=True,
    )
    return folder


# What a withheld helpers module is in a sandbox: importing it and any name from it works (a
# student's cell that imports the checks still defines everything else), calling does not.
WITHHELD_MODULE = '''"""Withheld while grading: your code is judged without the checks."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def withheld(*args, **kwargs):
        raise RuntimeError(f"{name} is not available while your code is graded")

    return withheld
'''


_WITHHELD: Path | None = None


def withheld_module() -> Path:
    """A file holding WITHHELD_MODULE, made once per process and removed when it exits."""
    global _WITHHELD
    if _WITHHELD is None:
        folder = Path(tempfile.mkdtemp(prefix="course-withheld-"))
        folder.chmod(0o755)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _WITHHELD = folder / "withheld.py"
        _WITHHELD.write_text(WITHHELD_MODULE)
        _WITHHELD.chmod(0o644)
    return _WITHHELD


def matplotlib_font_cache() -> Path:
    """The font list every sandboxed kernel starts from: the folder named by
    COURSE_MATPLOTLIB_FONT_CACHE (``course grade`` builds one for all its workers and removes
    it when done), else one built for this process and removed when it exits."""
    global _FONT_CACHE
    if _FONT_CACHE is None:
        given = os.environ.get(FONT_CACHE_VARIABLE)
        if given and Path(given).is_dir():
            _FONT_CACHE = Path(given)
        else:
            folder = Path(tempfile.mkdtemp(prefix="course-mplcache-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _FONT_CACHE = build_matplotlib_font_cache(folder)
    return _FONT_CACHE
