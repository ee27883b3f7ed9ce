"""``course collect``'s lateness checks (course.lms.collect.lateness_checks) hold a Canvas file
the LMS did not mark late against the student's own due date: an extension given with
``course extend`` moves it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from course.lms.collect import lateness_checks
from course.lms.names import ParsedName

DUE = "2026-10-16 23:59 +00:00"


def _course(root: Path, extensions: dict[str, float]) -> Path:
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Deadlines.due = {{'lab1': {DUE!r}}}\n"
    )
    (root / "reports" / "lab1").mkdir(parents=True)
    (root / "reports" / "lab1" / "extensions.json").write_text(
        json.dumps({student: {"seconds": seconds} for student, seconds in extensions.items()})
    )
    return root


def test_a_file_not_marked_late_is_held_against_the_students_own_due_date(tmp_path):
    root = _course(tmp_path, {"ada": 2 * 24 * 3600.0})
    handed_in = datetime(2026, 10, 17, 12, 0, tzinfo=UTC)  # half a day after the lab's due date
    plan = {
        Path(f"{student}_1_2_classification.ipynb"): ParsedName(
            student, "classification", lms="canvas"
        )
        for student in ("ada", "bo")
    }
    checks = lateness_checks(root, "lab1", plan, dict.fromkeys(plan, handed_in))
    assert len(checks) == 1 and checks[0].startswith("bo_"), checks  # ada's extension covers it
    assert "2026-10-16 23:59 UTC" in checks[0]
