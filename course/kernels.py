"""How ``course grade`` starts the kernels that run students' notebooks."""

from __future__ import annotations

import os

import zmq
from jupyter_client.manager import AsyncKernelManager

# Figures are built but never drawn while grading: see helpers/grading_backend.py.
GRADING_BACKEND = "module://helpers.grading_backend"
# One BLAS thread per process: the grading workers already keep every core busy, and BLAS's
# extra threads would only compete with them (and spin while they wait).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
GRADING_ENVIRONMENT = {"MPLBACKEND": GRADING_BACKEND, **SINGLE_THREADED}
# A kernel is student code: a message larger than this is dropped by zmq before it is read,
# and at most RECEIVE_QUEUE messages wait unread, so what one kernel can make the grading
# process hold is bounded (about 64 MB) whatever it sends.
MAX_MESSAGE_BYTES = 4 * 1024**2
RECEIVE_QUEUE = 16


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels build figures without drawing them and use one BLAS
    thread (see GRADING_ENVIRONMENT), and whose messages are bounded in size and number."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Defaults for every socket made from this manager's context, its clients' included.
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kw["env"] = {**(kw.get("env") or os.environ), **GRADING_ENVIRONMENT}
        await super()._async_launch_kernel(self.prepare_launch(kernel_cmd, kw), **kw)

    def prepare_launch(self, kernel_cmd: list[str], kw: dict) -> list[str]:
        """The command that starts the kernel, given nbgrader's and its launch arguments
        (``kw["env"]`` already holds the grading environment). As it is, here."""
        return kernel_cmd
