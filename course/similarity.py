"""Which students' code is suspiciously alike, for the instructor to look at before grades go out.

Two signals, each a reason to review and never a change of grade:

* **Similar code.** Only what each student wrote is compared: the lines of their code cells
  that are not lines of the released notebook (the template, the given code); and code that
  matches the instructor's solution counts for no one (two correct students who wrote the
  solution's lines did not copy each other).
  copydetect tokenises it (names, strings and layout do not count, so renaming variables or
  re-spacing changes nothing), takes winnowed fingerprints of every run of tokens, and
  measures how much of each student's code is covered by fingerprints the other student
  shares. Code that many students write alike is weighted down to nothing, as boilerplate
  is: a fingerprint found in more than ``common_share`` of the cohort (and at least
  ``MIN_COMMON`` students) counts for no one, so the canonical one-line answers that most of a
  class writes do not make every pair of them look copied. Past cohorts (a folder of their
  notebooks) are compared with the current one, not with each other, and never make code
  common. Since a ring of copiers large enough would look common, students whose own code is
  identical are also listed as groups (:func:`identical_groups`).
* **Identical wrong answers.** The judge keeps a fingerprint of each failing step's numbers on
  the first hidden case it got wrong (``course.misconceptions.answer_digest``); students who
  share one made the same numeric mistake. A mistake the judge names as a known
  misconception is common by nature, so such groups are marked as such.
"""

from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np

from course import layout
from course.nbgrader_ext.judge_cells import judged_notebooks

K = 25  # copydetect's noise threshold: matches shorter than this many tokens are noise
WINDOW = 6  # winnowing window (copydetect's guarantee threshold 30 = K + WINDOW - 1)
COMMON_SHARE = 0.2  # a fingerprint in more than this share of the students is common code
MIN_COMMON = 3  # ... but a fingerprint two or three students share is never common
THRESHOLD = 0.5  # a pair is listed when this share of both students' own code matches
MIN_OVERLAP = 40  # ... and at least this many tokens of it


@dataclass(frozen=True)
class SimilarPair:
    """Two students (or a student and a past one) whose own code matches."""

    first: str
    second: str
    similarity: float  # the smaller of the two shares of own code that matches
    overlap: int  # matching tokens
    first_code: str  # HTML: the student's own code, matches marked <mark>
    second_code: str


@dataclass(frozen=True)
class SameMistake:
    """Students whose answer to one test was the same wrong numbers."""

    grade_id: str
    students: tuple[str, ...]
    misconception: str  # the named misconception they share, "" when none


def own_code(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> str:
    """What the student wrote: every line of their notebook's code cells that is not a line
    of a released code cell. The submission's cell metadata is not read: it is the student's
    to change, and a cell relabelled as a test must not hide the code in it."""
    template = {
        line.strip()
        for cell in release.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
    }
    lines = [
        line
        for cell in submitted.cells
        if cell.cell_type == "code"
        for line in str(cell.source).splitlines()
        if line.strip() and line.strip() not in template
    ]
    return "\n".join(lines) + "\n" if lines else ""


def _fingerprint(code: str, boilerplate: np.ndarray | None = None, window: int = WINDOW):
    from copydetect.detector import CodeFingerprint  # imported when a report is built

    return CodeFingerprint("answer.py", K, window, boilerplate=boilerplate, fp=io.StringIO(code))


def similar_pairs(
    current: dict[str, str],
    past: dict[str, str] | None = None,
    template: str = "",
    threshold: float = THRESHOLD,
    common_share: float = COMMON_SHARE,
    min_common: int = MIN_COMMON,
) -> list[SimilarPair]:
    """The pairs of ``current`` students (``{student: own code}``), and of a current student
    with a ``past`` one, whose own code matches above ``threshold``, most similar first.
    ``template``: code whose fingerprints count for no one (the released notebook's);
    ``common_share``, ``min_common``: see the module (what counts as code many share)."""
    from copydetect.detector import compare_files
    from copydetect.utils import highlight_overlap

    past = past or {}
    documents = {
        **{("now", s): code for s, code in current.items() if code.strip()},
        **{("past", s): code for s, code in past.items() if code.strip()},
    }
    # what the current class writes alike; a past cohort's code never makes code common
    raw = {key: _fingerprint(code) for key, code in documents.items() if key[0] == "now"}
    counts = Counter(h for fingerprint in raw.values() for h in fingerprint.hashes)
    limit = max(min_common, math.ceil(common_share * len(raw)))
    common = {h for h, n in counts.items() if n > limit}
    # every run of the template's tokens, not a winnowed sample: a student's winnowing may
    # pick any of them
    common |= _fingerprint(template, window=1).hashes if template.strip() else set()
    boilerplate = np.array(sorted(common), dtype=np.int64)
    prints = {key: _fingerprint(code, boilerplate) for key, code in documents.items()}
    now = sorted(key for key in prints if key[0] == "now")
    candidates = list(combinations(now, 2)) + [
        (a, b) for a in now for b in sorted(prints) if b[0] == "past"
    ]
    pairs = []
    for a, b in candidates:
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        similarity = float(min(share_a, share_b))
        if overlap < MIN_OVERLAP or similarity < threshold:
            continue
        code_a, _ = highlight_overlap(
            prints[a].raw_code, slices_a, "<mark>", "</mark>", escape_html=True
        )
        code_b, _ = highlight_overlap(
            prints[b].raw_code, slices_b, "<mark>", "</mark>", escape_html=True
        )
        label_b = b[1] if b[0] == "now" else f"{b[1]} (past cohort)"
        pairs.append(SimilarPair(a[1], label_b, similarity, int(overlap), code_a, code_b))
    return sorted(pairs, key=lambda p: (-p.similarity, -p.overlap, p.first, p.second))


def identical_groups(current: dict[str, str]) -> list[tuple[str, ...]]:
    """Groups of two or more students whose own code is the same once names, strings and
    layout are set aside (at least MIN_OVERLAP tokens of it), smallest groups first. Common
    code is weighted down in :func:`similar_pairs`, so a ring of copiers large enough to look
    common would vanish there; here it shows as a group (the largest group is usually the
    canonical answer, written alike by honest students)."""
    from copydetect.utils import filter_code

    groups: dict[str, list[str]] = defaultdict(list)
    for student, code in current.items():
        filtered, _ = filter_code(code, "answer.py")
        if len(filtered) >= MIN_OVERLAP:
            groups[filtered].append(student)
    return sorted(
        (tuple(sorted(g)) for g in groups.values() if len(g) > 1), key=lambda g: (len(g), g)
    )


def same_mistakes(root: Path, lab: str) -> list[SameMistake]:
    """Groups of two or more students whose graded notebooks carry the same wrong-answer
    fingerprint for a test, those not explained by a named misconception first."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    named: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for student, judged in judged_notebooks(root, lab):
        for grade_id, digest in sorted(judged.get("wrong_answers", {}).items()):
            groups[grade_id, digest].append(student)
            named[grade_id, digest][judged.get("misconceptions", {}).get(grade_id, "")] += 1
    found = []
    for (grade_id, digest), students in groups.items():
        if len(students) < 2:
            continue
        misconception, count = named[grade_id, digest].most_common(1)[0]
        found.append(
            SameMistake(
                grade_id, tuple(sorted(students)), misconception if count == len(students) else ""
            )
        )
    return sorted(found, key=lambda m: (m.misconception != "", -len(m.students), m.grade_id))


def cohort_code(root: Path, lab: str) -> tuple[dict[str, str], str]:
    """Every submitted student's own code for ``lab`` (all its notebooks), and the code no
    one's own code is judged by (the template): the released notebooks' and the instructor's
    (solutions included). A submission grading would not read (a link, a special or oversized
    file: course.grading.admission.admission_problem) is not read here either."""
    from course.grading.admission import admission_problem

    releases = {
        p.name: nbformat.read(p, as_version=4)
        for p in sorted(layout.release(root, lab).glob("*.ipynb"))
    }
    code: dict[str, str] = defaultdict(str)
    for name, release in releases.items():
        for path in sorted(layout.folder(root, "submitted").glob(f"*/{lab}/{name}")):
            if admission_problem(root, path.parent.parent.name):
                continue
            try:
                submitted = nbformat.read(path, as_version=4)
            except Exception:  # an unreadable notebook: grading already reported it
                continue
            code[path.parent.parent.name] += own_code(submitted, release)
    # the given code, and the instructor's own: two students who both wrote the solution's
    # lines did not copy each other; the solution also as its own code reads (its lines of
    # several cells one after the other, as a student's who wrote it would be)
    sources = {
        p.name: nbformat.read(p, as_version=4)
        for p in sorted(layout.source(root, lab).glob("*.ipynb"))
    }
    template = "\n".join(
        cell.source
        for notebook in (*releases.values(), *sources.values())
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
    solved = [
        own_code(sources[name], release) for name, release in releases.items() if name in sources
    ]
    return dict(code), "\n".join([template, *solved])


def past_code(folder: Path, root: Path, lab: str) -> dict[str, str]:
    """Own code of each past submission of ``lab`` under ``folder`` (any layout: every
    notebook named as one of the lab's), labelled by its path there."""
    releases = {
        p.name: nbformat.read(p, as_version=4)
        for p in sorted(layout.release(root, lab).glob("*.ipynb"))
    }
    found = {}
    for path in sorted(Path(folder).rglob("*.ipynb")):
        release = next((nb for name, nb in releases.items() if path.name.endswith(name)), None)
        if release is None:  # an LMS's name ends with the notebook's
            continue
        try:
            found[str(path.relative_to(folder))] = own_code(
                nbformat.read(path, as_version=4), release
            )
        except Exception:
            continue
    return found
