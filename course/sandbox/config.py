"""The sandbox's limits as settings of ``nbgrader_config.py``."""

from __future__ import annotations

from traitlets import Float, Integer
from traitlets.config import Configurable

from course.sandbox.limits import DEFAULT_LIMITS, Limits


class SandboxLimits(Configurable):
    """The limits of every sandboxed process tree (a student's kernel, the judge's re-check),
    set in ``nbgrader_config.py`` as ``c.SandboxLimits.<name>``."""

    memory_bytes = Integer(
        DEFAULT_LIMITS.memory_bytes,
        help="address space per process, and the memory group of the whole tree",
    ).tag(config=True)
    cpu_seconds = Integer(
        DEFAULT_LIMITS.cpu_seconds,
        help="CPU seconds per process (an rlimit: the process is killed past it)",
    ).tag(config=True)
    processes = Integer(
        DEFAULT_LIMITS.processes,
        help="processes per sandbox uid (and per tree, where pids groups exist)",
    ).tag(config=True)
    file_bytes = Integer(DEFAULT_LIMITS.file_bytes, help="the largest file it may write").tag(
        config=True
    )
    open_files = Integer(DEFAULT_LIMITS.open_files, help="open files per process").tag(config=True)
    scratch_bytes = Integer(
        DEFAULT_LIMITS.scratch_bytes,
        help="its private scratch (/tmp and the working folder), in bytes",
    ).tag(config=True)
    scratch_files = Integer(DEFAULT_LIMITS.scratch_files, help="files in its private scratch").tag(
        config=True
    )
    cpu_cores = Float(
        DEFAULT_LIMITS.cpu_cores,
        help="CPU share of the whole tree, in cores, where cpu groups exist",
    ).tag(config=True)

    def limits(self) -> Limits:
        """These settings as :func:`sandbox_command` takes them."""
        return Limits(**{name: getattr(self, name) for name in Limits.__dataclass_fields__})
