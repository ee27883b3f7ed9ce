"""The exporter nbgrader's GenerateFeedback uses (set in nbgrader_config.py).

Its pages use the course's template (``templates/course_feedback`` beside this module), nbgrader's
feedback page with each test named in the summary.

nbconvert builds a new Jinja environment for every feedback page, and compiling the feedback
templates again each time costs about a third of a page. This exporter shares the compiled
templates between the pages one process renders; Jinja checks each template's source against
its checksum, so an edited template is compiled afresh.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbgrader
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from nbconvert.exporters import HTMLExporter

from course import layout
from course.files import write_atomic


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory, for the life of the process."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


_FORMGRADER = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
# Template folders: nbgrader's and ours (``course_feedback`` extends nbgrader's ``feedback``).
TEMPLATE_FOLDERS = [str(_FORMGRADER / "templates"), str(Path(__file__).parent / "templates")]
# Folders searched as they are: Bootstrap's CSS, which the pages inline (as nbgrader sets it),
# and nbgrader's templates, so that ours can name ``feedback/index.html.j2``.
TEMPLATE_PATHS = [
    str(_FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css"),
    str(_FORMGRADER / "templates"),
]


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, compiling each template once per process."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES
        return environment


TIMEOUT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{lab}: not graded</title>
<style>body{{font-family:sans-serif;max-width:45em;margin:2em auto;line-height:1.5}}</style>
</head><body>
<h1>{lab}: your submission was not graded</h1>
<p>Running your notebook took more than {limit:g} seconds of computing time, so the grader
stopped it before any test had a result. This usually means a loop that never ends: a
<code>while</code> loop whose condition never becomes false, or a function that calls itself
forever.</p>
<p>Run your notebook from the top (<em>Kernel &rarr; Restart Kernel and Run All Cells</em>) and
check that every cell finishes, then submit it again: a new submission is graded anew.</p>
</body></html>
"""


def write_timeout_page(
    root: Path, lab: str, student: str, notebooks: list[str], limit: float
) -> list[Path]:
    """A feedback page for each of ``notebooks`` (names without .ipynb) saying that grading
    ``student``'s ``lab`` ran out of ``limit`` CPU seconds, in place of nbgrader's; returns
    them."""
    page = TIMEOUT_PAGE.format(lab=html.escape(lab), limit=limit)
    return [
        write_atomic(layout.feedback(root, student, lab) / f"{name}.html", page)
        for name in notebooks
    ]
