"""A grading process: ``python -m course.grading.worker COURSE LAB [--no-sandbox]``.

Started by a grading task (``course.grading.remote``) in a scratch course of its own
(``course.grading.kit``), which it adds ``LAB`` to the gradebook of first. Then it reads students
from stdin, one JSON object per line, ``{"student": ..., "files": {path: base64}, "case_key":
...}`` (their submitted folder, and their case key: course.case_keys), and grades each as it
arrives, until stdin ends. It reports on stdout, one JSON line per
event: ``{"event": "start", "student": ..., "at": time}``, then ``{"event": "done", "outcome":
{...}, "autograded": {notebook: text}, "feedback": {file: base64}, "findings": [...]}``, and forgets
the student (their folders and gradebook entries) before the next. Everything nbgrader, a kernel or
the judge's runner prints goes to stderr, never into that protocol: ``course.grading.remote`` keeps
it as the student's grading log.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from course import layout
from course.grading.kit import SCRATCH_PREFIX, unpack
from course.grading.outcome import Outcome
from course.grading.student import grade_student, grading_api, judge_findings, peak_memory_mb
from course.judge import runner as judge_runner
from course.nbgrader_setup import make_api
from course.outcomes import Status
from course.sandbox.files import FONT_CACHE_VARIABLE, build_matplotlib_font_cache
from course.sandbox.mounts import use_private_mounts


def results(root: Path, lab: str, student: str) -> dict:
    """What grading left of ``student``: graded notebooks (text) and feedback files (base64)."""
    graded = layout.autograded(root, student, lab)
    feedback = layout.feedback(root, student, lab)
    return {
        "autograded": {p.name: p.read_text() for p in sorted(graded.glob("*.ipynb"))},
        "feedback": {
            p.relative_to(feedback).as_posix(): base64.b64encode(p.read_bytes()).decode()
            for p in sorted(feedback.rglob("*"))
            if p.is_file()
        },
        "findings": judge_findings(root, lab, student),
    }


def forget(root: Path, lab: str, student: str, api) -> None:
    """Remove ``student``'s folders and gradebook entries from the scratch course."""
    for step in ("submitted", "autograded", "feedback"):
        shutil.rmtree(layout.folder(root, step) / student, ignore_errors=True)
    with api.gradebook as gradebook:
        try:
            gradebook.remove_submission(lab, student)
        except Exception:  # never graded: nothing to remove
            pass


def _end_with_parent(scratch: Path) -> None:
    """End this process (its kernels and sandboxes follow) once the process that started it,
    a Dask worker, is gone, removing its scratch folder: nothing is left behind."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)
    shutil.rmtree(scratch, ignore_errors=True)
    os._exit(1)


def main(argv: list[str]) -> int:
    root, lab = Path(argv[0]).resolve(), argv[1]
    if not root.parent.name.startswith(SCRATCH_PREFIX):
        # it removes each student's folders, then the whole course: never a real one
        print(
            "course.grading.worker grades only in a scratch course that course.grading.remote "
            f"makes (in a {SCRATCH_PREFIX}* folder), never in {root}: use `course grade`",
            file=sys.stderr,
        )
        return 2
    sandbox = "--no-sandbox" not in argv[2:]
    judge_runner.RUNNER_STDERR_TO_LOG = True  # the end of the judge's runner's stderr: logged
    if sandbox:  # before any thread starts: the kernels' socket folders are mounted in it
        use_private_mounts()
    # The protocol gets a descriptor of its own; fd 1 becomes stderr, so nothing nbgrader or
    # a kernel (which inherits our descriptors) prints can get into it. Kernels get no stdin.
    protocol = os.fdopen(os.dup(1), "w")
    requests = os.fdopen(os.dup(0), "r")
    os.dup2(2, 1)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    sys.stdout = sys.stderr
    os.chdir(root)
    scratch = root.parent  # course.grading.remote's temporary folder, with the scratch course in it
    threading.Thread(target=_end_with_parent, args=(scratch,), daemon=True).start()
    fonts = os.environ.get(FONT_CACHE_VARIABLE)  # set for sandboxed kernels (course.grading.remote)
    font_list = threading.Thread(target=build_matplotlib_font_cache, args=(Path(fonts or "."),))
    if fonts:  # built while the gradebook is made: both are needed before the first kernel
        font_list.start()
    make_api(root).generate_assignment(lab, force=True)  # the scratch gradebook knows the lab
    api = grading_api(root, sandbox)
    if fonts:
        font_list.join()

    def say(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    for line in requests:
        try:
            request = json.loads(line)
            student, files = request["student"], request["files"]
            case_key = request.get("case_key")
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if not isinstance(student, str) or not isinstance(files, dict):
            continue
        if not isinstance(case_key, str):
            case_key = None
        say({"event": "start", "student": student, "at": time.time()})
        found: dict = {"autograded": {}, "feedback": {}, "findings": []}
        try:
            target = layout.submitted(root, student, lab)
            shutil.rmtree(layout.submitted(root, student), ignore_errors=True)
            target.mkdir(parents=True)
            unpack({name: base64.b64decode(data) for name, data in files.items()}, target)
            outcome = grade_student(root, lab, student, api, sandbox, case_key)
            found = results(root, lab, student)
        except Exception as error:  # one student's failure must not stop the others
            traceback.print_exc()  # into the student's grading log (course.grading.remote)
            outcome = Outcome(student, Status.FAILED, f"{type(error).__name__}: {error}")
        outcome.worker_peak_mb = peak_memory_mb()
        say({"event": "done", "outcome": asdict(outcome), **found})
        forget(root, lab, student, api)
    shutil.rmtree(scratch, ignore_errors=True)  # no more students: the Dask worker is done
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
