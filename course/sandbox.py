"""Run untrusted student code in a bubblewrap sandbox.

What the sandboxed process sees: the system's programs and libraries (read-only), this Python
environment and the ``helpers`` and ``judge_runtime`` packages (read-only), and a private
scratch: a tmpfs of its own
(``/course-scratch``, also its ``/tmp``, ``HOME`` and ``TMPDIR``), sized in bytes and files, that
disappears with the sandbox. Its working folder, ``/course-scratch/work``, starts as a copy
of the ``inputs`` folder (the student's own files); whatever it
writes there is never seen by the grader. The grader shares with it only the folders given as
``shared`` (a kernel's IPC sockets, on a small tmpfs of their own). Not the course folder (no
``source/``, no gradebook, no other submissions, no feedback), not the network, not the other
processes. It runs as an unprivileged user with rlimits on memory, CPU time, processes, file
size and open files, inside per-student control groups where the machine has them
(``course.cgroups``); wall-clock limits are the caller's (nbgrader's per-cell timeout,
``course grade``'s per-student limit).
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from traitlets import Float, Integer
from traitlets.config import Configurable

import helpers
import judge_runtime
from course.cgroups import StudentCgroup
from course.kernels import GRADING_ENVIRONMENT, GradingKernelManager
from course.limits import DEFAULT_LIMITS, Limits
from course.user_namespace import UserNamespaceUnavailable, enter, outer_uid
from judge_runtime.flag import JUDGED_VARIABLE

if TYPE_CHECKING:
    from jupyter_client.kernelspec import KernelSpec

BWRAP = "bwrap"
INSTALL_HINT = (
    "course grade runs student code in a bubblewrap sandbox, as root (it mounts each "
    "student's scratch and drops to an unprivileged user). Install it with "
    "`sudo apt-get install bubblewrap` (make setup does this as root) and grade as root, or, "
    "only for submissions you trust, grade with --no-sandbox."
)
# What a sandbox is given of its caller's environment (everything else is cleared), the
# grading environment included: graded kernels and clean-room re-checks are given it.
PASSED_ENVIRONMENT = (
    "LANG",
    "LC_ALL",
    "NBGRADER_EXECUTION",
    "NBGRADER_VALIDATING",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    JUDGED_VARIABLE,
    *GRADING_ENVIRONMENT,
)
# Not /tmp itself: the course (and its environment) may live under /tmp, and a tmpfs mounted
# there would hide it. /tmp is a link to the scratch, unless something bound lies below it.
# What a sandbox may import besides the Python installation: what the notebooks import and the
# judge's runtime that runs the student's code, each bound read-only where it is installed.
STUDENT_PACKAGES = tuple(
    Path(cast(str, package.__file__)).parent for package in (helpers, judge_runtime)
)
SCRATCH = Path("/course-scratch")
WORKDIR = SCRATCH / "work"
INPUTS_MOUNT = Path("/run/course/input")
FONTS_MOUNT = Path("/run/course/matplotlib")
FONTS_COPY = SCRATCH / "matplotlib"
RUNTIME_PARENT = "/var/tmp"  # where kernels' socket folders are made (and mounted)
RUNTIME_PREFIX = "course-kernel-"

# Runs as root inside the sandbox's own mount namespace, then drops to the sandbox user: the
# sized scratch, the student's files copied in, and nothing of the grader's writable.
PREPARE_SCRATCH = f"""set -e
size=$1 files=$2 uid=$3; shift 3
mount -t tmpfs -o "size=$size,nr_inodes=$files,mode=1777" scratch {SCRATCH}
mkdir {WORKDIR}
if [ -d {INPUTS_MOUNT} ]; then cp -R {INPUTS_MOUNT}/. {WORKDIR}/; fi
if [ -d {FONTS_MOUNT} ]; then cp -R {FONTS_MOUNT} {FONTS_COPY}; fi
chown -R "$uid:$uid" {SCRATCH}
cd {WORKDIR}
exec "$@"
"""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


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


SANDBOX_UIDS = range(60000, 65000)
UID_LOCKS = Path("/run/course-sandbox-uids")  # one lock file per uid in use (graded as root)
_held_uid: tuple[int, int] | None = None  # (pid, uid): this process's, with its lock kept open


def uid_lock_folder() -> Path:
    """Where the grading processes of this machine's grading user hold their uid locks: UID_LOCKS
    for root; for another user (whose sandbox uids are its own subordinate ids, see
    course.user_namespace), ``/run/course-sandbox-uids-<uid>``, which only root can make
    (``scripts/setup-grader-user.sh`` does), so no other user can take its place. Raises
    SandboxUnavailable, saying what to do, unless it is a private folder of this user."""
    user = outer_uid()
    if user == 0:
        UID_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
        return UID_LOCKS
    folder = Path(f"{UID_LOCKS}-{user}")
    try:
        info = folder.lstat()
    except FileNotFoundError:
        raise SandboxUnavailable(
            f"{folder} is missing: as root, run `scripts/setup-grader-user.sh` for this user "
            "(once per boot: /run does not survive one)"
        ) from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SandboxUnavailable(
            f"{folder} is not a private folder of this user (owner uid {info.st_uid}, mode "
            f"{stat.filemode(info.st_mode)}): as root, remove it and run "
            "`scripts/setup-grader-user.sh` for this user"
        )
    return folder


def sandbox_user() -> int:
    """An unprivileged uid for this grading process's sandboxes, used by no other live grading
    process on this machine (each holds a lock on its uid's file under UID_LOCKS while it
    lives; the kernel drops the lock when it ends), so one student's fork bomb exhausts only
    its own process limit, not a neighbour's. RuntimeError when every uid is taken."""
    global _held_uid
    if _held_uid is not None and _held_uid[0] == os.getpid():
        return _held_uid[1]
    locks = uid_lock_folder()
    start = os.getpid() % len(SANDBOX_UIDS)  # spread the search: fewer files tried
    for offset in range(len(SANDBOX_UIDS)):
        uid = SANDBOX_UIDS[(start + offset) % len(SANDBOX_UIDS)]
        descriptor = os.open(locks / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        _held_uid = (os.getpid(), uid)  # the descriptor stays open: the lock lives with us
        return uid
    raise SandboxUnavailable(
        f"all {len(SANDBOX_UIDS)} sandbox uids are in use by grading processes"
    )


# A grading process's first steps, then a sandbox: what check_sandbox tries, in a process of
# its own (entering a user namespace cannot be undone).
PROBE = """import subprocess, sys
from course.sandbox import SandboxUnavailable, sandbox_command, use_private_mounts
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


def sandbox_command(
    argv: list[str],
    inputs: Path | None = None,
    shared: tuple[Path, ...] = (),
    limits: Limits = DEFAULT_LIMITS,
    env: dict | None = None,
    uid: int | None = None,
    fonts: Path | None = None,
    withheld: tuple[str, ...] = (),
) -> list[str]:
    """``argv`` wrapped to run sandboxed in a private scratch, its working folder starting as
    a copy of ``inputs`` (read, never written); ``shared`` folders are bound writable at their
    own paths; ``fonts`` is a matplotlib font list copied into the scratch; ``env`` supplies the
    variables named in PASSED_ENVIRONMENT; the ``withheld`` files of ``helpers`` (names such
    as ``"lab1.py"``) are replaced by a module whose every function raises (WITHHELD_MODULE)."""
    uid = sandbox_user() if uid is None else uid
    venv = Path(sys.prefix)
    base = Path(sys.base_prefix)
    command = [
        BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
    ]
    for link in ("bin", "sbin", "lib", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), str(target)]
        elif target.exists():
            command += ["--ro-bind", str(target), str(target)]
    command += ["--proc", "/proc", "--dev", "/dev", "--dir", str(SCRATCH)]
    read_only = tuple(dict.fromkeys((base, venv, *STUDENT_PACKAGES)))
    if not any(Path("/tmp") in folder.parents for folder in (*read_only, *shared)):
        command += ["--symlink", str(SCRATCH), "/tmp"]
    # bwrap makes missing parent folders private (0700): make them traversable first.
    parents = {
        parent
        for folder in (*read_only, *shared)
        for parent in folder.parents
        if parent != Path("/")
    }
    for parent in sorted(parents, key=lambda p: len(p.parts)):
        command += ["--perms", "0755", "--dir", str(parent)]
    for folder in read_only:
        command += ["--ro-bind", str(folder), str(folder)]
    for name in withheld:
        command += ["--ro-bind", str(withheld_module()), str(Path(helpers.__file__).parent / name)]
    for given, mount in ((inputs, INPUTS_MOUNT), (fonts, FONTS_MOUNT)):
        if given is not None:
            command += ["--ro-bind", str(given), str(mount)]
    for folder in shared:
        command += ["--bind", str(folder), str(folder)]
    command += [
        "--clearenv",
        "--setenv",
        "PATH",
        f"{venv / 'bin'}:/usr/bin:/bin",
        "--setenv",
        "HOME",
        str(SCRATCH),
        "--setenv",
        "TMPDIR",
        str(SCRATCH),
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        # the packages are importable however the course is installed (site-packages,
        # an editable install, or the course folder on PYTHONPATH): only they are bound.
        "--setenv",
        "PYTHONPATH",
        ":".join(dict.fromkeys(str(folder.parent) for folder in STUDENT_PACKAGES)),
        "--setenv",
        "MPLCONFIGDIR",
        str(FONTS_COPY if fonts else SCRATCH),
    ]
    source_env = os.environ if env is None else env
    for name in PASSED_ENVIRONMENT:
        if name in source_env:
            command += ["--setenv", name, source_env[name]]
    command += [
        "--cap-add",
        "CAP_SYS_ADMIN",
        "--cap-add",
        "CAP_CHOWN",
        "--",
        "sh",
        "-c",
        PREPARE_SCRATCH,
        "course-sandbox",
        str(limits.scratch_bytes),
        str(limits.scratch_files),
        str(uid),
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]
    return command + list(argv)


_CLONE_NEWNS = 0x00020000
_MS_REC, _MS_PRIVATE = 0x4000, 0x40000
_PRIVATE_MOUNTS = False


def use_private_mounts() -> None:
    """Give this process a mount namespace of its own, so the tmpfs it mounts for its kernels'
    sockets vanish with it even when it is killed; a process that is not root first becomes
    root of a user namespace of its own (course.user_namespace), where it may mount them and
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


FONT_CACHE_VARIABLE = "COURSE_MATPLOTLIB_FONT_CACHE"
_FONT_CACHE: Path | None = None


def build_matplotlib_font_cache(folder: Path) -> Path:
    """Build matplotlib's font list in ``folder`` and return the folder. A sandbox starts with
    an empty /tmp, where matplotlib would rebuild the list at every kernel's first plot."""
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"],
        env={**os.environ, "MPLCONFIGDIR": str(folder)},
        capture_output=True,
    )
    return folder


# What a withheld helpers module is in a sandbox: importing it and any name from it works (a
# student's cell that imports the checks still defines everything else), calling does not.
WITHHELD_MODULE = '''"""Withheld while grading: your code is judged without the checks."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def withheld(*args, **kwargs):
        raise RuntimeError(f"{name} is not available while your code is graded")

    return withheld
'''
_WITHHELD: Path | None = None


def withheld_module() -> Path:
    """A file holding WITHHELD_MODULE, made once per process and removed when it exits."""
    global _WITHHELD
    if _WITHHELD is None:
        folder = Path(tempfile.mkdtemp(prefix="course-withheld-"))
        folder.chmod(0o755)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _WITHHELD = folder / "withheld.py"
        _WITHHELD.write_text(WITHHELD_MODULE)
        _WITHHELD.chmod(0o644)
    return _WITHHELD


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


class SandboxedKernelManager(GradingKernelManager):
    """A grading kernel manager whose kernels run in the sandbox, in a private scratch that
    starts as a copy of the folder nbgrader runs the notebook in (never written back).

    Kernels talk to nbgrader over IPC sockets in a runtime folder shared with the sandbox (a
    tmpfs of a few MB, mounted in this process's private mount namespace), since the sandbox
    has no network, not even the grader's loopback. Each kernel's process tree gets its own
    control groups (see course.cgroups).
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
