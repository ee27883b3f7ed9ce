"""course.similarity: near-copies are found however renamed or reordered; what most of the class
writes alike is not; the template never counts; identical wrong numbers are grouped."""

from __future__ import annotations

import nbformat

from course.misconceptions import answer_digest
from course.similarity import cohort_code as cohort_code_of
from course.similarity import identical_groups, own_code, past_code, similar_pairs
from labs.lab1.cohort import LAB1_COHORT, NEAR_COPIES, build_submission
from tests.support.paths import RELEASE_NOTEBOOK, SOURCE_NOTEBOOK


def cohort_code(cohort) -> tuple[dict[str, str], str]:
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    code = {s.student: own_code(build_submission(source, release, s), release) for s in cohort}
    template = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    return code, template


def test_only_the_planted_near_copies_are_paired_and_the_canonical_answers_are_not():
    code, template = cohort_code((*LAB1_COHORT, *NEAR_COPIES))
    pairs = similar_pairs(code, template=template)
    assert [(p.first, p.second) for p in pairs] == [
        ("unusual_jacobian", "unusual_jacobian_renamed")
    ]
    assert pairs[0].similarity > 0.8
    assert "<mark>" in pairs[0].first_code and "<mark>" in pairs[0].second_code
    # Without weighting down what many wrote alike, the canonical answers pair up en masse:
    # the weighting, not a lack of matches, is what keeps them out.
    unweighted = similar_pairs(code, template=template, common_share=1.0, min_common=len(code))
    assert len(unweighted) > 10


def test_own_code_holds_no_line_of_the_released_notebook():
    code, template = cohort_code(NEAR_COPIES)
    released = {line.strip() for line in template.splitlines() if line.strip()}
    assert code["unusual_jacobian"].strip()
    assert not {line.strip() for line in code["unusual_jacobian"].splitlines()} & released


def test_a_past_cohorts_copy_is_found_and_past_students_are_not_compared_together():
    code, template = cohort_code((*LAB1_COHORT, NEAR_COPIES[0]))
    past = {
        "2025/alex/lab1/classification.ipynb": code["unusual_jacobian"],
        "2025/blair/lab1/classification.ipynb": code["unusual_jacobian"],
    }
    pairs = similar_pairs(
        {
            "now": cohort_code(NEAR_COPIES[1:])[0]["unusual_jacobian_renamed"],
            **{s: c for s, c in code.items() if s != "unusual_jacobian"},
        },
        past,
        template,
    )
    assert {(p.first, p.second) for p in pairs} == {
        ("now", "2025/alex/lab1/classification.ipynb (past cohort)"),
        ("now", "2025/blair/lab1/classification.ipynb (past cohort)"),
    }


def test_the_same_wrong_numbers_have_the_same_digest_whatever_their_form():
    assert answer_digest([1.0, 2.0]) == answer_digest((1.0 + 1e-12, 2.0))
    assert answer_digest([1.0, 2.0]) != answer_digest([1.0, 2.001])
    assert answer_digest([[1.0, 2.0]]) != answer_digest([1.0, 2.0])  # the shape counts
    assert answer_digest([[1.0], [2.0, 3.0]]) is None  # not numbers: no digest


def test_a_cell_relabelled_as_a_test_does_not_hide_the_code_in_it():
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    honest = build_submission(source, release, NEAR_COPIES[0])
    disguised = build_submission(source, release, NEAR_COPIES[0])
    for cell in disguised.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.metadata["nbgrader"].update(locked=True, grade=True, solution=False)
    assert own_code(disguised, release) == own_code(honest, release) != ""


def test_a_ring_of_identical_copies_shows_as_a_group_and_past_copies_never_make_code_common():
    code, template = cohort_code(LAB1_COHORT)
    unusual = cohort_code(NEAR_COPIES[:1])[0]["unusual_jacobian"]
    ring = {f"ring_{i}": unusual for i in range(5)}  # common enough to be weighted down
    assert ("ring_0", "ring_1", "ring_2", "ring_3", "ring_4") in identical_groups({**code, **ring})
    past = {f"2025/{i}.ipynb": unusual for i in range(3)}
    pairs = similar_pairs({**code, "copier": unusual}, past, template)
    assert {p.second for p in pairs if p.first == "copier"} == {
        f"2025/{i}.ipynb (past cohort)" for i in range(3)
    }


def test_the_report_reads_no_submission_that_grading_would_refuse(tmp_path):
    """A link in submitted/ could put any file's text, another student's code or the
    instructor's solution, beside a student's name in report.html."""
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    (tmp_path / "release" / "lab1").mkdir(parents=True)
    nbformat.write(release, tmp_path / "release" / "lab1" / RELEASE_NOTEBOOK.name)
    honest = tmp_path / "submitted" / "honest" / "lab1" / RELEASE_NOTEBOOK.name
    honest.parent.mkdir(parents=True)
    nbformat.write(build_submission(source, release, NEAR_COPIES[0]), honest)
    linked = tmp_path / "submitted" / "linked" / "lab1" / RELEASE_NOTEBOOK.name
    linked.parent.mkdir(parents=True)
    linked.symlink_to(honest)
    code, _ = cohort_code_of(tmp_path, "lab1")
    assert list(code) == ["honest"] and code["honest"].strip()


def test_past_cohorts_are_read_in_any_layout_by_the_lab_notebooks_name(tmp_path):
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    (tmp_path / "release" / "lab1").mkdir(parents=True)
    nbformat.write(release, tmp_path / "release" / "lab1" / RELEASE_NOTEBOOK.name)
    past = tmp_path / "past" / "2025"
    past.mkdir(parents=True)
    submission = build_submission(source, release, NEAR_COPIES[0])
    nbformat.write(submission, past / f"doejane_1001_5001_{RELEASE_NOTEBOOK.name}")
    nbformat.write(submission, past / "notes.ipynb")  # not the lab's notebook
    found = past_code(tmp_path / "past", tmp_path, "lab1")
    assert found == {
        f"2025/doejane_1001_5001_{RELEASE_NOTEBOOK.name}": own_code(submission, release)
    }


def _small_class(folder, edits_by_student: dict) -> tuple[dict[str, str], str]:
    """A course folder holding the lab's notebooks and one submission per student (the
    solution with that student's edits); its own code and template, as the report reads
    them (``course.similarity.cohort_code``: the instructor's code in the template)."""
    import shutil

    from labs.cohorts import Submission

    for name, notebook in (("release", RELEASE_NOTEBOOK), ("source", SOURCE_NOTEBOOK)):
        (folder / name / "lab1").mkdir(parents=True)
        shutil.copy(notebook, folder / name / "lab1" / notebook.name)
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    for student, edits in edits_by_student.items():
        path = folder / "submitted" / student / "lab1" / RELEASE_NOTEBOOK.name
        path.parent.mkdir(parents=True)
        nbformat.write(
            build_submission(source, release, Submission(student, "", edits=edits)), path
        )
    return cohort_code_of(folder, "lab1")


def test_two_students_who_both_wrote_the_solution_are_not_paired_however_small_the_class(tmp_path):
    """In a class of two, nothing is common by count: both wrote the instructor's solution,
    each with a different slip on the same line, and the solution's lines count for no one."""
    code, template = _small_class(
        tmp_path,
        {
            "ana": (("dloss_db2 = dloss_dbeta", "dloss_db2 = dloss_dbeta.sum()"),),
            "ben": (("dloss_db2 = dloss_dbeta", "dloss_db2 = 2 * dloss_dbeta"),),
        },
    )
    assert set(code) == {"ana", "ben"}
    assert similar_pairs(code, template=template) == []
    # with only the released notebook for a template, the solution's lines pair them up
    release = nbformat.read(RELEASE_NOTEBOOK, as_version=4)
    released = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    assert similar_pairs(code, template=released)


def test_the_same_wrong_lines_copied_still_pair_beside_the_solution(tmp_path):
    """What the instructor's code leaves: three wrong lines, copied and re-spaced, pair the
    two students who share them (and not the third, who wrote the solution)."""
    wrong = (
        ("dloss_dh = W2.T @ dloss_dbeta", "dloss_dh = np.abs(W2).T @ (dloss_dbeta ** 2)"),
        (
            "dloss_dalpha = dloss_dh * h * (1.0 - h)",
            "dloss_dalpha = np.tanh(dloss_dh) * (h + 0.5 * h ** 3)",
        ),
        (
            "dloss_dW1 = dloss_dalpha[:, None] * x",
            "dloss_dW1 = np.sqrt(np.abs(dloss_dalpha))[:, None] * (x - x.mean())",
        ),
    )
    spaced = tuple((old, new.replace(" ", "  ").replace("(", "( ")) for old, new in wrong)
    code, template = _small_class(tmp_path, {"cat": wrong, "dan": spaced, "eve": ()})
    pairs = similar_pairs(code, template=template)
    assert [(p.first, p.second) for p in pairs] == [("cat", "dan")]
