"""The resource limits of one sandboxed process tree (a student's kernel, the judge's re-check):
what ``course.sandbox`` applies as rlimits and tmpfs sizes, and ``course.sandbox.cgroups`` as
control groups. Configured as ``c.SandboxLimits`` (``course.sandbox``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree."""

    memory_bytes: int = 4 * 1024**3  # address space per process, and the tree's memory group
    cpu_seconds: int = 300
    processes: int = 64  # per sandbox user (and per tree, where pids groups exist)
    file_bytes: int = 64 * 1024**2
    open_files: int = 256
    scratch_bytes: int = 256 * 1024**2  # the private scratch (/tmp), working folder included
    scratch_files: int = 4096
    cpu_cores: float = 1.0  # CPU share of the whole tree, where cpu groups exist


DEFAULT_LIMITS = Limits()
