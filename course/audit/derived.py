"""A submission derived from a lab's solution, and what its derivation implies about its grade."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from course.audit.syntax import Solution

REWRITE, MUTANT, DECLARED = "rewrite", "mutant", "declared"


@dataclass(frozen=True)
class Derived:
    """One derived submission.

    ``kind``: a *rewrite* keeps the meaning (full marks, unflagged); a *mutant* breaks the
    ``steps`` its statement writes (it loses them, and only the whole-function and training
    checks besides); a *declared* one is a lab's own planted submission (its
    ``expected_failures``, by grade id, and the ``misconception`` the judge must name).
    ``code`` is the graded cell as handed in, ``own_cell`` a cell of the student's own above
    it. Derived from a function judged by calling it (``course.audit.functions``), ``cell`` is
    the solution cell ``code`` replaces (else the first judge's), ``original`` that cell's
    solution, and ``other_cells`` other solution cells as handed in, ``(grade id, code)``."""

    kind: str
    operator: str
    where: str  # the site, in the solution's words
    code: str
    steps: tuple[str, ...] = ()  # the steps a mutant's statement writes
    own_cell: str = ""
    misconception: str = ""
    expected_failures: frozenset[str] = frozenset()
    cell: str = ""
    original: str = ""
    other_cells: tuple[tuple[str, str], ...] = ()

    @property
    def step(self) -> str:
        """The mutant's step (steps, when its statement writes several)."""
        return "+".join(self.steps)

    @property
    def name(self) -> str:
        """A short identifier, also usable as a synthetic student's ID."""
        text = f"{self.code}\0{self.own_cell}\0{self.cell}\0{self.other_cells}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        return f"{self.operator}-{self.step or 'all'}-{digest}"


def apply_edits(code: str, edits: tuple[tuple[str, str], ...]) -> str:
    """``code`` with each ``old`` fragment of ``edits`` replaced by ``new`` (a planted
    mistake or form); ValueError unless each occurs exactly once."""
    for old, new in edits:
        if code.count(old) != 1:
            raise ValueError(f"the solution must contain {old!r} exactly once to plant a mistake")
        code = code.replace(old, new)
    return code


# An operator: what it is called and the derived submissions it makes from a solution.
Operator = tuple[str, Callable[[Solution], Iterator[Derived]]]


def unique(derived: list[Derived], solution: str) -> list[Derived]:
    """``derived`` without repeats (two operators may make the same code) and without those
    whose code is the ``solution``'s own (for the first judge's cell; a derived one of another
    cell is left out when its code is its ``original``), in order."""
    seen: set[tuple] = {(solution, "", "", ())}
    kept = []
    for item in derived:
        key = (item.code, item.own_cell, item.cell, item.other_cells)
        if key not in seen and not (item.cell and item.code == item.original):
            seen.add(key)
            kept.append(item)
    return kept
