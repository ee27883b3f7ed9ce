"""What the audit of one lab works from: the course's lab notebooks, the judge's plan, the
solution as run on a hidden case, and the submissions derived from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course import layout
from course.audit import mutants, rewrites
from course.audit.derived import Derived, unique
from course.audit.syntax import Solution, load_solution
from course.judge.api import CheckPlan
from course.judge.plan import cached_plan
from course.labs import LabDeclaration, load_lab
from course.notebooks import cell_by_grade_id
from course.regions import solution_delimiters, without_delimiters


@dataclass(frozen=True)
class Subject:
    """One lab of a course, ready to audit."""

    root: Path
    lab: str
    source_path: Path  # the instructor's notebook
    release: nbformat.NotebookNode  # the student version
    plan: CheckPlan
    solution: Solution | None  # None when the first function is judged by calling it
    declaration: LabDeclaration

    @property
    def steps(self) -> Solution:
        """The solution of a first function judged step by step (the audit's step operators
        work on it); a lab whose first function is judged by calling it has none."""
        if self.solution is None:
            raise ValueError(f"{self.lab}'s first function is judged by calling it, not by step")
        return self.solution

    def cells_of(self, *kinds: str, step: str = "") -> set[str]:
        """The grade ids of the cells whose check is of one of ``kinds`` (for ``"step"``,
        of ``step`` only when given)."""
        return {
            grade_id
            for grade_id, (kind, *args) in self.plan.cells.items()
            if kind in kinds and (kind != "step" or not step or args[0] == step)
        }

    @functools.cached_property
    def source(self) -> nbformat.NotebookNode:
        """The instructor's notebook."""
        return nbformat.read(self.source_path, as_version=4)

    @functools.cached_property
    def all_solutions(self) -> dict[str, str]:
        """The solution of every solution code cell, as a student who solved it hands it in,
        by grade id: the audit varies one graded cell at a time, the others solved."""
        return {
            grade_id: without_delimiters(
                cell_by_grade_id(self.source, grade_id).source, solution_delimiters()
            )
            for grade_id in (
                cell.metadata["nbgrader"]["grade_id"]
                for cell in self.release.cells
                if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            )
        }

    def notebook(self, derived: Derived) -> nbformat.NotebookNode:
        """The notebook a student handing in ``derived`` submits: the release with the
        graded cell filled in (and the student's own cell above it), and every other solution
        cell solved."""
        nb = nbformat.from_dict(self.release)
        graded = derived.cell or self.plan.judge.graded_cell
        for grade_id, code in self.all_solutions.items():
            if grade_id != graded:
                cell_by_grade_id(nb, grade_id).source = code
        for grade_id, code in derived.other_cells:
            cell_by_grade_id(nb, grade_id).source = code
        cell = cell_by_grade_id(nb, graded)
        cell.source = derived.code
        if derived.own_cell:
            nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(derived.own_cell))
        return nb

    def derive(self) -> list[Derived]:
        """Every rewrite and mutant of the solution, and the lab's declared misconceptions
        (from its demo cohort), without repeats."""
        assert self.solution is not None, "a lab whose first function is judged by calling it"
        found: list[Derived] = []
        for _, operator in rewrites.OPERATORS + mutants.OPERATORS:
            found += operator(self.solution)
        demo = getattr(self.declaration, "demo", None)
        if demo is not None:
            steps = {m.key: m.step for m in self.declaration.misconceptions}
            found += mutants.declared(self.solution, demo.cohort, steps)
        return unique(found, self.solution.code)


def _shapes(arguments: dict) -> dict:
    return {name: getattr(value, "shape", None) for name, value in arguments.items()}


def load_subject(root: Path, lab: str) -> Subject:
    """The lab ``lab`` of the course at ``root``: its one source notebook, release and
    judge's plan, and its solution run on the first hidden case (and on the first of other
    sizes)."""
    sources = sorted(layout.source(root, lab).glob("*.ipynb"))
    if len(sources) != 1:
        raise ValueError(
            f"source/{lab}/ holds {len(sources)} notebooks; the audit judges a lab of one notebook"
        )
    source_path = sources[0]
    release_path = layout.release(root, lab) / source_path.name
    if not release_path.is_file():
        raise ValueError(f"{release_path} is missing: run `nbgrader generate_assignment {lab}`")
    plan = cached_plan(source_path)
    judge = plan.judge
    release = nbformat.read(release_path, as_version=4)
    declaration = load_lab(root, lab)
    if getattr(judge, "probe", None):  # called, not split into steps: course.audit.functions
        return Subject(root, lab, source_path, release, plan, None, declaration)
    source = nbformat.read(source_path, as_version=4)
    code = without_delimiters(
        cell_by_grade_id(source, judge.graded_cell).source, solution_delimiters()
    )
    cases = [arguments for seed in plan.seeds for arguments, _ in judge.cases(seed)]
    arguments = cases[0]
    other = next((c for c in cases[1:] if _shapes(c) != _shapes(arguments)), None)
    solution = load_solution(
        code, judge.function, tuple(judge.answer_names), plan.trusted_code, arguments, other
    )
    return Subject(root, lab, source_path, release, plan, solution, declaration)
