"""How ``course grade`` starts the kernels that run students' notebooks."""

from __future__ import annotations

import os

from jupyter_client.manager import AsyncKernelManager

# Figures are built but never drawn while grading: see helpers/grading_backend.py.
GRADING_BACKEND = "module://helpers.grading_backend"


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels build figures without drawing them."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kw["env"] = {**(kw.get("env") or os.environ), "MPLBACKEND": GRADING_BACKEND}
        await super()._async_launch_kernel(kernel_cmd, **kw)
