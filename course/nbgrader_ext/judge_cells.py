"""nbgrader preprocessor: the judge's verdicts become the grade cells' outputs.

Runs in autograde after the notebook has executed and before ``SaveAutoGrades``: every grade
cell the judge planned (``course.judge``) gets the judge's outcome as its only output (an
error carrying the judge's message when it failed, a line saying so when it passed), so
nbgrader records exactly the judge's scores and the feedback shows only its messages. What the
kernel's own test cells said is compared first: a disagreement, or anything that made the judge
unsure, is kept in the notebook's metadata (``course_judge``) for the grader to flag.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from nbgrader.utils import compute_checksum, is_grade
from traitlets import Bool, Dict, Unicode

from course import layout
from course.judge.runner import JudgeBudgets
from course.judge.verdicts import judge_submission
from course.nbgrader_ext.bounded_execute import STOPPED_CELLS
from course.outcomes import JUDGE_METADATA
from course.sandbox.config import SandboxLimits
from judge_runtime.flag import JUDGED_OUTSIDE

METADATA_KEY = JUDGE_METADATA  # the judge's record in a graded notebook


def judged_notebooks(root: Path, lab: str):
    """``(student, judge's metadata)`` of every graded notebook of ``lab``, by path order;
    a graded notebook nbgrader left half-written is skipped (nothing the judge said in it)."""
    for notebook in sorted(layout.folder(root, "autograded").glob(f"*/{lab}/*.ipynb")):
        try:
            metadata = nbformat.read(notebook, as_version=4).metadata
        except Exception:
            continue
        yield notebook.parent.parent.name, metadata.get(METADATA_KEY, {})


def _kernel_outcome(cell) -> bool | None:
    """Whether the kernel's own run of a test cell passed; None when it left the check to the
    judge (judge_runtime.flag.JUDGED_OUTSIDE)."""
    if any(JUDGED_OUTSIDE in output.get("text", "") for output in cell.get("outputs", [])):
        return None
    return not any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def kernel_disagreements(nb, verdicts: dict, stopped: list[int]) -> list[str]:
    """The judged test cells whose run in the student's kernel contradicts the judge, as
    ``"grade_id (failed in the notebook, passed when judged)"``.

    ``nb``: the notebook as the kernel left it; ``verdicts``: ``{grade_id: Verdict}``;
    ``stopped``: indices of the cells the executor stopped (``BoundedExecute``). A kernel
    stopped for time says nothing about the answer (a slow but correct function may pass the
    judge's larger budgets), and nor does any cell it ran after that: the stopped cell never
    finished (its functions may never have been defined).
    """
    first_stopped = min(stopped, default=len(nb.cells))
    disagreements = []
    for cell in nb.cells[:first_stopped]:
        grade_id = _grade_id(cell)
        if cell.cell_type != "code" or not is_grade(cell) or grade_id not in verdicts:
            continue
        kernel, judged = _kernel_outcome(cell), verdicts[grade_id].passed
        if kernel is not None and kernel != judged:
            disagreements.append(
                f"{grade_id} ({'passed' if kernel else 'failed'} in the "
                f"notebook, {'passed' if judged else 'failed'} when judged)"
            )
    return disagreements


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _put_back(nb, source_nb, index: int, cell) -> None:
    """Insert ``cell`` (source_nb's cell ``index``, or a stand-in for it) where it stood in
    ``nb``: before the next cell with a grade id that both notebooks have."""
    following = [_grade_id(c) for c in source_nb.cells[index + 1 :] if _grade_id(c)]
    position = next((i for i, c in enumerate(nb.cells) if _grade_id(c) in following), len(nb.cells))
    nb.cells.insert(position, cell)


def restore_deleted_cells(nb, source_nb, judged: set[str]) -> list[str]:
    """Put back, from the instructor's notebook, every judged test cell the submission lacks,
    where it stood; return their grade ids."""
    present = {_grade_id(cell) for cell in nb.cells}
    restored = []
    for index, cell in enumerate(source_nb.cells):
        grade_id = _grade_id(cell)
        if grade_id not in judged or grade_id in present:
            continue
        copy_of_cell = copy.deepcopy(cell)
        copy_of_cell.outputs = []
        _put_back(nb, source_nb, index, copy_of_cell)
        restored.append(grade_id)
    return restored


def restore_deleted_answers(nb, source_nb, text_stub: str) -> list[str]:
    """Put back every written answer (a markdown grade cell that is also a solution cell) the
    submission lacks, as the student version has it: the stub, never the instructor's answer
    and rubric, with the checksum that makes nbgrader score it 0 at once (a deleted answer has
    no score box in the formgrader, so it would wait for a grade no one could give). Returns
    their grade ids."""
    present = {_grade_id(cell) for cell in nb.cells}
    restored = []
    for index, cell in enumerate(source_nb.cells):
        grade_id = _grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        written = cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution")
        if not written or not grade_id or grade_id in present:
            continue  # (a hand-graded code answer would need the code stub: no lab has one)
        stub = nbformat.v4.new_markdown_cell(text_stub, metadata=copy.deepcopy(cell.metadata))
        stub.metadata.nbgrader["checksum"] = compute_checksum(stub)
        _put_back(nb, source_nb, index, stub)
        restored.append(grade_id)
    return restored


def answers_written_elsewhere(nb, source_nb, text_stub: str) -> list[str]:
    """The written answers left as released while, between the cells with grade ids around
    them, the student added markdown of their own: an answer written beside its cell, which
    nbgrader would score 0 without anyone looking. Returns their grade ids."""
    given = {cell.source.strip() for cell in source_nb.cells}
    answers = {
        _grade_id(c) for c in source_nb.cells if is_grade(c) and c.metadata.nbgrader.get("solution")
    }
    elsewhere = []
    for index, cell in enumerate(nb.cells):
        grade_id = _grade_id(cell)
        if grade_id is None or grade_id not in answers:
            continue
        if cell.source.strip() != text_stub.strip():
            continue
        before = next((i for i in range(index - 1, -1, -1) if _grade_id(nb.cells[i])), -1)
        after = next(
            (i for i in range(index + 1, len(nb.cells)) if _grade_id(nb.cells[i])), len(nb.cells)
        )
        if any(
            c.cell_type == "markdown" and not _grade_id(c) and c.source.strip() not in given
            for c in nb.cells[before + 1 : after]
        ):
            elsewhere.append(grade_id)
    return elsewhere


class JudgeGradeCells(NbGraderPreprocessor):
    """Replace each judged grade cell's outputs with the trusted judge's verdict."""

    oracle_costs_points = Bool(
        True,
        help="Steps of a graded function that reaches into the grader earn nothing "
        "(False: keep the points and only flag it for review)",
    ).tag(config=True)

    case_keys = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="Each student's case key (course.case_keys), set by `course grade` for the "
        "student it grades: the judge draws their own hidden cases from it. Not a setting.",
    ).tag(config=True, set_by_grading=True)

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        source = Path(coursedir.format_path(coursedir.source_directory, ".", ids["assignment"]))
        source_notebook = source / f"{ids['notebook']}.ipynb"
        case_key = self.case_keys.get(ids["student"])
        if case_key is None:  # never the notebook's own seeds, which every student shares
            raise ValueError(
                f"no case key for {ids['student']}: the judge grades a student on their own "
                "hidden cases, with `course grade`"
            )
        judgement = judge_submission(
            source_notebook,
            nb,
            self.oracle_costs_points,
            JudgeBudgets(config=self.config).budgets(),
            SandboxLimits(config=self.config).limits(),
            case_key,
        )
        disagreements = kernel_disagreements(
            nb, judgement.verdicts, resources.get(STOPPED_CELLS, [])
        )
        source_nb = nbformat.read(source_notebook, as_version=4)
        restored = restore_deleted_cells(nb, source_nb, set(judgement.verdicts))
        if restored:
            judgement.problems.append(
                f"test cell{'s' if len(restored) > 1 else ''} {', '.join(restored)} "
                f"{'were' if len(restored) > 1 else 'was'} deleted; restored from the "
                "instructor's notebook and judged"
            )
        stub = ClearSolutions(config=self.config).text_stub
        if answers := answers_written_elsewhere(nb, source_nb, stub):
            judgement.problems.append(
                f"written answer{'s' if len(answers) > 1 else ''} {', '.join(answers)} "
                f"{'were' if len(answers) > 1 else 'was'} left as released, with markdown of "
                "the student's own beside it: read it there, and give a score in the formgrader"
            )
        if answers := restore_deleted_answers(nb, source_nb, stub):
            judgement.problems.append(
                f"written answer{'s' if len(answers) > 1 else ''} {', '.join(answers)} "
                f"{'were' if len(answers) > 1 else 'was'} deleted; put back as released, "
                "scoring 0 (give a score in the formgrader if the answer is elsewhere)"
            )
        first_with_cause = None  # the one cell that shows a shared cause in full
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if (
                cell.cell_type != "code"
                or not is_grade(cell)
                or grade_id not in (judgement.verdicts)
            ):
                continue
            verdict = judgement.verdicts[grade_id]
            message = verdict.message
            if grade_id in judgement.caused and not verdict.passed:
                if first_with_cause is None:
                    first_with_cause = grade_id
                else:  # the cause is shown once, in the first test it failed
                    message = f"Not run, for the reason given in {first_with_cause} above."
            if verdict.passed:
                cell.outputs = [new_output("stream", name="stdout", text=f"Passed. {message}\n")]
            else:
                cell.outputs = [
                    new_output(
                        "error",
                        ename="AssertionError",
                        evalue=message,
                        traceback=[f"AssertionError: {message}"],
                    )
                ]
        nb.metadata[METADATA_KEY] = {
            "problems": judgement.problems,
            "outcomes": {
                grade_id: verdict.outcome.value for grade_id, verdict in judgement.verdicts.items()
            },
            "disagreements": disagreements,
            "misconceptions": judgement.misconceptions,
            "wrong_answers": judgement.wrong_answers,
            "cause": judgement.cause,
            "cases_digest": judgement.cases_digest,
        }
        return nb, resources
