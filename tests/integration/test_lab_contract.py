"""The contract every lab keeps with the course's tools, checked for each folder of source/.

Its declaration (``labs/<lab>/lab.py``) is what the tools know of it: its judge must plan
every grade cell of its notebooks; its committed release must be in sync and hold no solution
and no hidden test; graded through the real path (sandbox, judge), its solution must earn full
marks and its blank nothing; and `course audit` finds no fault in its judging of the
submissions derived from its solution. (Each lab's synthetic cohort grades as planted: `course
demo`, tests/e2e/test_newcomer.py.)
"""

from __future__ import annotations

import secrets

import nbformat
import pytest

from course.audit import audit
from course.audit.derived import DECLARED, MUTANT, REWRITE
from course.audit.report import table
from course.grading.admission import labs_of
from course.grading.canary import check_grading_environment
from course.judge.plan import plan_from_source
from course.judge.verdicts import solution_draw_problems
from course.labs import copy_course, load_lab
from course.regions import hidden_test_delimiters, region_lines, solution_delimiters
from course.release import release_differences
from course.settings import for_course
from tests.support.commands import run_nbgrader
from tests.support.paths import ROOT

LABS = labs_of(ROOT)


def _notebooks(lab: str):
    return sorted((ROOT / "source" / lab).glob("*.ipynb"))


@pytest.mark.parametrize("lab", LABS)
def test_the_lab_is_declared_and_its_judge_plans_every_grade_cell(lab):
    declaration = load_lab(ROOT, lab)
    assert declaration.name == lab
    for notebook in _notebooks(lab):
        grade_cells = {
            cell.metadata["nbgrader"]["grade_id"]
            for cell in nbformat.read(notebook, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("grade")
            and not cell.metadata["nbgrader"].get("solution")
        }
        assert set(plan_from_source(notebook).all_cells()) == grade_cells


@pytest.mark.parametrize("lab", LABS)
def test_the_release_is_in_sync_and_holds_no_solution_or_hidden_test(lab):
    assert release_differences(ROOT, lab) == []
    for notebook in _notebooks(lab):
        source = nbformat.read(notebook, as_version=4)
        released = (ROOT / "release" / lab / notebook.name).read_text()
        secret = [
            line
            for cell in source.cells
            for delimiters in (solution_delimiters(), hidden_test_delimiters())
            for line in region_lines(cell.source, delimiters)
            if len(line) > 12
        ]
        assert secret, "a lab without solutions or hidden tests?"
        for line in secret:
            assert line not in released, line


@pytest.mark.parametrize("lab", LABS)
def test_the_solution_earns_full_marks_and_the_blank_nothing(lab, tmp_path):
    course = copy_course(ROOT, tmp_path / "course", lab)
    run_nbgrader("generate_assignment", lab, "--force", cwd=course)
    check_grading_environment(
        course, lab, for_course(course).student_cpu_seconds, sandbox=True
    )  # raises CanaryFailed
    assert (course / "reports" / lab / "canary.json").is_file()


@pytest.mark.parametrize("lab", LABS)
def test_the_solution_earns_full_marks_on_any_students_hidden_cases(lab):
    """Every student is judged on cases drawn for them (course.case_keys): an unlucky draw
    must never cost the solution a point (scripts/check_case_draws.py tries many more)."""
    for notebook in sorted((ROOT / "source" / lab).glob("*.ipynb")):
        for _ in range(3):
            key = secrets.token_hex(32)
            assert solution_draw_problems(notebook, key) == [], f"case key {key}"


@pytest.mark.parametrize("lab", LABS)
def test_the_audit_finds_no_fault_in_the_judging_of_derived_submissions(lab):
    """Every rewrite and mutant of the solution judged by two processes (and four of them
    through `course grade` in a scratch course): each graded as its derivation implies."""
    report = audit(ROOT, lab, workers=2, pipeline_sample=4)
    kinds = [f.derived.kind for f in report.findings]
    assert len(kinds) >= 200
    assert kinds.count(REWRITE) >= 80
    misconceptions = [
        f for f in report.findings if f.derived.kind == DECLARED and f.derived.misconception
    ]
    assert kinds.count(MUTANT) + len(misconceptions) >= 120
    assert len(report.rows()) >= 12
    assert len(report.pipeline) == 4
    assert report.passed, table(report)
    print(f"\n{lab}: {len(kinds)} derived submissions audited in {report.seconds:.0f} s")
