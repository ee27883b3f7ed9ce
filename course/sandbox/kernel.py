"""The grading kernel manager whose kernels run sandboxed."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from course.grading.kernels import GradingKernelManager
from course.sandbox.cgroups import StudentCgroup
from course.sandbox.command import sandbox_command
from course.sandbox.config import SandboxLimits
from course.sandbox.files import matplotlib_font_cache
from course.sandbox.mounts import RUNTIME_PARENT, RUNTIME_PREFIX, mount_small_tmpfs
from course.sandbox.uids import sandbox_user
from judge_runtime.flag import JUDGED_VARIABLE

if TYPE_CHECKING:
    from jupyter_client.kernelspec import KernelSpec


class SandboxedKernelManager(GradingKernelManager):
    """A grading kernel manager whose kernels run in the sandbox, in a private scratch that
    starts as a copy of the folder nbgrader runs the notebook in (never written back).

    Kernels talk to nbgrader over IPC sockets in a runtime folder shared with the sandbox (a
    tmpfs of a few MB, mounted in this process's private mount namespace), since the sandbox
    has no network, not even the grader's loopback. Each kernel's process tree gets its own
    control groups (see course.sandbox.cgroups).
    """

    def __init__(self, **kwargs):
        self._uid = sandbox_user()
        super().__init__(**kwargs)
        self._cgroup: StudentCgroup | None = None

    def make_runtime_folder(self) -> Path:
        # Not under /tmp, which the sandbox links to its own scratch.
        runtime = Path(
            tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-", dir=RUNTIME_PARENT)
        )
        mount_small_tmpfs(runtime, self._uid)
        return runtime

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, self._uid, self._uid)

    def prepare_launch(self, kernel_cmd: list[str], kw: dict) -> list[str]:
        """``kernel_cmd`` wrapped in a sandbox that is given the grading environment."""
        # bwrap does not pass signals on to the kernel: interrupt it with a message instead.
        cast("KernelSpec", self.kernel_spec).interrupt_mode = "message"  # launched: has one
        inputs = Path(kw.get("cwd") or os.getcwd()).resolve()
        limits = SandboxLimits(config=self.config).limits()
        self._cgroup = StudentCgroup(limits)
        # The judge decides every judged cell of these kernels (see judge_runtime.flag).
        return self._cgroup.wrap(
            sandbox_command(
                kernel_cmd,
                inputs=inputs,
                shared=(self._runtime,),
                limits=limits,
                env={**kw["env"], JUDGED_VARIABLE: "1"},
                uid=self._uid,
                fonts=matplotlib_font_cache(),
            )
        )

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if not restart:
            if self._cgroup is not None:
                self._cgroup.close()
            subprocess.run(["umount", "--lazy", str(self._runtime)], capture_output=True)
        await super()._async_cleanup_resources(restart=restart)  # removes the folder
