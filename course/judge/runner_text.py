"""The words of the judge's runner, rebuilt from what the grader can vouch for.

The runner (``judge_runtime.runner``) runs the student's code, so everything it sends is the
student's to forge: an exception's message can hold an encoded dump of the hidden inputs it was
given, a function's name can be any text, and any of it may carry terminal escape sequences. The
grader passes none of it on as sent. An error is rebuilt from

- its type, when that names one of Python's or numpy's exception types;
- for a ``NameError``, the missing name, when the student's own code spells it;
- the line of the student's own code it happened on, quoted from the grader's copy, when that
  line is code alone (no comment, no string: words of the student's own are never quoted);
- the shapes of the arrays that line reads, for arrays the grader gave the step itself;

and a report of interference from the runner's fixed phrases. Nothing else is kept: no
exception message, no number the student's code chose.
"""

from __future__ import annotations

import builtins
import io
import re
import tokenize

import numpy as np

from course.judge.api import function_name
from course.text import printable

# numpy's own exception types, beside Python's built-in ones
NUMPY_ERRORS = frozenset(
    {
        "LinAlgError",
        "AxisError",
        "ComplexWarning",
        "RankWarning",
        "TooHardError",
        "DTypePromotionError",
    }
)
OWN_TYPE = "an exception of a type the submission defines"
LONGEST_LINE = 160
# What of a runner's error text is read: its start (the type, a missing name) and its end (the
# line and shapes describe_crash appends). The rest is the student's to make as long as they
# like, and reading it all would cost the grader's own time.
SAID_START, SAID_END = 300, 1500


def error_type(said: str) -> str:
    """The exception type named at the start of ``said`` if it is one of Python's or numpy's,
    else :data:`OWN_TYPE`."""
    match = re.match(r"[A-Za-z_]\w{0,60}", said)
    name = match.group() if match else ""
    known = getattr(builtins, name, None)
    if (isinstance(known, type) and issubclass(known, BaseException)) or name in NUMPY_ERRORS:
        return name
    return OWN_TYPE


def _crash_line(said: str, own_lines: set[str]) -> str:
    """The line ``said`` quotes (``..., at `line` ...``) if it is a line of the student's own
    code, else empty."""
    start = said.rfind(", at `")
    if start < 0:
        return ""
    rest = said[start + len(", at `") :]
    end = rest.rfind("` (where ") if "` (where " in rest else rest.rfind("`")
    line = rest[:end] if end >= 0 else ""
    return line if line in own_lines and len(line) <= LONGEST_LINE and _code_alone(line) else ""


def _code_alone(line: str) -> bool:
    """Whether ``line`` holds Python tokens only, with no comment and no string in it."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    return not any(t.type in (tokenize.COMMENT, tokenize.STRING) for t in tokens) and not any(
        t.type == getattr(tokenize, "FSTRING_START", -1) for t in tokens
    )


def _shapes(said: str, known: dict) -> list[str]:
    """``name has shape (...)`` for each array ``said`` lists whose shape is the shape of the
    grader's own value of that name (a shape of the student's making says nothing here)."""
    start = said.rfind("` (where ")
    if start < 0:
        return []
    kept = []
    for name, shape in re.findall(r"\b(\w{1,60}) has shape (\([\d, ]{0,80}\))", said[start:]):
        if name in known and shape == str(np.shape(known[name])):
            kept.append(f"{name} has shape {shape}")
    return kept


def vouched_error(said, own_code: str, known: dict | None = None) -> str:
    """An error as the runner described it (``judge_runtime.runner.describe_error`` or
    ``describe_crash``), rebuilt from what the grader can vouch for (see the module's notes).

    ``own_code``: every cell of the student's the runner ran; ``known``: the arrays the grader
    gave the step (name: array), whose shapes may be named. Empty when ``said`` is empty."""
    if not said:
        return ""
    said = str(said)
    if len(said) > SAID_START + SAID_END:
        said = said[:SAID_START] + said[-SAID_END:]
    kind = error_type(said)
    text = kind
    missing = re.match(r"(?:NameError|UnboundLocalError): .*?'(\w{1,60})'", said)
    if (
        kind in ("NameError", "UnboundLocalError")
        and missing
        and re.search(rf"\b{missing.group(1)}\b", own_code)
    ):
        text += f": name '{missing.group(1)}' is not defined"
    own_lines = {line.strip() for line in own_code.splitlines() if line.strip()}
    if line := _crash_line(said, own_lines):
        text += f", at `{printable(line)}`"
        if shapes := _shapes(said, known or {}):
            text += f" (where {', '.join(shapes)})"
    return text


def vouched_syntax_error(said, code: str, label: str) -> str:
    """The error a cell of the student's raised as the runner set it up (``said``), when the
    grader's own compiling of the same ``code`` (which runs none of it) gives a syntax error:
    that error, its line and Python's message about it; else :func:`vouched_error`."""
    try:
        compile(code, label, "exec")
    except SyntaxError as error:  # IndentationError and TabError too
        return printable(f"{type(error).__name__}: {error.msg} ({label}, line {error.lineno})")
    except (ValueError, OverflowError, MemoryError, RecursionError):
        pass
    return vouched_error(said, code)


INTERFERENCE = (
    r"it replaced the grader's [\w.]{1,80}",
    r"it started a thread of its own",
    r"the line count was switched off",
    r"some of its frames stopped being traced",
    r"it raises only while its lines are counted",
    r"it returns other values while its lines are counted",
    r"its steps compute otherwise while their lines are counted",
)
CALLS_WHILE_COUNTED = re.compile(r"it calls ([\w.]{1,80}) while its lines are counted")


def vouched_interference(said) -> str:
    """How the runner says the student's code interfered, if it is one of the runner's own
    phrases (a function it names must be a dotted name); else a phrase of the grader's."""
    said = str(said or "")
    if any(re.fullmatch(phrase, said) for phrase in INTERFERENCE):
        return said
    if (called := CALLS_WHILE_COUNTED.fullmatch(said)) and all(
        function_name(part) for part in called.group(1).split(".")
    ):
        return said
    return "it changed the grader's code while its lines were counted"
