"""The bubblewrap command line that runs a process tree sandboxed (see course.sandbox)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import cast

import helpers
import judge_runtime
from course.grading.kernels import GRADING_ENVIRONMENT
from course.sandbox.files import withheld_module
from course.sandbox.limits import DEFAULT_LIMITS, Limits
from course.sandbox.uids import sandbox_user
from judge_runtime.flag import JUDGED_VARIABLE

BWRAP = "bwrap"
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
# What a sandbox may import besides the Python installation: what the notebooks import and the
# judge's runtime that runs the student's code, each bound read-only where it is installed.
STUDENT_PACKAGES = tuple(
    Path(cast(str, package.__file__)).parent for package in (helpers, judge_runtime)
)
# Not /tmp itself: the course (and its environment) may live under /tmp, and a tmpfs mounted
# there would hide it. /tmp is a link to the scratch, unless something bound lies below it.
SCRATCH = Path("/course-scratch")
WORKDIR = SCRATCH / "work"
INPUTS_MOUNT = Path("/run/course/input")
FONTS_MOUNT = Path("/run/course/matplotlib")
FONTS_COPY = SCRATCH / "matplotlib"

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


def compiled_helpers_folder() -> Path | None:
    """``helpers/__pycache__``, which a sandbox that withholds helpers files gets empty (the
    compiled copy of a withheld module loads without its source); made here when missing, so
    that nothing compiled later lands in view. None when it is missing and this user cannot make
    it: then no compiled copy can be there either."""
    folder = Path(helpers.__file__).parent / "__pycache__"
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return folder if folder.is_dir() else None
    return folder


def stray_helpers_copies(prefixes: tuple[Path, ...]) -> tuple[Path, ...]:
    """Every ``helpers`` package installed under ``prefixes`` (their ``site-packages`` and
    ``dist-packages``) other than the one this process imports: a copy left by an earlier
    ``pip install .`` holds the graders' answers, and a sandbox that binds the environment
    would show it to the student's code whatever the course's own copy withholds."""
    ours = Path(helpers.__file__).parent.resolve()
    copies = []
    for prefix in prefixes:
        for pattern in ("lib/python3*/*-packages/helpers", "local/lib/python3*/*-packages/helpers"):
            for folder in sorted(prefix.glob(pattern)):
                if folder.is_dir() and folder.resolve() != ours:
                    copies.append(folder)
    return tuple(dict.fromkeys(copies))


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
    if withheld and (compiled := compiled_helpers_folder()) is not None:
        command += ["--tmpfs", str(compiled)]
    if withheld:
        for copy in stray_helpers_copies((venv, base)):
            command += ["--tmpfs", str(copy)]
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
