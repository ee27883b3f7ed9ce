"""Instructor tooling for the course, built on nbgrader's own API.

It needs the grader's packages (the ``grader`` extra), which a student's image leaves out: an
import without them says so, rather than failing later in the middle of a grading run.
"""

import importlib.util

GRADER_PACKAGES = ("psutil", "dask", "distributed", "copydetect", "nbconvert", "nbclient")


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent missing, or a module blocked by sys.modules
        return True


if missing := [m for m in GRADER_PACKAGES if _missing(m)]:
    raise ImportError(
        f"the course's grading tools need {', '.join(missing)}, which this Python environment "
        "lacks: install the grader's packages with `pip install '.[grader]'` in the course "
        "folder (or `pip install -r requirements.txt`, the whole pinned stack)"
    )
