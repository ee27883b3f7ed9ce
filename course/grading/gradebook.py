"""What grading writes in nbgrader's gradebook beyond nbgrader's own autograde: the scores of
notebooks graded elsewhere, and the judge's flag."""

from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SAWarning

from course import layout
from course.labs import load_lab
from course.late import QUIET
from course.nbgrader_setup import load_config


def record_flag(api: NbGraderAPI, root: Path, lab: str, student: str, findings: list[str]) -> None:
    """Flag (or unflag) each of the student's notebooks in the gradebook, with the findings
    as a comment on the graded cell, so the formgrader shows them. No score is touched."""
    graded_cell = load_lab(root, lab).judge.graded_cell
    with api.gradebook as gradebook:
        for source in sorted(layout.source(root, lab).glob("*.ipynb")):
            try:
                notebook = gradebook.find_submission_notebook(source.stem, lab, student)
            except MissingEntry:
                continue
            notebook.flagged = bool(findings)
            try:
                comment = gradebook.find_comment(graded_cell, source.stem, lab, student)
                comment.manual_comment = (
                    "Flagged by the grader: " + "; ".join(findings) if findings else None
                )
            except MissingEntry:
                pass  # no graded cell to comment on; the flag and the report remain
        gradebook.db.commit()


def save_grades(
    api: NbGraderAPI,
    root: Path,
    lab: str,
    student: str,
    notebooks: dict[str, nbformat.NotebookNode],
) -> None:
    """Record the graded ``notebooks`` (by file name) in the gradebook as nbgrader's autograde
    does: the submission with its timestamp, then its own SaveAutoGrades and the configured
    late penalty, run on the notebooks the grading process produced."""
    timestamp = api.coursedir.get_existing_timestamp(str(layout.submitted(root, student, lab)))
    config = load_config(root)
    # nbgrader 0.9.6's gradebook code makes SQLAlchemy 2 warn on every new submission (its
    # autograde does too, in its own process); the rows are written all the same.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with api.gradebook as gradebook:
            if timestamp:
                gradebook.update_or_create_submission(lab, student, timestamp=timestamp)
            else:
                gradebook.update_or_create_submission(lab, student)
        for name, notebook in notebooks.items():
            resources = {
                "nbgrader": {
                    "notebook": Path(name).stem,
                    "assignment": lab,
                    "student": student,
                    "db_url": api.coursedir.db_url,
                }
            }
            SaveAutoGrades(config=config).preprocess(notebook, resources)
            AssignLatePenalties(config=config, log=QUIET).preprocess(notebook, resources)
