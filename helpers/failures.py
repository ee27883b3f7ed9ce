"""The one exception a visible test raises when a student's answer is wrong.

It is an ``AssertionError`` in every way that matters (``except AssertionError`` catches it,
nbgrader and the feedback read its name as ``AssertionError``), but IPython shows it as its
message alone: the frames inside the helpers that raised it say nothing the student can act on,
and a screenful of them hides the one line that does.
"""

from __future__ import annotations


class CheckFailed(AssertionError):
    """A failed check; ``str(error)`` is the advice shown to the student."""

    def _render_traceback_(self) -> list[str]:
        """What IPython prints instead of the traceback (its hook for exactly this)."""
        return [f"\x1b[0;31mAssertionError\x1b[0m: {self}"]


# Named as what it is to the student and to every tool that reads an error's name.
CheckFailed.__name__ = CheckFailed.__qualname__ = "AssertionError"
