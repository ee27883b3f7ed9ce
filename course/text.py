"""Text that is safe to show: on the instructor's terminal, in a page, in a CSV.

What the grader shows can carry text a student chose (a file name, a note, a line of their
code); a terminal obeys the escape sequences in it (erase a line, set the window's title,
write the clipboard) and bidirectional overrides reorder what is read. Every such character
goes before anything is shown.
"""

from __future__ import annotations

import io
import re
import unicodedata

KEPT = "\n\t"
# control, format (bidirectional overrides among them), surrogate, private use, unassigned
DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


# A terminal colour (SGR), which nbconvert renders as a coloured span of the page
COLOUR = re.compile(r"(\x1b\[[0-9;]{0,32}m)")


def printable(text: str, colours: bool = False) -> str:
    """``text`` without control characters (escape sequences, carriage returns, bells) or
    format characters such as bidirectional overrides; newlines and tabs kept, and with
    ``colours`` the colour sequences of a traceback (nothing else of the escape sequences)."""
    if colours:
        return "".join(
            piece if COLOUR.fullmatch(piece) else printable(piece) for piece in COLOUR.split(text)
        )
    return "".join(ch for ch in text if ch in KEPT or unicodedata.category(ch) not in DROPPED)


class PrintableStream(io.TextIOBase):
    """A text stream that writes :func:`printable` text to another (``sys.stdout``, say)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only in io.TextIOBase too
        return getattr(self.stream, "encoding", "utf-8")


def unfiltered(stream):
    """The stream under a :class:`PrintableStream`, for output the grader writes entirely
    itself and that needs a carriage return (a progress bar); ``stream`` itself otherwise."""
    return stream.stream if isinstance(stream, PrintableStream) else stream
