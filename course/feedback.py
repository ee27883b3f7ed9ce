"""The exporter nbgrader's GenerateFeedback uses (set in nbgrader_config.py).

nbconvert builds a new Jinja environment for every feedback page, and compiling the feedback
templates again each time costs about a third of a page. This exporter shares the compiled
templates between the pages one process renders; Jinja checks each template's source against
its checksum, so an edited template is compiled afresh.
"""

from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from nbconvert.exporters import HTMLExporter


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


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, compiling each template once per process."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES
        return environment
