"""Bring submissions into nbgrader's ``submitted/<student>/<lab>/`` layout.

Input is a folder of notebooks or an LMS download (a zip, as Canvas or Moodle give them). The
work is done by nbgrader's own ``zip_collect`` (its extractor plugin unzips, a collector plugin
parses file names); this module adds the file-name patterns of the LMSs, and makes sure that no
file is dropped or overwritten without being reported.

File names understood (the notebook name must be one of the lab's, e.g. ``classification``):

* Canvas: ``doejane_12345_67890_classification.ipynb`` (also ``_LATE_`` and resubmissions
  renamed ``classification-1.ipynb``; the highest resubmission number wins);
* Moodle: ``Jane Doe_12345_assignsubmission_file_classification.ipynb``;
* plain: ``<student_id>.ipynb`` for a lab with one notebook.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

from course.nbgrader_setup import load_config, put_environment_on_path
from course.submissions import SAFE_NAME

PATTERNS = (
    re.compile(r"^(?P<name>[^_]+)_(?:LATE_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_"
               r"(?P<file_id>.+?)(?:-(?P<resubmission>\d+))?\.ipynb$"),
    re.compile(r"^(?P<name>[^_]+)_(?P<student_id>\d+)_assignsubmission_file_"
               r"(?P<file_id>.+?)\.ipynb$"),
)
PLAIN = re.compile(rf"^(?P<student_id>{SAFE_NAME.pattern})\.ipynb$")


@dataclass(frozen=True)
class ParsedName:
    """What a submitted file's name says: whose it is, which notebook, which resubmission."""

    student_id: str
    file_id: str
    resubmission: int = 0


def parse_name(filename: str, notebooks: list[str]) -> ParsedName | str:
    """Parse an LMS file name; return the parsed name, or a reason it is not understood."""
    if not filename.endswith(".ipynb"):
        return "not a notebook"
    for pattern in PATTERNS:
        match = pattern.match(filename)
        if match:
            file_id = match["file_id"]
            if file_id not in notebooks:
                return (f"notebook name {file_id!r} is not one of this lab's "
                        f"({', '.join(notebooks)})")
            return ParsedName(match["student_id"], file_id,
                              int(match.groupdict().get("resubmission") or 0))
    match = PLAIN.match(filename)
    if match and len(notebooks) == 1:
        return ParsedName(match["student_id"], notebooks[0])
    return ("file name not recognised: expected Canvas (name_12345_67890_notebook.ipynb), "
            "Moodle (Name_12345_assignsubmission_file_notebook.ipynb) or <student_id>.ipynb")


@dataclass
class CollectReport:
    """Outcome of a collection: files collected per student, and every file not collected."""

    collected: dict[str, list[str]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"collected {student}: {', '.join(files)}"
               for student, files in sorted(self.collected.items())]
        out += [f"NOT collected {name}: {reason}" for name, reason in self.problems]
        return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_collection(files: list[Path], notebooks: list[str], submitted: Path, lab: str,
                    replace: bool) -> tuple[dict[Path, ParsedName], CollectReport]:
    """Decide which extracted files to collect. Returns ``{file: parsed}`` and the report.

    Unrecognised names and duplicates that cannot be told apart are reported, not collected;
    a submission already collected with other contents is kept unless ``replace``.
    """
    report = CollectReport()
    candidates: dict[tuple[str, str], list[tuple[Path, ParsedName]]] = {}
    for path in files:
        parsed = parse_name(path.name, notebooks)
        if isinstance(parsed, str):
            report.problems.append((path.name, parsed))
        else:
            candidates.setdefault((parsed.student_id, parsed.file_id), []).append((path, parsed))

    chosen: dict[Path, ParsedName] = {}
    for (student, file_id), versions in sorted(candidates.items()):
        versions.sort(key=lambda item: item[1].resubmission)
        newest_path, newest = versions[-1]
        if len(versions) > 1 and versions[-2][1].resubmission == newest.resubmission:
            for path, _ in versions:
                report.problems.append(
                    (path.name, f"{len(versions)} files for {student}'s {file_id} and nothing "
                                "says which is newest: keep one and collect again"))
            continue
        for path, _ in versions[:-1]:
            report.problems.append(
                (path.name, f"older submission of {student}'s {file_id}; "
                            f"collected {newest_path.name} instead"))
        existing = submitted / student / lab / f"{file_id}.ipynb"
        if existing.exists() and not replace and _digest(existing) != _digest(newest_path):
            report.problems.append(
                (newest_path.name, f"{student} already has a different {file_id} in "
                                   f"{existing.parent}; use --replace to overwrite it"))
            continue
        chosen[newest_path] = newest
        report.collected.setdefault(student, []).append(f"{file_id}.ipynb")
    return chosen, report


class PlannedCollector(FileNameCollectorPlugin):
    """nbgrader collector plugin that collects exactly the files :func:`plan_collection` chose."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.plan: dict[Path, ParsedName] = {}

    def collect(self, submitted_file: str) -> dict | None:
        parsed = self.plan.get(Path(submitted_file))
        if parsed is None:
            return None
        return {"student_id": parsed.student_id, "file_id": parsed.file_id}


def collect(root: Path, lab: str, source: Path, replace: bool = False) -> CollectReport:
    """Collect the notebooks in ``source`` (a folder or a zip) for ``lab`` into ``submitted/``.

    Raises FileNotFoundError for a missing source, ValueError if the lab has no release.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: give a folder of notebooks or a zip")
    notebooks = sorted(p.stem for p in (root / "release" / lab).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"release/{lab} has no notebooks: run `course release {lab}` first")
    put_environment_on_path()
    config = load_config(root)
    config.ZipCollectApp.force = True  # existing submissions are protected by the plan instead
    config.ZipCollectApp.strict = True
    config.ZipCollectApp.collector_plugin = PlannedCollector
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(config=config, assignment_id=lab)
    app.log_level = logging.ERROR  # every skipped file is in our report; no duplicate warnings

    archive = Path(app._format_collect_path(app.archive_directory))
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir(parents=True)
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file():
                shutil.copy2(path, archive / path.name)
    else:
        shutil.copy2(source, archive / source.name)

    app.init_plugins()
    app.extract_archive_files()
    extracted = Path(app._format_collect_path(app.extracted_directory))
    files = sorted(p for p in extracted.rglob("*") if p.is_file())
    submitted = Path(app.coursedir.root) / app.coursedir.submitted_directory
    plan, report = plan_collection(files, notebooks, submitted, lab, replace)
    app.collector_plugin_inst.plan = plan
    app.process_extracted_files()
    return report
