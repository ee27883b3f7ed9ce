"""nbconvert preprocessor: no control character of a student's reaches a page.

A notebook's sources and outputs are the student's text: an escape sequence in a string
literal, or printed, would be written into the feedback page and the formgrader's as it is.
Every cell's source is made :func:`course.text.printable`, and so is every output's text
(keeping the colours of a traceback, which nbconvert renders as spans). Registered for every
``HTMLExporter`` in the course's configuration (the formgrader's and the feedback's).
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor

from course.text import printable


class PrintableCells(Preprocessor):
    """Strip control characters from every source and output text of a notebook."""

    def preprocess_cell(self, cell, resources, index):
        cell.source = printable(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = printable(output.text, colours=True)
            if "evalue" in output:
                output.evalue = printable(output.evalue, colours=True)
            if "traceback" in output:
                output.traceback = [printable(line, colours=True) for line in output.traceback]
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output.data[mime] = printable(value, colours=True)
        return cell, resources
