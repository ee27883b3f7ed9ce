"""What the sandbox says when it cannot run here, and how to fix it."""

from __future__ import annotations

INSTALL_HINT = (
    "course grade runs student code in a bubblewrap sandbox, as root (it mounts each "
    "student's scratch and drops to an unprivileged user). Install it with "
    "`sudo apt-get install bubblewrap` (make setup does this as root) and grade as root, or, "
    "only for submissions you trust, grade with --no-sandbox."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""
