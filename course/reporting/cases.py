"""``course cases LAB STUDENT``: the hidden cases one student is judged on, as the judge draws
them (course.case_keys), for the instructor answering a regrade request."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from course import layout
from course.case_keys import case_key, course_secret, student_seed
from course.judge.plan import case_arguments, cases_digest, plain, plan_from_source


def student_cases(root: Path, lab: str, student: str) -> list[dict[str, Any]]:
    """Each notebook of ``lab`` with the hidden cases ``student`` is judged on:
    ``{"notebook", "cases_digest", "cells": [{"grade_id", "check", "notebook_seed", "seed",
    "cases"}]}``, ``cases`` the arguments of each case by name. ``cases_digest`` is the one the
    judge records in the student's graded notebook (course.judge.plan.cases_digest)."""
    key = case_key(course_secret(root, create=False), lab, student)
    found = []
    for source in sorted(layout.source(root, lab).glob("*.ipynb")):
        plan = plan_from_source(source.resolve())
        own = plan.for_student(functools.partial(student_seed, key))
        cells = []
        for notebook_plan, student_plan in zip(plan.every(), own.every(), strict=True):
            for grade_id, (kind, *args) in student_plan.cells.items():
                if args:  # else judged on the lab's own problem (training, a line count)
                    cells.append(
                        {
                            "grade_id": grade_id,
                            "check": kind,
                            "notebook_seed": notebook_plan.cells[grade_id][-1],
                            "seed": args[-1],
                            "cases": case_arguments(student_plan, args[-1]),
                        }
                    )
        found.append({"notebook": source.name, "cases_digest": cases_digest(own), "cells": cells})
    return found


def cases_json(found: list[dict[str, Any]]) -> str:
    """:func:`student_cases` as JSON, every number exact."""
    return json.dumps(plain(found), indent=1) + "\n"


def cases_text(found: list[dict[str, Any]]) -> str:
    """:func:`student_cases` for reading: each cell's seeds, then each case's arguments."""
    lines = []
    with np.printoptions(precision=6, suppress=True, linewidth=96, threshold=200):
        for notebook in found:
            lines.append(f"{notebook['notebook']}: cases digest {notebook['cases_digest']}")
            for cell in notebook["cells"]:
                lines.append(
                    f"{cell['grade_id']} ({cell['check']}; the notebook's seed="
                    f"{cell['notebook_seed']}, this student's {cell['seed']})"
                )
                for number, case in enumerate(cell["cases"], 1):
                    lines.append(f"  case {number}")
                    for name, value in case.items():
                        shown = repr(np.asarray(value) if isinstance(value, list) else value)
                        lines.append(f"    {name} = " + shown.replace("\n", "\n      "))
    return "\n".join(lines) + "\n"
