"""How much Python a function runs: a check for loops over samples that needs no clock.

A function vectorized over a batch runs the same Python lines whatever the batch's size (numpy
does the per-sample work); one that loops over samples, directly, in a comprehension, through
``map``, ``np.vectorize`` or ``np.apply_along_axis``, or in a helper of its own, runs more lines
as the batch grows. Counting line events on two batch sizes tells them apart on any machine,
however loaded, where a timing would not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

# Code of these folders is the library's, not the student's: its lines are not counted.
LIBRARY_FOLDERS = tuple(
    str(Path(folder).resolve()) + os.sep
    for folder in {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parent)})


def _is_library(filename: str) -> bool:
    return filename.startswith(LIBRARY_FOLDERS) or filename.startswith("<frozen")


def lines_run(function: Callable, *args, **kwargs) -> int:
    """The Python lines run by one call ``function(*args, **kwargs)`` outside the library
    (its own code and any code of the notebook it calls), counted as line events."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        if _is_library(frame.f_code.co_filename):
            return None  # nor anything this frame runs line by line
        if event == "line":
            count += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        function(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return count


def loops_over_samples(function: Callable, arguments: Callable[[int], tuple],
                       sizes: tuple[int, int] = (4, 32)) -> tuple[bool, int, int]:
    """Whether ``function`` runs more Python lines on a larger batch: ``(grows, lines at
    sizes[0], lines at sizes[1])``. ``arguments(n)`` gives the call's arguments for a batch
    of ``n`` samples. An exception from the function propagates."""
    small, large = (lines_run(function, *arguments(n)) for n in sizes)
    return large > small, small, large
