"""The marked regions of a cell, read exactly as nbgrader reads them.

nbgrader's ``ClearSolutions`` and ``ClearHiddenTests`` take a line that *contains* a delimiter
(``BEGIN HIDDEN TESTS``, by default, however many ``#`` precede it) as a region's start or end,
with the delimiters its configuration sets. Everything else of the course that needs a region
(the feedback that must not show hidden tests, the synthetic students that fill in solutions)
reads them here, with the same rule and the same configured delimiters, so that what nbgrader
removes from the release is exactly what the rest treats as hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions


@dataclass(frozen=True)
class Delimiters:
    """The markers of one kind of region."""

    begin: str
    end: str


def hidden_test_delimiters(config=None) -> Delimiters:
    """The delimiters nbgrader (configured by ``config``, a traitlets Config) uses for
    hidden tests."""
    clear = ClearHiddenTests(config=config)
    return Delimiters(clear.begin_test_delimeter, clear.end_test_delimeter)


def solution_delimiters(config=None) -> Delimiters:
    """The delimiters nbgrader (configured by ``config``) uses for solutions."""
    clear = ClearSolutions(config=config)
    return Delimiters(clear.begin_solution_delimeter, clear.end_solution_delimeter)


def split_regions(source: str, delimiters: Delimiters) -> tuple[list[str], list[str]]:
    """``source``'s lines as ``(outside, inside)`` the regions; the delimiter lines are in
    neither. A line is a delimiter when it contains one, as nbgrader decides."""
    outside: list[str]
    inside: list[str]
    outside, inside, within = [], [], False
    for line in source.splitlines():
        if delimiters.begin in line:
            within = True
        elif delimiters.end in line:
            within = False
        else:
            (inside if within else outside).append(line)
    return outside, inside


def without_regions(source: str, delimiters: Delimiters) -> str:
    """``source`` without its regions (and their delimiter lines)."""
    outside, _ = split_regions(source, delimiters)
    return "\n".join(outside).rstrip() + "\n" if outside else ""


def without_delimiters(source: str, delimiters: Delimiters) -> str:
    """``source`` with its regions' contents kept and only the delimiter lines removed (a
    solution as the student would have typed it)."""
    return "\n".join(
        line
        for line in source.splitlines()
        if delimiters.begin not in line and delimiters.end not in line
    )


def region_lines(source: str, delimiters: Delimiters) -> list[str]:
    """The non-blank lines inside ``source``'s regions, stripped."""
    _, inside = split_regions(source, delimiters)
    return [line.strip() for line in inside if line.strip()]
