"""course.nbgrader_ext.feedback.FeedbackHTMLExporter: the exporter of nbgrader's feedback pages (see
nbgrader_config.py) renders exactly what nbconvert's does, compiling each template once."""

import nbformat
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory

from course.nbgrader_ext import feedback
from course.nbgrader_setup import load_config
from tests.support.paths import ROOT, SOURCE_NOTEBOOK


def test_the_course_renders_feedback_with_it():
    config = load_config(ROOT)
    app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    assert app.exporter_class is feedback.FeedbackHTMLExporter


class CountingCache(feedback._CompiledTemplates):
    """The exporter's cache, counting the templates it is given to keep (one per compile)."""

    def __init__(self):
        super().__init__()
        self.compiles = 0

    def dump_bytecode(self, bucket):
        self.compiles += 1
        super().dump_bytecode(bucket)


def test_pages_match_nbconverts_and_templates_are_compiled_once(monkeypatch):
    cache = CountingCache()
    monkeypatch.setattr(feedback, "_COMPILED_TEMPLATES", cache)
    nb = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    expected, _ = HTMLExporter().from_notebook_node(nb)
    first, _ = feedback.FeedbackHTMLExporter().from_notebook_node(nb)
    compiles = cache.compiles
    assert compiles > 0
    second, _ = feedback.FeedbackHTMLExporter().from_notebook_node(nb)
    assert cache.compiles == compiles  # the second page compiled nothing
    assert first == second == expected
