"""nbgrader's Execute, with each cell's output cut while it streams in.

nbgrader's own output limits (and the course's ``LimitOutputSize``) run after the whole notebook
has executed, so until then every byte a submission prints is held in the grading process. Here
each cell keeps at most ``max_cell_chars`` characters of output as it arrives; what comes after
is dropped, and one note says so. Single messages are bounded before they arrive: see
``course.kernels.MAX_MESSAGE_BYTES``.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

TRUNCATION_NOTE = "\n... output cut: this cell printed more than {limit:,} characters ...\n"


def output_size(output) -> int:
    """Characters in one output: its text, its data, its error message and traceback."""
    size = len(output.get("text", "")) + len(output.get("evalue", ""))
    size += sum(len(line) for line in output.get("traceback", []))
    for value in output.get("data", {}).values():
        size += len(value) if isinstance(value, str) else len(str(value))
    return size


class BoundedExecute(Execute):
    """Execute that stops storing a cell's outputs past ``max_cell_chars`` characters."""

    max_cell_chars = Integer(
        200_000, help="characters of output kept per cell while executing").tag(config=True)
    # A message dropped for its size (course.kernels.MAX_MESSAGE_BYTES) can take the cell's
    # last output with it: the cell still counts as run, its error (if any) comes by reply.
    raise_on_iopub_timeout = Bool(False).tag(config=True)

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        used = self._cell_output_chars.get(cell_index, 0)
        if used >= self.max_cell_chars:
            outs.remove(out)
            return None
        size = output_size(out)
        self._cell_output_chars[cell_index] = used + size
        if used + size > self.max_cell_chars:
            outs.remove(out)
            outs.append(new_output(
                "stream", name="stdout",
                text=TRUNCATION_NOTE.format(limit=self.max_cell_chars)))
        return out

    def preprocess(self, nb, resources=None, km=None):
        self._cell_output_chars: dict[int, int] = {}
        return super().preprocess(nb, resources, km)
