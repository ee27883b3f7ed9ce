"""Every student's own hidden cases: the course secret, and each student's case key.

A hidden test names its cases by a seed (``check_...(function, seed=3)``). Graded with
``course grade``, that seed is replaced by one derived from a course secret, the lab and the
student (:func:`student_seed`), so that every student is judged on cases of their own, the same
at every regrade, on any machine, and reproducible by the instructor (``course cases LAB
STUDENT``). A case learnt from one student's feedback is worth nothing to another.

The secret is a file outside the course (``c.Course.secret_file``; by default in the user's
configuration folder, named after the course id): never in the repository, the release or
what is sent to grading workers, which get only each student's case key (:func:`case_key`),
from which neither the secret nor another student's key follows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable

from course import layout
from course.nbgrader_setup import load_config

SECRET_BYTES = 32
CONFIG_FOLDER = "nn-classification-course"  # under $XDG_CONFIG_HOME (or ~/.config)
LOG = logging.getLogger(__name__)


class Course(Configurable):
    """The course's own secrets (``c.Course.<name>``)."""

    secret_file = Unicode(
        "",
        help="The file holding the course secret from which every student's hidden cases "
        "are drawn (made by `course init-secret`; keep it, and a copy of it, outside the "
        "course: replacing it changes every student's cases). Empty: "
        "$COURSE_SECRET_DIR/<course id>.secret, else "
        "$XDG_CONFIG_HOME/nn-classification-course/<course id>.secret (~/.config when unset).",
    ).tag(config=True)


class SecretError(ValueError):
    """The course secret cannot be used: missing, inside the course, or unreadable."""


def secret_path(root: Path) -> Path:
    """Where the course at ``root`` keeps its secret (see :class:`Course`)."""
    config = load_config(root)
    configured = Course(config=config).secret_file
    if configured:
        path = Path(os.path.expanduser(configured))
        return path if path.is_absolute() else (root / path)
    course_id = config.CourseDirectory.get("course_id") or root.resolve().name
    folder = os.environ.get("COURSE_SECRET_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), CONFIG_FOLDER
    )
    return Path(folder) / f"{course_id}.secret"


def _outside_course(root: Path, path: Path) -> None:
    resolved, course = path.resolve(), root.resolve()
    if resolved == course or course in resolved.parents:
        raise SecretError(
            f"the course secret {path} is inside the course folder, where it could be "
            "committed or released: set c.Course.secret_file in nbgrader_config.py to a "
            "path outside it, and move the file there"
        )


def init_secret(root: Path) -> Path:
    """Make the course secret (readable by its owner only); return its path. Raises
    SecretError when it already exists: replacing it would change every student's cases."""
    path = secret_path(root)
    _outside_course(root, path)
    if path.exists():
        raise SecretError(
            f"the course secret {path} already exists; every student's hidden cases are "
            "drawn from it, so it is kept. To start over (every student's cases change: "
            "regrade with `course grade LAB --diff` first), delete it by hand"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # written whole, then linked into place: no one reads half a secret, and of two made at
    # once only one is kept (os.link fails when the name exists)
    descriptor, written = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(SECRET_BYTES) + "\n")
        os.link(written, path)
    finally:
        os.unlink(written)
    return path


def _graded_anyone(root: Path) -> bool:
    graded = layout.folder(root, "autograded")
    return graded.is_dir() and any(graded.glob("*/*/*.ipynb"))


def course_secret(root: Path, create: bool = True) -> bytes:
    """The course secret of the course at ``root``. When there is none yet and nobody has been
    graded, it is made (with ``create``); when students were graded with one that is now
    missing, SecretError says how to put it back rather than silently change their cases."""
    path = secret_path(root)
    _outside_course(root, path)
    if not path.exists():
        graded = _graded_anyone(root)
        if create and not graded:
            try:
                init_secret(root)
                LOG.warning(
                    "made the course secret %s, from which every student's hidden cases are "
                    "drawn: keep a copy of it somewhere safe, outside the course",
                    path,
                )
            except (FileExistsError, SecretError):  # made at the same moment elsewhere
                if not path.exists():
                    raise
        elif not graded:
            raise SecretError(
                f"the course has no secret yet ({path}): nobody has hidden cases of their own "
                "before `course init-secret` or the first `course grade` makes it"
            )
        else:
            raise SecretError(
                f"the course secret {path} is missing, and students have been graded: if they "
                "were graded with one, put the file back (or set c.Course.secret_file to where "
                "it is); if the course never had one, or it is lost, make one with `course "
                "init-secret` (every student's hidden cases change: regrade with --diff)"
            )
    try:
        text = path.read_text().strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as error:
        raise SecretError(
            f"the course secret {path} cannot be read ({type(error).__name__}): it must hold "
            "the hexadecimal text `course init-secret` wrote"
        ) from None
    if len(secret) < 16:
        raise SecretError(
            f"the course secret {path} is too short ({len(secret)} bytes): make one with "
            "`course init-secret` (after moving this one away)"
        )
    return secret


def case_key(secret: bytes, lab: str, student: str) -> str:
    """The key of ``student``'s hidden cases of ``lab`` (hex): all a grading worker is given."""
    message = f"hidden-cases\0{lab}\0{student}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def case_keys(root: Path, lab: str, students: list[str]) -> dict[str, str]:
    """Each of ``students``' :func:`case_key` of ``lab``, from the course's secret."""
    secret = course_secret(root)
    return {student: case_key(secret, lab, student) for student in students}


def student_seed(key: str, seed: int) -> int:
    """The seed (128 bits) of the student whose case key is ``key`` for a hidden test's
    ``seed``."""
    digest = hashlib.sha256(f"{key}\0{seed}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def secret_fingerprint(root: Path) -> str:
    """A short digest that tells one course secret from another (never the secret): part of
    the version a grade was judged with."""
    secret = course_secret(root)
    return hmac.new(secret, b"fingerprint", hashlib.sha256).hexdigest()[:16]
