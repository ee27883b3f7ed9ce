"""Generate the student version of a lab and check that the committed one is in sync."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from course import layout
from course.late import apply_due_date
from course.nbgrader_setup import CONFIG_FILE, make_api


class ReleaseError(RuntimeError):
    """nbgrader could not generate the student version."""


def generate_release(root: Path, lab: str) -> Path:
    """Run nbgrader's generate_assignment for ``lab`` (creating it in the gradebook).

    Returns the release folder ``root/release/<lab>``. Raises ReleaseError with nbgrader's
    log when generation fails.
    """
    if not layout.source(root, lab).is_dir():
        labs = sorted(p.name for p in layout.folder(root, "source").glob("*") if p.is_dir())
        raise ReleaseError(
            f"there is no lab called {lab!r} in {root}: no source/{lab} folder; "
            f"the labs are: {', '.join(labs) or 'none yet'}"
        )
    result = make_api(root).generate_assignment(lab, force=True, create=True)
    if not result["success"]:
        details = "\n".join(filter(None, (result.get("log"), result.get("error"))))
        raise ReleaseError(f"nbgrader could not generate {lab}:\n{details}")
    apply_due_date(root, lab)
    return layout.release(root, lab)


def release_differences(root: Path, lab: str) -> list[str]:
    """Files where ``root/release/<lab>`` differs from a fresh generation from the source.

    Generates in a scratch copy of the course, so nothing in ``root`` (gradebook included)
    changes. Returns a list of ``"<path>: <what differs>"``; empty when in sync.
    """
    committed = layout.release(root, lab)
    with tempfile.TemporaryDirectory(prefix="course-release-") as temporary:
        scratch = Path(temporary)
        shutil.copy2(root / CONFIG_FILE, scratch / CONFIG_FILE)
        shutil.copytree(layout.source(root, lab), layout.source(scratch, lab))
        fresh = generate_release(scratch, lab)
        return _tree_differences(fresh, committed, committed.relative_to(root))


def _tree_differences(fresh: Path, committed: Path, label: Path) -> list[str]:
    if not committed.is_dir():
        return [f"{label}: missing; run `course release {label.name}` and commit it"]
    differences = []
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    committed_files = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    for path in sorted(fresh_files - committed_files):
        differences.append(f"{label / path}: missing from the committed release")
    for path in sorted(committed_files - fresh_files):
        differences.append(f"{label / path}: not produced from the source (stale?)")
    for path in sorted(fresh_files & committed_files):
        if not filecmp.cmp(fresh / path, committed / path, shallow=False):
            differences.append(f"{label / path}: differs from a fresh generation")
    return differences
