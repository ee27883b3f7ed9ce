"""A grading worker: ``python -m course.worker ROOT LAB [--no-sandbox]``.

Reads the students to grade from stdin, one JSON string per line, and grades each as it
arrives, until stdin ends. Reports on stdout, one JSON line per event:
``{"event": "start", "student": ...}`` then ``{"event": "done", "outcome": {...}}``.
Everything nbgrader or a kernel prints goes to stderr, never into that protocol.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from course.grade import Outcome, grade_student, grading_api, peak_memory_mb
from course.sandbox import use_private_mounts


def main(argv: list[str]) -> int:
    root, lab = Path(argv[0]), argv[1]
    sandbox = "--no-sandbox" not in argv[2:]
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
    api = grading_api(root, sandbox)
    for line in requests:
        try:
            student = json.loads(line)
        except ValueError:
            continue
        if not isinstance(student, str):
            continue
        protocol.write(json.dumps({"event": "start", "student": student}) + "\n")
        protocol.flush()
        try:
            outcome = grade_student(root, lab, student, api, sandbox)
        except Exception as error:  # one student's failure must not stop the others
            outcome = Outcome(student, "failed", f"{type(error).__name__}: {error}")
        outcome.worker_peak_mb = peak_memory_mb()
        protocol.write(json.dumps({"event": "done", "outcome": asdict(outcome)}) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
