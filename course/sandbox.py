"""Run untrusted student code in a bubblewrap sandbox.

What the sandboxed process sees: the system's programs and libraries (read-only), this Python
environment and the ``helpers`` package (read-only), a private ``/tmp``, and the folders it is
given to write (the student's own working copy). Not the course folder (no ``source/``, no
gradebook, no other submissions, no feedback), not the network, not the other processes.
It runs as an unprivileged user with limits on memory, CPU time, processes, file size and open
files; wall-clock limits are the caller's (nbgrader's per-cell timeout, ``course grade``'s
per-student limit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import helpers
from course.kernels import GRADING_ENVIRONMENT, GradingKernelManager

BWRAP = "bwrap"
INSTALL_HINT = (
    "course grade runs student code in a bubblewrap sandbox. Install it with "
    "`sudo apt-get install bubblewrap` (make setup does this as root), or, only for "
    "submissions you trust, grade with --no-sandbox."
)
# What a sandbox is given of its caller's environment (everything else is cleared), the
# grading environment included: graded kernels and clean-room re-checks are given it.
PASSED_ENVIRONMENT = ("LANG", "LC_ALL", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING",
                      "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", *GRADING_ENVIRONMENT)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree."""

    memory_bytes: int = 4 * 1024**3  # address space; numpy and BLAS need about 1 GiB
    cpu_seconds: int = 300
    processes: int = 64  # per sandbox user; threads count too
    file_bytes: int = 64 * 1024**2
    open_files: int = 256


DEFAULT_LIMITS = Limits()


def sandbox_user() -> int:
    """An unprivileged uid for this grading process's sandboxes. Each worker gets its own, so
    one student's fork bomb exhausts only its own process limit, not a neighbour's."""
    return 60000 + os.getpid() % 5000


def check_sandbox() -> None:
    """Raise SandboxUnavailable, saying how to fix it, unless a sandbox can be created here."""
    if shutil.which(BWRAP) is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {INSTALL_HINT}")
    probe = subprocess.run(sandbox_command(["true"], workdir=Path(tempfile.gettempdir())),
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here ({probe.stderr.strip()[:200]}). "
            f"{INSTALL_HINT}")


def sandbox_command(argv: list[str], workdir: Path, writable: tuple[Path, ...] = (),
                    limits: Limits = DEFAULT_LIMITS, env: dict | None = None,
                    uid: int | None = None) -> list[str]:
    """``argv`` wrapped to run sandboxed with ``workdir`` (and ``writable``) as the only
    writable folders; ``env`` supplies the variables named in PASSED_ENVIRONMENT."""
    uid = sandbox_user() if uid is None else uid
    venv = Path(sys.prefix)
    base = Path(sys.base_prefix)
    command = [
        BWRAP, "--die-with-parent", "--new-session",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
    ]
    for link in ("bin", "sbin", "lib", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), str(target)]
        elif target.exists():
            command += ["--ro-bind", str(target), str(target)]
    command += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    read_only = tuple(dict.fromkeys((base, venv, Path(helpers.__file__).parent)))
    # bwrap makes missing parent folders private (0700): make them traversable first.
    parents = {parent for folder in (*read_only, workdir, *writable)
               for parent in folder.parents if parent != Path("/") and parent != Path("/tmp")}
    for parent in sorted(parents, key=lambda p: len(p.parts)):
        command += ["--perms", "0755", "--dir", str(parent)]
    for folder in read_only:
        command += ["--ro-bind", str(folder), str(folder)]
    for folder in (workdir, *writable):
        command += ["--bind", str(folder), str(folder)]
    command += ["--chdir", str(workdir), "--clearenv",
                "--setenv", "PATH", f"{venv / 'bin'}:/usr/bin:/bin",
                "--setenv", "HOME", "/tmp", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    source_env = os.environ if env is None else env
    command += ["--setenv", "MPLCONFIGDIR", source_env.get("MPLCONFIGDIR", "/tmp")]
    for name in PASSED_ENVIRONMENT:
        if name in source_env:
            command += ["--setenv", name, source_env[name]]
    command += [
        "--", "prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
        f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}", "--core=0",
        "--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--",
    ]
    return command + list(argv)


FONT_CACHE_VARIABLE = "COURSE_MATPLOTLIB_FONT_CACHE"
_FONT_CACHE: Path | None = None


def build_matplotlib_font_cache(folder: Path) -> Path:
    """Build matplotlib's font list in ``folder`` and return the folder. A sandbox starts with
    an empty /tmp, where matplotlib would rebuild the list at every kernel's first plot."""
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                   env={**os.environ, "MPLCONFIGDIR": str(folder)}, capture_output=True)
    return folder


def matplotlib_font_cache() -> Path:
    """The font list every sandboxed kernel starts from: the folder named by
    COURSE_MATPLOTLIB_FONT_CACHE (``course grade`` builds one for all its workers and removes
    it when done), else one built for this process and removed when it exits."""
    global _FONT_CACHE
    if _FONT_CACHE is None:
        given = os.environ.get(FONT_CACHE_VARIABLE)
        if given and Path(given).is_dir():
            _FONT_CACHE = Path(given)
        else:
            folder = Path(tempfile.mkdtemp(prefix="course-mplcache-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _FONT_CACHE = build_matplotlib_font_cache(folder)
    return _FONT_CACHE


def chown_tree(folder: Path, uid: int) -> None:
    """Give ``folder`` and everything in it to ``uid`` (the sandbox user or back to us)."""
    for path in (folder, *folder.rglob("*")):
        try:
            os.lchown(path, uid, uid)
        except OSError:
            pass


class SandboxedKernelManager(GradingKernelManager):
    """A grading kernel manager whose kernels run in the sandbox, their working folder writable.

    Kernels talk to nbgrader over IPC sockets in a private runtime folder shared with the
    sandbox, since the sandbox has no network, not even the grader's loopback.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._uid = sandbox_user()
        self._runtime = Path(tempfile.mkdtemp(prefix="course-kernel-"))
        os.chown(self._runtime, self._uid, self._uid)
        self.transport = "ipc"
        self.connection_file = str(self._runtime / "kernel.json")
        self.ip = str(self._runtime / "kernel-ipc")
        self._workdir: Path | None = None

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, self._uid, self._uid)

    def prepare_launch(self, kernel_cmd: list[str], kw: dict) -> list[str]:
        """``kernel_cmd`` wrapped in a sandbox that is given the grading environment."""
        # bwrap does not pass signals on to the kernel: interrupt it with a message instead.
        self.kernel_spec.interrupt_mode = "message"
        self._workdir = Path(kw.get("cwd") or os.getcwd()).resolve()
        chown_tree(self._workdir, self._uid)
        matplotlib_dir = self._runtime / "matplotlib"
        shutil.copytree(matplotlib_font_cache(), matplotlib_dir)
        chown_tree(matplotlib_dir, self._uid)
        return sandbox_command(kernel_cmd, workdir=self._workdir, writable=(self._runtime,),
                               env={**kw["env"], "MPLCONFIGDIR": str(matplotlib_dir)},
                               uid=self._uid)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            if self._workdir is not None:
                chown_tree(self._workdir, os.getuid())
            shutil.rmtree(self._runtime, ignore_errors=True)
