"""nbgrader preprocessor: no output of a graded notebook larger than the course allows."""

from __future__ import annotations

from nbgrader.preprocessors import LimitOutput
from traitlets import Integer


class LimitOutputSize(LimitOutput):
    """nbgrader's LimitOutput (lines of output and traceback), plus a cap on characters.

    One print of 100 MB is a single line, which LimitOutput lets through into the graded
    notebook, the gradebook's copy and the feedback page; this cuts every text output to
    ``max_chars`` and drops any other output larger than ``max_bytes``.
    """

    max_chars = Integer(20_000, help="maximum characters of one text output").tag(config=True)
    max_bytes = Integer(5 * 1024**2, help="maximum size of one rich output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.text) > self.max_chars:
                output.text = output.text[: self.max_chars] + "\n... Output truncated ...\n"
            for mime, value in list(output.get("data", {}).items()):
                text = value if isinstance(value, str) else "".join(value)
                if mime.startswith("text/") and len(text) > self.max_chars:
                    output.data[mime] = text[: self.max_chars] + "\n... Output truncated ...\n"
                elif len(text) > self.max_bytes:
                    output.data = {"text/plain": f"[{mime} output of {len(text)} bytes removed]"}
                    break
        return cell, resources
