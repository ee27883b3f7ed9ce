"""An instructor's review, in a real browser: the formgrader lists the graded cohort, a flagged
student's page shows the judge's comment, a score given there reaches ``course report`` and
``nbgrader export``; and the report page renders with its images and no console error."""

from __future__ import annotations

import csv
import shutil

from playwright.sync_api import expect

from course.nbgrader_setup import make_api
from course.written_answers import written_answer_ids
from labs.lab1.cohort import DEMO_COHORT
from tests.support.browser import JupyterServer, screenshot
from tests.support.commands import run_course, run_nbgrader
from tests.support.gradebook import recorded_outcomes, scores
from tests.support.paths import LAB, NOTEBOOK


def copy_of(graded_course, tmp_path):
    """The graded cohort's course, copied so that a review here changes no other test's."""
    return shutil.copytree(graded_course.root, tmp_path / "course", symlinks=True)


def total(course, student) -> float:
    return sum(score for score, _ in scores(course, student).values())


def csv_total(path, student) -> float:
    with path.open(newline="") as handle:
        return float(
            next(row for row in csv.DictReader(handle) if row["student_id"] == student)["total"]
        )


def give_score(page, grade_id: str, score: float) -> None:
    """Type ``score`` into a submission page's score box for ``grade_id`` and leave it, as an
    instructor does; return once the formgrader has saved it."""
    box = page.locator(f"input#{grade_id}")
    with page.expect_response(
        lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"
    ) as saved:
        box.fill(f"{score:g}")
        box.press("Tab")
    assert saved.value.ok


def test_an_instructor_reviews_a_flagged_student_in_the_formgrader(page, graded_course, tmp_path):
    course = copy_of(graded_course, tmp_path)
    outcomes = recorded_outcomes(course)
    demo_students = {submission.student for submission in DEMO_COHORT}
    student = min(s for s, o in outcomes.items() if o["status"] == "flagged" and s in demo_students)
    before = scores(course, student)
    with make_api(course).gradebook as gradebook:
        written = written_answer_ids(gradebook, LAB)
    grade_id, (_, max_score) = next(
        (g, s) for g, s in before.items() if s[0] < s[1] and g not in written
    )
    submissions = len(list((course / "submitted").glob(f"*/{LAB}")))  # graded or not

    with JupyterServer(course, tmp_path / "home") as server:
        page.goto(server.login_url("formgrader"))
        submitted = page.locator(f"tr:has(td.name[data-order='{LAB}']) td.num-submissions")
        expect(submitted).to_have_text(str(submissions))

        page.goto(server.url(f"formgrader/gradebook/{LAB}/{NOTEBOOK}"))
        page.get_by_label("Search:").fill(student)  # the list shows a page at a time
        page.get_by_text("Show All Names").click()
        row = page.locator("tr", has=page.locator("a.name-shown", has_text=student))
        expect(row.locator("td.flagged .glyphicon-flag")).to_have_count(1)
        expect(row.locator("td.score")).to_have_text(
            f"{total(course, student):g} / {sum(m for _, m in before.values()):g}"
        )

        row.locator("a.name-shown").click()
        comment = page.locator("textarea#backprop-comment")
        expect(comment).to_have_value("Flagged by the grader: " + outcomes[student]["reason"])
        comment.evaluate("box => box.scrollIntoView({block: 'center'})")
        screenshot(page, "formgrader-flagged-submission")

        give_score(page, grade_id, max_score)

    assert scores(course, student)[grade_id] == (max_score, max_score)
    expected = total(course, student)
    assert expected == sum(s for s, _ in before.values()) + max_score - before[grade_id][0]
    report = run_course("report", LAB, cwd=course)
    assert report.returncode in (0, 1), report.stderr  # 1: some students need attention
    assert csv_total(course / "reports" / LAB / "grades.csv", student) == expected
    run_nbgrader("export", cwd=course)
    assert csv_total(course / "grades.csv", student) == expected


def test_an_instructor_grades_a_written_answer_in_the_formgrader(page, graded_course, tmp_path):
    """A student's written derivation, waiting to be graded by hand, is on their page in the
    formgrader with a score box; the score given there leaves only the other answer waiting
    in ``course report``, and counts in the total."""
    course = copy_of(graded_course, tmp_path)
    student = next(s for s in DEMO_COHORT if s.written)
    (grade_id, text), *others = student.written
    before = total(course, student.student)
    with make_api(course).gradebook as gradebook:
        submission_id = gradebook.find_submission_notebook(NOTEBOOK, LAB, student.student).id

    with JupyterServer(course, tmp_path / "home") as server:
        page.goto(server.login_url("formgrader"))
        page.goto(server.url(f"formgrader/submissions/{submission_id}/"))
        answer = page.locator(f".nbgrader_cell:has(input#{grade_id})")
        expect(answer).to_contain_text(text.split("$")[0].strip())
        answer.evaluate("cell => cell.scrollIntoView({block: 'center'})")
        screenshot(page, "formgrader-written-answer")
        give_score(page, grade_id, 1)

    assert total(course, student.student) == before + 1
    report = run_course("report", LAB, cwd=course)
    waiting = f"  {student.student}: {', '.join(sorted(g for g, _ in others))}"
    assert waiting in report.stdout.splitlines(), report.stdout


def test_the_report_page_renders_with_its_images_and_no_console_error(
    page, graded_course, tmp_path
):
    course = copy_of(graded_course, tmp_path)
    report = run_course("report", LAB, cwd=course)
    assert report.returncode in (0, 1), report.stderr
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(request.url))
    page.goto((course / "reports" / LAB / "report.html").as_uri())
    page.wait_for_load_state("load")
    assert page.locator("h1").text_content() == f"{LAB}: grading report"
    images = page.locator("img").evaluate_all(
        "imgs => imgs.map(img => img.complete && img.naturalWidth)"
    )
    assert images and all(width > 100 for width in images), images
    steps = page.locator("h2", has_text="Each test").locator("xpath=following-sibling::table[1]")
    with make_api(course).gradebook as gradebook:
        written = written_answer_ids(gradebook, LAB)  # graded by hand: not in the tests' table
    tests = [g for g in scores(course, DEMO_COHORT[0].student) if g not in written]
    assert steps.locator("tr").count() == 1 + len(tests)
    screenshot(page, "instructor-report")  # the top: summary, histogram, tests by outcome
    # the similarity list: among the demo cohort, only its planted near-copies pair up
    with (course / "reports" / LAB / "similarity.csv").open(newline="") as handle:
        demo = {s.student for s in DEMO_COHORT}
        pairs = [
            (row["student"], row["other"])
            for row in csv.DictReader(handle)
            if row["student"] in demo and row["other"] in demo
        ]
    assert pairs == [("unusual_jacobian", "unusual_jacobian_renamed")]
    side_by_side = page.locator("details", has_text="unusual_jacobian and unusual_jacobian_renamed")
    side_by_side.locator("summary").click()
    expect(side_by_side.locator("pre")).to_have_count(2)
    expect(side_by_side.locator("pre mark").first).to_be_visible()
    assert problems == []
    screenshot(page, "instructor-similar-pair", side_by_side)


HOSTILE_NAME = ("<img src=x onerror=window.__named=1>", "<script>window.__named=2</script>Doe")


def test_a_students_name_is_text_on_every_formgrader_page(page, graded_course, tmp_path):
    """A name from the LMS holding markup and script (as a Moodle name can) is shown as the
    text it is, on the submission's page and in the lists; nothing of it runs."""
    course = copy_of(graded_course, tmp_path)
    with make_api(course).gradebook as gradebook:
        gradebook.update_or_create_student(
            "correct", first_name=HOSTILE_NAME[0], last_name=HOSTILE_NAME[1]
        )
        notebook = gradebook.find_submission_notebook(NOTEBOOK, LAB, "correct")
        submission_id = notebook.id
    with JupyterServer(course, tmp_path / "home") as server:
        page.goto(server.login_url("formgrader"))  # logs in (the token is taken on a redirect)
        page.goto(server.url(f"formgrader/submissions/{submission_id}/"))
        page.get_by_text("Submission #").first.wait_for()
        page.evaluate("toggle_name(true)")
        expect(page.locator("a.name-shown").first).to_have_text(
            f"{HOSTILE_NAME[1]}, {HOSTILE_NAME[0]}"
        )
        assert page.evaluate("window.__named") is None
        screenshot(page, "formgrader-hostile-name")
        page.goto(server.url(f"formgrader/gradebook/{LAB}/{NOTEBOOK}"))
        page.get_by_text("Show All Names").click()
        expect(page.locator("a.name-shown", has_text="window.__named=2")).to_have_count(1)
        page.goto(server.url("formgrader/manage_students"))
        expect(page.locator("td", has_text="window.__named=1").first).to_be_visible()
        assert page.evaluate("window.__named") is None
