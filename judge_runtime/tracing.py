"""How much Python a function runs, how many arrays and objects it makes: a check for loops
over samples that needs no clock.

A function vectorized over a batch runs the same Python lines and makes the same arrays whatever
the batch's size (numpy does the per-sample work in C); one that loops over samples, directly,
in a comprehension, through ``map``, ``np.vectorize`` or ``np.apply_along_axis``, or in a helper
of its own, runs more lines as the batch grows; one whose loop runs in C (``sum(rows)``,
``map(f, rows)``, ``functools.reduce(np.add, rows)``, ``list(X)``, ``tolist()``) makes an array
or an object per row. So the counted arguments are :class:`CountedArray` views, whose every new
array (a row, a view, a result) is seen as it is made, the Python objects allocated are counted
(``judge_runtime/_allocations.c``), and line events, arrays and objects are counted on two batch
sizes far apart (:func:`loops_per_sample`): a loop adds one per sample at least. numpy's own
Python whose length depends on the shapes but that does no work per sample (formatting an
array, planning an ``einsum``) is not counted. This tells them apart on any machine, however
loaded, where a timing would not: a row of numpy work costs about what a sample of vectorized
work does. Every other Python line counts, numpy's own included (``np.apply_along_axis`` loops
in Python), but for this module's.

The count runs in the process of the code it counts, which could switch the counting off. So
while it counts, a profile hook watches every call of the functions that would (the tracer's
and profiler's setters, frame access, writing to or closing descriptors, ending the process)
and every frame entered must be seen to return: a count with any of these is reported as
interfered with (:class:`CountInterfered`), and the judge's runner ends the process at once
(``on_interference``), before the call can take effect.
"""

from __future__ import annotations

import _thread
import builtins
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import NamedTuple

import numpy as np

try:  # built by `make setup` (scripts/build_allocations.py); the judge's runner requires it
    from judge_runtime import _allocations  # type: ignore[attr-defined]  # C, no stubs
except ImportError:
    _allocations = None

# Calls that stop, restore, hide or fake a count, from any frame (the library's too:
# threading.settrace is Python code that calls sys.settrace).
GUARDED = tuple(
    f
    for f in (
        sys.settrace,
        sys.setprofile,
        sys.gettrace,
        sys.getprofile,
        threading.settrace,
        threading.setprofile,
        getattr(threading, "settrace_all_threads", None),
        getattr(threading, "setprofile_all_threads", None),
        os._exit,
        os.write,
        getattr(os, "writev", None),
        os.kill,
        getattr(os, "killpg", None),
        getattr(os, "fork", None),
        os.dup,
        os.dup2,
        os.close,
        os.closerange,
        os.execv,
        os.execve,
        os.abort,
        # a thread's lines are not traced: a loop run in one would go uncounted
        _thread.start_new_thread,
        getattr(_thread, "start_joinable_thread", None),
        # the object count's own switches (this module turns them, from frames the watch skips)
        *(
            (_allocations.start, _allocations.stop, _allocations.pause, _allocations.resume)
            if _allocations is not None
            else ()
        ),
    )
    if f is not None
)
# Calls that reach frames or run code built from strings, from the counted code's own frames.
# (Not getattr: harmless alone, and honest code uses it; what it could fetch is guarded.)
GUARDED_IN_OWN_CODE = (sys._getframe, setattr, delattr, exec, eval, compile, builtins.__import__)
LIBRARY_FOLDERS = tuple(
    str(Path(folder).resolve()) + os.sep
    for folder in {sys.prefix, sys.base_prefix, sys.exec_prefix}
)


class CountInterfered(RuntimeError):
    """The counted code did something that could stop or fake the count."""


def _is_library(filename: str) -> bool:
    return filename.startswith(LIBRARY_FOLDERS) or filename.startswith("<frozen")


def _name(function) -> str:
    module = getattr(function, "__module__", None) or getattr(
        getattr(function, "__self__", None), "__name__", ""
    )
    return f"{module}.{function.__name__}" if module else function.__name__


class CountedArray(np.ndarray):
    """An array like any other, but for one thing: every array made from it (a row, a view, a
    result of arithmetic with it) runs :meth:`__array_finalize__`, which the count sees."""

    def __array_finalize__(self, obj) -> None:
        return None


def counted(value) -> CountedArray:
    """``value`` as a :class:`CountedArray` (a view when it is an array already)."""
    return np.asarray(value).view(CountedArray)


ARRAY_MADE = CountedArray.__array_finalize__.__code__


class LineCount(NamedTuple):
    """Python lines one call ran: all of them (numpy's own included, so that a loop numpy runs
    for the caller, like ``apply_along_axis``, counts), those of the caller's own code
    (outside the libraries: how long its own code is, whatever numpy does inside a call), and
    the arrays made from its :class:`CountedArray` arguments (a loop in C makes one a row)."""

    total: int
    own: int
    arrays: int = 0
    allocations: int = 0  # Python objects allocated (judge_runtime/_allocations.c), when counted


# A loop over samples adds at least one line, array or object per sample; half of one per
# sample, between sizes hundreds of samples apart, is beyond any difference in numpy's own
# planning.
GROWTH_PER_SAMPLE = 0.5


def loops_per_sample(small: LineCount, large: LineCount, sizes: tuple[int, int]) -> bool:
    """Whether the counts of one function on batches of ``sizes`` (smaller first) grow as a
    loop over the samples makes them grow: its lines and arrays, or the objects it
    allocates (a loop in C over plain arrays or lists allocates one a row at least)."""
    growth = max(
        (large.total + large.arrays) - (small.total + small.arrays),
        large.allocations - small.allocations,
    )
    return growth >= GROWTH_PER_SAMPLE * (sizes[1] - sizes[0])


def lines_run(
    function: Callable,
    *args,
    on_interference: Callable[[str], None] | None = None,
    returned: list | None = None,
    count_lines: bool = True,
    **kwargs,
) -> LineCount:
    """The Python lines run by one call ``function(*args, **kwargs)``, counted as line events
    (this module's excepted), and the arrays it made from :class:`CountedArray` arguments.
    What the call returns is appended to ``returned`` when given. With ``count_lines`` false
    nothing is counted (the count is zero) but the call is guarded all the same: a run to
    compare the counted one with. Raises CountInterfered when
    the call did something that could stop or fake the count (``on_interference(why)`` is
    called first, at the moment it tries: the judge's runner ends its process there). An
    exception from the function propagates."""
    count = own = arrays = 0
    library: dict[str, bool] = {}  # by file name: whether it is a library's
    entered: dict[int, int] = {}  # frames seen to start and not yet seen to return, by id
    interference: list[str] = []

    def interfered(why: str) -> None:
        interference.append(why)
        if on_interference is not None:
            on_interference(why)

    formatting = 0  # frames of NOT_COUNTED_FILES open (numpy formatting or planning)

    def is_library(name: str) -> bool:
        if name not in library:
            library[name] = _is_library(name)
        return library[name]

    def trace(frame, event, arg):
        nonlocal count, own, arrays, formatting
        code = frame.f_code
        if code in THIS_CODE:
            return None
        if code is ARRAY_MADE:
            made_by = frame.f_back
            if not (formatting and made_by is not None and is_library(made_by.f_code.co_filename)):
                arrays += 1
            return None
        if event == "call" and code.co_filename in NOT_COUNTED_FILES:
            formatting += 1
            if _allocations is not None and count_lines:
                _allocations.pause()
            return formatted
        if formatting and is_library(code.co_filename):
            return None  # numpy's own work for a formatting (student code in it still counts)
        if event == "call":
            entered[id(frame)] = entered.get(id(frame), 0) + 1
        elif event == "return":
            left = entered.get(id(frame), 0) - 1
            if left > 0:
                entered[id(frame)] = left
            else:
                entered.pop(id(frame), None)
        elif event == "line":
            count += 1
            own += not is_library(code.co_filename)
        return trace

    def formatted(frame, event, arg):
        nonlocal formatting
        if event == "return":
            formatting -= 1
            if not formatting and _allocations is not None and count_lines:
                _allocations.resume()
        return formatted

    def watch(frame, event, arg):
        if event != "c_call" or frame.f_code in THIS_CODE:
            return
        if any(arg is guarded for guarded in GUARDED) or (
            not _is_library(frame.f_code.co_filename)
            and any(arg is guarded for guarded in GUARDED_IN_OWN_CODE)
        ):
            interfered(f"it calls {_name(arg)} while its lines are counted")

    tracer = trace if count_lines else None
    counting_allocations = _allocations is not None and count_lines
    previous_trace, previous_profile = sys.gettrace(), sys.getprofile()
    sys.setprofile(watch)
    sys.settrace(tracer)
    try:
        try:
            if counting_allocations:
                _allocations.start()
            value = function(*args, **kwargs)
        finally:
            allocated = _allocations.stop() if counting_allocations else 0
            current_trace, current_profile = sys.gettrace(), sys.getprofile()
            sys.settrace(previous_trace)
            sys.setprofile(previous_profile)
    except BaseException:
        if interference:  # what it tried explains the error it ended with
            raise CountInterfered(interference[0]) from None
        raise
    if current_trace is not tracer or current_profile is not watch:
        interfered("the line count was switched off")
    if entered:
        interfered("some of its frames stopped being traced")
    if interference:
        raise CountInterfered(interference[0])
    if returned is not None:
        returned.append(value)
    return LineCount(count, own, arrays, allocated)


def loops_over_samples(
    function: Callable, arguments: Callable[[int], tuple], sizes: tuple[int, int] = (16, 240)
) -> tuple[bool, LineCount, LineCount]:
    """Whether ``function`` runs a loop over samples (:func:`loops_per_sample`): ``(loops,
    count at sizes[0], count at sizes[1])``. ``arguments(n)`` gives the call's arguments for a
    batch of ``n`` samples (arrays among them are counted as :class:`CountedArray`). An
    exception from the function propagates."""
    small, large = (
        lines_run(function, *(counted(a) if isinstance(a, np.ndarray) else a for a in arguments(n)))
        for n in sizes
    )
    return loops_per_sample(small, large, sizes), small, large


def _code_objects(*functions: Callable) -> frozenset:
    """The code objects of ``functions`` and of every function defined inside them."""
    found, pending = set(), [f.__code__ for f in functions]
    while pending:
        code = pending.pop()
        found.add(code)
        pending += [c for c in code.co_consts if isinstance(c, CodeType)]
    return frozenset(found)


# numpy's own Python that does no work per sample but whose length depends on the shapes: the
# formatting of an array (str, repr, print) loops over the entries shown, and einsum plans its
# contraction order with costs computed from the sizes. Neither is a loop of the student's: the
# lines they run, the arrays and objects they make are not counted (a function of the student's
# they call, a formatter, still is).
try:
    from numpy._core import arrayprint as _arrayprint
    from numpy._core import einsumfunc as _einsumfunc
except ImportError:  # numpy 1
    from numpy.core import arrayprint as _arrayprint  # type: ignore[no-redef]  # either one
    from numpy.core import einsumfunc as _einsumfunc  # type: ignore[no-redef]  # either one
NOT_COUNTED_FILES = frozenset({_arrayprint.__file__, _einsumfunc.__file__})

# This module's own frames, told by their code objects (not their file name, which any code
# compiled under it would share): the count skips them, and the guard lets them switch it off.
THIS_CODE = _code_objects(lines_run)
