"""Write the grader's files without following links.

Student code never writes the course folder, but the grader writes into folders named after
students and assignments; each file is written whole to a new temporary file beside its target
and renamed over it, so a symbolic link at the target is replaced, never followed, and a reader
never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Writer


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` (text as UTF-8) by renaming a new file over it; return path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_csv(path: Path, header: list[str], rows: list) -> Path:
    """Write ``header`` then ``rows`` (lists, or dicts keyed by the header) as CSV, with
    :func:`write_atomic`; return path."""
    text = io.StringIO(newline="")
    writer: csv.DictWriter[str] | Writer
    if rows and isinstance(rows[0], dict):
        writer = csv.DictWriter(text, fieldnames=header)
        writer.writeheader()
    else:
        writer = csv.writer(text)
        writer.writerow(header)
    writer.writerows(rows)
    return write_atomic(path, text.getvalue())
