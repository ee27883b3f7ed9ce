"""The grading process's private mount namespace and the small tmpfs folders it mounts there."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

from course.sandbox.errors import INSTALL_HINT, SandboxUnavailable
from course.sandbox.uids import SANDBOX_UIDS
from course.sandbox.user_namespace import UserNamespaceUnavailable, enter

RUNTIME_PARENT = "/var/tmp"  # where kernels' socket folders are made (and mounted)
RUNTIME_PREFIX = "course-kernel-"
_CLONE_NEWNS = 0x00020000
_MS_REC, _MS_PRIVATE = 0x4000, 0x40000
_PRIVATE_MOUNTS = False


def use_private_mounts() -> None:
    """Give this process a mount namespace of its own, so the tmpfs it mounts for its kernels'
    sockets vanish with it even when it is killed; a process that is not root first becomes
    root of a user namespace of its own (course.sandbox.user_namespace), where it may mount them and
    use the sandboxes' uids. Call before any thread starts (a process with threads cannot
    leave its namespaces); later calls do nothing."""
    global _PRIVATE_MOUNTS
    if _PRIVATE_MOUNTS:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() != 0:
        try:
            enter(SANDBOX_UIDS.stop)
        except UserNamespaceUnavailable as problem:
            raise SandboxUnavailable(str(problem)) from None
    elif libc.unshare(_CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        raise SandboxUnavailable(
            f"cannot give the grading process a private mount namespace "
            f"({os.strerror(error)}). {INSTALL_HINT}"
        )
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        error = ctypes.get_errno()
        raise SandboxUnavailable(
            f"cannot give the grading process a private mount namespace "
            f"({os.strerror(error)}). {INSTALL_HINT}"
        )
    _PRIVATE_MOUNTS = True


def mount_small_tmpfs(folder: Path, uid: int, size: int = 4 * 1024**2, files: int = 64) -> None:
    """Mount a tmpfs of ``size`` bytes and ``files`` entries on ``folder``, owned by ``uid``."""
    use_private_mounts()
    subprocess.run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            f"size={size},nr_inodes={files},mode=0700,uid={uid},gid={uid}",
            "course-kernel",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )


def remove_stale_runtime_folders() -> None:
    """Remove the (empty, from here) socket folders of grading processes that were killed."""
    for folder in Path(RUNTIME_PARENT).glob(f"{RUNTIME_PREFIX}*-*"):
        owner = folder.name[len(RUNTIME_PREFIX) :].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)
