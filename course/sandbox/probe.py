"""Whether this machine and user can create sandboxes, tried in a process of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys

from course.sandbox.command import BWRAP
from course.sandbox.errors import INSTALL_HINT, SandboxUnavailable

# A grading process's first steps, then a sandbox: what check_sandbox tries, in a process of
# its own (entering a user namespace cannot be undone).
PROBE = """import subprocess, sys
from course.sandbox.command import sandbox_command
from course.sandbox.errors import SandboxUnavailable
from course.sandbox.mounts import use_private_mounts
try:
    use_private_mounts()
    command = sandbox_command(["true"])  # takes a sandbox uid (and its lock)
except SandboxUnavailable as problem:
    sys.exit(str(problem))
probe = subprocess.run(command, capture_output=True, text=True)
if probe.returncode != 0:
    sys.exit(f"bubblewrap cannot create a sandbox here ({probe.stderr.strip()[:200]}).")
"""


def check_sandbox() -> None:
    """Raise SandboxUnavailable, saying how to fix it, unless a grading process of this user
    can create sandboxes here (as root, or as a user prepared by
    ``scripts/setup-grader-user.sh``)."""
    if shutil.which(BWRAP) is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {INSTALL_HINT}")
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        problem = probe.stderr.strip().splitlines()[-1:] or ["the probe failed"]
        hint = "" if "setup-grader-user" in problem[0] else f" {INSTALL_HINT}"
        raise SandboxUnavailable(problem[0][:600] + hint)
