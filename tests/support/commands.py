"""The real ``nbgrader`` and ``course`` commands of this environment, run as users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import SCRIPTS


def tool_env(path: str | None = None) -> dict[str, str]:
    """This process's environment with this Python environment's scripts first on PATH
    (or, with ``path``, exactly that PATH)."""
    return {**os.environ, "PATH": path or f"{SCRIPTS}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_nbgrader(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``nbgrader`` command of this environment in ``cwd``; fail on non-zero."""
    result = subprocess.run(
        [str(SCRIPTS / "nbgrader"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(),
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


def run_course(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the real ``course`` command in ``cwd``; the caller checks the exit status."""
    return subprocess.run(
        [sys.executable, "-m", "course", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(),
    )
