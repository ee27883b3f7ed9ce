"""``course report``: the report's files under ``reports/<lab>/``, written from the gradebook."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from course import layout
from course.diagnosis import TEST_OUTCOMES
from course.export import grade_columns, per_test_rows, submitters, write_per_test_csv
from course.extensions import lab_extensions
from course.files import write_atomic, write_csv
from course.grading.admission import submitted_students
from course.late import deadlines, reapply_late_penalties
from course.nbgrader_setup import make_api
from course.reporting.page import (
    by_hand_section,
    extensions_section,
    late_section,
    report_page,
    similarity_section,
)
from course.reporting.summaries import (
    Report,
    Summary,
    count_misconceptions,
    misconception_questions,
    step_outcomes,
    students_awaiting_hands,
    students_needing_attention,
    summarise_tests,
)
from course.similarity import (
    cohort_code,
    identical_groups,
    past_code,
    same_mistakes,
    similar_pairs,
)
from course.written_answers import written_answer_ids


def build_report(root: Path, lab: str, past: Path | None = None) -> Report:
    """Assign the late penalties again (on the scores as they are now), then write
    grades.csv (the gradebook as it is now), per-test CSV, totals histogram (PNG),
    the similarity lists and an HTML page under reports/<lab>/. ``past``: a folder of past
    cohorts' notebooks to compare the students' code with as well."""
    folder = layout.reports(root, lab)
    folder.mkdir(parents=True, exist_ok=True)
    reapply_late_penalties(root, lab)  # a score given by hand since grading changes it
    with make_api(root).gradebook as gradebook:
        columns = grade_columns(gradebook, lab)
        # whoever handed the lab in (an unreadable notebook too), not the whole class
        in_class = {student.id for student in gradebook.students}
        handed_in = sorted(
            (set(submitted_students(root, lab)) | set(submitters(gradebook, lab))) & in_class
        )
        rows = per_test_rows(gradebook, lab, handed_in)
        # written again, so that a score given by hand in the formgrader since grading shows
        grades_csv = write_per_test_csv(gradebook, lab, folder / "grades.csv")
        attention = students_needing_attention(root, lab, gradebook)
        by_hand = students_awaiting_hands(gradebook, lab, handed_in)
        written = written_answer_ids(gradebook, lab)
    # the tests' summaries leave out the written answers (graded by hand, not tested)
    test_columns = [column for column in columns if column[1] not in written]
    tests = summarise_tests(rows, test_columns)
    totals = {row["student_id"]: row["total"] for row in rows}
    max_total = sum(max_score for *_, max_score in columns)

    per_test_csv = write_csv(
        folder / "per-test.csv",
        ["grade_id", "max_score", "mean_score", "pass_rate"],
        [[t.grade_id, t.max_score, f"{t.mean_score:.3f}", f"{t.pass_rate:.3f}"] for t in tests],
    )
    attention_csv = write_csv(
        folder / "attention.csv", ["student_id", "reason"], [list(a) for a in attention]
    )
    by_hand_csv = write_csv(
        folder / "to-grade-by-hand.csv",
        ["student_id", "written_answers"],
        [[student, " ".join(answers)] for student, answers in by_hand],
    )

    histogram = folder / "totals.png"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(
        list(totals.values()),
        bins=range(int(max_total) + 2),
        align="left",
        color="#0072B2",
        edgecolor="white",
    )
    ax.set_xlabel(f"total (out of {max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{lab}: totals of {len(totals)} students")
    fig.tight_layout()
    fig.savefig(histogram, dpi=100)
    plt.close(fig)

    misconceptions = count_misconceptions(root, lab)
    questions = misconception_questions(root, lab)
    misconceptions_csv = write_csv(
        folder / "misconceptions.csv",
        ["grade_id", "misconception", "students", "question"],
        [[g, k, n, questions.get(k, "")] for g, k, n in misconceptions],
    )
    outcomes = step_outcomes(root, lab, test_columns, rows)
    outcomes_csv = write_csv(
        folder / "step-outcomes.csv",
        ["grade_id", *TEST_OUTCOMES],
        [[g, *(outcomes[g][kind] for kind in TEST_OUTCOMES)] for _, g, _ in test_columns],
    )
    graded = len({p.parent.parent.name for p in root.glob(f"autograded/*/{lab}/*.ipynb")})
    late = [row for row in rows if row["late_penalty"] > 0]
    extensions = lab_extensions(root, lab)  # as reapplied above
    due = deadlines(root).due_date(lab)
    code, template = cohort_code(root, lab)
    handed_in_code = {s: code[s] for s in handed_in if s in code}
    similar = similar_pairs(handed_in_code, past_code(past, root, lab) if past else None, template)
    identical = identical_groups(handed_in_code)
    mistakes = same_mistakes(root, lab)
    similarity_csv = write_csv(
        folder / "similarity.csv",
        ["student", "other", "similarity", "matching_tokens"],
        [[p.first, p.second, f"{p.similarity:.2f}", p.overlap] for p in similar],
    )
    identical_csv = write_csv(
        folder / "identical-code.csv",
        ["students", "group_size"],
        [[" ".join(g), len(g)] for g in identical],
    )
    mistakes_csv = write_csv(
        folder / "same-wrong-answers.csv",
        ["grade_id", "students", "misconception"],
        [[m.grade_id, " ".join(m.students), m.misconception] for m in mistakes],
    )
    csvs = [
        grades_csv,
        per_test_csv,
        outcomes_csv,
        misconceptions_csv,
        attention_csv,
        by_hand_csv,
        similarity_csv,
        identical_csv,
        mistakes_csv,
    ]
    summary = Summary(lab, len(submitted_students(root, lab)), graded, totals, max_total)
    page = write_atomic(
        folder / "report.html",
        report_page(
            summary,
            tests,
            attention,
            histogram.name,
            misconceptions,
            questions,
            outcomes,
            test_columns,
            [p for p in csvs if p.exists()],
            by_hand_section(by_hand)
            + late_section(late, due, extensions)
            + extensions_section(due, extensions)
            + similarity_section(similar, identical, mistakes),
        ),
    )
    return Report(
        tests,
        totals,
        max_total,
        attention,
        [
            per_test_csv,
            outcomes_csv,
            attention_csv,
            by_hand_csv,
            misconceptions_csv,
            similarity_csv,
            identical_csv,
            mistakes_csv,
            histogram,
            page,
        ],
        misconceptions,
        outcomes,
        graded,
        late,
        similar,
        identical,
        mistakes,
        by_hand,
        extensions,
    )
