"""How grading one student went (:class:`Outcome`), and the record of every student's
latest outcome, ``reports/<lab>/grading-outcomes.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from course import layout
from course.files import write_atomic
from course.outcomes import Status
from course.text import printable

OUTCOMES_FILE = "grading-outcomes.json"


@dataclass
class Outcome:
    """How grading one student went. ``status``: a Status (a recorded one's text is read as
    one); ``reason``: why, and for a graded student who scored almost nothing, why that is."""

    student: str
    status: Status
    reason: str = ""
    seconds: float = 0.0
    started_at: float = 0.0  # wall clock, seconds since the epoch
    digest: str = ""  # of the submission this outcome is about (see submission_digest)
    worker_peak_mb: float = 0.0  # the grading process's peak memory once this student was done
    version: str = ""  # of what judged it (course.grading.version); "" for a trusted run

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # ValueError for a status there is not
        # a reason can quote a name or a line of the student's: shown on terminals and pages
        self.reason = printable(self.reason)

    @property
    def needs_attention(self) -> bool:
        return self.status != Status.GRADED or bool(self.reason)

    def describe(self) -> str:
        """ "status: reason", or the reason alone for a graded student."""
        return self.reason if self.status == Status.GRADED else f"{self.status}: {self.reason}"


def load_outcomes(root: Path, lab: str) -> dict[str, Outcome]:
    """Outcomes recorded by earlier runs, by student."""
    path = layout.reports(root, lab) / OUTCOMES_FILE
    if not path.exists():
        return {}
    return {o["student"]: Outcome(**o) for o in json.loads(path.read_text())}


def save_outcomes(root: Path, lab: str, outcomes: dict[str, Outcome]) -> None:
    write_atomic(
        layout.reports(root, lab) / OUTCOMES_FILE,
        json.dumps([asdict(o) for _, o in sorted(outcomes.items())], indent=1),
    )
