"""Bring submissions into nbgrader's ``submitted/<student>/<lab>/`` layout.

Input is a folder of notebooks or an LMS download (a zip, as Canvas or Moodle give them). The
work is done by nbgrader's own ``zip_collect``, with the course's extractor plugin
(``course.lms.extract``: limits on every file, and an archive a student uploaded is that student's
alone) and a collector plugin that parses file names; this module adds the file-name patterns
of the LMSs, and makes sure that no file is dropped or overwritten without being reported.

The file names understood are ``course.lms.names``'s (the notebook name must be one of the
lab's, e.g. ``classification``).

From an LMS's names it keeps the student's name in the gradebook, and from a zip each file's
time, which nbgrader writes as the submission's ``timestamp.txt`` (course.late reads it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

from course import layout
from course.extension_record import recorded_extensions
from course.files import write_atomic
from course.late import deadlines, timestamp_text, zone
from course.lms.extract import MOODLE_FOLDER, BoundedExtractor
from course.lms.names import ParsedName, parse_name, upload_prefix
from course.nbgrader_setup import load_config, make_api, put_environment_on_path

RECORD_FILE = "collected.json"  # in downloaded/<lab>/: what each student's LMS file said


@dataclass
class CollectReport:
    """Outcome of a collection: files collected per student, and every file not collected."""

    collected: dict[str, list[str]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # collected, but worth a look

    def lines(self) -> list[str]:
        out = [
            f"collected {student}: {', '.join(files)}"
            for student, files in sorted(self.collected.items())
        ]
        out += [f"NOT collected {name}: {reason}" for name, reason in self.problems]
        out += [f"CHECK {line}" for line in self.checks]
        return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_collection(
    files: list[Path], notebooks: list[str], submitted: Path, lab: str, replace: bool
) -> tuple[dict[Path, ParsedName], CollectReport]:
    """Decide which extracted files to collect. Returns ``{file: parsed}`` and the report.

    Unrecognised names and duplicates that cannot be told apart are reported, not collected;
    a submission already collected with other contents is kept unless ``replace``.
    """
    report = CollectReport()
    candidates: dict[tuple[str, str], list[tuple[Path, ParsedName]]] = {}
    for path in files:
        name = path.name
        if path.parent.name.endswith(MOODLE_FOLDER):  # Moodle's "in folders"
            name = f"{path.parent.name}_{path.name}"
        parsed = parse_name(name, notebooks)
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
                    (
                        path.name,
                        f"{len(versions)} files for {student}'s {file_id} and nothing "
                        "says which is newest: keep one and collect again",
                    )
                )
            continue
        for path, _ in versions[:-1]:
            report.problems.append(
                (
                    path.name,
                    f"older submission of {student}'s {file_id}; "
                    f"collected {newest_path.name} instead",
                )
            )
        existing = submitted / student / lab / f"{file_id}.ipynb"
        if existing.exists() and not replace and _digest(existing) != _digest(newest_path):
            report.problems.append(
                (
                    newest_path.name,
                    f"{student} already has a different {file_id} in "
                    f"{existing.parent}; use --replace to overwrite it",
                )
            )
            continue
        chosen[newest_path] = newest
        report.collected.setdefault(student, []).append(f"{file_id}.ipynb")
    return chosen, report


class PlannedCollector(FileNameCollectorPlugin):
    """nbgrader collector plugin that collects exactly the files :func:`plan_collection` chose."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.plan: dict[Path, ParsedName] = {}
        self.times: dict[Path, datetime] = {}

    def collect(self, submitted_file: str) -> dict | None:
        parsed = self.plan.get(Path(submitted_file))
        if parsed is None:
            return None
        found = {"student_id": parsed.student_id, "file_id": parsed.file_id}
        first, last = parsed.first_and_last_name()
        found.update(
            {key: value for key, value in (("first_name", first), ("last_name", last)) if value}
        )
        if Path(submitted_file) in self.times:  # nbgrader writes it as timestamp.txt
            found["timestamp"] = timestamp_text(self.times[Path(submitted_file)])
        return found


def collect(root: Path, lab: str, source: Path, replace: bool = False) -> CollectReport:
    """Collect the notebooks in ``source`` (a folder or a zip) for ``lab`` into ``submitted/``.

    Raises FileNotFoundError for a missing source, ValueError if the lab has no release.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: give a folder of notebooks or a zip")
    notebooks = sorted(p.stem for p in layout.release(root, lab).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"release/{lab} has no notebooks: run `course release {lab}` first")
    put_environment_on_path()
    config = load_config(root)
    config.ZipCollectApp.force = True  # existing submissions are protected by the plan instead
    config.ZipCollectApp.strict = True
    config.ZipCollectApp.collector_plugin = PlannedCollector
    config.ZipCollectApp.extractor_plugin = BoundedExtractor
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

    times, unreadable = (
        zip_times(source, deadlines(root).zip_timezone) if source.is_file() else ({}, [])
    )
    app.init_plugins()
    extractor = app.extractor_plugin_inst
    extractor.notebooks, extractor.lms_prefix = notebooks, upload_prefix
    app.extract_archive_files()
    extracted = Path(app._format_collect_path(app.extracted_directory))
    files = sorted(p for p in extracted.rglob("*") if p.is_file())
    submitted = Path(app.coursedir.root) / app.coursedir.submitted_directory
    plan, report = plan_collection(files, notebooks, submitted, lab, replace)
    report.problems += extractor.problems
    report.checks += unreadable
    app.collector_plugin_inst.plan = plan
    # each file's time is its LMS entry's (an upload's notebooks take the upload's)
    app.collector_plugin_inst.times = {
        path: times[extractor.origins[path]]
        for path in plan
        if extractor.origins.get(path) in times
    }
    app.process_extracted_files()
    keep_names(root, lab, plan, app.collector_plugin_inst.times)
    report.checks += lateness_checks(root, lab, plan, app.collector_plugin_inst.times)
    return report


def zip_times(source: Path, timezone: str) -> tuple[dict[str, datetime], list[str]]:
    """The time of each file in the zip ``source``, by its path there (an LMS writes each
    submission's time there, as local time in ``timezone``; a zip has no zone), and a line
    for each file whose time cannot be read (it then has none)."""
    if not zipfile.is_zipfile(source):
        return {}, []
    times, unreadable, where = {}, [], zone(timezone)
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                times[info.filename] = datetime(*info.date_time, tzinfo=where).astimezone(UTC)
            except ValueError:  # a zero or impossible date
                unreadable.append(
                    f"{info.filename}: its time in the zip ({info.date_time}) "
                    "is not a date, so it has none and no late penalty applies"
                )
    return times, unreadable


def keep_names(
    root: Path, lab: str, plan: dict[Path, ParsedName], times: dict[Path, datetime]
) -> None:
    """Put each collected student's name, as the LMS wrote it, in the gradebook (the
    formgrader and the exports show it), and record what their LMS file was called, when it
    was handed in and whether the LMS marked it late in ``downloaded/<lab>/collected.json``
    (the feedback zip names each page after it; course.lms.handback)."""
    path = record_path(root, lab)
    record = json.loads(path.read_text()) if path.exists() else {}
    with make_api(root).gradebook as gradebook:
        for file, parsed in sorted(plan.items()):
            first, last = parsed.first_and_last_name()
            names = {k: v for k, v in (("first_name", first), ("last_name", last)) if v}
            gradebook.update_or_create_student(parsed.student_id, **names)
            entry = record.setdefault(parsed.student_id, {"files": {}})
            entry.update(lms=parsed.lms, name=parsed.name, prefix=parsed.prefix)
            entry["files"][parsed.file_id] = {
                "file": file.name,
                "marked_late": parsed.marked_late,
                "submitted_at": times[file].isoformat() if file in times else None,
            }
    write_atomic(path, json.dumps(record, indent=1, sort_keys=True))


def record_path(root: Path, lab: str) -> Path:
    """Where :func:`keep_names` keeps what the LMS said of each student's files."""
    return root / "downloaded" / lab / RECORD_FILE


def collected_record(root: Path, lab: str) -> dict[str, dict]:
    """What :func:`keep_names` recorded, by student ({} before any LMS collection)."""
    path = record_path(root, lab)
    return json.loads(path.read_text()) if path.exists() else {}


def lateness_checks(
    root: Path, lab: str, plan: dict[Path, ParsedName], times: dict[Path, datetime]
) -> list[str]:
    """Where the LMS's late marker and the submission's time disagree about the due date:
    the penalty follows the time (or, without one, nothing), so the instructor should look."""
    due = deadlines(root).due_date(lab)
    checks = []
    if times and due is None:
        checks.append(
            f"{lab} has no due date (c.Deadlines.due in nbgrader_config.py): nothing will be late"
        )
    extended = recorded_extensions(root, lab)  # course extend's: the student's own due date
    for file, parsed in sorted(plan.items()):
        when = times.get(file)
        own_due = due + extended.get(parsed.student_id, timedelta(0)) if due else None
        if (
            parsed.lms == "canvas"
            and not parsed.marked_late
            and when is not None
            and own_due is not None
            and when > own_due
        ):
            checks.append(
                f"{file.name}: the LMS does not mark it late but its time, "
                f"{when:%Y-%m-%d %H:%M} UTC, is after the due date "
                f"({own_due:%Y-%m-%d %H:%M} UTC), so it will be penalised: is "
                "c.Deadlines.zip_timezone the zone the LMS writes its zip in?"
            )
        if parsed.marked_late and when is None:
            checks.append(
                f"{file.name}: the LMS marks it late but gives no time, so no "
                f"penalty applies; write its time in submitted/{parsed.student_id}/"
                f"{lab}/timestamp.txt to apply one"
            )
        elif parsed.marked_late and due is not None and cast(datetime, when) <= due:
            checks.append(
                f"{file.name}: the LMS marks it late but it was handed in at "
                f"{when:%Y-%m-%d %H:%M} UTC, before the due date in "
                f"nbgrader_config.py ({due:%Y-%m-%d %H:%M} UTC): is that date right?"
            )
    return checks
