"""nbgrader's Execute, with each cell's output cut while it streams in and its time limit
counted in CPU seconds.

A cell may use ``Execute.timeout`` seconds of CPU time (the kernel and what it starts,
``course.grading.cputime``), however busy the machine is; past it the kernel is interrupted and the
cell ends with an error that says so. The wall clock is only a backstop, ``wall_clock_factor``
times the limit, for a cell that waits rather than computes.

nbgrader's own output limits (and the course's ``LimitOutputSize``) run after the whole notebook
has executed, so until then every byte a submission prints is held in the grading process. Here
each cell keeps at most ``max_cell_chars`` characters of output as it arrives; what comes after
is dropped, and one note says so. Single messages are bounded before they arrive: see
``course.grading.kernels.MAX_MESSAGE_BYTES``.
"""

from __future__ import annotations

from jupyter_core.utils import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer

from course.grading.cputime import WALL_CLOCK_FACTOR, CpuClock

# resources key: indices of the cells this executor stopped (past a limit, interrupted), in
# the notebook as executed. Recorded here, outside the kernel, because anything the kernel
# printed (an error named CellTimeoutError included) may be the student's own.
STOPPED_CELLS = "course_stopped_cells"

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
        200_000, help="characters of output kept per cell while executing"
    ).tag(config=True)
    # A message dropped for its size (course.grading.kernels.MAX_MESSAGE_BYTES) can take the cell's
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
            outs.append(
                new_output(
                    "stream", name="stdout", text=TRUNCATION_NOTE.format(limit=self.max_cell_chars)
                )
            )
        return out

    wall_clock_factor = Float(
        WALL_CLOCK_FACTOR,
        help="the wall-clock backstop of a cell, as a multiple of its CPU "
        "time limit (Execute.timeout)",
    ).tag(config=True)
    check_seconds = Float(0.5, help="how often a running cell's CPU time is read")

    def preprocess(self, nb, resources=None, km=None):
        self._cell_output_chars: dict[int, int] = {}
        self._stopped_cells: list[int] = []
        nb, resources = super().preprocess(nb, resources, km)
        if resources is not None:
            resources[STOPPED_CELLS] = list(self._stopped_cells)
        return nb, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self._cell_clock: CpuClock | None = self._kernel_clock()
        self._cell_index = cell_index
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            self._cell_clock = None

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own at class level

    def _kernel_clock(self) -> CpuClock:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        pid = getattr(process, "pid", None)
        return CpuClock(pid if pid else None)

    def _get_timeout(self, cell):
        """While a cell runs, nbclient waits this long for its reply before calling
        :meth:`_async_handle_timeout`, which reads the cell's CPU time and waits again until a
        limit is passed; for anything else, the limit itself."""
        limit = super()._get_timeout(cell)
        if limit is None or getattr(self, "_cell_clock", None) is None:
            return limit
        return min(self.check_seconds, limit)

    async def _async_handle_timeout(self, timeout, cell=None):
        limit = super()._get_timeout(cell)
        clock = getattr(self, "_cell_clock", None)
        if clock is None:  # not a cell's reply: nbclient's own handling
            return await super()._async_handle_timeout(timeout, cell)
        over = None if limit is None else clock.over(limit, self.wall_clock_factor)
        if over is None:
            return None  # still within its limits: wait again
        why = (
            f"this cell used more than {limit:g} s of CPU time (a loop that never ends?)"
            if over == "cpu"
            else f"this cell waited more than {self.wall_clock_factor * limit:g} s while using "
            f"{clock.cpu():.1f} s of CPU time"
        )
        self.log.error("Interrupting the kernel: %s", why)
        self._stopped_cells.append(self._cell_index)
        await self.km.interrupt_kernel()
        return {
            "content": {
                "status": "error",
                "ename": "CellTimeoutError",
                "evalue": why,
                "traceback": [f"CellTimeoutError: {why}"],
            }
        }
