"""nbconvert preprocessor: a student's name is text on every page the exporter renders.

nbgrader's formgrader renders a submission with nbconvert's HTML exporter and its ``formgrade``
template, which prints the student's id and name from ``resources`` as they are (nbconvert's
templates do not escape). A name comes from the LMS (``course collect``), where a student
chose it: ``<img src=x onerror=...>`` as a Moodle name ran script in the instructor's
browser. This escapes those resources before any template sees them (registered for every
``HTMLExporter`` in the course's configuration).
"""

from __future__ import annotations

from markupsafe import escape
from nbconvert.preprocessors import Preprocessor

NAME_RESOURCES = ("student", "first_name", "last_name")


class EscapeNames(Preprocessor):
    """HTML-escape the student's id and names in ``resources``."""

    def preprocess(self, nb, resources):
        for key in NAME_RESOURCES:
            if isinstance(resources.get(key), str):
                resources[key] = escape(resources[key])
        return nb, resources
