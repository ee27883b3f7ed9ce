"""The canary: before grading anyone, grade the instructor's solution and the blank release.

A grading environment that cannot import ``helpers`` in the sandbox, a changed provided
function, a broken judge: each would grade every student wrong without a single error. So
``course grade`` first grades two synthetic students through exactly the same path (workers,
sandbox, judge) in a scratch copy of the course, and stops unless the solution gets full marks
and the blank nothing. A passing canary is remembered (``reports/<lab>/canary.json``) against a
digest of everything it depends on, so it runs again only when one of those changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from importlib.metadata import distributions
from pathlib import Path

from course import layout
from course.case_keys import case_keys
from course.files import write_atomic
from course.grading.kit import grading_kit
from course.grading.run import run_workers
from course.labs import copy_course
from course.outcomes import Status
from course.release import generate_release
from course.sandbox.command import STUDENT_PACKAGES

SOLUTION, BLANK = "canary-solution", "canary-blank"
SOURCE_SUFFIXES = (".py", ".ipynb", ".j2", ".json")  # code, notebooks, templates
CACHE_FILE = "canary.json"


class CanaryFailed(RuntimeError):
    """The grading environment would grade the instructor's solution or the blank wrong."""


def worker_environment() -> str:
    """A digest of the grading environment of this process (run on every Dask worker): the
    Python and its installed packages, and the ``course``, ``helpers`` and ``judge_runtime``
    code it imports (not ``sys.path``, which changes with the folder a command is run from)."""
    site = sysconfig.get_paths()
    installed = sorted(
        {
            f"{d.metadata['Name']}=={d.version}"
            for d in distributions(path=[site["purelib"], site["platlib"]])
        }
    )
    digest = hashlib.sha256(
        "\n".join([str(Path(sys.prefix).resolve()), sys.version, *installed]).encode()
    )
    for folder in (*STUDENT_PACKAGES, Path(__file__).parent):
        digest.update(str(folder.resolve()).encode() + b"\0")  # what the sandbox binds
        # Sources only: the __pycache__ files beside them change whenever a process imports.
        for path in sorted(folder.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                digest.update(
                    path.relative_to(folder.parent).as_posix().encode() + b"\0" + path.read_bytes()
                )
    return digest.hexdigest()


def environment_digest(root: Path, lab: str, sandbox: bool = True, client=None) -> str:
    """A digest of what grading depends on: the lab's files (course.grading.kit: its source and
    release, the config, its instructor-only material), whether it is sandboxed, and the
    environment of every worker that grades it (``client``'s Dask workers; this process's
    when None)."""
    environments = (
        sorted(set(client.run(worker_environment).values()))
        if client is not None
        else [worker_environment()]
    )
    digest = hashlib.sha256("\n".join([f"sandbox={sandbox}", *environments]).encode())
    for name, content in sorted(grading_kit(root, lab).items()):
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()


def check_grading_environment(
    root: Path, lab: str, student_timeout: float, sandbox: bool, client=None
) -> None:
    """Grade the solution and the blank as students (on ``client``'s Dask cluster, or a local
    one); raise CanaryFailed, saying what came out, unless the solution gets full marks and the
    blank none. A pass is remembered against :func:`environment_digest`."""
    cache = layout.reports(root, lab) / CACHE_FILE
    # a trusted run's pass says nothing of bwrap; one machine's, nothing of another's
    key = environment_digest(root, lab, sandbox, client)
    passed = passes_folder() / f"{key}.json"  # the same lab and workers, in any copy
    try:
        if passed.is_file() or json.loads(cache.read_text()).get("digest") == key:
            write_atomic(cache, json.dumps({"digest": key}))
            return
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="course-canary-") as scratch:
        course = copy_course(root, Path(scratch), lab)
        generate_release(course, lab)
        for student, folder in (
            (SOLUTION, layout.source(course, lab)),
            (BLANK, layout.release(course, lab)),
        ):
            target = layout.submitted(course, student, lab)
            target.mkdir(parents=True)
            for notebook in sorted(folder.glob("*.ipynb")):
                shutil.copy2(notebook, target / notebook.name)
        outcomes = {
            o.student: o
            for o in run_workers(
                course,
                lab,
                [SOLUTION, BLANK],
                2,
                student_timeout,
                False,
                sandbox,
                client,
                case_keys(root, lab, [SOLUTION, BLANK]) if sandbox else None,
            )
        }
        problems = _problems(course, lab, outcomes)
    if problems:
        raise CanaryFailed(
            "grading stopped before grading anyone: this grading environment grades the "
            "instructor's own notebooks wrong (" + "; ".join(problems) + "). Check that the "
            "course is installed where the sandbox can import it (make setup), that "
            f"source/{lab} runs cleanly (course execute {lab}), and grade again."
        )
    write_atomic(cache, json.dumps({"digest": key}))
    try:
        write_atomic(passed, json.dumps({"digest": key, "lab": lab}))
    except OSError:  # no writable cache folder: the course's own record is enough
        pass


def passes_folder() -> Path:
    """Where passed canaries are remembered for every copy of a course on this machine, by
    digest (``COURSE_CACHE_DIR``, or the user's cache folder): a digest names exactly the lab's
    files and the workers' environments, so its pass holds wherever the course is."""
    base = os.environ.get("COURSE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "nn-classification-course",
    )
    return Path(base) / "canary-passes"


def _problems(course: Path, lab: str, outcomes: dict) -> list[str]:
    from course.nbgrader_setup import make_api
    from course.written_answers import awaiting_hands, written_answer_ids

    problems = []
    with make_api(course).gradebook as gradebook:
        written = written_answer_ids(gradebook, lab)
        for student, wanted in ((SOLUTION, "full marks"), (BLANK, "nothing")):
            outcome = outcomes.get(student)
            if outcome is None or outcome.status != Status.GRADED:
                why = f"{outcome.status}: {outcome.reason}" if outcome else "not graded"
                problems.append(f"the {student.split('-')[1]} was {why}")
                continue
            submission = gradebook.find_submission(lab, student)
            if wanted == "nothing" and (waiting := awaiting_hands(gradebook, lab, student).answers):
                problems.append(  # so every blank answer would wait for a hand
                    f"the blank's written answers ({', '.join(waiting)}) were not scored 0 "
                    "as released: they wait to be graded by hand"
                )
            grades = [  # the written answers are the instructor's to grade, by hand
                grade
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.name not in written
            ]
            score, top = sum(g.score for g in grades), sum(g.max_score for g in grades)
            if (score == top) if wanted == "full marks" else (score == 0):
                continue
            failed = [
                grade
                for grade in grades
                if (grade.score < grade.max_score if wanted == "full marks" else grade.score > 0)
            ]
            names = ", ".join(g.name for g in failed[:4])
            problems.append(
                f"the {student.split('-')[1]} scored {score:g}/{top:g}, "
                f"expected {wanted} (cells: {names})"
            )
    return problems
