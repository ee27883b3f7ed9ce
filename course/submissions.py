"""What may be graded: safe student folder names, and submitted folders holding only plain files.

nbgrader joins student ids into paths and glob patterns (a folder named ``*`` matches every
student), and copies submitted files with functions that follow symbolic links. So before any
part of the grader reads a submission, its folder name and every entry in it are checked here
without following links: a name outside :data:`SAFE_NAME`, a symbolic link, a hard link, a
device, pipe or socket, or an oversized folder is refused with the reason, and nothing in it is
read.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

# Letters (any script), digits, and . _ - @ +; not starting with a dot or a sign; no glob
# characters (* ? [ ]), separators, spaces or control characters.
SAFE_NAME = re.compile(r"\w[\w.@+-]*")
SAFE_NAME_RULE = (
    "letters, digits and . _ - @ + only, starting with a letter, digit or "
    "underscore (no spaces, slashes or * ? [ ])"
)
MAX_FILES = 100
# A lab's notebook with its figures is well under a megabyte; at this size a grading process
# and the coordinator stay under 300 MB (tests/e2e/test_memory.py).
MAX_BYTES = 10 * 1024**2


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a student folder name, or None when it can."""
    if SAFE_NAME.fullmatch(name) and len(name) <= 128:
        return None
    return (
        f"the folder name {name!r} is not a safe student id: use {SAFE_NAME_RULE}; "
        "rename the folder in submitted/ and grade again"
    )


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file or folder"


def tree_problem(folder: Path, label: str) -> str | None:
    """Why the files under ``folder`` (shown as ``label``) cannot be graded, or None.

    Walks without following links: only plain folders and regular files with a single link
    are accepted, at most MAX_FILES of them and MAX_BYTES in all.
    """
    try:
        top = os.lstat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return f"{label} is {_kind(top.st_mode)}, not a folder; replace it with the notebook"
    count, size = 0, 0
    for directory, subfolders, files in os.walk(folder, followlinks=False):
        for name in sorted(subfolders + files):
            path = Path(directory) / name
            shown = f"{label}/{path.relative_to(folder)}"
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                return (
                    f"{shown} is {_kind(info.st_mode)}: submissions may hold only plain "
                    "files; replace it with a copy of the file"
                )
            if info.st_nlink > 1:
                return (
                    f"{shown} is a hard link to another file: submissions may hold only "
                    "plain files; replace it with a copy"
                )
            count, size = count + 1, size + info.st_size
            if count > MAX_FILES or size > MAX_BYTES:
                return (
                    f"{label} holds more than {MAX_FILES} files or "
                    f"{MAX_BYTES // 1024**2} MB; keep the lab's notebooks only, with their "
                    "outputs cleared (Kernel > Restart Kernel and Clear Outputs) if they "
                    "are still too large"
                )
    return None
